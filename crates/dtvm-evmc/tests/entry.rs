//! The plugin driven through its C function table, as a host would: the `evmc_vm` fields,
//! `set_option` outcomes, and `execute` with inputs at and beyond the edges of the ABI.
use ::evmc_vm::sys::*;
use ::evmc_vm::{
    empty_message, host_context, host_interface, Address, Bytes32, ExecutionResult, Host, Vm,
};
use std::ffi::CStr;
use std::ptr;

/// A host with no accounts: enough for code that only touches the host through read calls.
struct EmptyHost;

impl Host for EmptyHost {
    fn account_exists(&self, _: &Address) -> bool {
        false
    }
    fn get_storage(&self, _: &Address, _: &Bytes32) -> Bytes32 {
        Bytes32::default()
    }
    fn set_storage(&self, _: &Address, _: &Bytes32, _: &Bytes32) -> evmc_storage_status {
        EVMC_STORAGE_ASSIGNED
    }
    fn get_balance(&self, _: &Address) -> Bytes32 {
        Bytes32::default()
    }
    fn get_code_size(&self, _: &Address) -> usize {
        0
    }
    fn get_code_hash(&self, _: &Address) -> Bytes32 {
        Bytes32::default()
    }
    fn copy_code(&self, _: &Address, _: usize, _: &mut [u8]) -> usize {
        0
    }
    fn selfdestruct(&self, _: &Address, _: &Address) -> bool {
        false
    }
    fn call(&self, _: &evmc_message) -> ExecutionResult {
        ExecutionResult::failure(EVMC_FAILURE)
    }
    fn get_tx_context(&self) -> evmc_tx_context {
        // SAFETY: all-zero bytes are a valid evmc_tx_context (integers, byte arrays, NULLs).
        unsafe { std::mem::zeroed() }
    }
    fn get_block_hash(&self, _: i64) -> Bytes32 {
        Bytes32::default()
    }
    fn emit_log(&self, _: &Address, _: &[u8], _: &[Bytes32]) {}
    fn access_account(&self, _: &Address) -> evmc_access_status {
        EVMC_ACCESS_COLD
    }
    fn access_storage(&self, _: &Address, _: &Bytes32) -> evmc_access_status {
        EVMC_ACCESS_COLD
    }
    fn get_transient_storage(&self, _: &Address, _: &Bytes32) -> Bytes32 {
        Bytes32::default()
    }
    fn set_transient_storage(&self, _: &Address, _: &Bytes32, _: &Bytes32) {}
}

fn vm() -> Vm {
    let raw = dtvm::create();
    assert!(!raw.is_null());
    // SAFETY: fresh from `create`; the `Vm` destroys it once.
    unsafe { Vm::from_raw(raw) }
}

/// `execute` through the raw table, so tests can pass what `Vm::execute` would never pass.
fn execute_raw(
    vm: &Vm,
    host: *const evmc_host_interface,
    rev: evmc_revision,
    msg: *const evmc_message,
    code: *const u8,
    code_size: usize,
) -> ExecutionResult {
    let h = EmptyHost;
    // SAFETY: a live VM; NULL host/message are exactly what the VM must reject; the result is
    // released once by `from_raw`.
    unsafe {
        let execute = (*vm.raw()).execute.unwrap();
        let raw = execute(vm.raw(), host, host_context(&h), rev, msg, code, code_size);
        ExecutionResult::from_raw(raw)
    }
}

fn set_option_raw(vm: &Vm, name: Option<&CStr>, value: Option<&CStr>) -> evmc_set_option_result {
    let p = |s: Option<&CStr>| s.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: a live VM and NUL-terminated strings or NULL.
    unsafe { (*vm.raw()).set_option.unwrap()(vm.raw(), p(name), p(value)) }
}

fn message(gas: i64) -> evmc_message {
    evmc_message {
        gas,
        ..empty_message()
    }
}

