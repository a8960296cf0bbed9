//! dtvm as an EVMC plugin (minimal: interpreter only, no options yet).
use ::evmc_vm::sys::*;
use ::evmc_vm::{slice_from_raw, ExecutionContext, ExecutionMessage, ExecutionResult};
use std::os::raw::c_char;

#[repr(C)]
struct DtvmVm {
    base: evmc_vm,
}

const NAME: &[u8] = b"dtvm\0";
const VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

unsafe extern "C" fn destroy(vm: *mut evmc_vm) {
    // SAFETY: `vm` came from `create`, which boxed a `DtvmVm` whose first field is the evmc_vm.
    unsafe { drop(Box::from_raw(vm as *mut DtvmVm)) }
}

unsafe extern "C" fn get_capabilities(_vm: *mut evmc_vm) -> evmc_capabilities_flagset {
    EVMC_CAPABILITY_EVM1
}

unsafe extern "C" fn set_option(
    _vm: *mut evmc_vm,
    _name: *const c_char,
    _value: *const c_char,
) -> evmc_set_option_result {
    EVMC_SET_OPTION_INVALID_NAME
}

unsafe extern "C" fn execute(
    _vm: *mut evmc_vm,
    host: *const evmc_host_interface,
    context: *mut evmc_host_context,
    rev: evmc_revision,
    msg: *const evmc_message,
    code: *const u8,
    code_size: usize,
) -> evmc_result {
    let run = || {
        if host.is_null() || msg.is_null() || !(0..=EVMC_MAX_REVISION).contains(&rev) {
            return ExecutionResult::failure(EVMC_INTERNAL_ERROR);
        }
        // SAFETY: the EVMC contract of `execute`: valid host table, message and code for the call.
        unsafe {
            let mut ctx = ExecutionContext::new(&*host, context);
            let msg = ExecutionMessage::new(&*msg);
            let code = slice_from_raw(code, code_size);
            dtvm_interp::execute(&mut ctx, rev, &msg, code)
        }
    };
    std::panic::catch_unwind(run)
        .unwrap_or_else(|_| ExecutionResult::failure(EVMC_INTERNAL_ERROR))
        .into_raw()
}

/// Creates a VM instance (the Rust-side constructor behind `evmc_create_dtvm`).
pub fn create() -> *mut evmc_vm {
    let vm = Box::new(DtvmVm {
        base: evmc_vm {
            abi_version: EVMC_ABI_VERSION,
            name: NAME.as_ptr() as *const c_char,
            version: VERSION.as_ptr() as *const c_char,
            destroy: Some(destroy),
            execute: Some(execute),
            get_capabilities: Some(get_capabilities),
            set_option: Some(set_option),
        },
    });
    Box::into_raw(vm) as *mut evmc_vm
}

/// The EVMC entry point a loader finds by the library's file name (`libdtvm.so`).
#[no_mangle]
pub extern "C" fn evmc_create_dtvm() -> *mut evmc_vm {
    create()
}
