//! dtvm as an EVMC (ABI 12) plugin: `evmc_create_dtvm`, options and mode routing.
//!
//! Every function a host can reach through the `evmc_vm` table is defensive about its inputs
//! (NULL pointers, unknown enum values) and never lets a panic unwind into C.
//!
//! Tracing (the `trace` option, `DTVM_EVM_TRACE`): a traced call runs in the interpreter in
//! every mode, since compiled code has no per-instruction points to report; its lines go to the
//! VM's trace sink, stderr unless a Rust host chose another ([`set_trace_sink`]).
use ::evmc_vm::sys::*;
use ::evmc_vm::{slice_from_raw, ExecutionContext, ExecutionMessage, ExecutionResult, Revision};
use std::ffi::CStr;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::RwLock;

pub mod options;
pub mod stack;
pub use dtvm_interp::TraceSink;
pub use options::{Mode, Options};

/// The VM object handed to hosts: the EVMC table first, so `*mut evmc_vm` casts back to it.
#[repr(C)]
struct DtvmVm {
    base: evmc_vm,
    options: Options,
    /// Where traced calls write.
    trace_sink: RwLock<TraceSink>,
}

const NAME: &CStr = c"dtvm";
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("package version contains a NUL byte"),
    };

/// The deepest message a host can legally send: the transaction is depth 0 and each nested call
/// adds one, up to the 1024 limit of the Yellow Paper.
const MAX_DEPTH: i32 = 1024;

/// # Safety
/// `vm` must be NULL or a pointer returned by [`create`] that has not been destroyed.
unsafe fn dtvm<'a>(vm: *mut evmc_vm) -> Option<&'a DtvmVm> {
    // SAFETY: per the function contract, a non-NULL `vm` is a live `DtvmVm` (repr(C), table first).
    unsafe { (vm as *const DtvmVm).as_ref() }
}

unsafe extern "C" fn destroy(vm: *mut evmc_vm) {
    if !vm.is_null() {
        // SAFETY: `vm` came from `create`, which leaked a `Box<DtvmVm>`; EVMC destroys once.
        unsafe { drop(Box::from_raw(vm as *mut DtvmVm)) }
    }
}

unsafe extern "C" fn get_capabilities(_vm: *mut evmc_vm) -> evmc_capabilities_flagset {
    EVMC_CAPABILITY_EVM1
}

unsafe extern "C" fn set_option(
    vm: *mut evmc_vm,
    name: *const c_char,
    value: *const c_char,
) -> evmc_set_option_result {
    // SAFETY: EVMC passes the VM it created.
    let Some(vm) = (unsafe { dtvm(vm) }) else {
        return EVMC_SET_OPTION_INVALID_NAME;
    };
    // SAFETY: EVMC passes NUL-terminated strings (or NULL, handled here).
    let (name, value) = unsafe { (c_str(name), c_str(value)) };
    let Some(Ok(name)) = name.map(CStr::to_str) else {
        return EVMC_SET_OPTION_INVALID_NAME;
    };
    let value = match value.map(CStr::to_str) {
        None => None,
        Some(Ok(v)) => Some(v),
        // No valid value is outside ASCII; the name still decides which error it is.
        Some(Err(_)) if options::is_known(name) => return EVMC_SET_OPTION_INVALID_VALUE,
        Some(Err(_)) => return EVMC_SET_OPTION_INVALID_NAME,
    };
    let result = catch_unwind(AssertUnwindSafe(|| vm.options.set(name, value)));
    match result {
        Ok(Ok(())) => EVMC_SET_OPTION_SUCCESS,
        Ok(Err(e)) => e.to_evmc(),
        Err(_) => EVMC_SET_OPTION_INVALID_VALUE,
    }
}

/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: per the function contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Runs `code` with the engine of `mode`. This is the one place engines are chosen.
fn run(
    mode: Mode,
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
) -> ExecutionResult {
    match mode {
        Mode::Interpreter => dtvm_interp::execute(ctx, rev, msg, code),
        Mode::Multipass => dtvm_jit::execute(ctx, rev, msg, code, false),
        Mode::Lazy => dtvm_jit::execute(ctx, rev, msg, code, true),
        Mode::Tiered => dtvm_jit::execute_tiered(ctx, rev, msg, code),
    }
}