#[test]
fn vm_table() {
    let vm = vm();
    assert_eq!(vm.abi_version(), 12);
    // SAFETY: a live VM's static strings and functions.
    unsafe {
        let raw = &*vm.raw();
        assert_eq!(CStr::from_ptr(raw.name).to_str(), Ok("dtvm"));
        assert_eq!(
            CStr::from_ptr(raw.version).to_str(),
            Ok(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            raw.get_capabilities.unwrap()(vm.raw()),
            EVMC_CAPABILITY_EVM1
        );
        assert!(raw.destroy.is_some());
    }
}

#[test]
fn set_option_outcomes() {
    let vm = vm();
    assert_eq!(
        vm.set_option("mode", "interpreter"),
        EVMC_SET_OPTION_SUCCESS
    );
    assert_eq!(
        vm.set_option("enable_lazy_compile", "false"),
        EVMC_SET_OPTION_SUCCESS
    );
    assert_eq!(
        vm.set_option("enable_lazy_compile", "0"),
        EVMC_SET_OPTION_SUCCESS
    );
    for (name, value) in [
        ("mode", "jit"),
        ("mode", ""),
        ("enable_lazy_compile", "yes"),
        ("enable_lazy_compile", ""),
    ] {
        assert_eq!(
            vm.set_option(name, value),
            EVMC_SET_OPTION_INVALID_VALUE,
            "{name}={value}"
        );
    }
    // The JIT modes.
    for (name, value) in [
        ("mode", "multipass"),
        ("mode", "lazy"),
        ("enable_lazy_compile", "true"),
        ("enable_lazy_compile", "1"),
    ] {
        assert_eq!(
            vm.set_option(name, value),
            EVMC_SET_OPTION_SUCCESS,
            "{name}={value}"
        );
    }
    assert_eq!(vm.set_option("verbose", "1"), EVMC_SET_OPTION_INVALID_NAME);
    assert_eq!(vm.set_option("", ""), EVMC_SET_OPTION_INVALID_NAME);

    assert_eq!(
        set_option_raw(&vm, Some(c"mode"), None),
        EVMC_SET_OPTION_INVALID_VALUE
    );
    assert_eq!(
        set_option_raw(&vm, Some(c"enable_lazy_compile"), None),
        EVMC_SET_OPTION_INVALID_VALUE
    );
    assert_eq!(
        set_option_raw(&vm, Some(c"nope"), None),
        EVMC_SET_OPTION_INVALID_NAME
    );
    assert_eq!(
        set_option_raw(&vm, None, Some(c"1")),
        EVMC_SET_OPTION_INVALID_NAME
    );
    assert_eq!(
        set_option_raw(&vm, None, None),
        EVMC_SET_OPTION_INVALID_NAME
    );
    assert_eq!(
        set_option_raw(&vm, Some(c"mode"), Some(c"\xff")),
        EVMC_SET_OPTION_INVALID_VALUE
    );
    assert_eq!(
        set_option_raw(&vm, Some(c"\xff"), Some(c"1")),
        EVMC_SET_OPTION_INVALID_NAME
    );
}

#[test]
fn empty_code_succeeds_at_every_revision() {
    let vm = vm();
    let msg = message(1000);
    for rev in EVMC_FRONTIER..=EVMC_MAX_REVISION {
        for code in [ptr::null(), [0u8; 0].as_ptr()] {
            let r = execute_raw(&vm, &host_interface::<EmptyHost>(), rev, &msg, code, 0);
            assert_eq!(r.status_code, EVMC_SUCCESS, "rev {rev}");
            assert_eq!(r.gas_left, 1000, "rev {rev}");
            assert!(r.output.is_empty());
        }
    }
}

#[test]
fn invalid_requests_are_rejected() {
    let vm = vm();
    let host = host_interface::<EmptyHost>();
    let code = [0x00u8];
    let run = |rev, msg: &evmc_message| execute_raw(&vm, &host, rev, msg, code.as_ptr(), 1);

    for rev in [-1, EVMC_MAX_REVISION + 1, i32::MAX, i32::MIN] {
        let r = run(rev, &message(100));
        assert_eq!((r.status_code, r.gas_left), (EVMC_REJECTED, 0), "rev {rev}");
    }
    for gas in [-1, i64::MIN] {
        assert_eq!(
            run(EVMC_CANCUN, &message(gas)).status_code,
            EVMC_REJECTED,
            "gas {gas}"
        );
    }
    for depth in [-1, 1025, i32::MAX, i32::MIN] {
        let msg = evmc_message {
            depth,
            ..message(100)
        };
        assert_eq!(
            run(EVMC_CANCUN, &msg).status_code,
            EVMC_REJECTED,
            "depth {depth}"
        );
    }
    let msg = message(100);
    let r = execute_raw(&vm, ptr::null(), EVMC_CANCUN, &msg, code.as_ptr(), 1);
    assert_eq!(r.status_code, EVMC_REJECTED);
    let r = execute_raw(&vm, &host, EVMC_CANCUN, ptr::null(), code.as_ptr(), 1);
    assert_eq!(r.status_code, EVMC_REJECTED);
}

#[test]
fn gas_and_depth_limits_run_normally() {
    let vm = vm();
    let host = host_interface::<EmptyHost>();
    for (gas, depth) in [(0, 0), (i64::MAX, 0), (0, 1024), (i64::MAX, 1024)] {
        let msg = evmc_message {
            depth,
            ..message(gas)
        };
        // STOP: succeeds without spending gas whatever the budget.
        let r = execute_raw(&vm, &host, EVMC_CANCUN, &msg, [0x00u8].as_ptr(), 1);
        assert_eq!(
            (r.status_code, r.gas_left),
            (EVMC_SUCCESS, gas),
            "gas {gas} depth {depth}"
        );
    }
}

/// A host whose table has NULL entries breaks the EVMC contract; dtvm must report it as its own
/// failure (the wrapper panics, `execute` catches it) rather than jump to address 0 or unwind
/// into C.
#[test]
fn panic_inside_execute_is_an_internal_error() {
    let vm = vm();
    let host = evmc_host_interface::default();
    // PUSH1 0 SLOAD: the first host call is `get_storage` (preceded by `access_storage` from
    // Berlin on), both NULL here.
    let code = [0x60, 0x00, 0x54];
    for rev in [EVMC_ISTANBUL, EVMC_CANCUN] {
        let r = execute_raw(
            &vm,
            &host,
            rev,
            &message(100_000),
            code.as_ptr(),
            code.len(),
        );
        assert_eq!(
            (r.status_code, r.gas_left),
            (EVMC_INTERNAL_ERROR, 0),
            "rev {rev}"
        );
    }
}

/// A thread with less native stack than the guard keeps free cannot start a level in any mode:
/// the VM refuses it with `EVMC_INTERNAL_ERROR` and no gas instead of risking an overflow,
/// which would abort the host. The same code runs normally with enough stack.
#[cfg(target_os = "linux")]
#[test]
fn too_little_native_stack_is_an_internal_error() {
    // PUSH1 2 PUSH1 3 ADD JUMPDEST STOP: 10 gas.
    let code = [0x60, 2, 0x60, 3, 0x01, 0x5b, 0x00];
    let margin = dtvm::stack::STACK_MARGIN;
    for mode in ["interpreter", "multipass", "lazy"] {
        let vm = vm();
        assert_eq!(vm.set_option("mode", mode), EVMC_SET_OPTION_SUCCESS);
        let on_thread = |stack: usize| {
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .stack_size(stack)
                    .spawn_scoped(s, || {
                        let r = vm.execute(&EmptyHost, EVMC_CANCUN, &message(100), &code);
                        (r.status_code, r.gas_left)
                    })
                    .expect("spawn")
                    .join()
                    .expect("no panic")
            })
        };
        assert_eq!(on_thread(margin / 2), (EVMC_INTERNAL_ERROR, 0), "{mode}");
        assert_eq!(on_thread(margin * 4), (EVMC_SUCCESS, 90), "{mode}");
    }
}

