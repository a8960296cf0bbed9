//! The JIT's module and ISA setup: the Cranelift target (flags chosen for EVM code), the
//! signatures shared with the stubs, and [`Compiler`], one contract's `JITModule`, which defines
//! regions (translated by [`crate::translate`]) and owns their machine code.
//!
//! A compiled *region* is a run of consecutive segments in one function of Cranelift's `tail`
//! calling convention, `fn(frame, sp, gas, segment) -> u64`; it returns only when the frame ends:
//! `DONE | status`, with `gas_left` stored in the frame.

use crate::segments::Segments;
use crate::translate::{self, Sigs};
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, Signature};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITMemoryProvider, JITModule};
use cranelift_module::{FuncId, Module};
use dtvm_core::analysis::CodeAnalysis;
use dtvm_runtime::Frame;
use std::mem::offset_of;

/// Tag of a region's return value that means "the frame ended with status `ret as u32`".
pub(crate) const DONE: u64 = 1 << 63;

/// Offsets of the frame fields compiled code and the stubs address.
pub(crate) const OFF_SP: i32 = offset_of!(Frame<'static, 'static>, sp) as i32;
pub(crate) const OFF_GAS: i32 = offset_of!(Frame<'static, 'static>, gas_left) as i32;

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

/// How hard Cranelift works on a contract's code: the caller decides when it creates the
/// contract (`code_cache::contract`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effort {
    /// A caller waits for the code (multipass compiles a whole contract before running it,
    /// lazy a segment on first entry): Cranelift's `opt_level=none`, no e-graph pass. It cuts
    /// compile time by about a quarter, and on the main/ benchmarks the code runs as fast as
    /// optimised code (faster on blake2b_huff and snailtracer, whose long blocks the pass's
    /// value numbering fills with long-lived values): the translator folds constants itself.
    /// Chains of jumps, whose repeated entry checks the pass merged, run slower
    /// (micro/jump_around). See docs/bench-results.md, fifth session.
    Quick,
    /// The code proved hot and compiles in the background (tiered): `opt_level=speed`.
    Thorough,
}

pub(crate) fn isa(effort: Effort) -> Result<OwnedTargetIsa, String> {
    type Isa = once_cell::sync::Lazy<Result<OwnedTargetIsa, String>>;
    static QUICK: Isa = once_cell::sync::Lazy::new(|| build_isa("none"));
    static THOROUGH: Isa = once_cell::sync::Lazy::new(|| build_isa("speed"));
    match effort {
        Effort::Quick => QUICK.clone(),
        Effort::Thorough => THOROUGH.clone(),
    }
}

fn build_isa(opt_level: &str) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, k: &str, v: &str| {
        flags.set(k, v).map_err(|e| format!("{k}={v}: {e}"))
    };
    set(&mut flags, "opt_level", opt_level)?;
    // The backtracking allocator (better code than single-pass). Its cost grows faster
    // than linearly with the values live across long straight-line code, which the
    // translator bounds: long segments are cut into pieces (`segments.rs`) and the
    // virtual stack keeps at most `MAX_CACHED` words in SSA values.
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
pub(crate) struct Tables<'a> {
    /// Address of the slot table: one machine word per segment, the address to tail-call.
    pub slots: usize,
    /// Address of the jump table: one `u32` per code byte, `segment + 1` at a JUMPDEST, else 0.
    pub segment_of_pc: usize,
    /// Entries of the jump table (the code length).
    pub code_len: usize,
    /// The place table: per segment, its region and its case of the region's entry switch
    /// (see `policy::plan_entries`).
    pub place: &'a [u32],
    /// The interpreter stub (see `stubs.rs`): what a region's entry switch does for a segment
    /// it has no case for.
    pub interpret: usize,
    /// The memory expansion stub that preserves every register (see `stubs.rs`).
    pub expand: usize,
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
    expand_sig: Signature,
    calldata_sig: Signature,
}

impl Compiler {
    /// A compiler whose code lives in `memory`, optimising as `effort` says.
    pub(crate) fn new(
        memory: Box<dyn JITMemoryProvider + Send>,
        effort: Effort,
    ) -> Result<Self, String> {
        let mut builder =
            JITBuilder::with_isa(isa(effort)?, cranelift_module::default_libcall_names());
        builder.memory_provider(memory);
        let module = JITModule::new(builder);
        let tail_sig = tail_signature(&module);
        let mut frame_sig = Signature::new(CallConv::SystemV);
        frame_sig.params.push(AbiParam::new(I64));
        frame_sig.returns.push(AbiParam::new(I32));
        let mut pure_sig = Signature::new(CallConv::SystemV);
        pure_sig.params.push(AbiParam::new(I64));
        let expand_sig = crate::stubs::preserve_all_expand_signature();
        let mut calldata_sig = Signature::new(CallConv::SystemV);
        calldata_sig.params.extend([AbiParam::new(I64); 4]);
        Ok(Self {
            module,
            tail_sig,
            frame_sig,
            pure_sig,
            expand_sig,
            calldata_sig,
        })
    }

    /// Compiles the segments `segments` (indices into `all`, in layout order) as one function:
    /// region `region` of the plan, or (`None`) one segment alone. The function is usable after
    /// [`Compiler::finalize`]. Returns its id and the size of its machine code.
    pub(crate) fn define(
        &mut self,
        analysis: &CodeAnalysis,
        all: &Segments,
        segments: &[usize],
        region: Option<u32>,
        tables: &Tables<'_>,
    ) -> Result<(FuncId, usize), CompileError> {
        // A panic inside Cranelift (a bug, ours or its) must not fail the execution: the
        // segments run in the interpreter instead, and the caller stops using this compiler.
        // Cranelift's working state is the compiling thread's, not the contract's: it keeps the
        // capacity of the largest function it compiled, which per contract would cost far more
        // than the contract's code. One that saw a panic is dropped.
        let mut scratch = SCRATCH.take().unwrap_or_default();
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.define_unchecked(&mut scratch, analysis, all, segments, region, tables)
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
        segments: &[usize],
        region: Option<u32>,
        tables: &Tables<'_>,
    ) -> Result<(FuncId, usize), CompileError> {
        let Scratch { ctx, fctx } = scratch;
        ctx.func.signature = self.tail_sig.clone();
        let config = self.module.target_config();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
            let sigs = Sigs {
                frame: b.import_signature(self.frame_sig.clone()),
                pure: b.import_signature(self.pure_sig.clone()),
                expand: b.import_signature(self.expand_sig.clone()),
                calldata: b.import_signature(self.calldata_sig.clone()),
                tail: b.import_signature(self.tail_sig.clone()),
            };
            translate::lower_region(b, config, analysis, all, segments, region, tables, sigs);
        }
        let disasm = std::env::var_os("DTVM_JIT_DISASM").is_some();
        if std::env::var_os("DTVM_JIT_CLIF").is_some() {
            eprintln!("; clif {segments:?}\n{}", ctx.func.display());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::settings::OptLevel;

    #[test]
    fn effort_chooses_the_optimisation_level() {
        let level = |e| isa(e).expect("a native ISA").flags().opt_level();
        assert_eq!(level(Effort::Quick), OptLevel::None);
        assert_eq!(level(Effort::Thorough), OptLevel::Speed);
    }
}
