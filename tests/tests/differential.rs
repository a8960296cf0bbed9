//! dtvm against revm on generated programs: same status class, execution gas, refund, output,
//! logs and post-state; and every dtvm mode against the interpreter, exactly.
//!
//! Deterministic: program `i` comes from seed `SEED + i`. To rerun one program, or explore
//! further: `DTVM_DIFF_SEED=<seed> DTVM_DIFF_COUNT=<n> cargo test --release -p dtvm-tests
//! --test differential -- --nocapture` (a failure prints the seed of each failing program);
//! `DTVM_DIFF_TRACE=1` adds the test host's trace of messages and SELFDESTRUCTs.
use dtvm_tests::host::TestHost;
use dtvm_tests::rng::SplitMix64;
use dtvm_tests::world::{revision_name, Class};
use dtvm_tests::{gen, modes, on_evm_stack, reference};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SEED: u64 = 0xd7_0000;
const PROGRAMS: u64 = 2000;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn dtvm_matches_revm_on_generated_programs() {
    on_evm_stack(differential)
}

fn differential() {
    let seed = env_u64("DTVM_DIFF_SEED").unwrap_or(SEED);
    let count = env_u64("DTVM_DIFF_COUNT").unwrap_or(PROGRAMS);
    let vms = modes::available();
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    let mut revisions: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut calls, mut max_depth, mut gas, mut code_bytes) = (0u64, 0i32, 0u64, 0usize);
    let mut mode_time: BTreeMap<&str, Duration> = BTreeMap::new();

    for i in 0..count {
        let program_seed = seed.wrapping_add(i);
        let sc = gen::scenario(&mut SplitMix64::new(program_seed));
        code_bytes += sc.pre.values().map(|a| a.code.len()).sum::<usize>();
        let t = Instant::now();
        let reference = reference::run(&sc);
        *mode_time.entry("revm").or_default() += t.elapsed();
        let expected = match reference {
            Ok(o) => o,
            Err(e) => panic!("seed {program_seed:#x}: {e}\n{}", sc.reproducer()),
        };
        *classes.entry(format!("{:?}", expected.class)).or_default() += 1;
        *revisions.entry(revision_name(sc.rev)).or_default() += 1;
        gas += expected.gas_used;

        let mut baseline = None;
        for (mode, vm) in &vms {
            let host = TestHost::new(vm, sc.rev, &sc.pre);
            if std::env::var_os("DTVM_DIFF_TRACE").is_some() {
                *host.trace.borrow_mut() = Some(Vec::new());
            }
            let t = Instant::now();
            let got = host.transact(&sc.tx);
            *mode_time.entry(*mode).or_default() += t.elapsed();
            for line in host.trace.borrow().iter().flatten() {
                println!("{line}");
            }
            calls += host.calls.get();
            max_depth = max_depth.max(host.max_depth.get());
            if let Some(d) = got.diff(&expected) {
                failures.push(format!(
                    "seed {program_seed:#x}, mode {mode}, dtvm vs revm: {d}\n{}",
                    sc.reproducer()
                ));
            }
            match &baseline {
                None => baseline = Some(got),
                // Modes must agree exactly, EVMC status code included.
                Some(b) if *b != got => failures.push(format!(
                    "seed {program_seed:#x}, mode {mode} vs interpreter: {}\n{}",
                    got.diff(b)
                        .unwrap_or_else(|| format!("status {} vs {}", got.status, b.status)),
                    sc.reproducer()
                )),
                Some(_) => {}
            }
        }
    }
    println!(
        "{count} programs from seed {seed:#x} in {:.2?} on {} mode(s): {classes:?}; {revisions:?}; \
         {calls} nested calls, max depth {max_depth}, {gas} gas, {code_bytes} code bytes; \
         time per engine {mode_time:.2?}",
        start.elapsed(),
        vms.len()
    );
    for f in failures.iter().take(5) {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} mismatches", failures.len());

    if count >= PROGRAMS {
        // The generator must keep reaching deep: a change that makes most programs fail early
        // would leave this test comparing nothing but trivial halts.
        let share = |c: Class| classes.get(&format!("{c:?}")).copied().unwrap_or(0) * 100 / count;
        assert!(share(Class::Success) >= 30, "{classes:?}");
        assert!(share(Class::Revert) >= 1, "{classes:?}");
        assert!(share(Class::Failure) >= 3, "{classes:?}");
        assert!(calls >= count, "{calls} nested calls");
    }
}

/// The oracle itself: an engine that computes something else must be caught, in output, gas and
/// storage alike. (Guards against a comparison that silently compares nothing.)
#[test]
fn a_wrong_engine_is_caught() {
    use dtvm_tests::world::*;
    use revm::primitives::U256;
    let vm = modes::vm("interpreter").expect("interpreter");
    let scenario = |code: &str| Scenario {
        rev: ::evmc_vm::sys::EVMC_CANCUN,
        pre: [(CONTRACTS[0], Account::contract(unhex(code), U256::ZERO))].into(),
        tx: Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input: vec![],
            exec_gas: 100_000,
        },
    };
    // 2+3 stored at slot 0 and returned; then variants that differ in one observable each.
    let reference = "6002600301 80 600055 600052 60206000f3";
    let variants = [
        ("6002600302 80 600055 600052 60206000f3", "output"), // MUL: other value
        ("6002600301 80 600155 600052 60206000f3", "state"),  // other slot
        ("6002600301 80 600055 600052 5b 60206000f3", "gas"), // one JUMPDEST more
        ("6002600301 80 600055 600052 60206000fd", "class"),  // REVERT
    ];
    let expected = reference::run(&scenario(reference)).unwrap();
    let sc = scenario(reference);
    let same = TestHost::new(&vm, sc.rev, &sc.pre).transact(&sc.tx);
    assert_eq!(same.diff(&expected), None);
    for (code, what) in variants {
        let sc = scenario(code);
        let got = TestHost::new(&vm, sc.rev, &sc.pre).transact(&sc.tx);
        let d = got.diff(&expected).expect(what);
        assert!(d.contains(what), "{what}: {d}");
    }
}
