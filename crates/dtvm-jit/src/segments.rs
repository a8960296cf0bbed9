//! The JIT's segments: the units of entry that have a slot each and that regions group.
//!
//! They are the analysis' JUMPDEST segments, with every segment longer than [`PIECE_OPS`]
//! instructions cut into *pieces*. Cranelift's cost grows faster than linearly with straight-line
//! code (register allocation: ~10 us per instruction at 250, ~30 at 2,000), so one 20,000-
//! instruction segment would cost seconds to compile whole; in pieces it costs what its size
//! says, and compiles like any other code.
//!
//! A cut lies inside a basic block, never at its start. Entering a piece therefore needs no gas
//! or stack check (the block's start charged and checked the whole block), and the analysis has
//! no block information there (`BlockInfo::default()`), so both the compiler's block entry and
//! the interpreter stub's entry check are no-ops at a cut. A piece is only ever
//! entered by falling through from the piece before it: jumps target JUMPDESTs.
//!
//! Each segment also carries the stack items known at compile time on every entry to it
//! ([`Segments::entry`]): constants the code pushed before, which compiled code treats as
//! already in the frame's memory and known. They follow from the code alone, by a dataflow over
//! every way into a segment: falling through, a static jump (a destination the walk knows as a
//! constant) and, for the first segment, the start of execution. A computed jump could enter
//! any JUMPDEST with any stack, so code with one has no known entries beyond what a piece's own
//! JUMPDEST segment pushed before the cut.
//!
//! They also carry the memory the prologue leaves (`dtvm_core::prologue`): a segment starting
//! past it begins with at least that much memory, so its constant-offset accesses below need no
//! check.

use crate::shims::{self, Lowering};
use dtvm_core::analysis::{BlockInfo, CodeAnalysis};
use dtvm_core::opcode::*;
use dtvm_core::prologue::{prologue_memory, MemoryFloor};
use dtvm_core::U256;

/// The most instructions in one piece of a long segment.
pub(crate) const PIECE_OPS: u32 = 512;

/// The most stack items (from the top) known on entry to a segment.
const ENTRY_ITEMS: usize = 32;

/// The stack items known on entry to a segment, top last, `None` where unknown; items below
/// are unknown.
type Known = Vec<Option<U256>>;

pub(crate) struct Segments {
    /// Start pcs, ascending: the analysis' segment starts and the cuts.
    starts: Box<[u32]>,
    /// Instructions per segment.
    ops: Box<[u32]>,
    /// Per segment, the stack items known on every entry to it (see the module docs).
    entry: Box<[Box<[Option<U256>]>]>,
    /// The memory the prologue leaves to everything past it.
    memory_floor: MemoryFloor,
    code_len: usize,
}

impl Segments {
    pub(crate) fn new(analysis: &CodeAnalysis) -> Self {
        let code = analysis.code();
        let jumpdest_segments = analysis.segment_starts();
        let mut starts = Vec::with_capacity(jumpdest_segments.len());
        let mut ops = Vec::with_capacity(jumpdest_segments.len());
        for (index, &first) in jumpdest_segments.iter().enumerate() {
            let end = jumpdest_segments
                .get(index + 1)
                .map_or(code.len(), |&e| e as usize);
            let (mut pc, mut start, mut count) = (first as usize, first, 0u32);
            // Whether `pc` starts a basic block (a segment start, or after a block's end).
            let mut block_start = true;
            while pc < end {
                if count >= PIECE_OPS && !block_start {
                    debug_assert_eq!(analysis.block(pc), BlockInfo::default());
                    starts.push(start);
                    ops.push(count);
                    (start, count) = (pc as u32, 0);
                }
                let info = &OPCODES[code[pc] as usize];
                pc += 1 + info.immediate as usize;
                count += 1;
                block_start = info.ends_block(analysis.rev);
            }
            starts.push(start);
            ops.push(count);
        }
        let mut segments = Self {
            starts: starts.into_boxed_slice(),
            ops: ops.into_boxed_slice(),
            entry: Box::default(),
            memory_floor: prologue_memory(code, analysis.rev),
            code_len: code.len(),
        };
        segments.entry = segments.entry_states(analysis);
        segments
    }

