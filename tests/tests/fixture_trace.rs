//! dtvm's EIP-3155 trace against revm's `TracerEip3155` (the oracle) on a deterministic sample
//! of the shared state-test fixtures (`../shared/fixtures/state_tests`): every sampled case runs
//! through dtvm-state's runner (`run_case_detailed`, the path of `dtvm statetest --trace`) on a
//! VM tracing into a buffer, and through revm's full transaction path with the same pre-state,
//! block and transaction (`reference::trace_state_tx`). The traces are compared line by line,
//! field by field, nested frames included, with the one comparator of `dtvm_tests::eip3155`
//! and its documented normalizations.
//!
//! The sample: the families in [`SAMPLE`] (arithmetic, memory, logs, calls, creates, storage,
//! refunds, reverts, return data, static calls, per-fork transaction types; few precompiles),
//! [`FILES_PER_DIR`] files spread evenly over each family's sorted files and
//! [`CASES_PER_FAMILY`] cases spread evenly over those files' `post` entries (a few hundred
//! transactions in all). Cases are skipped, and counted by reason, only when revm cannot run
//! them identically: a revision without a revm fork (Constantinople: revm has no EIP-1283 net
//! SSTORE metering), a fork name dtvm-state does not know, a test on dtvm-state's skip list, or
//! a pre-state where a CREATE could collide through storage alone ([`STORAGE_COLLISION`]); and
//! the [`TOO_LONG`] tests, for time. A transaction both engines reject must leave both traces
//! empty and is counted apart; one that only one engine rejects is a failure.
use dtvm_scenarios::artifacts::find_beside_project;
use dtvm_state::statetest::{
    fixture_files, load_file, run_case_detailed, skip_reason, Case, Outcome, StateTest,
};
use dtvm_state::transaction::validate;
use dtvm_state::{revision_name, Revision};
use dtvm_tests::eip3155::{compare, num, Buffer, TxInfo};
use dtvm_tests::reference::{spec_of, trace_state_tx, TraceError};
use dtvm_tests::{modes, on_evm_stack};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Families (directories) per fixture set; each spans one area of the EVM.
const SAMPLE: &[(&str, &[&str])] = &[
    (
        "ethereum-tests-GeneralStateTests",
        &[
            "VMTests/vmArithmeticTest",
            "VMTests/vmBitwiseLogicOperation",
            "VMTests/vmIOandFlowOperations",
            "VMTests/vmLogTest",
            "VMTests/vmTests",
            "stShift",
            "stMemoryTest",
            "stLogTests",
            "stStackTests",
            "stBadOpcode",
            "stCodeCopyTest",
            "stCallCodes",
            "stCallCreateCallCodeTest",
            "stDelegatecallTestHomestead",
            "stStaticCall",
            "stNonZeroCallsTest",
            "stMemExpandingEIP150Calls",
            "stCreateTest",
            "stCreate2",
            "stInitCodeTest",
            "stSStoreTest",
            "stSLoadTest",
            "stRefundTest",
            "stRevertTest",
            "stReturnDataTest",
            "stSystemOperationsTest",
            "stExtCodeHash",
            "stSelfBalance",
            "stChainId",
            "stEIP150Specific",
            "stEIP1559",
            "stEIP2930",
            "stSolidityTest",
            "stZeroCallsRevert",
            "Shanghai/stEIP3855-push0",
            "Shanghai/stEIP3860-limitmeterinitcode",
            "Cancun/stEIP1153-transientStorage",
            "Cancun/stEIP5656-MCOPY",
            "Cancun/stEIP4844-blobtransactions",
        ],
    ),
    (
        "legacytests-Constantinople-GeneralStateTests",
        &[
            "stSStoreTest",
            "stCallCodes",
            "stMemoryTest",
            "stCreateTest",
            "stRevertTest",
            "stRefundTest",
            "stHomesteadSpecific",
            "stChangedEIP150",
            "stEIP158Specific",
        ],
    ),
    (
        "eest-fusaka-devnet-5",
        &[
            "osaka/eip7939_count_leading_zeros",
            "osaka/eip7825_transaction_gas_limit_cap",
        ],
    ),
];
/// Why cases whose pre-state has storage at an address without code or nonce are skipped: a
/// CREATE to such an address collides by EIP-7610 (dtvm-state, the fixtures), while revm checks
/// only code and nonce and creates the contract.
const STORAGE_COLLISION: &str =
    "storage at a code-less, nonce-0 address: an EIP-7610 collision target, which revm does not check";
/// Sampled tests whose traces run to millions of lines (loops that burn all their gas): they
/// would take most of the test's time and cover nothing the rest of the sample does not.
const TOO_LONG: &[&str] = &["15_tstoreCannotBeDosd", "21_tstoreCannotBeDosdOOO"];
/// Files per family, spread evenly over its sorted file list.
const FILES_PER_DIR: usize = 6;
/// Cases per family, spread evenly over the `post` entries of its sampled files' tests (so
/// over their forks and indexes too).
const CASES_PER_FAMILY: usize = 8;

fn state_tests_root() -> PathBuf {
    find_beside_project(Path::new("shared/fixtures/state_tests")).unwrap_or_else(|| {
        panic!(
            "cannot find ../shared/fixtures/state_tests beside the project root: the fixture \
             half of the trace comparison needs the shared state-test fixtures (see \
             ../shared/fixtures/README.md)"
        )
    })
}

/// `k` indexes spread evenly over `0..n` (all of them when `n <= k`).
fn spread(n: usize, k: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..k.min(n)).map(|i| i * n / k.min(n)).collect();
    v.dedup();
    v
}

