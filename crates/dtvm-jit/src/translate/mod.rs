//! Translation of a region (JUMPDEST segments laid out by `policy::plan_regions`, or one segment
//! alone) to one Cranelift function: the
//! [`Lower`] driver, which walks each segment's instructions and lowers each by its kind in the
//! opcode list ([`shims::lowering`]).
//!
//! A region starts executing at the first instruction of `segment` (one of its own) with the
//! stack pointer and gas left in registers. Jumps and fall-through between segments of the region
//! are plain branches; to any other segment, execution tail-calls the target's slot in the
//! contract's slot table (compiled code, the resolver stub of lazy mode, or the interpreter stub),
//! so no frame grows and no driver loop runs between segments.
//!
//! Inside a segment the EVM stack is virtual ([`vstack`]): items reach the frame's memory lazily,
//! before a helper reads them and at segment boundaries, where the stack is entirely in memory
//! (as in the interpreter, so compiled and interpreted segments interleave freely). Blocks inside
//! a segment form a chain (only its JUMPDEST has several predecessors), so the virtual stack
//! carries across block boundaries; block entry checks gas and stack bounds exactly as
//! `Frame::begin_block` does ([`control`]).
//!
//! The rest by concern: [`control`] (blocks, jumps, exits, gas and stack checks), [`memory`]
//! (MLOAD/MSTORE fast paths), [`calldata`] (CALLDATALOAD's), [`calls`] (the helper ABI),
//! [`u256`] (256-bit arithmetic).

mod calldata;
mod calls;
mod control;
mod memory;
mod u256;
mod vstack;

pub(crate) use calls::Sigs;

use crate::compiler::{Tables, DONE, OFF_GAS, OFF_SP};
use crate::policy::NO_ENTRY;
use crate::segments::Segments;
use crate::shims::{self, Lowering};
use ::evmc_vm::sys::*;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    Block, BlockArg, InstBuilder, MemFlagsData, StackSlot, StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::FunctionBuilder;
use dtvm_core::analysis::CodeAnalysis;
use dtvm_core::opcode::*;
use dtvm_core::U256;
use dtvm_runtime::Frame;
use std::collections::HashMap;
use std::mem::offset_of;
use vstack::{Slot, VStack, Word};

const OFF_BASE: i32 = offset_of!(Frame<'static, 'static>, stack_base) as i32;
/// Bytes per stack item.
const WORD: i32 = 32;
/// Frame and stack accesses: aligned, never trapping.
const FLAGS: MemFlagsData = MemFlagsData::trusted();

/// Translates the segments `segments` (indices into `all`, in layout order) into the function
/// `b` builds: region `region` of the plan, or (`None`) a single segment.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lower_region(
    b: FunctionBuilder<'_>,
    config: TargetFrontendConfig,
    analysis: &CodeAnalysis,
    all: &Segments,
    segments: &[usize],
    region: Option<u32>,
    tables: &Tables<'_>,
    sigs: Sigs,
) {
    Lower::new(b, config, analysis, all, segments, region, tables, sigs).run();
}

struct Lower<'a, 'f> {
    b: FunctionBuilder<'f>,
    config: TargetFrontendConfig,
    analysis: &'a CodeAnalysis,
    code: &'a [u8],
    all: &'a Segments,
    starts: &'a [u32],
    tables: &'a Tables<'a>,
    /// The region's segments (global indices), in layout order: a segment's position is its
    /// local index.
    segments: &'a [usize],
    /// The region's number in the plan (its segments' places say it), `None` for a segment
    /// compiled alone.
    region: Option<u32>,
    /// (segment, local index) of the region's segments, sorted by segment.
    locals: Vec<(usize, usize)>,
    /// The local indices of the entry switch's cases, in case order.
    cases: Vec<usize>,
    /// The first block of each of the region's segments, with parameters (sp, gas).
    segment_blocks: Vec<Block>,
    sigs: Sigs,
    frame: Value,
    base: Value,
    /// The materialised stack pointer and the gas left, as SSA values of the current block.
    sp: Value,
    gas: Value,
    fail: Block,
    /// Failure exits with a constant status (see [`Lower::fail_block`]).
    fail_blocks: Vec<(i32, Block)>,
    /// Dynamic jumps, parameters (destination pc, sp, gas); created on first use.
    dispatch: Option<Block>,
    /// Branch to one of the region's segments, parameters (case, sp, gas, segment); created on
    /// first use. (Explicit parameters rather than SSA variables: the SSA builder's cost is
    /// quadratic in the targets of one `br_table`.)
    switch: Option<Block>,
    scratch: StackSlot,
    vs: VStack,
    /// Bytes of memory known to exist at this point of the current segment (at its entry, what
    /// the prologue left: `Segments::memory_on_entry`): accesses at constant offsets below it
    /// need no bounds check (see [`memory`]).
    mem_known: u64,
    /// Values known to be sign extensions of their low bits: value -> index of the sign bit
    /// (bits above it all equal it). SIGNEXTEND of such a value from that bit or above is the
    /// value itself; Solidity re-extends signed integers at each use.
    sign_extended: HashMap<Value, u8>,
}

