//! Process-wide machine code shared by every contract: the entry trampoline from Rust into
//! compiled segments, and the two stubs a segment slot can point to instead of compiled code.
//!
//! Segment code, the stubs and everything they tail-call use Cranelift's `tail` calling
//! convention with the signature `fn(frame, sp, gas, segment) -> u64` (see [`crate::compiler`]).
//! Rust cannot call or define such functions, so the stubs call back into Rust through plain
//! `extern "C"` hooks and then tail-call whatever the hook chose.

use crate::compiler::{isa, tail_signature, Effort, DONE, OFF_GAS, OFF_SP};
use crate::shims::ExpandHelper;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module};
use dtvm_core::U256;
use dtvm_runtime::Frame;

/// Enters compiled code: runs `target(frame, sp, gas, segment)` and returns its result
/// (`DONE | status`).
pub(crate) type EnterFn =
    unsafe extern "C" fn(*mut Frame<'_, '_>, usize, *mut U256, i64, u64) -> u64;

/// `resolve(frame, segment)`: the address to continue with for `segment`, compiled or the
/// interpreter stub. Called by the resolver stub.
pub(crate) type ResolveHook = unsafe extern "C" fn(*mut Frame<'_, '_>, u64) -> usize;

/// What the interpreter hook returns: `next` is `DONE | status` when the frame ended, otherwise
/// the address to tail-call for segment `segment` (returned in rax:rdx, the System V rule for a
/// 16-byte struct of integers, which is also how Cranelift returns two `i64`s).
#[repr(C)]
pub(crate) struct Next {
    pub next: u64,
    pub segment: u64,
}

/// `interpret(frame, segment)`: runs `segment` in the interpreter on the frame (whose `sp` and
/// `gas_left` the stub stored) and says where to go next.
pub(crate) type InterpretHook = unsafe extern "C" fn(*mut Frame<'_, '_>, u64) -> Next;

pub(crate) struct Stubs {
    /// The module holding the stubs' code, kept for the whole process (never freed, never used
    /// again): a pointer held here, in a static, rather than a forgotten value, so leak checkers
    /// see it as reachable.
    _module: *mut JITModule,
    pub enter: EnterFn,
    /// Initial value of every slot: compiles the segment on first entry (or interprets it).
    pub resolve: usize,
    /// Slot value of a segment that runs in the interpreter.
    pub interpret: usize,
    /// `expand(frame, offset, status_out)` in the `preserve_all` convention: the memory
    /// expansion helper ([`crate::shims::expand_word`]) for compiled code, which then keeps
    /// its values in registers across the call (see [`preserve_all_expand_signature`]).
    pub expand: usize,
}

/// The signature of [`Stubs::expand`]: `preserve_all` (the callee saves every register it
/// uses), parameters (frame, offset, address of an i32 for the status), no results (the
/// convention has none). A call through it clobbers nothing, so straight-line code whose
/// memory accesses may grow memory need not keep its live values in the few callee-saved
/// registers or on the stack around each access; the stub pays the saves, on the rare path.
pub(crate) fn preserve_all_expand_signature() -> Signature {
    let mut sig = Signature::new(CallConv::PreserveAll);
    sig.params.extend([AbiParam::new(I64); 3]);
    sig
}

// SAFETY: the module pointer is never dereferenced; the rest is code addresses.
unsafe impl Send for Stubs {}
// SAFETY: as for `Send`.
unsafe impl Sync for Stubs {}

/// The stubs, built once per process; `None` when Cranelift cannot target this machine (every
/// contract then runs in the interpreter).
pub(crate) fn stubs(resolve: ResolveHook, interpret: InterpretHook) -> Option<&'static Stubs> {
    static STUBS: once_cell::sync::OnceCell<Option<Stubs>> = once_cell::sync::OnceCell::new();
    STUBS
        .get_or_init(|| match build(resolve, interpret) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "dtvm-jit: no stubs, every contract runs interpreted");
                None
            }
        })
        .as_ref()
}

const FLAGS: MemFlagsData = MemFlagsData::trusted();