#[derive(Default)]
struct Counts {
    compared: usize,
    lines: usize,
    /// Lines of nested frames (depth above 1).
    nested: usize,
    /// Transactions both engines reject: no trace to compare.
    invalid: usize,
    skipped: BTreeMap<String, usize>,
    failures: Vec<String>,
}

#[test]
fn dtvm_trace_equals_revm_tracer_on_fixtures() {
    on_evm_stack(run)
}

fn run() {
    let root = state_tests_root();
    let vm = modes::vm("interpreter").unwrap();
    let sink = Buffer::default();
    // SAFETY: a live VM.
    assert!(unsafe { dtvm::set_trace_sink(vm.raw(), Arc::new(Mutex::new(sink.clone()))) });
    let mut counts = Counts::default();
    for (set, dir) in SAMPLE
        .iter()
        .flat_map(|(set, dirs)| dirs.iter().map(move |d| (set, d)))
    {
        let dir_path = root.join(set).join(dir);
        let files =
            fixture_files(&dir_path).unwrap_or_else(|e| panic!("{}: {e}", dir_path.display()));
        assert!(!files.is_empty(), "{set}/{dir} has no fixtures");
        let tests: Vec<StateTest> = spread(files.len(), FILES_PER_DIR)
            .into_iter()
            .flat_map(|fi| load_file(&files[fi]).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let cases: Vec<(&StateTest, &Case)> = tests
            .iter()
            .flat_map(|t| t.cases.iter().map(move |c| (t, c)))
            .collect();
        for i in spread(cases.len(), CASES_PER_FAMILY) {
            let (test, case) = cases[i];
            let name = format!("{} [{}]", test.name, case.label());
            run_case(test, case, &name, &vm, &sink, &mut counts);
        }
    }
    eprintln!(
        "{} cases compared ({} trace lines, {} in nested frames), {} invalid on both engines, \
         skipped: {:?}",
        counts.compared, counts.lines, counts.nested, counts.invalid, counts.skipped
    );
    assert!(counts.compared > 0, "no fixture case was compared");
    assert!(counts.nested > 0, "the sample has no nested frame");
    assert!(
        counts.failures.is_empty(),
        "{} of {} cases differ:\n{}",
        counts.failures.len(),
        counts.compared + counts.failures.len(),
        counts.failures[..counts.failures.len().min(5)].join("\n")
    );
}

fn skip(counts: &mut Counts, why: String) {
    *counts.skipped.entry(why).or_default() += 1;
}

fn run_case(
    test: &StateTest,
    case: &Case,
    name: &str,
    vm: &evmc_vm::Vm,
    sink: &Buffer,
    counts: &mut Counts,
) {
    let Some(rev): Option<Revision> = case.rev else {
        return skip(counts, format!("fork unknown to dtvm-state: {}", case.fork));
    };
    if spec_of(rev).is_none() {
        return skip(counts, format!("no revm fork for {}", revision_name(rev)));
    }
    if TOO_LONG.contains(&test.name.as_str()) {
        return skip(
            counts,
            "millions of trace lines (a gas-burning loop)".into(),
        );
    }
    if let Some(reason) = skip_reason(&test.name) {
        return skip(counts, format!("dtvm-state skip list: {reason}"));
    }
    if test
        .pre
        .accounts
        .values()
        .any(|a| a.nonce == 0 && a.code.is_empty() && !a.storage.is_empty())
    {
        return skip(counts, STORAGE_COLLISION.into());
    }
    let tx = test
        .transaction(case)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let block = test.block_for(&case.fork, rev);
    let dtvm_gas = tx.as_ref().map(|tx| validate(&test.pre, &block, tx, rev));

    let run = run_case_detailed(test, case, vm);
    let d = sink.lines();
    if run.outcome != Outcome::Pass {
        counts
            .failures
            .push(format!("{name}: dtvm-state's run: {:?}", run.outcome));
        return;
    }
    let oracle = Buffer::default();
    let revm = match &tx {
        Some(tx) => trace_state_tx(&test.pre, &block, tx, rev, Box::new(oracle.clone())),
        None => Err(TraceError::Rejected("value above 2^256".into())),
    };
    let r = oracle.lines();
    let intrinsic = match (&dtvm_gas, revm) {
        (Some(Ok(gas)), Ok(())) => gas.intrinsic as u64,
        (None | Some(Err(_)), Err(TraceError::Rejected(_))) => {
            if d.is_empty() && r.is_empty() {
                counts.invalid += 1;
            } else {
                counts.failures.push(format!(
                    "{name}: invalid on both, yet {} dtvm and {} revm trace lines",
                    d.len(),
                    r.len()
                ));
            }
            return;
        }
        (_, Err(TraceError::NoFork)) => unreachable!("spec_of checked above"),
        (Some(Ok(_)), Err(TraceError::Rejected(e))) => {
            counts
                .failures
                .push(format!("{name}: valid for dtvm, revm: {e}"));
            return;
        }
        (None | Some(Err(_)), Ok(())) => {
            counts.failures.push(format!(
                "{name}: invalid for dtvm ({dtvm_gas:?}), valid for revm"
            ));
            return;
        }
    };
    counts.lines += d.len();
    counts.nested += d.iter().filter(|l| num(&l["depth"]) > Some(1)).count();
    let create = tx.as_ref().is_some_and(|tx| tx.to.is_none());
    match compare(&d, &r, TxInfo { intrinsic, create }) {
        Ok(()) => counts.compared += 1,
        Err(msg) => counts.failures.push(format!("{name} ({}): {msg}", rev)),
    }
}
