//! Lowering of JUMPDEST segments to Cranelift functions.
//!
//! A compiled *region* is a run of consecutive segments in one function of Cranelift's `tail`
//! calling convention, `fn(frame, sp, gas, segment) -> u64`: it starts executing at the first
//! instruction of `segment` (one of its own) with the stack pointer and gas left in registers.
//! Jumps and fall-through between segments of the region are plain branches; to any other
//! segment, execution tail-calls the target's slot in the contract's slot table (compiled code,
//! the resolver stub of lazy mode, or the interpreter stub), so no frame grows and no driver loop
//! runs between segments. A region returns only when the frame ends: `DONE | status`, with
//! `gas_left` stored in the frame.
//!
//! Inside a segment the EVM stack is virtual: the compiler tracks, per stack slot relative to the
//! stack pointer materialised in `sp`, whether the item is a compile-time constant, an SSA value
//! (4 little-endian u64 limbs, ruint's layout), or only in the frame's memory. Items reach memory
//! lazily: before a helper reads them, and at segment boundaries, where the stack is entirely in
//! memory (as in the interpreter, so compiled and interpreted segments interleave freely). Blocks
//! inside a segment form a chain (only its JUMPDEST has several predecessors), so the virtual stack
//! carries across block boundaries; block entry checks gas and stack bounds exactly as
//! `Frame::begin_block` does, with the virtual offset folded into the comparison constants.

use crate::segments::{self, Segments};
use crate::shims::{self, FrameHelper, PureHelper};
use ::evmc_vm::sys::*;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I128, I32, I64, I64X2, I8};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, BlockCall, InstBuilder, JumpTableData, MemFlagsData, SigRef,
    Signature, StackSlot, StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITMemoryProvider, JITModule};
use cranelift_module::{FuncId, Module};
use dtvm_core::analysis::{CodeAnalysis, UNDEFINED_MARK};
use dtvm_core::opcode::*;
use dtvm_core::{STACK_LIMIT, U256};
use dtvm_runtime::memory::Memory;
use dtvm_runtime::Frame;
use std::mem::offset_of;
use std::ops::Range;

/// Tag of a region's return value that means "the frame ended with status `ret as u32`".
pub(crate) const DONE: u64 = 1 << 63;

pub(crate) const OFF_SP: i32 = offset_of!(Frame<'static, 'static>, sp) as i32;
const OFF_BASE: i32 = offset_of!(Frame<'static, 'static>, stack_base) as i32;
pub(crate) const OFF_GAS: i32 = offset_of!(Frame<'static, 'static>, gas_left) as i32;
const WORD: i32 = 32;
/// Stack items the virtual stack keeps in SSA values at most (see [`Lower::limit_cache`]).
const MAX_CACHED: usize = 16;
const OFF_MEM_BASE: i32 =
    (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_BASE) as i32;
const OFF_MEM_LEN: i32 = (offset_of!(Frame<'static, 'static>, memory) + Memory::OFFSET_LEN) as i32;
/// EVM memory: any alignment, never trapping (bounds are checked first).
const MEMORY: MemFlagsData = MemFlagsData::new().with_notrap();

#[derive(Debug)]
pub(crate) enum CompileError {
    Codegen(String),
    /// Cranelift (or the lowering) panicked; the compiler must not be used again.
    Panicked,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Codegen(e) => write!(f, "codegen: {e}"),
            Self::Panicked => write!(f, "the compiler panicked"),
        }
    }
}

pub(crate) fn isa() -> Result<OwnedTargetIsa, String> {
    static ISA: once_cell::sync::Lazy<Result<OwnedTargetIsa, String>> =
        once_cell::sync::Lazy::new(|| {
            let mut flags = settings::builder();
            let set = |flags: &mut settings::Builder, k: &str, v: &str| {
                flags.set(k, v).map_err(|e| format!("{k}={v}: {e}"))
            };
            set(&mut flags, "opt_level", "speed")?;
            // The backtracking allocator is superlinear on long straight-line segments (65 ms
            // for 3500 stack ops, against 6 ms single-pass); EVM code is mostly straight-line
            // with values short-lived in registers, where single-pass loses little.
            set(&mut flags, "regalloc_algorithm", "backtracking")?;
            set(&mut flags, "is_pic", "false")?;
            set(&mut flags, "use_colocated_libcalls", "false")?;
            // Tail calls between segments need frame pointers on x86-64.
            set(&mut flags, "preserve_frame_pointers", "true")?;
            set(
                &mut flags,
                "enable_verifier",
                if cfg!(debug_assertions) {
                    "true"
                } else {
                    "false"
                },
            )?;
            let builder = cranelift_native::builder().map_err(|e| e.to_string())?;
            builder
                .finish(settings::Flags::new(flags))
                .map_err(|e| e.to_string())
        });
    ISA.clone()
}

/// `fn(frame, sp, gas, segment) -> u64` in the `tail` convention: segments, regions, stubs.
pub(crate) fn tail_signature(module: &JITModule) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.extend([AbiParam::new(I64); 4]);
    sig.returns.push(AbiParam::new(I64));
    debug_assert_eq!(module.isa().pointer_type(), I64);
    sig
}

/// Where a contract's compiled code finds its tables. Both live as long as the contract, which
/// outlives its code.
pub(crate) struct Tables {
    /// Address of the slot table: one machine word per segment, the address to tail-call.
    pub slots: usize,
    /// Address of the jump table: one `u32` per code byte, `segment + 1` at a JUMPDEST, else 0.
    pub segment_of_pc: usize,
    /// Entries of the jump table (the code length).
    pub code_len: usize,
}

/// Cranelift's per-function working state, reused by every compilation on a thread.
struct Scratch {
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// One contract's JIT module. Not `Sync` (Cranelift's `JITModule` is not): the owner keeps it
/// behind a lock and publishes only the finished function pointers.
pub(crate) struct Compiler {
    module: JITModule,
    tail_sig: Signature,
    frame_sig: Signature,
    pure_sig: Signature,
}

impl Compiler {
    /// A compiler whose code lives in `memory`.
    pub(crate) fn new(memory: Box<dyn JITMemoryProvider + Send>) -> Result<Self, String> {
        let mut builder = JITBuilder::with_isa(isa()?, cranelift_module::default_libcall_names());
        builder.memory_provider(memory);
        let module = JITModule::new(builder);
        let tail_sig = tail_signature(&module);
        let mut frame_sig = Signature::new(CallConv::SystemV);
        frame_sig.params.push(AbiParam::new(I64));
        frame_sig.returns.push(AbiParam::new(I32));
        let mut pure_sig = Signature::new(CallConv::SystemV);
        pure_sig.params.push(AbiParam::new(I64));
        Ok(Self {
            module,
            tail_sig,
            frame_sig,
            pure_sig,
        })
    }

