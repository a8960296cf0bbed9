//! Tiered mode: a contract whose interpreted calls use the hot gas is promoted and compiled in
//! the background, and its later calls run compiled code; a contract called once is never
//! compiled (it never even enters the code cache). Every result is the interpreter's.

mod common;
use common::*;
use dtvm_core::opcode::*;
use dtvm_jit::Setting;
use std::time::{Duration, Instant};

const HOT_GAS: u64 = 200_000;

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

#[test]
fn tiered_promotes_hot_code_and_never_compiles_cold_code() {
    dtvm_jit::set_background_threads(1);
    dtvm_jit::configure(Setting::HotGas(HOT_GAS));
    // The threshold is exactly HOT_GAS whatever the code's size.
    dtvm_jit::configure(Setting::HotGasPerCodeByte(0));
    let rev = dtvm_core::CANCUN;
    let hot = looping(1_000, 1);
    let cold = looping(1_000, 2);
    let expected_hot = outcome(Engine::Interp, &hot, &[]);
    let expected_cold = outcome(Engine::Interp, &cold, &[]);
    let used = 300_000 - expected_hot.1;
    assert!(used > 20_000 && (used as u64) < HOT_GAS, "{used}");
    let before = dtvm_jit::tier_stats();

    assert_eq!(outcome(Engine::Tiered, &cold, &[]), expected_cold);
    assert!(dtvm_jit::segment_stats(&cold, rev).is_none());

    // Interpreted until hot: the calls before the threshold leave no contract behind.
    let calls_to_hot = HOT_GAS.div_ceil(used as u64) as usize;
    for call in 0..calls_to_hot - 1 {
        assert_eq!(
            outcome(Engine::Tiered, &hot, &[]),
            expected_hot,
            "call {call}"
        );
        assert!(dtvm_jit::segment_stats(&hot, rev).is_none(), "call {call}");
    }
    assert_eq!(outcome(Engine::Tiered, &hot, &[]), expected_hot);
    assert!(dtvm_jit::segment_stats(&hot, rev).is_some(), "not promoted");
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
    assert!(dtvm_jit::segment_stats(&cold, rev).is_none());
    assert_eq!(outcome(Engine::Tiered, &cold, &[]), expected_cold);
}