impl<'a, 'f> Lower<'a, 'f> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        mut b: FunctionBuilder<'f>,
        config: TargetFrontendConfig,
        analysis: &'a CodeAnalysis,
        all: &'a Segments,
        segments: &'a [usize],
        region: Option<u32>,
        tables: &'a Tables<'a>,
        sigs: Sigs,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let frame = params[0];
        let base = b.ins().load(I64, FLAGS, frame, OFF_BASE);
        let scratch =
            b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 96, 4));
        let fail = b.create_block();
        b.append_block_param(fail, I32);
        b.set_cold_block(fail);
        let segment_blocks = segments
            .iter()
            .map(|_| {
                let block = b.create_block();
                b.append_block_param(block, I64);
                b.append_block_param(block, I64);
                block
            })
            .collect();
        let mut lower = Self {
            b,
            config,
            analysis,
            code: analysis.exec_code(),
            all,
            starts: all.starts(),
            tables,
            segments,
            region,
            locals: {
                let mut locals: Vec<(usize, usize)> =
                    segments.iter().enumerate().map(|(l, &s)| (s, l)).collect();
                locals.sort_unstable();
                locals
            },
            cases: match region {
                Some(_) => (0..segments.len())
                    .filter(|&l| tables.place[segments[l]] & NO_ENTRY != NO_ENTRY)
                    .collect(),
                None => vec![0],
            },
            segment_blocks,
            sigs,
            frame,
            base,
            sp: params[1],
            gas: params[2],
            fail,
            fail_blocks: Vec::new(),
            dispatch: None,
            switch: None,
            scratch,
            vs: VStack::default(),
            mem_known: 0,
            sign_extended: HashMap::new(),
        };
        let (sp, gas) = (BlockArg::Value(params[1]), BlockArg::Value(params[2]));
        if lower.segment_blocks.len() == 1 {
            let only = lower.segment_blocks[0];
            lower.b.ins().jump(only, &[sp, gas]);
        } else {
            let case = lower.load_case(params[3]);
            let switch = lower.switch_block();
            let segment = BlockArg::Value(params[3]);
            lower
                .b
                .ins()
                .jump(switch, &[BlockArg::Value(case), sp, gas, segment]);
        }
        lower
    }

    fn run(mut self) {
        for local in 0..self.segments.len() {
            self.lower_segment(local);
        }
        // The failure exit: the frame ends with the status in the block parameter. Gas and
        // stack do not matter, a failed frame reports neither.
        self.b.switch_to_block(self.fail);
        let status = self.b.block_params(self.fail)[0];
        let status = self.b.ins().uextend(I64, status);
        let ret = self.b.ins().bor_imm_s(status, DONE as i64);
        self.b.ins().return_(&[ret]);
        // The dispatch block may create the switch block: lower it first.
        if let Some(dispatch) = self.dispatch {
            self.lower_dispatch(dispatch);
        }
        if let Some(switch) = self.switch {
            self.lower_switch(switch);
        }
        // Last: everything above may have asked for failure exits.
        for (status, block) in std::mem::take(&mut self.fail_blocks) {
            self.b.switch_to_block(block);
            let ret = self
                .b
                .ins()
                .iconst(I64, (DONE | status as u32 as u64) as i64);
            self.b.ins().return_(&[ret]);
        }
        self.b.seal_all_blocks();
        let config = self.config;
        self.b.finalize(config);
    }

    /// Lowers the region's segment `local` (its index in the layout).
    fn lower_segment(&mut self, local: usize) {
        let index = self.segments[local];
        let block = self.segment_blocks[local];
        self.b.switch_to_block(block);
        self.sp = self.b.block_params(block)[0];
        self.gas = self.b.block_params(block)[1];
        self.vs = VStack::default();
        self.mem_known = self.all.memory_on_entry(index);
        let start = self.starts[index] as usize;
        // The items every way into the segment leaves known (`Segments::entry`): they are in
        // the frame's memory, as everything is at a segment boundary.
        let known = self.all.entry(index);
        let depth = known.len() as i32;
        for (i, word) in known.iter().enumerate() {
            if let Some(c) = *word {
                self.vs.slots.push(Slot {
                    idx: i as i32 - depth,
                    word: Word::Const(c),
                    dirty: false,
                });
            }
        }
        let end = self.starts.get(index + 1).map(|&s| s as usize);
        self.lower_body(start, end, index);
    }

    fn lower_body(&mut self, start: usize, end: Option<usize>, index: usize) {
        let code = self.code;
        let mut pc = start;
        if self.lower_bare_jumpdest(index) {
            return;
        }
        if code[pc] != JUMPDEST && !self.enter_block(pc) {
            return;
        }
        loop {
            if Some(pc) == end {
                self.goto_segment(index + 1);
                return;
            }
            let op = code[pc];
            let info = &OPCODES[op as usize];
            // Lowering of `op`; `false` when the segment's straight-line code ended.
            let goes_on = match shims::lowering(op) {
                Lowering::Stop => {
                    self.exit_done(EVMC_SUCCESS);
                    false
                }
                Lowering::Jumpdest => {
                    // Only the segment's first instruction: later JUMPDESTs start other segments.
                    debug_assert_eq!(pc, start);
                    self.enter_block(pc)
                }
                Lowering::Push(n) => {
                    let n = n as usize;
                    let value = U256::from_be_slice(&code[pc + 1..pc + 1 + n]);
                    self.push(Word::Const(value));
                    pc += n;
                    true
                }
                Lowering::Dup(n) => {
                    let w = self.peek(n as i32);
                    self.push(w);
                    true
                }
                Lowering::Swap(n) => {
                    self.swap(n as i32);
                    true
                }
                Lowering::Pop => {
                    self.pop();
                    true
                }
                Lowering::Pc => {
                    self.push(Word::Const(U256::from(pc)));
                    true
                }
                Lowering::Code(value) => {
                    self.push(Word::Const(value(self.analysis)));
                    true
                }
                Lowering::Gas => {
                    let g = self.gas;
                    let z = self.zero();
                    self.push(Word::Ssa([g, z, z, z]));
                    self.enter_next_block(pc + 1)
                }
                Lowering::Jump => {
                    let dest = self.pop();
                    self.lower_jump(dest);
                    false
                }
                Lowering::Jumpi => {
                    let dest = self.pop();
                    let cond = self.pop();
                    match cond {
                        Word::Const(c) if c.is_zero() => self.enter_next_block(pc + 1),
                        Word::Const(_) => {
                            self.lower_jump(dest);
                            false
                        }
                        Word::Ssa(l) => {
                            let nz = self.is_nonzero(l);
                            let taken = self.b.create_block();
                            let not_taken = self.b.create_block();
                            self.b.ins().brif(nz, taken, &[], not_taken, &[]);
                            self.b.switch_to_block(taken);
                            let saved = self.vs.clone();
                            self.lower_jump(dest);
                            self.vs = saved;
                            self.b.switch_to_block(not_taken);
                            self.enter_next_block(pc + 1)
                        }
                    }
                }
                Lowering::Exit { helper, status } => {
                    self.call_frame_helper(helper, info.stack_in as i32, 0);
                    self.exit_done(status);
                    false
                }
                Lowering::Invalid => {
                    self.jump_fail(EVMC_INVALID_INSTRUCTION);
                    false
                }
                Lowering::Pure(helper) => {
                    self.lower_pure(op, helper);
                    true
                }
                Lowering::Helper { helper, .. } if op == MLOAD => {
                    self.lower_mload(helper);
                    true
                }
                Lowering::Helper { helper, .. } if op == MSTORE => {
                    self.lower_mstore(helper);
                    true
                }
                Lowering::Helper { .. } if op == CALLDATALOAD => {
                    self.lower_calldataload();
                    true
                }
                Lowering::Helper { helper, uses_gas } => {
                    let (n_in, n_out) = (info.stack_in as i32, info.stack_out as i32);
                    self.call_helper_on_stack(helper, n_in, n_out, uses_gas);
                    if info.flow == Flow::ObservesGas {
                        self.enter_next_block(pc + 1)
                    } else {
                        true
                    }
                }
                Lowering::Undefined => {
                    self.jump_fail(EVMC_UNDEFINED_INSTRUCTION);
                    false
                }
            };
            if !goes_on {
                return;
            }
            pc += 1;
        }
    }

    /// A zero limb, defined where it is used: one zero shared by the whole function would be a
    /// live range across all of it, which the register allocator handles badly.
    fn zero(&mut self) -> Value {
        self.b.ins().iconst(I64, 0)
    }
}
