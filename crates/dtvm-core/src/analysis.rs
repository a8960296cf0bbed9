//! Bytecode analysis, done once per (code, revision) and shared by every engine and thread:
//! jump destinations, basic blocks with their static gas and stack bounds, JUMPDEST segments.
//!
//! A basic block starts at pc 0, at every JUMPDEST, and after every instruction whose
//! [`Flow`](crate::opcode::Flow) is not `Next`. Engines charge static gas and check stack bounds
//! once per block, on entry. This is exact: a block that would fail part-way fails the frame
//! either way (all gas consumed), and instructions that observe the gas left end their block, so
//! they see exactly the gas a per-instruction charge would leave.
//!
//! The same argument covers a *run*: basic blocks that fall into one another through JUMPDESTs,
//! each but the last made of instructions that cannot fail once checked and charge no dynamic
//! gas ([`OpInfo::fallible`](crate::opcode::OpInfo::fallible)). Nothing in a run branches, ends
//! the frame or observes gas before its last block, and what that block does sees the gas a
//! per-block charge leaves. [`CodeAnalysis::block`] gives at each block start the requirements
//! of the rest of its run, so an engine that charges on entry by a jump or after a block-ending
//! instruction, and not when it falls into a JUMPDEST, does one check per run: the interpreter,
//! for which JUMPDEST-dense code is otherwise a check per byte.
//! The JIT charges per basic block ([`CodeAnalysis::basic_block`]): its JUMPDEST segments are
//! entered both ways, and a fall-through check costs it one compare.
//!
//! Which failure a frame reports (out of gas, stack underflow or overflow) is decided per basic
//! block, in `Frame::begin_block`'s order, and every engine reports the same: a run that fails its
//! check is certain to fail (nothing in it can branch away), so the interpreter then runs it block
//! by block to fail where compiled code does.

use crate::gas::{static_gas_table, GasTable};
use crate::opcode::{JUMPDEST, OPCODES};
use crate::recent::Recent;
use crate::{Revision, STACK_LIMIT};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Byte that replaces, in the executable copy of the code, every opcode undefined at the
/// analysed revision; it is undefined in every revision, so engines need no revision check per
/// instruction.
pub const UNDEFINED_MARK: u8 = 0x0c;

/// Padding after the code: a PUSH32 at the very end reads zeros, then execution meets STOP.
pub const CODE_PADDING: usize = 33;

/// Static requirements of a block or run starting at a pc (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlockInfo {
    /// Sum of the static gas of the block's instructions.
    pub gas: u32,
    /// Minimum stack height needed on entry.
    pub stack_req: u16,
    /// Maximum growth of the stack height over the entry height (clamped to STACK_LIMIT + 1).
    pub stack_max_growth: u16,
}

/// The analysis of one code at one revision.
pub struct CodeAnalysis {
    /// The revision the analysis is valid for: it decides which opcodes are defined and the
    /// static gas of each block.
    pub rev: Revision,
    /// The original code (kept to verify cache hits byte for byte).
    code: Box<[u8]>,
    /// Code as executed: undefined opcodes replaced by [`UNDEFINED_MARK`], then [`CODE_PADDING`]
    /// zero bytes.
    exec_code: Box<[u8]>,
    jumpdest_bits: Box<[u64]>,
    /// The JUMPDESTs that execution falling into them reaches inside a run (see the module docs).
    run_joins: Box<[u64]>,
    /// Indexed by pc; meaningful only where a block starts: the requirements from there to the
    /// end of its run.
    blocks: Box<[BlockInfo]>,
    /// Start pcs of the JUMPDEST segments: 0, then every valid JUMPDEST.
    segment_starts: Box<[u32]>,
}