fn build(resolve_hook: ResolveHook, interpret_hook: InterpretHook) -> Result<Stubs, String> {
    let mut module = JITModule::new(JITBuilder::with_isa(
        isa(Effort::Thorough)?,
        cranelift_module::default_libcall_names(),
    ));
    let tail = tail_signature(&module);
    let config = module.target_config();
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let err = |e: cranelift_module::ModuleError| format!("{e:?}");

    let mut define = |module: &mut JITModule,
                      sig: &Signature,
                      body: &dyn Fn(&mut FunctionBuilder<'_>)|
     -> Result<FuncId, String> {
        ctx.func.signature = sig.clone();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            body(&mut b);
            b.seal_all_blocks();
            b.finalize(config);
        }
        let id = module.declare_anonymous_function(sig).map_err(err)?;
        module.define_function(id, &mut ctx).map_err(err)?;
        module.clear_context(&mut ctx);
        Ok(id)
    };

    // enter(frame, target, sp, gas, segment) -> u64, System V.
    let mut enter_sig = module.make_signature();
    enter_sig.params.extend([AbiParam::new(I64); 5]);
    enter_sig.returns.push(AbiParam::new(I64));
    let enter = define(&mut module, &enter_sig, &|b| {
        let p = b.block_params(b.current_block().unwrap()).to_vec();
        let sig = b.import_signature(tail.clone());
        let call = b.ins().call_indirect(sig, p[1], &[p[0], p[2], p[3], p[4]]);
        let ret = b.inst_results(call)[0];
        b.ins().return_(&[ret]);
    })?;

    let mut hook_sig = Signature::new(CallConv::SystemV);
    hook_sig.params.extend([AbiParam::new(I64); 2]);
    hook_sig.returns.push(AbiParam::new(I64));
    let resolve = define(&mut module, &tail, &|b| {
        let p = b.block_params(b.current_block().unwrap()).to_vec();
        let (frame, sp, gas, seg) = (p[0], p[1], p[2], p[3]);
        let hook_sig = b.import_signature(hook_sig.clone());
        let tail_sig = b.import_signature(tail.clone());
        let hook = b.ins().iconst(I64, resolve_hook as usize as i64);
        let call = b.ins().call_indirect(hook_sig, hook, &[frame, seg]);
        let target = b.inst_results(call)[0];
        b.ins()
            .return_call_indirect(tail_sig, target, &[frame, sp, gas, seg]);
    })?;

    let mut pair_sig = hook_sig.clone();
    pair_sig.returns.push(AbiParam::new(I64));
    let interpret = define(&mut module, &tail, &|b| {
        let p = b.block_params(b.current_block().unwrap()).to_vec();
        let (frame, sp, gas, seg) = (p[0], p[1], p[2], p[3]);
        let hook_sig = b.import_signature(pair_sig.clone());
        let tail_sig = b.import_signature(tail.clone());
        b.ins().store(FLAGS, sp, frame, OFF_SP);
        b.ins().store(FLAGS, gas, frame, OFF_GAS);
        let hook = b.ins().iconst(I64, interpret_hook as usize as i64);
        let call = b.ins().call_indirect(hook_sig, hook, &[frame, seg]);
        let (next, next_seg) = (b.inst_results(call)[0], b.inst_results(call)[1]);
        let done = b.ins().band_imm_u(next, DONE as i64);
        let done = b.ins().icmp_imm_s(IntCC::NotEqual, done, 0);
        let finish = b.create_block();
        let go_on = b.create_block();
        b.ins().brif(done, finish, &[], go_on, &[]);
        b.switch_to_block(finish);
        b.ins().return_(&[next]);
        b.switch_to_block(go_on);
        let sp = b.ins().load(I64, FLAGS, frame, OFF_SP);
        let gas = b.ins().load(I64, FLAGS, frame, OFF_GAS);
        b.ins()
            .return_call_indirect(tail_sig, next, &[frame, sp, gas, next_seg]);
    })?;

    let mut expand_sig = Signature::new(CallConv::SystemV);
    expand_sig.params.extend([AbiParam::new(I64); 2]);
    expand_sig.returns.push(AbiParam::new(I32));
    let expand = define(&mut module, &preserve_all_expand_signature(), &|b| {
        let p = b.block_params(b.current_block().unwrap()).to_vec();
        let (frame, offset, status_out) = (p[0], p[1], p[2]);
        let sig = b.import_signature(expand_sig.clone());
        let helper: ExpandHelper = crate::shims::expand_word;
        let helper = b.ins().iconst(I64, helper as usize as i64);
        let call = b.ins().call_indirect(sig, helper, &[frame, offset]);
        let status = b.inst_results(call)[0];
        b.ins().store(FLAGS, status, status_out, 0);
        b.ins().return_(&[]);
    })?;

    module.finalize_definitions().map_err(|e| e.to_string())?;
    let address = |id| module.get_finalized_function(id) as usize;
    let stubs = Stubs {
        _module: std::ptr::null_mut(),
        // SAFETY: `enter` was defined with `enter_sig`, the System V ABI of `EnterFn`.
        enter: unsafe { std::mem::transmute::<usize, EnterFn>(address(enter)) },
        resolve: address(resolve),
        interpret: address(interpret),
        expand: address(expand),
    };
    // The stubs live for the whole process: the module is never freed.
    Ok(Stubs {
        _module: Box::into_raw(Box::new(module)),
        ..stubs
    })
}