/// Requests no EVM could honour get `EVMC_REJECTED` (the host asked for something invalid);
/// `EVMC_INTERNAL_ERROR` is kept for failures inside dtvm.
fn validate(rev: evmc_revision, msg: &evmc_message) -> Result<(), evmc_status_code> {
    let valid = (EVMC_FRONTIER..=EVMC_MAX_REVISION).contains(&rev)
        && msg.gas >= 0
        && (0..=MAX_DEPTH).contains(&msg.depth);
    if valid {
        Ok(())
    } else {
        Err(EVMC_REJECTED)
    }
}

unsafe extern "C" fn execute(
    vm: *mut evmc_vm,
    host: *const evmc_host_interface,
    context: *mut evmc_host_context,
    rev: evmc_revision,
    msg: *const evmc_message,
    code: *const u8,
    code_size: usize,
) -> evmc_result {
    // SAFETY: EVMC passes the VM it created, and a host table and message that live for the call
    // (NULL is checked, not trusted).
    let (vm, host, msg) = unsafe { (dtvm(vm), host.as_ref(), msg.as_ref()) };
    let (Some(vm), Some(host), Some(msg)) = (vm, host, msg) else {
        return ExecutionResult::failure(EVMC_REJECTED).into_raw();
    };
    if let Err(status) = validate(rev, msg) {
        return ExecutionResult::failure(status).into_raw();
    }
    // Each level of a call chain is a native recursion through the host. Running out of native
    // stack aborts the process, so a level that might is refused instead: a failure of this VM
    // on this thread (another EVM, or this one on a bigger stack, would have run it), hence
    // INTERNAL_ERROR and not an EVM outcome. The calling frame ends with it too (see
    // `dtvm_runtime::instructions::call`), so it reaches the host's top level.
    if !stack::enough() {
        return ExecutionResult::failure(EVMC_INTERNAL_ERROR).into_raw();
    }
    let mode = vm.options.mode();
    let trace = vm.options.trace().then(|| {
        vm.trace_sink
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    });
    // AssertUnwindSafe: after a panic nothing from this call is used again except the host's
    // state, which the host must treat as it treats any failed call (by reverting it).
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the EVMC contract of `execute`: the host table, context, message (with its
        // input) and code are valid for the duration of the call.
        let (mut ctx, msg, code) = unsafe {
            (
                ExecutionContext::new(host, context),
                ExecutionMessage::new(msg),
                slice_from_raw(code, code_size),
            )
        };
        match &trace {
            Some(sink) => dtvm_interp::execute_traced(&mut ctx, rev, &msg, code, sink),
            None => run(mode, &mut ctx, rev, &msg, code),
        }
    }));
    result
        .unwrap_or_else(|_| ExecutionResult::failure(EVMC_INTERNAL_ERROR))
        .into_raw()
}

/// Creates a VM (the Rust-side constructor behind `evmc_create_dtvm`). Reads `DTVM_EVM_MODE` and
/// `DTVM_EVM_LAZY_COMPILE` now; later changes go through `set_option`. Release it with the
/// table's `destroy`.
pub fn create() -> *mut evmc_vm {
    let vm = Box::new(DtvmVm {
        base: evmc_vm {
            abi_version: EVMC_ABI_VERSION,
            name: NAME.as_ptr(),
            version: VERSION.as_ptr(),
            destroy: Some(destroy),
            execute: Some(execute),
            get_capabilities: Some(get_capabilities),
            set_option: Some(set_option),
        },
        options: Options::from_env(),
        trace_sink: RwLock::new(dtvm_interp::stderr_sink()),
    });
    Box::into_raw(vm) as *mut evmc_vm
}

/// Sends the EIP-3155 trace of `vm`'s calls to `sink` and turns tracing on (a Rust host's way to
/// capture a trace; the `trace` option turns it off again). Returns false for a NULL `vm`.
///
/// # Safety
/// `vm` must be NULL or a pointer returned by [`create`] that has not been destroyed.
pub unsafe fn set_trace_sink(vm: *mut evmc_vm, sink: TraceSink) -> bool {
    // SAFETY: per the function contract.
    let Some(vm) = (unsafe { dtvm(vm) }) else {
        return false;
    };
    *vm.trace_sink.write().unwrap_or_else(|e| e.into_inner()) = sink;
    vm.options
        .set(options::OPTION_TRACE, Some("1"))
        .expect("1 is a valid trace value");
    true
}

/// The EVMC entry point; loaders derive its name from the file name `libdtvm.so`.
#[no_mangle]
pub extern "C" fn evmc_create_dtvm() -> *mut evmc_vm {
    // Reading the environment allocates; an allocation failure aborts, it does not unwind, so
    // the only panics possible here are bugs, and those must still not cross into C.
    catch_unwind(create).unwrap_or(std::ptr::null_mut())
}
