//! Lowering of one JUMPDEST segment to a Cranelift function.
//!
//! A compiled segment is `extern "C" fn(*mut Frame) -> u64`. It returns either [`DONE`]` | status`
//! (the frame ended) or the pc where execution continues: a jump destination (not yet validated:
//! the driver checks it against the jumpdest bitmap) or the JUMPDEST that starts the next segment.
//! In both cases the first block at that pc has not been entered yet, as with
//! `dtvm_interp::run_segment`, so compiled and interpreted segments interleave freely.
//!
//! Inside a segment the EVM stack is virtual: the compiler tracks, per stack slot relative to the
//! stack pointer materialised in the `sp` variable, whether the item is a compile-time constant,
//! an SSA value (4 little-endian u64 limbs, ruint's layout), or only in the frame's memory. Items
//! reach memory lazily: before a helper reads them, and at segment exits. Blocks inside a segment
//! form a chain (only the segment's own JUMPDEST has several predecessors), so the virtual stack
//! carries across block boundaries; block entry checks gas and stack bounds exactly as
//! `Frame::begin_block` does, with the virtual offset folded into the comparison constants.

use crate::shims::{self, FrameHelper, PureHelper};
use ::evmc_vm::sys::*;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, InstBuilder, MemFlagsData, SigRef, Signature, StackSlot,
    StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module};
use dtvm_core::analysis::{CodeAnalysis, UNDEFINED_MARK};
use dtvm_core::opcode::*;
use dtvm_core::{STACK_LIMIT, U256};
use dtvm_interp::Frame;
use std::mem::offset_of;

/// Tag of a segment's return value that means "the frame ended with status `ret as u32`".
pub(crate) const DONE: u64 = 1 << 63;

pub(crate) type SegmentFn = unsafe extern "C" fn(*mut Frame) -> u64;

/// Segments with more instructions than this are left to the interpreter: Cranelift's cost grows
/// with function size, and one huge straight-line segment would stall the caller that compiles it.
pub(crate) const MAX_SEGMENT_OPS: usize = 2048;

const OFF_SP: i32 = offset_of!(Frame<'static, 'static>, sp) as i32;
const OFF_BASE: i32 = offset_of!(Frame<'static, 'static>, stack_base) as i32;
const OFF_GAS: i32 = offset_of!(Frame<'static, 'static>, gas_left) as i32;
const WORD: i32 = 32;

#[derive(Debug)]
pub(crate) enum CompileError {
    /// The segment exceeds [`MAX_SEGMENT_OPS`].
    TooLarge,
    Codegen(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "segment too large"),
            Self::Codegen(e) => write!(f, "codegen: {e}"),
        }
    }
}