impl CodeAnalysis {
    /// Analyses `code` at `rev`: the executable copy, the valid JUMPDESTs, the requirements of
    /// every block's run and the JUMPDEST segment starts.
    pub fn new(code: &[u8], rev: Revision) -> Self {
        let len = code.len();
        let gas = static_gas_table(rev);
        let mut exec_code = Vec::with_capacity(len + CODE_PADDING);
        exec_code.extend_from_slice(code);
        exec_code.resize(len + CODE_PADDING, 0);
        let mut jumpdest_bits = vec![0u64; len.div_ceil(64)];
        let mut segment_starts = vec![0u32];
        let mut pc = 0;
        while pc < len {
            let op = code[pc];
            if op == JUMPDEST {
                jumpdest_bits[pc / 64] |= 1 << (pc % 64);
                if pc != 0 {
                    segment_starts.push(pc as u32);
                }
            }
            if !OPCODES[op as usize].defined_in(rev) {
                exec_code[pc] = UNDEFINED_MARK;
            }
            pc = next_pc(code, pc);
        }

        let mut blocks = vec![BlockInfo::default(); len + CODE_PADDING];
        let mut run_joins = vec![0u64; len.div_ceil(64)];
        // The basic blocks of the current run, in order.
        let mut run: Vec<BlockBuilder> = Vec::new();
        let mut pc = 0;
        while pc < len {
            let (block, end, run_goes_on) = scan_block(code, pc, rev, gas);
            run.push(block);
            if run_goes_on {
                run_joins[end / 64] |= 1 << (end % 64);
            } else {
                // Each start gets the sum of its block and every later one of the run.
                let mut rest = run.pop().expect("the block just pushed");
                blocks[rest.start] = rest.info();
                while let Some(earlier) = run.pop() {
                    rest = earlier.then(&rest);
                    blocks[rest.start] = rest.info();
                }
            }
            pc = end;
        }
        debug_assert!(run.is_empty(), "the last block ends at the end of the code");

        Self {
            rev,
            code: code.into(),
            exec_code: exec_code.into_boxed_slice(),
            jumpdest_bits: jumpdest_bits.into_boxed_slice(),
            run_joins: run_joins.into_boxed_slice(),
            blocks: blocks.into_boxed_slice(),
            segment_starts: segment_starts.into_boxed_slice(),
        }
    }

    /// Length of the original code.
    #[inline]
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// The original code.
    #[inline]
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// The executable, padded code (see [`UNDEFINED_MARK`], [`CODE_PADDING`]).
    #[inline]
    pub fn exec_code(&self) -> &[u8] {
        &self.exec_code
    }

    /// Whether `dest` is a valid jump destination (a JUMPDEST opcode, not PUSH data).
    #[inline]
    pub fn is_jumpdest(&self, dest: usize) -> bool {
        dest < self.code.len() && self.jumpdest_bits[dest / 64] & (1 << (dest % 64)) != 0
    }

    /// Whether execution that falls into the JUMPDEST at `pc` stays inside a run (whose
    /// requirements were checked at its start, this JUMPDEST's block included).
    #[inline]
    pub fn continues_run(&self, pc: usize) -> bool {
        self.run_joins[pc / 64] & (1 << (pc % 64)) != 0
    }

    /// The run from the block start `pc` to its end: the requirements to check on entering
    /// `pc` other than by falling into a JUMPDEST (see the module docs). Default (nothing to
    /// check) at a pc that starts no block.
    #[inline]
    pub fn block(&self, pc: usize) -> BlockInfo {
        self.blocks[pc]
    }

    /// The basic block starting at `pc` alone, for an engine that checks every basic block.
    /// Walks the block: O(its length). Default at a pc that starts no block, as [`block`](
    /// Self::block) (a run's requirements cover its first block's, so a default run has only
    /// default blocks).
    pub fn basic_block(&self, pc: usize) -> BlockInfo {
        if self.blocks[pc] == BlockInfo::default() {
            return BlockInfo::default();
        }
        scan_block(&self.code, pc, self.rev, static_gas_table(self.rev))
            .0
            .info()
    }

    /// Start pcs of the JUMPDEST segments, ascending: 0 then each JUMPDEST.
    pub fn segment_starts(&self) -> &[u32] {
        &self.segment_starts
    }

    /// Approximate heap bytes held, for cache accounting.
    pub fn heap_size(&self) -> usize {
        self.code.len()
            + self.exec_code.len()
            + self.jumpdest_bits.len() * 8
            + self.run_joins.len() * 8
            + self.blocks.len() * std::mem::size_of::<BlockInfo>()
            + self.segment_starts.len() * 4
    }
}

/// The pc of the instruction after the one at `pc` (past a PUSH's immediate; no other opcode,
/// defined or not, has one).
#[inline]
fn next_pc(code: &[u8], pc: usize) -> usize {
    pc + 1 + OPCODES[code[pc] as usize].immediate as usize
}

/// Sums the basic block starting at `start` (< code length): it ends after an instruction that
/// ends blocks, before a JUMPDEST, or at the end of the code. Returns it, the pc after it, and
/// whether its run goes on: execution falls from it into a JUMPDEST and none of its instructions
/// is fallible.
fn scan_block(
    code: &[u8],
    start: usize,
    rev: Revision,
    gas: &GasTable,
) -> (BlockBuilder, usize, bool) {
    let mut block = BlockBuilder::new(start);
    let mut pc = start;
    let mut infallible = true;
    while pc < code.len() {
        let op = code[pc];
        if op == JUMPDEST && pc != start {
            return (block, pc, infallible);
        }
        let info = &OPCODES[op as usize];
        if info.defined_in(rev) {
            block.add(gas[op as usize], info.stack_in, info.stack_out);
        }
        infallible &= !info.fallible;
        pc = next_pc(code, pc);
        if info.ends_block(rev) {
            break;
        }
    }
    (block, pc.min(code.len()), false)
}