    /// Compiles the segments `segments` (consecutive indices into `all`) as one region. The
    /// function is usable after [`Compiler::finalize`]. Returns its id and the size of its
    /// machine code.
    pub(crate) fn define(
        &mut self,
        analysis: &CodeAnalysis,
        all: &Segments,
        segments: Range<usize>,
        tables: &Tables,
    ) -> Result<(FuncId, usize), CompileError> {
        // A panic inside Cranelift (a bug, ours or its) must not fail the execution: the
        // segments run in the interpreter instead, and the caller stops using this compiler.
        // Cranelift's working state is the compiling thread's, not the contract's: it keeps the
        // capacity of the largest function it compiled, which per contract would cost far more
        // than the contract's code. One that saw a panic is dropped.
        let mut scratch = SCRATCH.take().unwrap_or_default();
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.define_unchecked(&mut scratch, analysis, all, segments.clone(), tables)
        }));
        match attempt {
            Ok(result) => {
                SCRATCH.set(Some(scratch));
                result
            }
            Err(_) => Err(CompileError::Panicked),
        }
    }

    fn define_unchecked(
        &mut self,
        scratch: &mut Scratch,
        analysis: &CodeAnalysis,
        all: &Segments,
        segments: Range<usize>,
        tables: &Tables,
    ) -> Result<(FuncId, usize), CompileError> {
        let Scratch { ctx, fctx } = scratch;
        ctx.func.signature = self.tail_sig.clone();
        let config = self.module.target_config();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
            let sigs = Sigs {
                frame: b.import_signature(self.frame_sig.clone()),
                pure: b.import_signature(self.pure_sig.clone()),
                tail: b.import_signature(self.tail_sig.clone()),
            };
            Lower::new(b, config, analysis, all, segments.clone(), tables, sigs).run();
        }
        let disasm = std::env::var_os("DTVM_JIT_DISASM").is_some();
        ctx.set_disasm(disasm);
        let result = (|| {
            let id = self
                .module
                .declare_anonymous_function(&self.tail_sig)
                .map_err(|e| CompileError::Codegen(e.to_string()))?;
            self.module
                .define_function(id, ctx)
                .map_err(|e| CompileError::Codegen(format!("{e:?}")))?;
            let size = ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
            if disasm {
                if let Some(text) = ctx.compiled_code().and_then(|c| c.vcode.as_ref()) {
                    eprintln!("; region {segments:?}\n{text}");
                }
            }
            Ok((id, size))
        })();
        self.module.clear_context(ctx);
        result
    }

    /// Makes every defined function executable.
    pub(crate) fn finalize(&mut self) -> Result<(), String> {
        self.module
            .finalize_definitions()
            .map_err(|e| e.to_string())
    }

    /// The address of a defined and finalized function.
    pub(crate) fn address(&self, id: FuncId) -> usize {
        self.module.get_finalized_function(id) as usize
    }

    /// Releases the machine code of every function of this module.
    ///
    /// # Safety
    /// No function of this module may be running or be called afterwards.
    pub(crate) unsafe fn free(self) {
        // SAFETY: forwarded to the caller.
        unsafe { self.module.free_memory() }
    }
}

/// A stack word known at compile time.
#[derive(Clone, Copy)]
enum Word {
    Const(U256),
    Ssa([Value; 4]),
}

/// A cached stack item: `idx` is relative to the materialised stack pointer (`sp` variable).
#[derive(Clone, Copy)]
struct Slot {
    idx: i32,
    word: Word,
    /// The frame's memory does not hold this value yet.
    dirty: bool,
}

/// The virtual stack: the real stack pointer is `sp + off` items.
#[derive(Clone, Default)]
struct VStack {
    off: i32,
    slots: Vec<Slot>,
}

#[derive(Clone, Copy)]
struct Sigs {
    frame: SigRef,
    pure: SigRef,
    tail: SigRef,
}

struct Lower<'a, 'f> {
    b: FunctionBuilder<'f>,
    config: TargetFrontendConfig,
    analysis: &'a CodeAnalysis,
    code: &'a [u8],
    starts: &'a [u32],
    tables: &'a Tables,
    /// The region's segments (global indices).
    segments: Range<usize>,
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
    /// Branch to one of the region's segments, parameters (local index, sp, gas); created on
    /// first use. (Explicit parameters rather than SSA variables: the SSA builder's cost is
    /// quadratic in the targets of one `br_table`.)
    switch: Option<Block>,
    scratch: StackSlot,
    vs: VStack,
}

const FLAGS: MemFlagsData = MemFlagsData::trusted();

