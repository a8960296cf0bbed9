//! Tiered mode: a contract whose interpreted calls have taken the hot time is promoted and
//! compiled in the background, and its later calls run compiled code; a contract called once is
//! never compiled (it never even enters the code cache), and a caller's heat is its own time, not
//! its callees'. Every result is the interpreter's. One test: the settings are process-wide.

mod common;
use common::*;
use dtvm_core::opcode::*;
use dtvm_jit::Setting;
use std::time::{Duration, Instant};

/// The hot threshold here: far above what one call of the contracts below takes (~0.1 ms), so a
/// contract is promoted only after many calls.
const HOT_MICROS: u64 = 50_000;

/// A loop of `n` iterations (~26 gas each) that returns its counter's final value and a tag.
fn looping(n: u16, tag: u8) -> Vec<u8> {
    let [hi, lo] = n.to_be_bytes();
    let mut c = vec![PUSH1 + 1, hi, lo];
    let top = c.len() as u8;
    c.extend([JUMPDEST, PUSH1, 1, SWAP1, SUB, DUP1, PUSH1, top, JUMPI]);
    c.extend([
        PUSH1, tag, ADD, PUSH1, 0, MSTORE, PUSH1, 0x20, PUSH1, 0, RETURN,
    ]);
    c
}

/// Calls `addr(callee)` with all gas and stops.
fn calling(callee: u8) -> Vec<u8> {
    let mut c = vec![PUSH1, 0, PUSH1, 0, PUSH1, 0, PUSH1, 0, PUSH1, 0];
    c.extend([PUSH1, callee, GAS, CALL, POP, STOP]);
    c
}

fn cached(code: &[u8]) -> bool {
    dtvm_jit::segment_stats(code, dtvm_core::CANCUN).is_some()
}

#[test]
fn tiered_promotes_hot_code_and_never_compiles_cold_code() {
    dtvm_jit::set_background_threads(1);
    dtvm_jit::configure(Setting::HotMicros(HOT_MICROS));
    // The threshold is exactly HOT_MICROS whatever the code's size.
    dtvm_jit::configure(Setting::HotCompilePercent(0));
    let rev = dtvm_core::CANCUN;
    let hot = looping(3_000, 1);
    let cold = looping(3_000, 2);
    let expected_hot = outcome(Engine::Interp, &hot, &[]);
    let expected_cold = outcome(Engine::Interp, &cold, &[]);
    assert_eq!(expected_hot.0, ::evmc_vm::sys::EVMC_SUCCESS);
    let before = dtvm_jit::tier_stats();

    assert_eq!(outcome(Engine::Tiered, &cold, &[]), expected_cold);
    assert!(!cached(&cold));

    // Interpreted until hot: the calls before the threshold leave no contract behind, and
    // together they took at least the hot time (heat is the calls' time, decayed).
    let (mut calls, mut interpreted) = (0, Duration::ZERO);
    while !cached(&hot) {
        let t = Instant::now();
        assert_eq!(
            outcome(Engine::Tiered, &hot, &[]),
            expected_hot,
            "call {calls}"
        );
        interpreted += t.elapsed();
        calls += 1;
        assert!(calls < 10_000_000, "never promoted");
    }
    assert!(calls > 1, "promoted by its first call");
    assert!(
        interpreted >= Duration::from_micros(HOT_MICROS),
        "promoted after {interpreted:?} of calls"
    );
    assert!(dtvm_jit::tier_stats().promotions > before.promotions);

    // Later calls run on the slot table and ask the background compiler for what they enter.
    let deadline = Instant::now() + Duration::from_secs(60);
    let stats = loop {
        assert_eq!(outcome(Engine::Tiered, &hot, &[]), expected_hot);
        let stats = dtvm_jit::segment_stats(&hot, rev).expect("still cached");
        if stats.compiled == stats.segments {
            break stats;
        }
        assert!(Instant::now() < deadline, "never compiled: {stats:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Callers never compile.
    assert_eq!(stats.compiled_in_background, stats.compiled, "{stats:?}");
    assert!(stats.compile_nanos > 0);
    assert!(dtvm_jit::tier_stats().compile_nanos > before.compile_nanos);

    // The cold contract, called once, is still neither cached nor compiled.
    assert!(!cached(&cold));
    assert_eq!(outcome(Engine::Tiered, &cold, &[]), expected_cold);

    // A caller's heat is its own interpretation: the callee, which does all the work, is
    // promoted long before its caller (whose calls would otherwise be at least as hot).
    let callee = looping(3_000, 3);
    let caller = calling(7);
    let host = MockHost::with_engine(rev, Engine::Tiered);
    host.codes.borrow_mut().insert(addr(7), callee.clone());
    host.record_calls.set(false);
    let mut calls = 0;
    while !cached(&callee) {
        host.reset();
        let r = host.run(&caller, 1_000_000, &[]);
        assert_eq!(r.status_code, ::evmc_vm::sys::EVMC_SUCCESS);
        calls += 1;
        assert!(calls < 10_000_000, "callee never promoted");
    }
    assert!(calls > 1);
    assert!(!cached(&caller), "caller promoted by its callee's time");
}