#[derive(Clone, Copy)]
struct BlockBuilder {
    start: usize,
    gas: u64,
    /// Stack height at the end relative to the entry height.
    height: i32,
    req: i32,
    growth: i32,
}

impl BlockBuilder {
    fn new(start: usize) -> Self {
        Self {
            start,
            gas: 0,
            height: 0,
            req: 0,
            growth: 0,
        }
    }

    fn add(&mut self, gas: u16, stack_in: u8, stack_out: u8) {
        self.gas += gas as u64;
        self.req = self.req.max(stack_in as i32 - self.height);
        self.height += stack_out as i32 - stack_in as i32;
        self.growth = self.growth.max(self.height);
    }

    /// This block followed by `later`, as one (starting here).
    fn then(&self, later: &BlockBuilder) -> BlockBuilder {
        BlockBuilder {
            start: self.start,
            gas: self.gas + later.gas,
            height: self.height + later.height,
            req: self.req.max(later.req - self.height),
            growth: self.growth.max(self.height + later.growth),
        }
    }

    fn info(&self) -> BlockInfo {
        let limit = STACK_LIMIT as i32 + 1;
        BlockInfo {
            gas: self.gas.min(u32::MAX as u64) as u32,
            stack_req: self.req.min(limit) as u16,
            stack_max_growth: self.growth.min(limit) as u16,
        }
    }
}

/// The fast content hash the per-code caches key on (xxh3-128).
pub fn code_hash(code: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(code)
}

/// Process-wide cache of analyses, keyed by a fast content hash + revision, verified byte for
/// byte on hit (xxh3 is not collision resistant, and a wrong analysis would be a consensus bug).
pub struct AnalysisCache {
    map: RwLock<HashMap<(u128, Revision), Arc<CodeAnalysis>>>,
    bytes: std::sync::atomic::AtomicUsize,
    budget: usize,
}

impl AnalysisCache {
    /// An empty cache that holds analyses of at most `budget_bytes` heap bytes in total; when a
    /// new entry would exceed it, the cache is emptied first.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            bytes: Default::default(),
            budget: budget_bytes,
        }
    }

    /// The analysis of `code` at `rev`, computed at most once per content while cached.
    pub fn get(&self, code: &[u8], rev: Revision) -> Arc<CodeAnalysis> {
        self.get_hashed(code, code_hash(code), rev)
    }

    /// [`get`](Self::get) for a caller that already has `hash == code_hash(code)` (hashing 24 KB
    /// costs a few microseconds, as much as many calls). A wrong hash only misses the cache.
    pub fn get_hashed(&self, code: &[u8], hash: u128, rev: Revision) -> Arc<CodeAnalysis> {
        use std::sync::atomic::Ordering::Relaxed;
        let key = (hash, rev);
        if let Some(a) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            if a.code() == code {
                return a.clone();
            }
        }
        let analysis = Arc::new(CodeAnalysis::new(code, rev));
        let size = analysis.heap_size();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if self.bytes.load(Relaxed) + size > self.budget {
            // Dropping everything is crude but bounded and lock-cheap; running frames keep their
            // Arc, so nothing in use is freed.
            map.clear();
            self.bytes.store(0, Relaxed);
        }
        if size <= self.budget {
            if let Some(old) = map.insert(key, analysis.clone()) {
                self.bytes.fetch_sub(old.heap_size(), Relaxed);
            }
            self.bytes.fetch_add(size, Relaxed);
        }
        analysis
    }

    /// [`get`](Self::get), but first the analysis this thread's last call of this function
    /// returned, if `code` at `rev` is still its code (see [`crate::recent`]).
    pub fn get_recent(&self, code: &[u8], rev: Revision) -> Arc<CodeAnalysis> {
        thread_local! {
            static RECENT: std::cell::RefCell<Recent<CodeAnalysis>> =
                const { std::cell::RefCell::new(Recent::EMPTY) };
        }
        RECENT.with(|memo| {
            Recent::find(memo, code, rev, CodeAnalysis::code).unwrap_or_else(|| {
                let analysis = self.get(code, rev);
                Recent::remember(memo, code, rev, &analysis);
                analysis
            })
        })
    }

    /// The number of cached analyses.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no analysis is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache the engines share.