fn isa() -> Result<OwnedTargetIsa, String> {
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
            set(&mut flags, "regalloc_algorithm", "single_pass")?;
            set(&mut flags, "is_pic", "false")?;
            set(&mut flags, "use_colocated_libcalls", "false")?;
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

/// One contract's JIT module. Not `Sync` (Cranelift's `JITModule` is not): the owner keeps it
/// behind a lock and publishes only the finished function pointers.
pub(crate) struct Compiler {
    module: JITModule,
    ctx: Context,
    fctx: FunctionBuilderContext,
    segment_sig: Signature,
    frame_sig: Signature,
    pure_sig: Signature,
}

impl Compiler {
    pub(crate) fn new() -> Result<Self, String> {
        let module = JITModule::new(JITBuilder::with_isa(
            isa()?,
            cranelift_module::default_libcall_names(),
        ));
        let mut segment_sig = module.make_signature();
        segment_sig.params.push(AbiParam::new(I64));
        segment_sig.returns.push(AbiParam::new(I64));
        let mut frame_sig = module.make_signature();
        frame_sig.params.push(AbiParam::new(I64));
        frame_sig.returns.push(AbiParam::new(I32));
        let mut pure_sig = module.make_signature();
        pure_sig.params.push(AbiParam::new(I64));
        Ok(Self {
            ctx: module.make_context(),
            module,
            fctx: FunctionBuilderContext::new(),
            segment_sig,
            frame_sig,
            pure_sig,
        })
    }

    /// Compiles the segment `[start, end)` (`end` = the next segment's JUMPDEST, `None` for the
    /// last segment). The function is usable after [`Compiler::finalize`]. Returns its id and
    /// the size of its machine code.
    pub(crate) fn define(
        &mut self,
        analysis: &CodeAnalysis,
        start: usize,
        end: Option<usize>,
    ) -> Result<(FuncId, usize), CompileError> {
        // Refuse before building any IR: an abandoned `FunctionBuilder` would leave the shared
        // builder context half-used.
        if segment_ops(analysis.exec_code(), start, end) > MAX_SEGMENT_OPS {
            return Err(CompileError::TooLarge);
        }
        self.ctx.func.signature = self.segment_sig.clone();
        let config = self.module.target_config();
        {
            let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let frame_sig = b.import_signature(self.frame_sig.clone());
            let pure_sig = b.import_signature(self.pure_sig.clone());
            Lower::new(b, config, analysis, start, end, frame_sig, pure_sig).run();
        }
        let result = (|| {
            let id = self
                .module
                .declare_anonymous_function(&self.segment_sig)
                .map_err(|e| CompileError::Codegen(e.to_string()))?;
            self.module
                .define_function(id, &mut self.ctx)
                .map_err(|e| CompileError::Codegen(format!("{e:?}")))?;
            let size = self
                .ctx
                .compiled_code()
                .map_or(0, |c| c.code_buffer().len());
            Ok((id, size))
        })();
        self.module.clear_context(&mut self.ctx);
        result
    }

    /// Makes every defined function executable.
    pub(crate) fn finalize(&mut self) -> Result<(), String> {
        self.module
            .finalize_definitions()
            .map_err(|e| e.to_string())
    }

    /// The entry point of a defined and finalized function.
    pub(crate) fn function(&self, id: FuncId) -> SegmentFn {
        let ptr = self.module.get_finalized_function(id);
        // SAFETY: `id` was defined with `segment_sig`, the C ABI of `SegmentFn`.
        unsafe { std::mem::transmute::<*const u8, SegmentFn>(ptr) }
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

/// Instructions in the segment `[start, end)` (an upper bound of what is lowered: code after a
/// terminator is dead).
fn segment_ops(code: &[u8], start: usize, end: Option<usize>) -> usize {
    let end = end.unwrap_or(code.len());
    let mut pc = start;
    let mut ops = 0;
    while pc < end {
        let op = code[pc];
        pc += 1 + if (PUSH1..=PUSH32).contains(&op) {
            (op - PUSH1 + 1) as usize
        } else {
            0
        };
        ops += 1;
    }
    ops
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

struct Lower<'a, 'f> {
    b: FunctionBuilder<'f>,
    config: TargetFrontendConfig,
    analysis: &'a CodeAnalysis,
    code: &'a [u8],
    start: usize,
    end: Option<usize>,
    /// Whether a jump to `start` may stay inside the function (`start` is a JUMPDEST).
    loops: bool,
    frame_sig: SigRef,
    pure_sig: SigRef,
    frame: Value,
    base: Value,
    zero: Value,
    /// The materialised stack pointer and the gas left, as SSA values of the current block.
    /// Blocks form a chain from `head`, so no SSA construction is needed: only `head` has
    /// several predecessors, and it takes both as block parameters.
    sp: Value,
    gas: Value,
    head: Block,
    fail: Block,
    scratch: StackSlot,
    vs: VStack,
}

const FLAGS: MemFlagsData = MemFlagsData::trusted();

impl<'a, 'f> Lower<'a, 'f> {
    fn new(
        mut b: FunctionBuilder<'f>,
        config: TargetFrontendConfig,
        analysis: &'a CodeAnalysis,
        start: usize,
        end: Option<usize>,
        frame_sig: SigRef,
        pure_sig: SigRef,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let frame = b.block_params(entry)[0];
        let base = b.ins().load(I64, FLAGS, frame, OFF_BASE);
        let sp0 = b.ins().load(I64, FLAGS, frame, OFF_SP);
        let gas0 = b.ins().load(I64, FLAGS, frame, OFF_GAS);
        let zero = b.ins().iconst(I64, 0);
        let scratch =
            b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 96, 3));
        let head = b.create_block();
        let sp = b.append_block_param(head, I64);
        let gas = b.append_block_param(head, I64);
        let fail = b.create_block();
        b.append_block_param(fail, I32);
        b.set_cold_block(fail);
        b.ins()
            .jump(head, &[BlockArg::Value(sp0), BlockArg::Value(gas0)]);
        b.switch_to_block(head);
        let code = analysis.exec_code();
        Self {
            b,
            config,
            analysis,
            code,
            start,
            end,
            loops: code[start] == JUMPDEST,
            frame_sig,
            pure_sig,
            frame,
            base,
            zero,
            sp,
            gas,
            head,
            fail,
            scratch,
            vs: VStack::default(),
        }
    }

    fn run(mut self) {
        self.lower_body();
        // The failure exit: the frame ends with the status in the block parameter. Gas and
        // stack do not matter, a failed frame reports neither.
        self.b.switch_to_block(self.fail);
        let status = self.b.block_params(self.fail)[0];
        let status = self.b.ins().uextend(I64, status);
        let ret = self.b.ins().bor_imm_s(status, DONE as i64);
        self.b.ins().return_(&[ret]);
        self.b.seal_block(self.fail);
        self.b.seal_block(self.head);
        let config = self.config;
        self.b.finalize(config);
    }

    fn lower_body(&mut self) {
        let code = self.code;
        let mut pc = self.start;
        if code[pc] != JUMPDEST && !self.enter_block(pc) {
            return;
        }
        loop {
            if Some(pc) == self.end {
                let target = self.b.ins().iconst(I64, pc as i64);
                self.exit_continue(target);
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
                    debug_assert_eq!(pc, self.start);
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
                    self.push(Word::Ssa([g, self.zero, self.zero, self.zero]));
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
                            self.b.seal_block(taken);
                            self.b.seal_block(not_taken);
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
                _ if shims::is_pure(op) && info.defined_in(self.analysis.rev) => {
                    self.lower_pure(op);
                    true
                }
                _ => match shims::frame_helper(op) {
                    Some(helper) if op != UNDEFINED_MARK => {
                        self.call_frame_helper(helper, info.stack_in as i32, info.stack_out as i32);
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

    // -----------------------------------------------------------------------------------------
    // Blocks, exits.

    /// Charges and checks the block starting at `pc`, as `Frame::begin_block`. Returns `false`
    /// when the block fails unconditionally (the rest of the segment is then unreachable).
    fn enter_block(&mut self, pc: usize) -> bool {
        let info = self.analysis.block(pc);
        if info.gas > 0 {
            let g = self.b.ins().iadd_imm_s(self.gas, -(info.gas as i64));
            let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, g, 0);
            self.fail_if(out, EVMC_OUT_OF_GAS);
            self.gas = g;
        }
        let off = self.vs.off;
        let req = info.stack_req as i32;
        let growth = info.stack_max_growth as i32;
        let limit = STACK_LIMIT as i32;
        // The materialised height `h` is that of a real earlier stack pointer: 0 <= h <= limit.
        if req > off || off + growth > 0 {
            let h = self.b.ins().isub(self.sp, self.base);
            if req > off {
                let under =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::SignedLessThan, h, ((req - off) * WORD) as i64);
                self.fail_if(under, EVMC_STACK_UNDERFLOW);
            }
            if off + growth > limit {
                // Whatever the height, the block overflows.
                self.jump_fail(EVMC_STACK_OVERFLOW);
                return false;
            }
            if off + growth > 0 {
                let over = self.b.ins().icmp_imm_s(
                    IntCC::SignedGreaterThan,
                    h,
                    ((limit - off - growth) * WORD) as i64,
                );
                self.fail_if(over, EVMC_STACK_OVERFLOW);
            }
        }
        true
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
        let status = self.b.ins().iconst(I32, status as i64);
        self.b
            .ins()
            .brif(cond, self.fail, &[BlockArg::Value(status)], cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }

    fn jump_fail(&mut self, status: i32) {
        let status = self.b.ins().iconst(I32, status as i64);
        self.b.ins().jump(self.fail, &[BlockArg::Value(status)]);
    }

    /// Leaves the segment: the frame continues at `target`.
    fn exit_continue(&mut self, target: Value) {
        self.flush_all();
        self.store_sp();
        self.store_gas();
        self.b.ins().return_(&[target]);
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

    /// JUMP to `dest` (also JUMPI's taken path). Terminates the current Cranelift block.
    fn lower_jump(&mut self, dest: Word) {
        match dest {
            Word::Const(d) => match usize::try_from(d) {
                Ok(d) if self.analysis.is_jumpdest(d) => {
                    if d == self.start && self.loops {
                        self.loop_back();
                    } else {
                        let target = self.b.ins().iconst(I64, d as i64);
                        self.exit_continue(target);
                    }
                }
                _ => self.jump_fail(EVMC_BAD_JUMP_DESTINATION),
            },
            Word::Ssa([l0, l1, l2, l3]) => {
                // Only a word that cannot be a pc fails here; the driver checks the bitmap.
                let hi = self.b.ins().bor(l1, l2);
                let hi = self.b.ins().bor(hi, l3);
                let big = self.b.ins().ushr_imm_u(l0, 32);
                let any = self.b.ins().bor(hi, big);
                let bad = self.b.ins().icmp_imm_s(IntCC::NotEqual, any, 0);
                self.fail_if(bad, EVMC_BAD_JUMP_DESTINATION);
                if self.loops {
                    let own = self.b.ins().icmp_imm_s(IntCC::Equal, l0, self.start as i64);
                    let back = self.b.create_block();
                    let out = self.b.create_block();
                    self.b.ins().brif(own, back, &[], out, &[]);
                    self.b.seal_block(back);
                    self.b.seal_block(out);
                    self.b.switch_to_block(back);
                    let saved = self.vs.clone();
                    self.loop_back();
                    self.vs = saved;
                    self.b.switch_to_block(out);
                }
                self.exit_continue(l0);
            }
        }
    }

    /// Jumps to the segment's own JUMPDEST, staying in this function.
    fn loop_back(&mut self) {
        self.flush_all();
        let sp = self
            .b
            .ins()
            .iadd_imm_s(self.sp, (self.vs.off * WORD) as i64);
        self.vs = VStack::default();
        self.b
            .ins()
            .jump(self.head, &[BlockArg::Value(sp), BlockArg::Value(self.gas)]);
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
                        self.zero
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
            None => self.vs.slots.push(slot),
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

    /// Runs a frame helper that pops `n_in` and pushes `n_out` items.
    fn call_frame_helper(&mut self, helper: FrameHelper, n_in: i32, n_out: i32) {
        let off = self.vs.off;
        // The helper reads only its own operands; deeper cached items stay in SSA.
        self.flush_range(off - n_in, off);
        self.store_sp();
        self.store_gas();
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        let call = self
            .b
            .ins()
            .call_indirect(self.frame_sig, callee, &[self.frame]);
        let status = self.b.inst_results(call)[0];
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(status, self.fail, &[BlockArg::Value(status)], cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        self.gas = self.b.ins().load(I64, FLAGS, self.frame, OFF_GAS);
        let first = off - n_in;
        self.vs.slots.retain(|s| s.idx < first);
        self.vs.off = first + n_out;
    }

    fn call_pure_helper(&mut self, helper: PureHelper, args: &[Word]) -> Word {
        for (i, w) in args.iter().enumerate() {
            let limbs = self.materialize(*w);
            for (k, limb) in limbs.into_iter().enumerate() {
                self.b
                    .ins()
                    .stack_store(I64, limb, self.scratch, i as i32 * WORD + 8 * k as i32);
            }
        }
        let ptr = self.b.ins().stack_addr(I64, self.scratch, 0);
        let callee = self.b.ins().iconst(I64, helper as usize as i64);
        self.b.ins().call_indirect(self.pure_sig, callee, &[ptr]);
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
            self.lower_pure_dynamic(op, &args[..n], consts[0])
        };
        self.push(result);
    }

    fn lower_pure_dynamic(&mut self, op: u8, args: &[Word], const_a: Option<U256>) -> Word {
        let two = |s: &mut Self| (s.materialize(args[0]), s.materialize(args[1]));
        let flag = |s: &mut Self, f: Value| {
            let v = s.b.ins().uextend(I64, f);
            Word::Ssa([v, s.zero, s.zero, s.zero])
        };
        match op {
            ADD => {
                let (a, b) = two(self);
                Word::Ssa(self.add(a, b))
            }
            SUB => {
                let (a, b) = two(self);
                Word::Ssa(self.sub(a, b))
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
                Word::Ssa([v, self.zero, self.zero, self.zero])
            }
            _ => self.call_pure_helper(shims::pure_helper(op), args),
        }
    }

    /// 0 or 1 (I8): whether any limb is non-zero.
    fn is_nonzero(&mut self, a: [Value; 4]) -> Value {
        let x = self.b.ins().bor(a[0], a[1]);
        let y = self.b.ins().bor(a[2], a[3]);
        let x = self.b.ins().bor(x, y);
        self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
    }

    fn add(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let (s0, c0) = self.b.ins().uadd_overflow(a[0], b[0]);
        let (s1, c1) = self.add_carry(a[1], b[1], c0);
        let (s2, c2) = self.add_carry(a[2], b[2], c1);
        let s3 = self.b.ins().iadd(a[3], b[3]);
        let c2 = self.b.ins().uextend(I64, c2);
        let s3 = self.b.ins().iadd(s3, c2);
        [s0, s1, s2, s3]
    }

    fn add_carry(&mut self, a: Value, b: Value, carry: Value) -> (Value, Value) {
        let (t, c1) = self.b.ins().uadd_overflow(a, b);
        let carry = self.b.ins().uextend(I64, carry);
        let (s, c2) = self.b.ins().uadd_overflow(t, carry);
        (s, self.b.ins().bor(c1, c2))
    }

    fn sub(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let (d0, b0) = self.b.ins().usub_overflow(a[0], b[0]);
        let (d1, b1) = self.sub_borrow(a[1], b[1], b0);
        let (d2, b2) = self.sub_borrow(a[2], b[2], b1);
        let d3 = self.b.ins().isub(a[3], b[3]);
        let b2 = self.b.ins().uextend(I64, b2);
        let d3 = self.b.ins().isub(d3, b2);
        [d0, d1, d2, d3]
    }

    fn sub_borrow(&mut self, a: Value, b: Value, borrow: Value) -> (Value, Value) {
        let (t, b1) = self.b.ins().usub_overflow(a, b);
        let borrow = self.b.ins().uextend(I64, borrow);
        let (d, b2) = self.b.ins().usub_overflow(t, borrow);
        (d, self.b.ins().bor(b1, b2))
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
            self.zero
        };
        if shift >= U256::from(256) {
            return [fill; 4];
        }
        let s = shift.as_limbs()[0] as usize;
        let (q, r) = (s / 64, (s % 64) as i64);
        std::array::from_fn(|i| {
            if op == SHL {
                if i < q {
                    return self.zero;
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