    /// The stack items known on every entry to segment `index`, top last, `None` where unknown.
    pub(crate) fn entry(&self, index: usize) -> &[Option<U256>] {
        &self.entry[index]
    }

    /// Bytes of memory that exist whenever segment `index` is entered.
    pub(crate) fn memory_on_entry(&self, index: usize) -> u64 {
        self.memory_floor.at(self.starts[index] as usize)
    }

    /// Heap bytes held, for the code cache's accounting.
    pub(crate) fn heap_size(&self) -> usize {
        self.starts.len() * (4 + 4 + std::mem::size_of::<Box<[Option<U256>]>>())
            + self
                .entry
                .iter()
                .map(|e| std::mem::size_of_val::<[Option<U256>]>(e))
                .sum::<usize>()
    }

    /// The dataflow of [`Segments::entry`]: every segment's entry is what all its predecessors
    /// agree on, iterated to the fixpoint from the start of execution (segments never reached
    /// know nothing). Items only ever become unknown, so it ends.
    fn entry_states(&self, analysis: &CodeAnalysis) -> Box<[Box<[Option<U256>]>]> {
        let n = self.len();
        let mut states: Vec<Option<Known>> = vec![None; n];
        // Inside a JUMPDEST segment, a piece is entered only from the piece before it, whatever
        // jumps the code has.
        let mut computed_jump = false;
        if n > 0 {
            states[0] = Some(Vec::new());
        }
        let mut work = vec![0usize];
        let mut queued = vec![false; n];
        while let Some(index) = work.pop() {
            if n == 0 {
                break;
            }
            queued[index] = false;
            let mut stack = states[index].clone().unwrap_or_default();
            let mut edges = Vec::new();
            let falls = self.walk(analysis, index, &mut stack, |dest, stack| match dest {
                Some(d) => {
                    if let Some(t) = self.jumpdest_segment(analysis, d) {
                        edges.push((t, stack.clone()));
                    }
                }
                None => computed_jump = true,
            });
            if computed_jump {
                break;
            }
            if falls && index + 1 < n {
                edges.push((index + 1, stack));
            }
            for (t, known) in edges {
                let merged = match &states[t] {
                    None => trim(known),
                    Some(old) => meet(old, &known),
                };
                if states[t].as_ref() != Some(&merged) {
                    states[t] = Some(merged);
                    if !queued[t] {
                        queued[t] = true;
                        work.push(t);
                    }
                }
            }
        }
        if !computed_jump {
            return states
                .into_iter()
                .map(|state| state.unwrap_or_default().into_boxed_slice())
                .collect();
        }
        // Only what a piece's own JUMPDEST segment pushed before the cut: one walk through
        // each JUMPDEST segment's pieces in order.
        let mut stack = Vec::new();
        (0..n)
            .map(|index| {
                let start = self.starts[index] as usize;
                let entry = if start == 0 || analysis.is_jumpdest(start) {
                    stack.clear();
                    Box::default()
                } else {
                    trim(stack.clone()).into_boxed_slice()
                };
                self.walk(analysis, index, &mut stack, |_, _| {});
                entry
            })
            .collect()
    }