/// Options change while other threads execute: each execution sees a valid mode and finishes.
#[test]
fn set_option_races_with_execute() {
    let vm = vm();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let msg = message(100);
                // PUSH1 2 PUSH1 3 ADD JUMPDEST STOP: 3 + 3 + 3 + 1 gas in every engine.
                let code = [0x60, 2, 0x60, 3, 0x01, 0x5b, 0x00];
                for _ in 0..2000 {
                    let r = vm.execute(&EmptyHost, EVMC_CANCUN, &msg, &code);
                    assert_eq!((r.status_code, r.gas_left), (EVMC_SUCCESS, 90));
                }
            });
        }
        s.spawn(|| {
            let settings = [
                ("mode", "interpreter"),
                ("mode", "multipass"),
                ("mode", "lazy"),
                ("enable_lazy_compile", "false"),
                ("enable_lazy_compile", "true"),
            ];
            for i in 0..2000 {
                let (name, value) = settings[i % settings.len()];
                assert_eq!(vm.set_option(name, value), EVMC_SET_OPTION_SUCCESS);
                assert_eq!(
                    vm.set_option("mode", "turbo"),
                    EVMC_SET_OPTION_INVALID_VALUE
                );
            }
        });
    });
}

#[test]
fn exported_symbol_creates_vms() {
    let a = dtvm::evmc_create_dtvm();
    let b = dtvm::evmc_create_dtvm();
    assert!(!a.is_null() && !b.is_null() && a != b);
    // SAFETY: fresh VMs, destroyed once each by `Vm`.
    let (a, b) = unsafe { (Vm::from_raw(a), Vm::from_raw(b)) };
    assert_eq!(a.set_option("mode", "interpreter"), EVMC_SET_OPTION_SUCCESS);
    assert_eq!(b.set_option("mode", "bogus"), EVMC_SET_OPTION_INVALID_VALUE);
}
