//! The checks behind the cargo-fuzz targets in `fuzz/`, here so that the test command replays
//! recorded inputs (`tests/fuzz-regressions/<target>/`) through exactly the same code. Each
//! function panics on a finding.
use crate::host::TestHost;
use crate::rng::ByteSource;
use crate::world::*;
use crate::{gen, modes, on_evm_stack, reference};
use ::evmc_vm::status_name;
use ::evmc_vm::sys::*;
use ::evmc_vm::{empty_message, Revision, Vm};
use revm::primitives::U256;
use std::ffi::CString;

/// Raw bytes as code: `[revision][gas][calldata length][calldata][code...]`. Every mode must
/// give the same result, with EVMC's invariants (no gas beyond the budget, none left after a
/// failure); for the revisions the differential test covers, also revm's.
pub fn raw_bytecode(data: &[u8]) {
    let [rev, gas, len, rest @ ..] = data else {
        return;
    };
    let rev = Revision::from(*rev) % (EVMC_MAX_REVISION + 1);
    let exec_gas = [3_000i64, 30_000, 100_000, 1_000_000][*gas as usize % 4];
    let (input, code) = rest.split_at((*len as usize).min(rest.len()));
    let sc = Scenario {
        rev,
        pre: [
            (
                CONTRACTS[0],
                Account::contract(code.to_vec(), U256::from(1_000_000)),
            ),
            (
                EOA,
                Account {
                    balance: U256::from(1_000),
                    nonce: 1,
                    ..Account::default()
                },
            ),
        ]
        .into(),
        tx: Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input: input.to_vec(),
            // Prague's calldata floor (EIP-7623) can exceed intrinsic gas by 24 a byte.
            exec_gas: exec_gas + 24 * input.len() as i64,
        },
    };
    // revm reads a 0xEF01 prefix as an EIP-7702 designator where dtvm (by design) only looks
    // for one at call targets; such code is compared across modes only.
    let with_revm = gen::REVISIONS.contains(&rev) && code.first() != Some(&0xef);
    on_evm_stack(|| check_scenario(&sc, with_revm));
}

/// Generated programs driven by the fuzzer's bytes (the same generator as the differential
/// test), compared with revm and across modes.
pub fn structured(data: &[u8]) {
    let sc = gen::scenario(&mut ByteSource::new(data));
    on_evm_stack(|| check_scenario(&sc, true));
}

fn check_scenario(sc: &Scenario, with_revm: bool) {
    let mut baseline: Option<Outcome> = None;
    for (mode, vm) in modes::available() {
        let host = TestHost::new(&vm, sc.rev, &sc.pre);
        let msg = evmc_message {
            gas: sc.tx.exec_gas,
            recipient: sc.tx.to,
            sender: sc.tx.sender,
            code_address: sc.tx.to,
            input_data: sc.tx.input.as_ptr(),
            input_size: sc.tx.input.len(),
            ..empty_message()
        };
        // The raw EVMC result first: its invariants hold whatever the program did.
        let raw = host.execute(&msg, &sc.pre[&sc.tx.to].code);
        let status = status_name(raw.status_code);
        assert!(
            !status.starts_with("status ")
                && raw.status_code != EVMC_INTERNAL_ERROR
                && raw.status_code != EVMC_REJECTED,
            "{mode}: status {status}\n{}",
            sc.reproducer()
        );
        assert!(
            (0..=msg.gas).contains(&raw.gas_left),
            "{mode}: gas left {}",
            raw.gas_left
        );
        if !matches!(raw.status_code, EVMC_SUCCESS | EVMC_REVERT) {
            assert_eq!((raw.gas_left, raw.output.len()), (0, 0), "{mode}: {status}");
        }
        let got = TestHost::new(&vm, sc.rev, &sc.pre).transact(&sc.tx);
        match &baseline {
            None => baseline = Some(got),
            Some(b) => assert!(
                *b == got,
                "{mode} vs interpreter: {}\n{}",
                got.diff(b)
                    .unwrap_or_else(|| format!("status {} vs {}", got.status, b.status)),
                sc.reproducer()
            ),
        }
    }
    if with_revm {
        let expected = reference::run(sc).unwrap_or_else(|e| panic!("{e}\n{}", sc.reproducer()));
        let got = baseline.expect("the interpreter is always available");
        if let Some(d) = got.diff(&expected) {
            panic!("dtvm vs revm: {d}\n{}", sc.reproducer());
        }
    }
}