impl<'a, 'f> Lower<'a, 'f> {
    fn new(
        mut b: FunctionBuilder<'f>,
        config: TargetFrontendConfig,
        analysis: &'a CodeAnalysis,
        all: &'a Segments,
        segments: Range<usize>,
        tables: &'a Tables,
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
            .clone()
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
            starts: all.starts(),
            tables,
            segments,
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
        };
        let (sp, gas) = (BlockArg::Value(params[1]), BlockArg::Value(params[2]));
        if lower.segment_blocks.len() == 1 {
            let only = lower.segment_blocks[0];
            lower.b.ins().jump(only, &[sp, gas]);
        } else {
            let first = lower.segments.start as i64;
            let local = lower.b.ins().iadd_imm_s(params[3], -first);
            let switch = lower.switch_block();
            lower
                .b
                .ins()
                .jump(switch, &[BlockArg::Value(local), sp, gas]);
        }
        lower
    }

    fn run(mut self) {
        for index in self.segments.clone() {
            self.lower_segment(index);
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

    /// The block that branches to the region's segment whose local index is its parameter.
    fn switch_block(&mut self) -> Block {
        *self.switch.get_or_insert_with(|| {
            let block = self.b.create_block();
            for _ in 0..3 {
                self.b.append_block_param(block, I64);
            }
            block
        })
    }

    fn lower_switch(&mut self, switch: Block) {
        self.b.switch_to_block(switch);
        let params = self.b.block_params(switch).to_vec();
        let (local, sp, gas) = (params[0], params[1], params[2]);
        let internal = self.b.ins().iconst(I32, EVMC_INTERNAL_ERROR as i64);
        let pool = &mut self.b.func.dfg.value_lists;
        // Every caller passes a local index: the default is unreachable.
        let default = BlockCall::new(self.fail, [BlockArg::Value(internal)], pool);
        let targets: Vec<BlockCall> = self
            .segment_blocks
            .iter()
            .map(|&block| BlockCall::new(block, [BlockArg::Value(sp), BlockArg::Value(gas)], pool))
            .collect();
        let table = self
            .b
            .create_jump_table(JumpTableData::new(default, &targets));
        let local = self.b.ins().ireduce(I32, local);
        self.b.ins().br_table(local, table);
    }

    /// Dynamic jumps: validates the destination (its parameter, below 2^32) against the jump
    /// table, then branches inside the region or tail-calls the target segment's slot.
    fn lower_dispatch(&mut self, dispatch: Block) {
        self.b.switch_to_block(dispatch);
        let params = self.b.block_params(dispatch).to_vec();
        let (dest, sp, gas) = (params[0], params[1], params[2]);
        let outside = self.b.ins().icmp_imm_s(
            IntCC::UnsignedGreaterThanOrEqual,
            dest,
            self.tables.code_len as i64,
        );
        self.fail_if(outside, EVMC_BAD_JUMP_DESTINATION);
        let offset = self.b.ins().ishl_imm_u(dest, 2);
        let entry = self
            .b
            .ins()
            .iadd_imm_s(offset, self.tables.segment_of_pc as i64);
        let entry = self.b.ins().uload32(FLAGS, entry, 0);
        let not_jumpdest = self.b.ins().icmp_imm_s(IntCC::Equal, entry, 0);
        self.fail_if(not_jumpdest, EVMC_BAD_JUMP_DESTINATION);
        let segment = self.b.ins().iadd_imm_s(entry, -1);
        let local = self
            .b
            .ins()
            .iadd_imm_s(segment, -(self.segments.start as i64));
        let inside = self.b.ins().icmp_imm_s(
            IntCC::UnsignedLessThan,
            local,
            self.segment_blocks.len() as i64,
        );
        let switch = self.switch_block();
        let out = self.b.create_block();
        self.b.ins().brif(
            inside,
            switch,
            &[local, sp, gas].map(BlockArg::Value),
            out,
            &[],
        );
        self.b.switch_to_block(out);
        let slot = self.b.ins().ishl_imm_u(segment, 3);
        let slot = self.b.ins().iadd_imm_s(slot, self.tables.slots as i64);
        let target = self.b.ins().load(I64, FLAGS, slot, 0);
        self.b
            .ins()
            .return_call_indirect(self.sigs.tail, target, &[self.frame, sp, gas, segment]);
    }

    fn lower_segment(&mut self, index: usize) {
        let local = index - self.segments.start;
        let block = self.segment_blocks[local];
        self.b.switch_to_block(block);
        self.sp = self.b.block_params(block)[0];
        self.gas = self.b.block_params(block)[1];
        self.vs = VStack::default();
        let start = self.starts[index] as usize;
        if start != 0 && !self.analysis.is_jumpdest(start) {
            // A piece of a long segment: the constants its straight-line code pushed so far
            // are in memory and known.
            let known = segments::entry_constants(self.analysis, start, MAX_CACHED);
            let depth = known.len() as i32;
            for (i, word) in known.into_iter().enumerate() {
                if let Some(c) = word {
                    self.vs.slots.push(Slot {
                        idx: i as i32 - depth,
                        word: Word::Const(c),
                        dirty: false,
                    });
                }
            }
        }
        let end = self.starts.get(index + 1).map(|&s| s as usize);
        self.lower_body(start, end, index);
    }

    fn lower_body(&mut self, start: usize, end: Option<usize>, index: usize) {
        let code = self.code;
        let mut pc = start;
        if self.lower_bare_jumpdest(start, end, index) {
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
            let goes_on = match op {
                STOP => {
                    self.exit_done(EVMC_SUCCESS);
                    false
                }
                JUMPDEST => {
                    // Only the segment's first instruction: later JUMPDESTs start other segments.
                    debug_assert_eq!(pc, start);
                    self.enter_block(pc)
                }
                PUSH0 => {
                    self.push(Word::Const(U256::ZERO));
                    true
                }
                PUSH1..=PUSH32 => {
                    let n = (op - PUSH1 + 1) as usize;
                    let value = U256::from_be_slice(&code[pc + 1..pc + 1 + n]);
                    self.push(Word::Const(value));
                    pc += n;
                    true
                }
                DUP1..=DUP16 => {
                    let w = self.peek((op - DUP1 + 1) as i32);
                    self.push(w);
                    true
                }
                SWAP1..=SWAP16 => {
                    self.swap((op - SWAP1 + 1) as i32);
                    true
                }
                POP => {
                    self.pop();
                    true
                }
                PC => {
                    self.push(Word::Const(U256::from(pc)));
                    true
                }
                CODESIZE => {
                    self.push(Word::Const(U256::from(self.analysis.code_len())));
                    true
                }
                GAS => {
                    let g = self.gas;
                    let z = self.zero();
                    self.push(Word::Ssa([g, z, z, z]));
                    self.enter_next_block(pc + 1)
                }
                JUMP => {
                    let dest = self.pop();
                    self.lower_jump(dest);
                    false
                }
                JUMPI => {
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
                RETURN | REVERT | SELFDESTRUCT => {
                    let helper = shims::frame_helper(op).expect("terminator helper");
                    self.call_frame_helper(helper, info.stack_in as i32, 0);
                    self.exit_done(if op == REVERT {
                        EVMC_REVERT
                    } else {
                        EVMC_SUCCESS
                    });
                    false
                }
                INVALID => {
                    self.jump_fail(EVMC_INVALID_INSTRUCTION);
                    false
                }
                MLOAD => {
                    self.lower_mload();
                    true
                }
                MSTORE => {
                    self.lower_mstore();
                    true
                }
                _ if shims::is_pure(op) && info.defined_in(self.analysis.rev) => {
                    self.lower_pure(op);
                    true
                }
                _ => match shims::frame_helper(op) {
                    Some(helper) if op != UNDEFINED_MARK => {
                        let (n_in, n_out) = (info.stack_in as i32, info.stack_out as i32);
                        if shims::helper_is_plain(op) {
                            self.call_plain_helper(helper, n_in, n_out);
                        } else {
                            self.call_frame_helper(helper, n_in, n_out);
                        }
                        if info.flow == Flow::ObservesGas {
                            self.enter_next_block(pc + 1)
                        } else {
                            true
                        }
                    }
                    _ => {
                        self.jump_fail(EVMC_UNDEFINED_INSTRUCTION);
                        false
                    }
                },
            };
            if !goes_on {
                return;
            }
            pc += 1;
        }
    }

    /// A segment that is a lone JUMPDEST falling through into the next segment of the region
    /// charges its gas without checking it: the next segment's block check catches a deficit
    /// (its charge is at least 1, so the check fails whenever the sum of both would), and nothing
    /// observable happens in between; out of gas is out of gas wherever it is detected. This
    /// takes the check's branch and blocks out of JUMPDEST runs, the cheapest code to write and
    /// otherwise among the most expensive to compile.
    fn lower_bare_jumpdest(&mut self, start: usize, end: Option<usize>, index: usize) -> bool {
        let next = index + 1;
        if self.code[start] != JUMPDEST || end != Some(start + 1) || !self.segments.contains(&next)
        {
            return false;
        }
        let info = self.analysis.block(start);
        if info.stack_req != 0 || info.stack_max_growth != 0 {
            return false;
        }
        self.gas = self.b.ins().iadd_imm_s(self.gas, -(info.gas as i64));
        self.goto_segment(next);
        true
    }

    // -----------------------------------------------------------------------------------------
    // Blocks, exits.

    /// Charges and checks the block starting at `pc`, as `Frame::begin_block`. Returns `false`
    /// when the block fails unconditionally (the rest of the segment is then unreachable).
    fn enter_block(&mut self, pc: usize) -> bool {
        let info = self.analysis.block(pc);
        // The failure conditions, in `Frame::begin_block`'s order (which decides the status
        // when several hold).
        let mut failures: Vec<(Value, i32)> = Vec::with_capacity(3);
        if info.gas > 0 {
            let g = self.b.ins().iadd_imm_s(self.gas, -(info.gas as i64));
            let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, g, 0);
            failures.push((out, EVMC_OUT_OF_GAS));
            self.gas = g;
        }
        let off = self.vs.off;
        let req = info.stack_req as i32;
        let growth = info.stack_max_growth as i32;
        let limit = STACK_LIMIT as i32;
        // Whatever the height, the block overflows.
        let overflows = off + growth > limit;
        // The materialised height `h` is that of a real earlier stack pointer: 0 <= h <= limit.
        if req > off || (off + growth > 0 && !overflows) {
            let h = self.b.ins().isub(self.sp, self.base);
            if req > off {
                let under =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::SignedLessThan, h, ((req - off) * WORD) as i64);
                failures.push((under, EVMC_STACK_UNDERFLOW));
            }
            if off + growth > 0 && !overflows {
                let over = self.b.ins().icmp_imm_s(
                    IntCC::SignedGreaterThan,
                    h,
                    ((limit - off - growth) * WORD) as i64,
                );
                failures.push((over, EVMC_STACK_OVERFLOW));
            }
        }
        if overflows {
            let status = self.first_failure(&failures, EVMC_STACK_OVERFLOW);
            self.b.ins().jump(self.fail, &[BlockArg::Value(status)]);
            return false;
        }
        match failures[..] {
            [] => {}
            [(cond, status)] => self.fail_if(cond, status),
            _ => {
                // One branch for all checks, to a cold exit of this block's own that works out
                // the status and returns: no edge needs splitting and no shared exit collects
                // a status from every block, where a branch per check to shared exits costs
                // two blocks per check.
                let mut any = failures[0].0;
                for &(cond, _) in &failures[1..] {
                    any = self.b.ins().bor(any, cond);
                }
                let cold = self.b.create_block();
                self.b.set_cold_block(cold);
                let cont = self.b.create_block();
                self.b.ins().brif(any, cold, &[], cont, &[]);
                self.b.switch_to_block(cold);
                let (&(_, last), rest) = failures.split_last().expect("two or more");
                let status = self.first_failure(rest, last);
                let status = self.b.ins().uextend(I64, status);
                let ret = self.b.ins().bor_imm_s(status, DONE as i64);
                self.b.ins().return_(&[ret]);
                self.b.switch_to_block(cont);
            }
        }
        true
    }

    /// The status (I32) of the first of `failures` that holds, `otherwise` if none does.
    fn first_failure(&mut self, failures: &[(Value, i32)], otherwise: i32) -> Value {
        let mut status = self.b.ins().iconst(I32, otherwise as i64);
        for &(cond, code) in failures.iter().rev() {
            let code = self.b.ins().iconst(I32, code as i64);
            status = self.b.ins().select(cond, code, status);
        }
        status
    }

    /// The block after an instruction that ends a block without leaving the segment.
    fn enter_next_block(&mut self, next: usize) -> bool {
        // A JUMPDEST there starts the next segment and enters its own block.
        if self.code[next] == JUMPDEST {
            true
        } else {
            self.enter_block(next)
        }
    }

    fn fail_if(&mut self, cond: Value, status: i32) {
        let cont = self.b.create_block();
        let fail = self.fail_block(status);
        self.b.ins().brif(cond, fail, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// The exit failing the frame with the constant `status`. One per status and without
    /// parameters: branches to it carry no arguments, so they need no edge blocks of moves
    /// (most blocks have one or two such branches; this keeps the function small to compile).
    fn fail_block(&mut self, status: i32) -> Block {
        if let Some(&(_, block)) = self.fail_blocks.iter().find(|(s, _)| *s == status) {
            return block;
        }
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.fail_blocks.push((status, block));
        block
    }

    /// Fails the frame with `status` (I32) unless it is 0 (EVMC_SUCCESS).
    fn fail_with(&mut self, status: Value) {
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(status, self.fail, &[BlockArg::Value(status)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    fn jump_fail(&mut self, status: i32) {
        let fail = self.fail_block(status);
        self.b.ins().jump(fail, &[]);
    }

    /// A zero limb, defined where it is used: one zero shared by the whole function would be a
    /// live range across all of it, which the register allocator handles badly.
    fn zero(&mut self) -> Value {
        self.b.ins().iconst(I64, 0)
    }

    /// Flushes the virtual stack and returns the real stack pointer.
    fn settle(&mut self) -> Value {
        self.flush_all();
        self.b
            .ins()
            .iadd_imm_s(self.sp, (self.vs.off * WORD) as i64)
    }

    /// Continues at the start of segment `index`: a branch inside the region, a tail call
    /// through the slot table otherwise. Terminates the current block.
    fn goto_segment(&mut self, index: usize) {
        let sp = self.settle();
        if self.segments.contains(&index) {
            let block = self.segment_blocks[index - self.segments.start];
            self.b
                .ins()
                .jump(block, &[sp, self.gas].map(BlockArg::Value));
        } else {
            let slot = self.tables.slots + index * std::mem::size_of::<usize>();
            let slot = self.b.ins().iconst(I64, slot as i64);
            let target = self.b.ins().load(I64, FLAGS, slot, 0);
            let index = self.b.ins().iconst(I64, index as i64);
            self.b.ins().return_call_indirect(
                self.sigs.tail,
                target,
                &[self.frame, sp, self.gas, index],
            );
        }
    }

    /// Ends the frame with a success status (gas left matters, the stack does not).
    fn exit_done(&mut self, status: i32) {
        self.store_gas();
        let ret = self
            .b
            .ins()
            .iconst(I64, (DONE | status as u32 as u64) as i64);
        self.b.ins().return_(&[ret]);
    }

    fn store_sp(&mut self) {
        let sp = self
            .b
            .ins()
            .iadd_imm_s(self.sp, (self.vs.off * WORD) as i64);
        self.b.ins().store(FLAGS, sp, self.frame, OFF_SP);
    }

    fn store_gas(&mut self) {
        self.b.ins().store(FLAGS, self.gas, self.frame, OFF_GAS);
    }

    /// The segment a valid jump destination starts.
    fn segment_at(&self, pc: usize) -> usize {
        self.starts
            .binary_search(&(pc as u32))
            .expect("every JUMPDEST starts a segment")
    }

    /// JUMP to `dest` (also JUMPI's taken path). Terminates the current Cranelift block.
    fn lower_jump(&mut self, dest: Word) {
        match dest {
            Word::Const(d) => match usize::try_from(d) {
                Ok(d) if self.analysis.is_jumpdest(d) => {
                    let index = self.segment_at(d);
                    self.goto_segment(index);
                }
                _ => self.jump_fail(EVMC_BAD_JUMP_DESTINATION),
            },
            Word::Ssa([l0, l1, l2, l3]) => {
                // A word that cannot be a pc fails here; the dispatch block checks the rest.
                let hi = self.b.ins().bor(l1, l2);
                let hi = self.b.ins().bor(hi, l3);
                let big = self.b.ins().ushr_imm_u(l0, 32);
                let any = self.b.ins().bor(hi, big);
                let bad = self.b.ins().icmp_imm_s(IntCC::NotEqual, any, 0);
                self.fail_if(bad, EVMC_BAD_JUMP_DESTINATION);
                let sp = self.settle();
                let dispatch = *self.dispatch.get_or_insert_with(|| {
                    let block = self.b.create_block();
                    for _ in 0..3 {
                        self.b.append_block_param(block, I64);
                    }
                    block
                });
                self.b
                    .ins()
                    .jump(dispatch, &[l0, sp, self.gas].map(BlockArg::Value));
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // The virtual stack.

    fn find(&self, idx: i32) -> Option<usize> {
        self.vs.slots.iter().position(|s| s.idx == idx)
    }

    fn load_word(&mut self, idx: i32) -> [Value; 4] {
        let sp = self.sp;
        std::array::from_fn(|limb| {
            self.b
                .ins()
                .load(I64, FLAGS, sp, idx * WORD + 8 * limb as i32)
        })
    }

    fn materialize(&mut self, w: Word) -> [Value; 4] {
        match w {
            Word::Ssa(l) => l,
            Word::Const(c) => {
                let limbs = *c.as_limbs();
                std::array::from_fn(|i| {
                    if limbs[i] == 0 {
                        self.zero()
                    } else {
                        self.b.ins().iconst(I64, limbs[i] as i64)
                    }
                })
            }
        }
    }

    fn pop(&mut self) -> Word {
        self.vs.off -= 1;
        let idx = self.vs.off;
        match self.find(idx) {
            Some(p) => self.vs.slots.swap_remove(p).word,
            None => Word::Ssa(self.load_word(idx)),
        }
    }

    /// The item `n` places from the top (1 = top), cached for later reads.
    fn peek(&mut self, n: i32) -> Word {
        let idx = self.vs.off - n;
        match self.find(idx) {
            Some(p) => self.vs.slots[p].word,
            None => {
                let word = Word::Ssa(self.load_word(idx));
                self.vs.slots.push(Slot {
                    idx,
                    word,
                    dirty: false,
                });
                self.limit_cache(idx);
                word
            }
        }
    }

    fn set(&mut self, idx: i32, word: Word) {
        let slot = Slot {
            idx,
            word,
            dirty: true,
        };
        match self.find(idx) {
            Some(p) => self.vs.slots[p] = slot,
            None => {
                self.vs.slots.push(slot);
                self.limit_cache(idx);
            }
        }
    }

    /// Keeps at most [`MAX_CACHED`] items in SSA: beyond that the deepest one (other than
    /// `keep`) goes to the frame's stack. Long straight-line code would otherwise keep hundreds
    /// of words live at once, which makes register allocation superlinear (a 2,000-instruction
    /// segment took 15 us per instruction) and only spills them anyway.
    fn limit_cache(&mut self, keep: i32) {
        if self.vs.slots.len() <= MAX_CACHED {
            return;
        }
        let Some(p) = (0..self.vs.slots.len())
            .filter(|&p| self.vs.slots[p].idx != keep)
            .min_by_key(|&p| self.vs.slots[p].idx)
        else {
            return;
        };
        let s = self.vs.slots.swap_remove(p);
        if s.dirty {
            let limbs = self.materialize(s.word);
            for (k, limb) in limbs.into_iter().enumerate() {
                self.b
                    .ins()
                    .store(FLAGS, limb, self.sp, s.idx * WORD + 8 * k as i32);
            }
        }
    }

    fn push(&mut self, word: Word) {
        let idx = self.vs.off;
        self.set(idx, word);
        self.vs.off += 1;
    }

    fn swap(&mut self, n: i32) {
        let top = self.peek(1);
        let other = self.peek(n + 1);
        let off = self.vs.off;
        self.set(off - 1, other);
        self.set(off - 1 - n, top);
    }

    /// Writes the dirty items with `lo <= idx < hi` to the frame's stack.
    fn flush_range(&mut self, lo: i32, hi: i32) {
        for i in 0..self.vs.slots.len() {
            let s = self.vs.slots[i];
            if s.dirty && s.idx >= lo && s.idx < hi {
                let limbs = self.materialize(s.word);
                let sp = self.sp;
                for (k, limb) in limbs.into_iter().enumerate() {
                    self.b
                        .ins()
                        .store(FLAGS, limb, sp, s.idx * WORD + 8 * k as i32);
                }
                self.vs.slots[i].dirty = false;
            }
        }
    }

    /// Writes every live dirty item; forgets items above the top.
    fn flush_all(&mut self) {
        let off = self.vs.off;
        self.vs.slots.retain(|s| s.idx < off);
        self.flush_range(i32::MIN, off);
    }

    // -----------------------------------------------------------------------------------------
    // Helpers.

    // -----------------------------------------------------------------------------------------
    // Memory: an access inside the current memory size needs neither gas nor the helper.

    /// For a 32-byte access at `offset`: (in bounds, address), or `None` when the offset can
    /// never be in bounds (memory is below 2^32 bytes).
    fn memory_fast_path(&mut self, offset: Word) -> Option<(Value, Value)> {
        let len = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_LEN);
        let (fits, offset) = match offset {
            Word::Const(c) => {
                let off = u32::try_from(c).ok()?;
                let fits = self.b.ins().icmp_imm_s(
                    IntCC::UnsignedGreaterThanOrEqual,
                    len,
                    off as i64 + WORD as i64,
                );
                (fits, self.b.ins().iconst(I64, off as i64))
            }
            Word::Ssa([l0, l1, l2, l3]) => {
                let hi = self.b.ins().bor(l1, l2);
                let hi = self.b.ins().bor(hi, l3);
                let big = self.b.ins().ushr_imm_u(l0, 32);
                let hi = self.b.ins().bor(hi, big);
                let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
                // Below 2^32 + 32: no overflow.
                let end = self.b.ins().iadd_imm_s(l0, WORD as i64);
                let inside = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
                (self.b.ins().band(small, inside), l0)
            }
        };
        let base = self.b.ins().load(I64, FLAGS, self.frame, OFF_MEM_BASE);
        Some((fits, self.b.ins().iadd(base, offset)))
    }

    /// Branches on `fast` into a fast path (the current block afterwards) and a cold slow path;
    /// both end by jumping to the returned merge block, which takes `merge_params` I64 values.
    /// Returns (slow, merge).
    fn fast_path_split(&mut self, fast: Value, merge_params: usize) -> (Block, Block) {
        let fast_block = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let merge = self.b.create_block();
        for _ in 0..merge_params {
            self.b.append_block_param(merge, I64);
        }
        self.b.ins().brif(fast, fast_block, &[], slow, &[]);
        self.b.switch_to_block(fast_block);
        (slow, merge)
    }

    /// Writes the cached item at stack index `idx` to the frame's stack without marking it
    /// clean (for a slow path that must leave the virtual stack as the fast path does).
    fn spill_for_helper(&mut self, idx: i32) {
        if let Some(p) = self.find(idx) {
            let limbs = self.materialize(self.vs.slots[p].word);
            for (k, limb) in limbs.into_iter().enumerate() {
                self.b
                    .ins()
                    .store(FLAGS, limb, self.sp, idx * WORD + 8 * k as i32);
            }
        }
    }

    /// Calls a memory helper on a cold path: operands `idx..off` spilled, sp and gas stored.
    /// Returns the gas left after it (the helper charged expansion).
    fn memory_slow_path(&mut self, helper: FrameHelper, operands: std::ops::Range<i32>) -> Value {
        for idx in operands {
            self.spill_for_helper(idx);
        }
        self.invoke_frame_helper(helper, true)
            .expect("a gas-using helper returns the gas left")
    }

    fn lower_mload(&mut self) {
        let offset = self.peek(1);
        let idx = self.vs.off - 1;
        let helper = shims::frame_helper(MLOAD).expect("mload helper");
        let Some((fits, addr)) = self.memory_fast_path(offset) else {
            self.call_frame_helper(helper, 1, 1);
            return;
        };
        let (slow, merge) = self.fast_path_split(fits, 5);
        // Big-endian bytes: the first 8 are the most significant limb.
        let limbs: [Value; 4] = std::array::from_fn(|k| {
            let v = self.b.ins().load(I64, MEMORY, addr, 8 * (3 - k as i32));
            self.b.ins().bswap(v)
        });
        let args = [limbs[0], limbs[1], limbs[2], limbs[3], self.gas].map(BlockArg::Value);
        self.b.ins().jump(merge, &args);

        self.b.switch_to_block(slow);
        let gas = self.memory_slow_path(helper, idx..idx + 1);
        let limbs: [Value; 4] = std::array::from_fn(|k| {
            self.b
                .ins()
                .load(I64, FLAGS, self.sp, idx * WORD + 8 * k as i32)
        });
        let args = [limbs[0], limbs[1], limbs[2], limbs[3], gas].map(BlockArg::Value);
        self.b.ins().jump(merge, &args);

        self.b.switch_to_block(merge);
        let params = self.b.block_params(merge).to_vec();
        self.gas = params[4];
        self.set(idx, Word::Ssa([params[0], params[1], params[2], params[3]]));
    }

    fn lower_mstore(&mut self) {
        let offset = self.peek(1);
        let value = self.peek(2);
        let off = self.vs.off;
        let helper = shims::frame_helper(MSTORE).expect("mstore helper");
        let Some((fits, addr)) = self.memory_fast_path(offset) else {
            self.call_frame_helper(helper, 2, 0);
            return;
        };
        let (slow, merge) = self.fast_path_split(fits, 1);
        let limbs = self.materialize(value);
        for (k, limb) in limbs.into_iter().enumerate() {
            let v = self.b.ins().bswap(limb);
            self.b.ins().store(MEMORY, v, addr, 8 * (3 - k as i32));
        }
        self.b.ins().jump(merge, &[BlockArg::Value(self.gas)]);

        self.b.switch_to_block(slow);
        let gas = self.memory_slow_path(helper, off - 2..off);
        self.b.ins().jump(merge, &[BlockArg::Value(gas)]);

        self.b.switch_to_block(merge);
        self.gas = self.b.block_params(merge)[0];
        self.vs.slots.retain(|s| s.idx < off - 2);
        self.vs.off = off - 2;
    }

    /// Runs a frame helper that pops `n_in` and pushes `n_out` items.
    fn call_frame_helper(&mut self, helper: FrameHelper, n_in: i32, n_out: i32) {
        self.call_helper_on_stack(helper, n_in, n_out, true);
    }

    /// Runs a frame helper that does not use gas (see [`shims::helper_is_plain`]).
    fn call_plain_helper(&mut self, helper: FrameHelper, n_in: i32, n_out: i32) {
        self.call_helper_on_stack(helper, n_in, n_out, false);
    }

    fn call_helper_on_stack(&mut self, helper: FrameHelper, n_in: i32, n_out: i32, gas: bool) {
        let off = self.vs.off;
        // The helper reads only its own operands; deeper cached items stay in SSA.
        self.flush_range(off - n_in, off);
        if let Some(gas) = self.invoke_frame_helper(helper, gas) {
            self.gas = gas;
        }
        let first = off - n_in;
        self.vs.slots.retain(|s| s.idx < first);
        self.vs.off = first + n_out;
    }

    /// Calls `helper` on the frame after storing its stack pointer (and, for a helper that
    /// uses gas, the gas left) and fails the frame on a non-zero status (for a plain helper only
    /// a caught panic). Returns the gas left after a gas-using helper.
    fn invoke_frame_helper(&mut self, helper: FrameHelper, uses_gas: bool) -> Option<Value> {
        self.store_sp();
        if uses_gas {
            self.store_gas();
        }
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        let call = self
            .b
            .ins()
            .call_indirect(self.sigs.frame, callee, &[self.frame]);
        let status = self.b.inst_results(call)[0];
        self.fail_with(status);
        uses_gas.then(|| self.b.ins().load(I64, FLAGS, self.frame, OFF_GAS))
    }

    fn call_pure_helper(&mut self, helper: PureHelper, args: &[Word]) -> Word {
        for (i, w) in args.iter().enumerate() {
            let limbs = self.materialize(*w);
            // 16-byte stores: the helper reads its operands as whole words, and a load wider
            // than the stores that wrote it cannot be forwarded (a stall of ~15 cycles per
            // operand, measured as most of the time of division-heavy code).
            for half in 0..2 {
                let v = self.b.ins().scalar_to_vector(I64X2, limbs[2 * half]);
                let v = self.b.ins().insertlane(v, limbs[2 * half + 1], 1);
                self.b
                    .ins()
                    .stack_store(I64, v, self.scratch, i as i32 * WORD + 16 * half as i32);
            }
        }
        let ptr = self.b.ins().stack_addr(I64, self.scratch, 0);
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        self.b.ins().call_indirect(self.sigs.pure, callee, &[ptr]);
        Word::Ssa(std::array::from_fn(|k| {
            self.b
                .ins()
                .stack_load(I64, I64, self.scratch, 8 * k as i32)
        }))
    }

    // -----------------------------------------------------------------------------------------
    // Arithmetic.

    fn lower_pure(&mut self, op: u8) {
        let n = OPCODES[op as usize].stack_in as usize;
        let mut args = [Word::Const(U256::ZERO); 3];
        for a in args.iter_mut().take(n) {
            *a = self.pop();
        }
        let consts = args.map(|w| match w {
            Word::Const(c) => Some(c),
            Word::Ssa(_) => None,
        });
        let result = if let [Some(a), Some(b), Some(c)] = consts {
            Word::Const(shims::fold(op, a, b, c))
        } else {
            self.lower_pure_dynamic(op, &args[..n], consts[0], consts[1])
        };
        self.push(result);
    }

    fn lower_pure_dynamic(
        &mut self,
        op: u8,
        args: &[Word],
        const_a: Option<U256>,
        const_b: Option<U256>,
    ) -> Word {
        let two = |s: &mut Self| (s.materialize(args[0]), s.materialize(args[1]));
        let flag = |s: &mut Self, f: Value| {
            let v = s.b.ins().uextend(I64, f);
            {
                let z = s.zero();
                Word::Ssa([v, z, z, z])
            }
        };
        let power_of_two = const_b.filter(|b| b.is_power_of_two());
        match op {
            // x * 2^k, x / 2^k, x % 2^k: shifts and masks (Solidity before EIP-145 shifts so).
            MUL if power_of_two.is_some() => {
                let k = U256::from(power_of_two.unwrap_or_default().trailing_zeros());
                let a = self.materialize(args[0]);
                Word::Ssa(self.shift_const(SHL, k, a))
            }
            MUL if const_a.is_some_and(|a| a.is_power_of_two()) => {
                let k = U256::from(const_a.unwrap_or_default().trailing_zeros());
                let b = self.materialize(args[1]);
                Word::Ssa(self.shift_const(SHL, k, b))
            }
            DIV if power_of_two.is_some() => {
                let k = U256::from(power_of_two.unwrap_or_default().trailing_zeros());
                let a = self.materialize(args[0]);
                Word::Ssa(self.shift_const(SHR, k, a))
            }
            MOD if power_of_two.is_some() => {
                let k = power_of_two.unwrap_or_default().trailing_zeros();
                let a = self.materialize(args[0]);
                Word::Ssa(std::array::from_fn(|i| {
                    let (lo, hi) = (64 * i, 64 * i + 64);
                    if k >= hi {
                        a[i]
                    } else if k <= lo {
                        self.zero()
                    } else {
                        let mask = (1u64 << (k - lo)) - 1;
                        self.b.ins().band_imm_u(a[i], mask as i64)
                    }
                }))
            }
            DIV | MOD | SDIV | SMOD => self.lower_division(op, args),
            ADDMOD => self.lower_addmod(args),
            // SIGNEXTEND(k, x) with a constant byte index: within the limb holding the sign bit,
            // shift it to the top and back arithmetically; the limbs above are copies of the
            // sign, the ones below stay. (Two 256-bit shifts would be ~25 instructions on the
            // critical path.)
            SIGNEXTEND if const_a.is_some() => {
                let k = const_a.unwrap_or_default();
                let x = self.materialize(args[1]);
                if k >= U256::from(31) {
                    return Word::Ssa(x);
                }
                let sign_bit = k.as_limbs()[0] as usize * 8 + 7;
                let (limb, up) = (sign_bit / 64, 63 - (sign_bit % 64) as i64);
                let mut r = x;
                r[limb] = if up == 0 {
                    x[limb]
                } else {
                    let shifted = self.b.ins().ishl_imm_s(x[limb], up);
                    self.b.ins().sshr_imm_s(shifted, up)
                };
                if limb < 3 {
                    let sign = self.b.ins().sshr_imm_s(r[limb], 63);
                    r[limb + 1..].fill(sign);
                }
                Word::Ssa(r)
            }
            ADD => {
                let (a, b) = two(self);
                Word::Ssa(self.add(a, b))
            }
            SUB => {
                let (a, b) = two(self);
                Word::Ssa(self.sub(a, b))
            }
            MUL => {
                let (a, b) = two(self);
                Word::Ssa(self.mul(a, b))
            }
            AND | OR | XOR => {
                let (a, b) = two(self);
                Word::Ssa(std::array::from_fn(|i| match op {
                    AND => self.b.ins().band(a[i], b[i]),
                    OR => self.b.ins().bor(a[i], b[i]),
                    _ => self.b.ins().bxor(a[i], b[i]),
                }))
            }
            NOT => {
                let a = self.materialize(args[0]);
                Word::Ssa(a.map(|l| self.b.ins().bnot(l)))
            }
            ISZERO => {
                let a = self.materialize(args[0]);
                let nz = self.is_nonzero(a);
                let z = self.b.ins().bxor_imm_u(nz, 1);
                flag(self, z)
            }
            EQ => {
                let (a, b) = two(self);
                let x: [Value; 4] = std::array::from_fn(|i| self.b.ins().bxor(a[i], b[i]));
                let nz = self.is_nonzero(x);
                let z = self.b.ins().bxor_imm_u(nz, 1);
                flag(self, z)
            }
            LT | GT | SLT | SGT => {
                let (a, b) = two(self);
                let (x, y) = if matches!(op, LT | SLT) {
                    (a, b)
                } else {
                    (b, a)
                };
                let f = self.less_than(x, y, matches!(op, SLT | SGT));
                flag(self, f)
            }
            SHL | SHR | SAR if const_a.is_some() => {
                let shift = const_a.unwrap_or_default();
                let x = self.materialize(args[1]);
                Word::Ssa(self.shift_const(op, shift, x))
            }
            BYTE if const_a.is_some() => {
                let i = const_a.unwrap_or_default();
                if i >= U256::from(32) {
                    return Word::Const(U256::ZERO);
                }
                let x = self.materialize(args[1]);
                let k = 31 - i.as_limbs()[0] as usize; // byte index from the least significant
                let v = self.b.ins().ushr_imm_u(x[k / 8], ((k % 8) * 8) as i64);
                let v = self.b.ins().band_imm_u(v, 0xff);
                {
                    let z = self.zero();
                    Word::Ssa([v, z, z, z])
                }
            }
            _ => self.call_pure_helper(shims::pure_helper(op), args),
        }
    }

    /// DIV/MOD/SDIV/SMOD: one machine instruction when both operands fit in 64 bits (as
    /// unsigned, or sign-extended for the signed ops), the shared helper otherwise.
    fn lower_division(&mut self, op: u8, args: &[Word]) -> Word {
        let (a, b) = (self.materialize(args[0]), self.materialize(args[1]));
        let signed = matches!(op, SDIV | SMOD);
        let fits = if signed {
            let a_ok = self.sign_extended(a);
            let b_ok = self.sign_extended(b);
            let both = self.b.ins().band(a_ok, b_ok);
            let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, b[0], 0);
            let both = self.b.ins().band(both, nonzero);
            // i64::MIN / -1 overflows the machine instruction (the EVM result is 2^63).
            let min = self.b.ins().icmp_imm_s(IntCC::Equal, a[0], i64::MIN);
            let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b[0], -1);
            let overflow = self.b.ins().band(min, minus_one);
            self.b.ins().band_not(both, overflow)
        } else {
            let hi = self.b.ins().bor(a[1], a[2]);
            let hi = self.b.ins().bor(hi, a[3]);
            let hi = self.b.ins().bor(hi, b[1]);
            let hi = self.b.ins().bor(hi, b[2]);
            let hi = self.b.ins().bor(hi, b[3]);
            let small = self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0);
            let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, b[0], 0);
            self.b.ins().band(small, nonzero)
        };
        let (slow, merge) = self.fast_path_split(fits, 4);
        let r = match op {
            DIV => self.b.ins().udiv(a[0], b[0]),
            MOD => self.b.ins().urem(a[0], b[0]),
            SDIV => self.b.ins().sdiv(a[0], b[0]),
            _ => self.b.ins().srem(a[0], b[0]),
        };
        let ext = if signed {
            self.b.ins().sshr_imm_u(r, 63)
        } else {
            self.zero()
        };
        self.b
            .ins()
            .jump(merge, &[r, ext, ext, ext].map(BlockArg::Value));

        self.pure_slow_path(op, args, slow, merge)
    }

    /// ADDMOD: with both addends below the modulus (modular arithmetic keeps them so), the sum
    /// is below twice the modulus and one conditional subtraction reduces it; otherwise (or for
    /// a zero modulus) the shared helper.
    fn lower_addmod(&mut self, args: &[Word]) -> Word {
        let (a, b, m) = (
            self.materialize(args[0]),
            self.materialize(args[1]),
            self.materialize(args[2]),
        );
        let a_below = self.less_than(a, m, false);
        let b_below = self.less_than(b, m, false);
        let reduced = self.b.ins().band(a_below, b_below);
        let (slow, merge) = self.fast_path_split(reduced, 4);

        let (sum, carry) = self.add_with_carry(a, b);
        let below = self.less_than(sum, m, false);
        let at_least = self.b.ins().bxor_imm_u(below, 1);
        let subtract = self.b.ins().bor(at_least, carry);
        let diff = self.sub(sum, m);
        let r: [Value; 4] = std::array::from_fn(|i| self.b.ins().select(subtract, diff[i], sum[i]));
        self.b.ins().jump(merge, &r.map(BlockArg::Value));

        self.pure_slow_path(ADDMOD, args, slow, merge)
    }

    /// Ends a split made by [`Lower::fast_path_split`] for a pure word operation: the cold
    /// `slow` block runs the shared helper for `op`, and the result is the word `merge` receives
    /// from either path.
    fn pure_slow_path(&mut self, op: u8, args: &[Word], slow: Block, merge: Block) -> Word {
        self.b.switch_to_block(slow);
        let Word::Ssa(limbs) = self.call_pure_helper(shims::pure_helper(op), args) else {
            unreachable!("helpers return SSA words")
        };
        self.b.ins().jump(merge, &limbs.map(BlockArg::Value));
        self.b.switch_to_block(merge);
        let p = self.b.block_params(merge);
        Word::Ssa([p[0], p[1], p[2], p[3]])
    }

    /// 256-bit sum and its carry out (I8).
    fn add_with_carry(&mut self, a: [Value; 4], b: [Value; 4]) -> ([Value; 4], Value) {
        let (s0, c0) = self.b.ins().uadd_overflow(a[0], b[0]);
        let (s1, c1) = self.add_carry(a[1], b[1], c0);
        let (s2, c2) = self.add_carry(a[2], b[2], c1);
        let (s3, c3) = self.add_carry(a[3], b[3], c2);
        ([s0, s1, s2, s3], c3)
    }

    /// 0 or 1 (I8): whether the word is its low limb sign-extended.
    fn sign_extended(&mut self, a: [Value; 4]) -> Value {
        let sign = self.b.ins().sshr_imm_u(a[0], 63);
        let x1 = self.b.ins().bxor(a[1], sign);
        let x2 = self.b.ins().bxor(a[2], sign);
        let x3 = self.b.ins().bxor(a[3], sign);
        let x = self.b.ins().bor(x1, x2);
        let x = self.b.ins().bor(x, x3);
        self.b.ins().icmp_imm_s(IntCC::Equal, x, 0)
    }

    /// 0 or 1 (I8): whether any limb is non-zero.
    fn is_nonzero(&mut self, a: [Value; 4]) -> Value {
        let x = self.b.ins().bor(a[0], a[1]);
        let y = self.b.ins().bor(a[2], a[3]);
        let x = self.b.ins().bor(x, y);
        self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
    }

    fn add(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        self.add_or_sub(a, b, false)
    }

    fn sub(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        self.add_or_sub(a, b, true)
    }

    /// Wrapping 256-bit sum or difference as two 128-bit halves: x86-64 lowers a 128-bit add
    /// (sub) to add/adc (sub/sbb), where a carry chain of 64-bit overflow checks costs three
    /// instructions per limb (Cranelift has no add-with-carry on 64-bit values for this target).
    fn add_or_sub(&mut self, a: [Value; 4], b: [Value; 4], subtract: bool) -> [Value; 4] {
        let mut half = |x: [Value; 4], i: usize| self.b.ins().iconcat(x[i], x[i + 1]);
        let (a_lo, b_lo, a_hi, b_hi) = (half(a, 0), half(b, 0), half(a, 2), half(b, 2));
        let op = |s: &mut Self, x, y| {
            if subtract {
                s.b.ins().isub(x, y)
            } else {
                s.b.ins().iadd(x, y)
            }
        };
        let lo = op(self, a_lo, b_lo);
        // Carry out of a sum: it wrapped below an addend; borrow out of a difference: the
        // subtrahend was larger.
        let (x, y) = if subtract { (a_lo, b_lo) } else { (lo, a_lo) };
        let carry = self.b.ins().icmp(IntCC::UnsignedLessThan, x, y);
        let carry = self.b.ins().uextend(I128, carry);
        let hi = op(self, a_hi, b_hi);
        let hi = op(self, hi, carry);
        let (r0, r1) = self.b.ins().isplit(lo);
        let (r2, r3) = self.b.ins().isplit(hi);
        [r0, r1, r2, r3]
    }

    fn add_carry(&mut self, a: Value, b: Value, carry: Value) -> (Value, Value) {
        let (t, c1) = self.b.ins().uadd_overflow(a, b);
        let carry = self.b.ins().uextend(I64, carry);
        let (s, c2) = self.b.ins().uadd_overflow(t, carry);
        (s, self.b.ins().bor(c1, c2))
    }

    /// Wrapping 256-bit product, schoolbook on 64-bit limbs: limb k collects the low halves of
    /// a_i * b_j with i + j = k, the high halves with i + j = k - 1, and the carries of limb k - 1.
    fn mul(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let z = self.zero();
        let mut r = [z; 4];
        // Carries into the next limb, counted in an i64.
        let mut carry = z;
        for k in 0..4 {
            let mut terms = Vec::with_capacity(8);
            for i in 0..=k {
                terms.push(self.b.ins().imul(a[i], b[k - i]));
            }
            for i in 0..k {
                terms.push(self.b.ins().umulhi(a[i], b[k - 1 - i]));
            }
            if k == 3 {
                // The top limb wraps: no carry out.
                let mut acc = carry;
                for t in terms {
                    acc = self.b.ins().iadd(acc, t);
                }
                r[3] = acc;
                break;
            }
            let mut acc = carry;
            let mut next = self.zero();
            for t in terms {
                let (sum, c) = self.b.ins().uadd_overflow(acc, t);
                let c = self.b.ins().uextend(I64, c);
                next = self.b.ins().iadd(next, c);
                acc = sum;
            }
            r[k] = acc;
            carry = next;
        }
        r
    }

    /// a < b (I8), unsigned or as two's-complement signed words.
    fn less_than(&mut self, a: [Value; 4], b: [Value; 4], signed: bool) -> Value {
        // Lexicographic from the least significant limb up: at each limb, strictly less decides,
        // equal defers to the lower limbs.
        let mut lt = self.b.ins().icmp(IntCC::UnsignedLessThan, a[0], b[0]);
        for i in 1..4 {
            let cc = if signed && i == 3 {
                IntCC::SignedLessThan
            } else {
                IntCC::UnsignedLessThan
            };
            let less = self.b.ins().icmp(cc, a[i], b[i]);
            let eq = self.b.ins().icmp(IntCC::Equal, a[i], b[i]);
            let keep = self.b.ins().band(eq, lt);
            lt = self.b.ins().bor(less, keep);
        }
        debug_assert_eq!(self.b.func.dfg.value_type(lt), I8);
        lt
    }

    /// SHL / SHR / SAR by a constant amount, limb by limb.
    fn shift_const(&mut self, op: u8, shift: U256, x: [Value; 4]) -> [Value; 4] {
        let fill = if op == SAR {
            self.b.ins().sshr_imm_u(x[3], 63)
        } else {
            self.zero()
        };
        if shift >= U256::from(256) {
            return [fill; 4];
        }
        let s = shift.as_limbs()[0] as usize;
        let (q, r) = (s / 64, (s % 64) as i64);
        std::array::from_fn(|i| {
            if op == SHL {
                if i < q {
                    return self.zero();
                }
                let v = self.b.ins().ishl_imm_u(x[i - q], r);
                if r == 0 || i == q {
                    return v;
                }
                let lo = self.b.ins().ushr_imm_u(x[i - q - 1], 64 - r);
                self.b.ins().bor(v, lo)
            } else {
                let j = i + q;
                if j > 3 {
                    return fill;
                }
                if j == 3 {
                    return if op == SAR {
                        self.b.ins().sshr_imm_u(x[3], r)
                    } else {
                        self.b.ins().ushr_imm_u(x[3], r)
                    };
                }
                let v = self.b.ins().ushr_imm_u(x[j], r);
                if r == 0 {
                    return v;
                }
                let hi = self.b.ins().ishl_imm_u(x[j + 1], 64 - r);
                self.b.ins().bor(v, hi)
            }
        })
    }
}
