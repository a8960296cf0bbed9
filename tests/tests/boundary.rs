//! The C boundary: what a host can do to the VM through the EVMC table (odd `set_option`
//! strings), and what happens when a host breaks the EVMC contract by panicking in a callback.
use ::evmc_vm::sys::*;
use ::evmc_vm::{empty_message, ExecutionResult, Host, Vm};
use dtvm_tests::host::TestHost;
use dtvm_tests::modes;
use dtvm_tests::world::*;
use std::ffi::CString;
use std::os::raw::c_char;
use std::process::Command;

fn set_option_raw(vm: &Vm, name: Option<&[u8]>, value: Option<&[u8]>) -> evmc_set_option_result {
    let name = name.map(|n| CString::new(n).expect("no interior NUL"));
    let value = value.map(|v| CString::new(v).expect("no interior NUL"));
    let p = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let (n, v): (*const c_char, *const c_char) = (p(&name), p(&value));
    // SAFETY: a live VM; NUL-terminated strings or NULL, alive for the call.
    unsafe { (*vm.raw()).set_option.expect("set_option")(vm.raw(), n, v) }
}

/// A program whose result every mode must reproduce after the odd calls: 6 * 7 returned.
fn still_works(vm: &Vm) {
    let code = unhex("6006600702 60005260206000f3");
    let host = TestHost::new(vm, EVMC_CANCUN, &World::new());
    let msg = evmc_message {
        gas: 100,
        ..empty_message()
    };
    let r = host.execute(&msg, &code);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    assert_eq!(r.output[31], 42);
}

#[test]
fn odd_set_option_strings_are_refused_cleanly() {
    let long = vec![b'a'; 1 << 20];
    let long_mode: Vec<u8> = b"interpreter".iter().chain(&long).copied().collect();
    let long_name: Vec<u8> = b"mode".iter().chain(&long).copied().collect();
    let names: [(&str, Option<&[u8]>); 8] = [
        ("NULL", None),
        ("empty", Some(b"")),
        ("non-UTF-8", Some(b"\xff\xfe")),
        ("non-UTF-8 suffix", Some(b"mode\xc0")),
        ("1 MiB", Some(&long)),
        ("mode + 1 MiB", Some(&long_name)),
        ("wrong case", Some(b"MODE")),
        ("trailing space", Some(b"mode ")),
    ];
    let values: [(&str, Option<&[u8]>); 8] = [
        ("NULL", None),
        ("empty", Some(b"")),
        ("non-UTF-8", Some(b"\xff")),
        ("non-UTF-8 suffix", Some(b"interpreter\xc0")),
        ("1 MiB", Some(&long)),
        ("interpreter + 1 MiB", Some(&long_mode)),
        ("non-ASCII look-alike", Some("\u{131}nterpreter".as_bytes())),
        ("newline", Some(b"interpreter\n")),
    ];
    for (mode, vm) in modes::available() {
        for (nd, name) in names {
            for (vd, value) in values {
                let r = set_option_raw(&vm, name, value);
                assert_eq!(
                    r, EVMC_SET_OPTION_INVALID_NAME,
                    "{mode}: name {nd}, value {vd}"
                );
            }
        }
        for option in [&b"mode"[..], b"enable_lazy_compile"] {
            for (vd, value) in values {
                let r = set_option_raw(&vm, Some(option), value);
                assert_eq!(r, EVMC_SET_OPTION_INVALID_VALUE, "{mode}: value {vd}");
            }
        }
        still_works(&vm);
        // A refused call changed nothing: the mode can still be set, and runs.
        assert_eq!(vm.set_option("mode", mode), EVMC_SET_OPTION_SUCCESS);
        assert_eq!(
            set_option_raw(&vm, Some(b"mode"), Some(mode.to_uppercase().as_bytes())),
            EVMC_SET_OPTION_SUCCESS,
            "values are ASCII case-insensitive"
        );
        still_works(&vm);
    }
}

/// A host whose every storage read panics.
struct PanickingHost<'a>(TestHost<'a>);