/// What `set_option` must answer, given the modes this build runs and the current mode.
fn expected_set_option(
    name: Option<&[u8]>,
    value: Option<&[u8]>,
    available: &[&str],
    current: &mut &'static str,
) -> evmc_set_option_result {
    let name = name.and_then(|n| std::str::from_utf8(n).ok());
    let value = value.and_then(|v| std::str::from_utf8(v).ok());
    let is_available = |m: &str| available.contains(&m);
    let next: Option<&'static str> = match (name, value) {
        (Some("mode"), Some(v)) => modes::MODES.into_iter().find(|m| m.eq_ignore_ascii_case(v)),
        (Some("enable_lazy_compile"), Some(v)) => {
            if v == "1" || v.eq_ignore_ascii_case("true") {
                Some("lazy")
            } else if v == "0" || v.eq_ignore_ascii_case("false") {
                // Turning lazy compilation off keeps a JIT (eager), and is a no-op otherwise.
                Some(if *current == "lazy" {
                    "multipass"
                } else {
                    *current
                })
            } else {
                None
            }
        }
        (Some("mode" | "enable_lazy_compile"), None) => None,
        _ => return EVMC_SET_OPTION_INVALID_NAME,
    };
    match next {
        Some(m) if is_available(m) => {
            *current = m;
            EVMC_SET_OPTION_SUCCESS
        }
        _ => EVMC_SET_OPTION_INVALID_VALUE,
    }
}

/// A sequence of `set_option` calls from the input, each checked against the model above;
/// then the VM must still run a program correctly. Input: records of
/// `[flags] name \0 value \0`, flags bit 0 = NULL name, bit 1 = NULL value.
pub fn set_option(data: &[u8]) {
    let available: Vec<&str> = modes::available().into_iter().map(|(m, _)| m).collect();
    // SAFETY: `create` returns a fresh VM that only this `Vm` owns and destroys.
    let vm = unsafe { Vm::from_raw(dtvm::create()) };
    let mut current: &'static str = "interpreter";
    let mut rest = data;
    while let Some((&flags, tail)) = rest.split_first() {
        let mut parts = tail.splitn(3, |&b| b == 0);
        let name = parts.next().unwrap_or_default();
        let value = parts.next().unwrap_or_default();
        rest = parts.next().unwrap_or_default();
        let name = (flags & 1 == 0).then_some(name);
        let value = (flags & 2 == 0).then_some(value);
        let want = expected_set_option(name, value, &available, &mut current);
        let c = |s: Option<&[u8]>| s.map(|s| CString::new(s).expect("split at NUL"));
        let (cn, cv) = (c(name), c(value));
        let p = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        // SAFETY: a live VM; NUL-terminated strings or NULL, alive for the call.
        let got = unsafe { (*vm.raw()).set_option.expect("set_option")(vm.raw(), p(&cn), p(&cv)) };
        assert_eq!(got, want, "name {name:?} value {value:?}");
    }
    let code = unhex("6006600702 60005260206000f3");
    let msg = evmc_message {
        gas: 100,
        ..empty_message()
    };
    let r = TestHost::new(&vm, EVMC_CANCUN, &World::new()).execute(&msg, &code);
    assert_eq!((r.status_code, r.output.get(31)), (EVMC_SUCCESS, Some(&42)));
}
