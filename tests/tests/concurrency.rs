//! Many threads running many contracts on shared VMs for a bounded time: every result must be
//! the one the interpreter computed single-threaded. Alongside, one thread keeps switching a
//! shared VM's mode (all modes must give the same results, so its executions are checked
//! against the same expectations), and one keeps loading fresh 24 KB contracts (about 350 KB of
//! analysis each, so the interpreter's 64 MB analysis cache is cleared every ~190 of them) while
//! other threads hold analyses from it.
//!
//! `DTVM_STRESS_SECS` (default 3) sets the duration.
use dtvm_tests::gen::{op, Asm};
use dtvm_tests::host::TestHost;
use dtvm_tests::rng::{Entropy, SplitMix64};
use dtvm_tests::world::*;
use dtvm_tests::{gen, modes, on_evm_stack, EVM_THREAD_STACK};
use revm::primitives::U256;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::thread::Scope;
use std::time::{Duration, Instant};

const SEED: u64 = 0xc0_0000;
const SCENARIOS: u64 = 300;
const WORKERS: usize = 8;

/// A distinct maximal contract per `n`: a unique prefix, then JUMPDESTs (one block each, the
/// most expensive code to analyse per byte), then a fixed result.
fn churn_contract(n: u64) -> Vec<u8> {
    // PUSH8 n, POP: the same length for every n, so every variant costs the same gas.
    let mut code = vec![0x67];
    code.extend(n.to_be_bytes());
    code.push(op::POP);
    code.resize(24_576 - 11, op::JUMPDEST);
    let mut tail = Asm::default();
    tail.op(op::MSIZE)
        .push_u64(0)
        .op(op::MSTORE)
        .push_u64(32)
        .push_u64(0)
        .op(op::RETURN);
    code.extend(tail.finish());
    code
}

fn spawn<'scope>(s: &'scope Scope<'scope, '_>, f: impl FnOnce() + Send + 'scope) {
    std::thread::Builder::new()
        .stack_size(EVM_THREAD_STACK)
        .spawn_scoped(s, f)
        .expect("spawn");
}

#[test]
fn concurrent_execution_matches_single_threaded() {
    let secs: f64 = std::env::var("DTVM_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let scenarios: Vec<Scenario> = (0..SCENARIOS)
        .map(|i| gen::scenario(&mut SplitMix64::new(SEED + i)))
        .collect();
    let expected: Vec<Outcome> = on_evm_stack(|| {
        let vm = modes::vm("interpreter").expect("interpreter");
        scenarios
            .iter()
            .map(|sc| TestHost::new(&vm, sc.rev, &sc.pre).transact(&sc.tx))
            .collect()
    });

    let vms = modes::available();
    let mode_names: Vec<&str> = vms.iter().map(|(m, _)| *m).collect();
    let flipping = modes::vm("interpreter").expect("interpreter");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let stop = AtomicBool::new(false);
    let runs = AtomicU64::new(0);
    let flips = AtomicU64::new(0);
    let churned = AtomicU64::new(0);
    let mismatches = Mutex::new(Vec::new());

    let (scenarios, expected, vms, names) = (&scenarios, &expected, &vms, &mode_names);
    let (flipping, stop, runs, flips) = (&flipping, &stop, &runs, &flips);
    let (churned, mismatches) = (&churned, &mismatches);
    std::thread::scope(|s| {
        for t in 0..WORKERS {
            spawn(s, move || {
                let mut rng = SplitMix64::new(t as u64);
                while !stop.load(Relaxed) {
                    let i = rng.below(scenarios.len() as u64) as usize;
                    let k = rng.below(vms.len() as u64 + 1) as usize;
                    let (name, vm) = match vms.get(k) {
                        Some((m, vm)) => (*m, vm),
                        None => ("mode-switching VM", flipping),
                    };
                    let sc = &scenarios[i];
                    let got = TestHost::new(vm, sc.rev, &sc.pre).transact(&sc.tx);
                    if got != expected[i] {
                        let d = got.diff(&expected[i]).unwrap_or_else(|| {
                            format!("status {} vs {}", got.status, expected[i].status)
                        });
                        mismatches.lock().unwrap().push(format!(
                            "thread {t}, {name}, scenario {}: {d}",
                            SEED + i as u64
                        ));
                    }
                    runs.fetch_add(1, Relaxed);
                }
            });
        }
        spawn(s, move || {
            let mut i = 0;
            while !stop.load(Relaxed) {
                let name = names[i % names.len()];
                assert_eq!(
                    flipping.set_option("mode", name),
                    ::evmc_vm::sys::EVMC_SET_OPTION_SUCCESS
                );
                flips.fetch_add(1, Relaxed);
                i += 1;
                std::thread::yield_now();
            }
        });
        spawn(s, move || {
            let mut want = None;
            let mut n = 0;
            while !stop.load(Relaxed) {
                let (mode, vm) = &vms[n as usize % vms.len()];
                let pre: World = [(
                    CONTRACTS[0],
                    Account::contract(churn_contract(n), U256::ZERO),
                )]
                .into();
                let tx = Tx {
                    sender: SENDER,
                    to: CONTRACTS[0],
                    input: vec![],
                    exec_gas: 1_000_000,
                };
                let got = TestHost::new(vm, ::evmc_vm::sys::EVMC_CANCUN, &pre).transact(&tx);
                let key = (got.class, got.gas_used, got.output.clone());
                if *want.get_or_insert_with(|| key.clone()) != key {
                    mismatches
                        .lock()
                        .unwrap()
                        .push(format!("churn contract {n} in {mode}: {key:?} vs {want:?}"));
                }
                n += 1;
                churned.fetch_add(1, Relaxed);
            }
        });
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Relaxed);
    });

    let mismatches = mismatches.lock().unwrap();
    println!(
        "{} transactions on {WORKERS} threads in {secs} s over {} scenarios and {} mode(s), \
         {} mode switches, {} distinct 24 KB contracts loaded: {} mismatches",
        runs.load(Relaxed),
        SCENARIOS,
        vms.len(),
        flips.load(Relaxed),
        churned.load(Relaxed),
        mismatches.len()
    );
    for m in mismatches.iter().take(5) {
        eprintln!("{m}");
    }
    assert!(mismatches.is_empty());
    assert!(runs.load(Relaxed) >= SCENARIOS, "the workers barely ran");
    assert!(churned.load(Relaxed) > 0 && flips.load(Relaxed) > 0);
}