    /// Runs segment `index`'s live code on `stack` (the items known, top last), calling
    /// `jump(destination, stack)` at every JUMP and JUMPI with the destination if known and the
    /// stack after the jump's operands. Returns whether execution may fall through into the
    /// next segment; `stack` is then the stack it falls through with.
    fn walk(
        &self,
        analysis: &CodeAnalysis,
        index: usize,
        stack: &mut Known,
        mut jump: impl FnMut(Option<usize>, &Known),
    ) -> bool {
        // As the compiler reads it: padded, so a PUSH at the end reads zeros.
        let code = analysis.exec_code();
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.code_len, |&e| e as usize);
        let mut pc = self.starts[index] as usize;
        let pop = |stack: &mut Known| stack.pop().flatten();
        while pc < end {
            let op = code[pc];
            let info = &OPCODES[op as usize];
            match shims::lowering(op) {
                Lowering::Push(n) => {
                    let n = n as usize;
                    stack.push(Some(U256::from_be_slice(&code[pc + 1..pc + 1 + n])));
                }
                Lowering::Dup(n) => {
                    let n = n as usize;
                    let item = stack.len().checked_sub(n).and_then(|i| stack[i]);
                    stack.push(item);
                }
                Lowering::Swap(n) => {
                    let n = n as usize;
                    // Unknown items below the known ones take part as `None`.
                    while stack.len() < n + 1 {
                        stack.insert(0, None);
                    }
                    let top = stack.len() - 1;
                    stack.swap(top, top - n);
                }
                Lowering::Pure(_) => {
                    let mut args = [Some(U256::ZERO); 3];
                    for a in args.iter_mut().take(info.stack_in as usize) {
                        *a = pop(stack);
                    }
                    let folded = match args {
                        [Some(a), Some(b), Some(c)] => Some(shims::fold(op, a, b, c)),
                        _ => None,
                    };
                    stack.push(folded);
                }
                Lowering::Pc => stack.push(Some(U256::from(pc))),
                Lowering::Code(value) => stack.push(Some(value(analysis))),
                Lowering::Jump | Lowering::Jumpi => {
                    let dest = pop(stack);
                    if op == JUMPI {
                        pop(stack);
                    }
                    // A destination past any code length is no JUMPDEST whatever its value.
                    let dest = dest.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
                    jump(dest, stack);
                    if op == JUMP {
                        return false;
                    }
                }
                Lowering::Stop
                | Lowering::Invalid
                | Lowering::Undefined
                | Lowering::Exit { .. } => return false,
                _ => {
                    for _ in 0..info.stack_in {
                        pop(stack);
                    }
                    for _ in 0..info.stack_out {
                        stack.push(None);
                    }
                }
            }
            pc += 1 + info.immediate as usize;
            if stack.len() > 2 * ENTRY_ITEMS {
                stack.drain(..stack.len() - ENTRY_ITEMS);
            }
        }
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    pub(crate) fn starts(&self) -> &[u32] {
        &self.starts
    }

    /// Instructions in segment `index` (an upper bound of what is lowered: code after a
    /// terminator is dead).
    pub(crate) fn ops(&self, index: usize) -> usize {
        self.ops[index] as usize
    }

    /// The segment that segment `index` continues in, for laying out regions: the target of
    /// its first unconditional jump when that is a constant pushed right before it (a static
    /// jump, the way code goes from one segment to another), else the next segment. Only a
    /// layout hint: jumps are lowered and checked as usual.
    pub(crate) fn layout_next(&self, analysis: &CodeAnalysis, index: usize) -> Option<usize> {
        let mut jump = None;
        self.walk_jumps(analysis, index, |op, dest| {
            if op == JUMP {
                jump = Some(dest.and_then(|d| self.jumpdest_segment(analysis, d)));
            }
        });
        jump.unwrap_or_else(|| (index + 1 < self.len()).then_some(index + 1))
    }

    /// Calls `edge` for every JUMP and JUMPI of segment `index`: with the segment it goes to
    /// when its destination is a constant pushed right before it (`None` when that is no
    /// JUMPDEST: the jump fails), with `Err(())` when its destination is computed. Returns
    /// whether execution may fall through into the next segment (no JUMP, STOP, RETURN,
    /// REVERT, INVALID or SELFDESTRUCT ends it first).
    pub(crate) fn jumps(
        &self,
        analysis: &CodeAnalysis,
        index: usize,
        mut edge: impl FnMut(Result<Option<usize>, ()>),
    ) -> bool {
        self.walk_jumps(analysis, index, |_, dest| {
            edge(dest.ok_or(()).map(|d| self.jumpdest_segment(analysis, d)))
        })
    }