impl Host for PanickingHost<'_> {
    fn account_exists(&self, a: &::evmc_vm::Address) -> bool {
        self.0.account_exists(a)
    }
    fn get_storage(&self, _: &::evmc_vm::Address, _: &::evmc_vm::Bytes32) -> ::evmc_vm::Bytes32 {
        panic!("host callback panicked on purpose");
    }
    fn set_storage(
        &self,
        a: &::evmc_vm::Address,
        k: &::evmc_vm::Bytes32,
        v: &::evmc_vm::Bytes32,
    ) -> evmc_storage_status {
        self.0.set_storage(a, k, v)
    }
    fn get_balance(&self, a: &::evmc_vm::Address) -> ::evmc_vm::Bytes32 {
        self.0.get_balance(a)
    }
    fn get_code_size(&self, a: &::evmc_vm::Address) -> usize {
        self.0.get_code_size(a)
    }
    fn get_code_hash(&self, a: &::evmc_vm::Address) -> ::evmc_vm::Bytes32 {
        self.0.get_code_hash(a)
    }
    fn copy_code(&self, a: &::evmc_vm::Address, o: usize, b: &mut [u8]) -> usize {
        self.0.copy_code(a, o, b)
    }
    fn selfdestruct(&self, a: &::evmc_vm::Address, b: &::evmc_vm::Address) -> bool {
        self.0.selfdestruct(a, b)
    }
    fn call(&self, _: &evmc_message) -> ExecutionResult {
        // The recommended pattern for a host whose own logic may panic: catch it inside the
        // callback and report a failed call, so nothing unwinds through the VM's C frames.
        std::panic::catch_unwind(|| -> ExecutionResult {
            panic!("nested call logic panicked (caught by the host)")
        })
        .unwrap_or_else(|_| ExecutionResult::failure(EVMC_INTERNAL_ERROR))
    }
    fn get_tx_context(&self) -> evmc_tx_context {
        self.0.get_tx_context()
    }
    fn get_block_hash(&self, n: i64) -> ::evmc_vm::Bytes32 {
        self.0.get_block_hash(n)
    }
    fn emit_log(&self, a: &::evmc_vm::Address, d: &[u8], t: &[::evmc_vm::Bytes32]) {
        self.0.emit_log(a, d, t)
    }
    fn access_account(&self, a: &::evmc_vm::Address) -> evmc_access_status {
        self.0.access_account(a)
    }
    fn access_storage(&self, a: &::evmc_vm::Address, k: &::evmc_vm::Bytes32) -> evmc_access_status {
        self.0.access_storage(a, k)
    }
    fn get_transient_storage(
        &self,
        a: &::evmc_vm::Address,
        k: &::evmc_vm::Bytes32,
    ) -> ::evmc_vm::Bytes32 {
        self.0.get_transient_storage(a, k)
    }
    fn set_transient_storage(
        &self,
        a: &::evmc_vm::Address,
        k: &::evmc_vm::Bytes32,
        v: &::evmc_vm::Bytes32,
    ) {
        self.0.set_transient_storage(a, k, v)
    }
}

/// A host that catches its own panics and reports `EVMC_INTERNAL_ERROR` for the call: nothing
/// unwinds through the VM, and the calling frame ends with that status too (a failure of the
/// machinery is not an EVM outcome that a contract may observe and carry on from).
#[test]
fn a_host_that_catches_its_panics_fails_the_execution_cleanly() {
    // CALL(gas 1000, EOA, 0, 0, 0, 0, 0) -> result stored and returned.
    let code = unhex("6000600060006000600061 0e0a 6103e8 f1 60005260206000f3");
    for (mode, vm) in modes::available() {
        let host = PanickingHost(TestHost::new(&vm, EVMC_CANCUN, &World::new()));
        let msg = evmc_message {
            gas: 100_000,
            ..empty_message()
        };
        let r = vm.execute(&host, EVMC_CANCUN, &msg, &code);
        assert_eq!(r.status_code, EVMC_INTERNAL_ERROR, "{mode}");
        assert_eq!(r.gas_left, 0, "{mode}");
    }
}

const CHILD_ENV: &str = "DTVM_TESTS_PANIC_CHILD";
const RETURNED: &str = "execute returned";

/// A host callback that lets a panic escape breaks the EVMC contract: host callbacks are
/// `extern "C"`, and since Rust 1.81 a panic reaching an `extern "C"` boundary aborts the
/// process ("panic in a function that cannot unwind") instead of unwinding through C frames
/// (which would be undefined behaviour). dtvm's `catch_unwind` in `execute` cannot intercept
/// it, because the abort happens at the host's own trampoline, before the panic reaches the VM.
/// So: no undefined behaviour, no corrupted VM, but the process dies. This test pins that down
/// in a child process, for every mode.
#[test]
fn a_panic_escaping_a_host_callback_aborts_the_process() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        // Child: SLOAD reaches the panicking `get_storage`.
        let vm = modes::vm(&mode).expect("mode");
        let host = PanickingHost(TestHost::new(&vm, EVMC_CANCUN, &World::new()));
        let msg = evmc_message {
            gas: 100_000,
            ..empty_message()
        };
        let r = vm.execute(&host, EVMC_CANCUN, &msg, &unhex("600054"));
        println!("{RETURNED} {}", r.status_code);
        return;
    }
    for (mode, _) in modes::available() {
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "a_panic_escaping_a_host_callback_aborts_the_process",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, mode)
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{mode}: SIGABRT\n{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("host callback panicked on purpose"),
            "{stderr}"
        );
        assert!(
            stderr.contains("panic in a function that cannot unwind"),
            "{stderr}"
        );
        assert!(!stdout.contains(RETURNED), "{stdout}");
    }
}