pub fn analysis_cache() -> &'static AnalysisCache {
    static CACHE: once_cell::sync::Lazy<AnalysisCache> =
        once_cell::sync::Lazy::new(|| AnalysisCache::new(64 << 20));
    &CACHE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::*;
    use crate::{CANCUN, PARIS};

    #[test]
    fn jumpdests_skip_push_data() {
        // PUSH2 0x5b5b JUMPDEST PUSH1 (truncated)
        let code = [PUSH1 + 1, JUMPDEST, JUMPDEST, JUMPDEST, PUSH1];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert!(!a.is_jumpdest(1));
        assert!(!a.is_jumpdest(2));
        assert!(a.is_jumpdest(3));
        assert!(!a.is_jumpdest(4));
        assert!(!a.is_jumpdest(100));
        assert_eq!(a.segment_starts(), &[0, 3]);
        assert_eq!(a.exec_code().len(), code.len() + CODE_PADDING);
    }

    #[test]
    fn blocks_carry_gas_and_stack_bounds() {
        // PUSH1 1 PUSH1 2 ADD POP JUMPDEST ADD GAS STOP
        let code = [PUSH1, 1, PUSH1, 2, ADD, POP, JUMPDEST, ADD, GAS, STOP];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(
            a.basic_block(0),
            BlockInfo {
                gas: 3 + 3 + 3 + 2,
                stack_req: 0,
                stack_max_growth: 2
            }
        );
        // JUMPDEST ADD GAS: GAS observes gas, so it closes the block.
        let from_jumpdest = BlockInfo {
            gas: 1 + 3 + 2,
            stack_req: 2,
            stack_max_growth: 0,
        };
        assert_eq!(a.basic_block(6), from_jumpdest);
        // Entered by a jump, the JUMPDEST's run is its basic block; entered at 0, the run goes
        // on through the JUMPDEST, and the ADD after it needs two items that the first block
        // leaves as it found them.
        assert_eq!(a.block(6), from_jumpdest);
        // Inside a block (where the JIT may cut a long segment) there is nothing to check.
        assert_eq!(a.basic_block(2), BlockInfo::default());
        assert_eq!(
            a.block(0),
            BlockInfo {
                gas: 3 + 3 + 3 + 2 + 1 + 3 + 2,
                stack_req: 2,
                stack_max_growth: 2
            }
        );
        assert_eq!(
            a.block(9),
            BlockInfo {
                gas: 0,
                stack_req: 0,
                stack_max_growth: 0
            }
        );
    }

    #[test]
    fn runs_end_after_fallible_instructions() {
        // PUSH0 MLOAD JUMPDEST ADD STOP: MLOAD may charge memory growth, so the gas left it sees
        // must not include the next block's charge.
        let code = [PUSH0, MLOAD, JUMPDEST, ADD, STOP];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(a.block(0), a.basic_block(0));
        assert!(!a.continues_run(2));
        // PUSH0 JUMPDEST JUMPDEST POP STOP: one run of three blocks.
        let code = [PUSH0, JUMPDEST, JUMPDEST, POP, STOP];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(
            a.block(0),
            BlockInfo {
                gas: 2 + 1 + 1 + 2,
                stack_req: 0,
                stack_max_growth: 1
            }
        );
        assert!(a.continues_run(1) && a.continues_run(2));
        assert_eq!(
            a.block(2),
            BlockInfo {
                gas: 1 + 2,
                stack_req: 1,
                stack_max_growth: 0
            }
        );
    }

    #[test]
    fn undefined_opcodes_are_marked_per_revision() {
        let code = [PUSH0, STOP];
        assert_eq!(
            CodeAnalysis::new(&code, PARIS).exec_code()[0],
            UNDEFINED_MARK
        );
        assert_eq!(CodeAnalysis::new(&code, CANCUN).exec_code()[0], PUSH0);
    }

    #[test]
    fn stack_growth_is_clamped() {
        let code = vec![PUSH0; 2000];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(a.block(0).stack_max_growth as usize, STACK_LIMIT + 1);
    }

    #[test]
    fn cache_verifies_content() {
        let cache = AnalysisCache::new(1 << 20);
        let a = cache.get(&[PUSH1, 1, STOP], CANCUN);
        let b = cache.get(&[PUSH1, 1, STOP], CANCUN);
        assert!(Arc::ptr_eq(&a, &b));
        let c = cache.get(&[PUSH1, 1, STOP], PARIS);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.len(), 2);
    }
}