    /// Walks segment `index`'s live code, calling `jump(op, destination)` for every JUMP and
    /// JUMPI, with the destination when it is a constant pushed right before it. Returns
    /// whether execution may fall through into the next segment.
    fn walk_jumps(
        &self,
        analysis: &CodeAnalysis,
        index: usize,
        mut jump: impl FnMut(u8, Option<usize>),
    ) -> bool {
        let code = analysis.code();
        let end = self
            .starts
            .get(index + 1)
            .map_or(code.len(), |&e| e as usize);
        let (mut pc, mut pushed) = (self.starts[index] as usize, None);
        while pc < end {
            let op = code[pc];
            let size = OPCODES[op as usize].immediate as usize;
            if op == JUMP || op == JUMPI {
                jump(op, pushed);
            }
            if matches!(op, JUMP | STOP | RETURN | REVERT | INVALID | SELFDESTRUCT) {
                return false;
            }
            pushed = (PUSH1..=PUSH32).contains(&op).then(|| {
                let bytes = &code[(pc + 1).min(code.len())..(pc + 1 + size).min(code.len())];
                // A destination past any code length is no JUMPDEST whatever its exact value.
                bytes.iter().fold(0usize, |v, &b| {
                    v.saturating_mul(256).saturating_add(b as usize)
                })
            });
            pc += 1 + size;
        }
        true
    }

    /// The segment a jump to `dest` enters, if `dest` is a JUMPDEST.
    fn jumpdest_segment(&self, analysis: &CodeAnalysis, dest: usize) -> Option<usize> {
        if !analysis.is_jumpdest(dest) {
            return None;
        }
        self.starts.binary_search(&(dest as u32)).ok()
    }

    /// Bytes of code in segment `index`.
    pub(crate) fn bytes(&self, index: usize) -> usize {
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.code_len, |&e| e as usize);
        end - self.starts[index] as usize
    }
}

/// The top [`ENTRY_ITEMS`] items of `stack`, without the unknown ones at the bottom.
fn trim(mut stack: Known) -> Known {
    let keep = stack.len().saturating_sub(ENTRY_ITEMS);
    stack.drain(..keep);
    let unknown = stack.iter().take_while(|w| w.is_none()).count();
    stack.drain(..unknown);
    stack
}

/// What two entry stacks agree on, item by item from the top.
fn meet(a: &Known, b: &Known) -> Known {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    trim(
        a.iter()
            .zip(b)
            .map(|(x, y)| if x == y { *x } else { None })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dtvm_core::CANCUN;

    #[test]
    fn long_segments_are_cut_inside_blocks() {
        // A JUMPDEST, 1,200 PUSH1/POP pairs with a GAS every 100 instructions (a block end),
        // then a second JUMPDEST segment.
        let mut code = vec![JUMPDEST];
        for i in 0..1200 {
            code.extend(if i % 50 == 49 { [GAS, POP] } else { [PUSH1, 1] });
            code.push(POP);
        }
        let second = code.len();
        code.extend([JUMPDEST, STOP]);
        let analysis = CodeAnalysis::new(&code, CANCUN);
        let segments = Segments::new(&analysis);
        let starts = segments.starts();
        assert_eq!(starts[0], 0);
        assert_eq!(*starts.last().unwrap() as usize, second);
        assert!(starts.len() > 3, "{starts:?}");
        for (i, &s) in starts.iter().enumerate() {
            assert!(segments.ops(i) <= PIECE_OPS as usize);
            if analysis.segment_starts().binary_search(&s).is_err() {
                // A cut: inside a block, at an instruction boundary.
                assert_eq!(analysis.block(s as usize), BlockInfo::default());
                assert!(matches!(code[s as usize], PUSH1 | POP | GAS));
                let previous = code[s as usize - 1];
                assert_ne!(previous, GAS, "a cut at a block start");
            }
        }
        let total: usize = (0..segments.len()).map(|i| segments.ops(i)).sum();
        let bytes: usize = (0..segments.len()).map(|i| segments.bytes(i)).sum();
        assert_eq!(bytes, code.len());
        assert_eq!(total, 1 + 1200 * 2 + 24 + 2);
    }
}
