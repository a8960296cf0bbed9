//! Differential test: seeded random and structured programs run in the interpreter (the oracle),
//! multipass and lazy; status, gas left, refund, output, logs, storage and transient storage
//! must be identical. A mismatch is shrunk and printed as hex code + revision.

mod common;
use ::evmc_vm::*;
use common::gen::program;
use common::rng::{Entropy, SplitMix64};
use common::*;

#[derive(Debug, PartialEq)]
struct Outcome {
    status: i32,
    gas_left: i64,
    gas_refund: i64,
    output: Vec<u8>,
    logs: Vec<Log>,
    storage: Vec<((Address, Bytes32), Bytes32)>,
    transient: Vec<((Address, Bytes32), Bytes32)>,
    /// (kind, gas, depth, value) of every nested message the host received.
    calls: Vec<(i32, i64, i32, Bytes32)>,
}

struct Case {
    rev: Revision,
    code: Vec<u8>,
    callee: Vec<u8>,
    gas: i64,
    input: Vec<u8>,
}

fn sorted<K: Ord + Copy, V: Copy>(m: &Map<K, V>) -> Vec<(K, V)> {
    let mut v: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_by_key(|e| e.0);
    v
}

fn run(case: &Case, engine: Engine) -> Outcome {
    let h = MockHost::with_engine(case.rev, engine);
    h.codes.borrow_mut().insert(addr(3), case.callee.clone());
    h.codes.borrow_mut().insert(addr(1), case.code.clone());
    h.balances.borrow_mut().insert(addr(1), word(1000));
    h.storage.borrow_mut().insert((addr(1), word(1)), word(5));
    let r = h.run(&case.code, case.gas, &case.input);
    let storage = sorted(&h.storage.borrow());
    let transient = sorted(&h.transient.borrow());
    let calls = h
        .calls
        .borrow()
        .iter()
        .map(|m| (m.kind, m.gas, m.depth, m.value))
        .collect();
    Outcome {
        status: r.status_code,
        gas_left: r.gas_left,
        gas_refund: r.gas_refund,
        output: r.output,
        logs: h.logs.take(),
        storage,
        transient,
        calls,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The first engine that disagrees with the interpreter, if any.
fn mismatch(case: &Case) -> Option<(Engine, Outcome, Outcome)> {
    let expected = run(case, Engine::Interp);
    // Lazy first: a later multipass run of the same code would leave nothing to compile lazily.
    for engine in [Engine::Lazy, Engine::Multipass] {
        let got = run(case, engine);
        if got != expected {
            return Some((engine, expected, got));
        }
    }
    None
}

/// Drops byte ranges of the code while the mismatch persists.
fn shrink(mut case: Case) -> Case {
    let mut chunk = case.code.len().max(1).next_power_of_two();
    while chunk >= 1 {
        let mut i = 0;
        while i < case.code.len() {
            let mut code = case.code.clone();
            code.drain(i..(i + chunk).min(code.len()));
            let candidate = Case {
                code,
                callee: case.callee.clone(),
                input: case.input.clone(),
                ..case
            };
            if !candidate.code.is_empty() && mismatch(&candidate).is_some() {
                case = candidate;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    case
}

#[test]
fn jit_matches_interpreter() {
    // Compilation in the caller only: multipass then compiles every program whole before
    // running it and lazy compiles each segment on first entry, so the comparison exercises
    // compiled code deterministically. (With background compilers a caller that finds the
    // compile lock taken runs interpreted; `lazy_background.rs` covers that policy.)
    dtvm_jit::set_background_threads(0);
    with_big_stack(differential);
}

fn differential() {
    let programs: u64 = std::env::var("DTVM_DIFF_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("DTVM_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let mut r = SplitMix64::new(seed);
    let mut failures = 0;
    let mut statuses = std::collections::BTreeMap::new();
    let (mut segments, mut compiled) = (0, 0);
    for n in 0..programs {
        // Mostly recent revisions (the ones that run today), all of them sometimes.
        let rev = if r.chance(60) {
            *r.pick(&[
                dtvm_core::SHANGHAI,
                dtvm_core::CANCUN,
                dtvm_core::PRAGUE,
                dtvm_core::OSAKA,
            ])
        } else {
            r.below(dtvm_core::MAX_REVISION as u64 + 1) as Revision
        };
        let case = Case {
            rev,
            code: program(&mut r, rev, true),
            callee: program(&mut r, rev, false),
            gas: match r.below(4) {
                0 => r.below(400) as i64,
                1 => r.below(30_000) as i64,
                _ => 200_000,
            },
            input: (0..r.below(70)).map(|_| r.next_u64() as u8).collect(),
        };
        let Some((engine, expected, got)) = mismatch(&case) else {
            *statuses
                .entry(run(&case, Engine::Interp).status)
                .or_insert(0u32) += 1;
            // Empty code never reaches the JIT.
            if let Some(stats) = dtvm_jit::segment_stats(&case.code, case.rev) {
                segments += stats.segments;
                compiled += stats.compiled;
            }
            continue;
        };
        failures += 1;
        let small = shrink(case);
        eprintln!(
            "program {n}: {engine:?} differs from the interpreter\n  expected {expected:?}\n  got      {got:?}\n  \
             reproducer: rev {} gas {} code {} callee {} input {}",
            small.rev,
            small.gas,
            hex(&small.code),
            hex(&small.callee),
            hex(&small.input)
        );
        if failures >= 5 {
            break;
        }
    }
    eprintln!(
        "statuses of {programs} programs (status: count): {statuses:?}; \
         segments {segments}, compiled {compiled}"
    );
    assert_eq!(failures, 0, "JIT results differ from the interpreter");
    // The generator must reach deep: most programs end by RETURN/STOP or a real failure, not all
    // the same way.
    assert!(statuses.len() >= 5, "too little variety: {statuses:?}");
    // Segments never reached stay uncompiled in lazy mode, but multipass compiles them all:
    // nearly every segment must have compiled, or the comparison tested the interpreter twice.
    assert!(
        compiled * 10 >= segments * 9,
        "{compiled} of {segments} segments compiled"
    );
}
