//! The fixture folders that pin host rules (transaction validity and fees, creation, refunds,
//! storage status, selfdestruct, touched accounts, precompiles, EIP-4844/7702, Osaka limits), run
//! through the library with dtvm behind its EVMC entry point. Every case must pass.
//!
//! The whole suite (~54,000 cases) is the job of `dtvm statetest ../shared/fixtures/state_tests`
//! in release mode; this test keeps `cargo test` fast at the test profile's optimization level.
use dtvm_state::statetest::{fixture_files, load_file, run_case, Outcome};
use evmc_vm::Vm;
use std::path::{Path, PathBuf};

fn fixtures_root() -> PathBuf {
    // crates/dtvm-state -> project root -> ../shared/fixtures (the CI layout too).
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/state_tests")
}

/// Runs every case under `set/dir`; returns the number of cases run.
fn run_dir(vm: &Vm, set: &str, dir: &str) -> usize {
    let path = fixtures_root().join(set).join(dir);
    let files = fixture_files(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut failures = Vec::new();
    let mut count = 0;
    for f in &files {
        let tests = load_file(f).unwrap_or_else(|e| panic!("{e}"));
        for t in &tests {
            for c in &t.cases {
                count += 1;
                match run_case(t, c, vm) {
                    Outcome::Pass => {}
                    Outcome::Skipped(why) => failures.push(format!("{} skipped: {why}", t.name)),
                    Outcome::Fail(msg) => {
                        failures.push(format!("{} [{}]: {msg}", t.name, c.label()))
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{set}/{dir}:\n{}", failures.join("\n"));
    assert!(count > 0, "{set}/{dir} has no cases");
    count
}

/// Runs `f` with a VM on a thread whose stack holds a 1024-deep chain of calls (the test
/// harness's 2 MiB threads do not).
fn with_vm(f: impl FnOnce(&Vm) + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn_scoped(s, || {
                // SAFETY: a fresh VM owned by the wrapper.
                let vm = unsafe { Vm::from_raw(dtvm::create()) };
                f(&vm)
            })
            .expect("spawn")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

const CURRENT: &str = "ethereum-tests-GeneralStateTests";
const LEGACY: &str = "legacytests-Constantinople-GeneralStateTests";

#[test]
fn transactions_fees_and_validity() {
    with_vm(|vm| {
        for d in [
            "stTransactionTest",
            "stEIP1559",
            "stEIP3607",
            "stEIP2930",
            "stChainId",
        ] {
            run_dir(vm, CURRENT, d);
        }
        run_dir(vm, LEGACY, "stTransactionTest");
    });
}

#[test]
fn creation_collisions_and_code_limits() {
    with_vm(|vm| {
        for d in [
            "stCreate2",
            "stCreateTest",
            "stInitCodeTest",
            "stCodeSizeLimit",
        ] {
            run_dir(vm, CURRENT, d);
        }
        for d in ["stCreate2", "stCreateTest", "stInitCodeTest"] {
            run_dir(vm, LEGACY, d);
        }
    });
}

#[test]
fn storage_refunds_and_selfdestruct() {
    with_vm(|vm| {
        for d in [
            "stSStoreTest",
            "stRefundTest",
            "stSelfBalance",
            "stEIP158Specific",
        ] {
            run_dir(vm, CURRENT, d);
        }
        for d in ["stSStoreTest", "stRefundTest", "stEIP158Specific"] {
            run_dir(vm, LEGACY, d);
        }
    });
}

#[test]
fn reverts_touches_and_special_cases() {
    with_vm(|vm| {
        for d in ["stRevertTest", "stSpecialTest", "stZeroCallsRevert"] {
            run_dir(vm, CURRENT, d);
            run_dir(vm, LEGACY, d);
        }
    });
}

#[test]
fn precompiles() {
    with_vm(|vm| {
        run_dir(vm, CURRENT, "stPreCompiledContracts");
        run_dir(vm, LEGACY, "stPreCompiledContracts");
    });
}

#[test]
fn shanghai_cancun_prague_osaka() {
    with_vm(|vm| {
        run_dir(vm, CURRENT, "Shanghai");
        run_dir(vm, CURRENT, "Cancun");
        run_dir(vm, "eest-fusaka-devnet-5", "");
    });
}
