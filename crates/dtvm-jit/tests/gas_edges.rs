//! Gas where compiled code departs from the interpreter's shape: a lone JUMPDEST is charged
//! without a check (the next segment's check catches it), and long segments are cut into pieces
//! entered mid-block (no check at all). Every gas amount around such code's cost must end as in
//! the interpreter (status, gas left, output).

mod common;
use common::*;
use dtvm_core::opcode::*;

fn run(engine: Engine, code: &[u8], gas: i64) -> (i32, i64, Vec<u8>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let r = h.run(code, gas, &[]);
    (r.status_code, r.gas_left, r.output)
}

#[test]
fn out_of_gas_in_a_jumpdest_run_matches_the_interpreter() {
    dtvm_jit::set_background_threads(0);
    // A run entered from the start, a run entered by a jump into its middle, and a loop whose
    // body is a run (the jump back enters its first JUMPDEST).
    let mut straight = vec![JUMPDEST; 10];
    straight.extend([PUSH1, 1, PUSH1, 0, MSTORE, PUSH1, 32, PUSH1, 0, RETURN]);
    let mut into_middle = vec![PUSH1, 9, JUMP];
    into_middle.extend([JUMPDEST; 12]);
    into_middle.extend([PUSH1, 0, PUSH1, 0, RETURN]);
    let mut looping = vec![PUSH1, 5];
    let head = looping.len() as u8;
    looping.extend([JUMPDEST; 6]);
    looping.extend([PUSH1, 1, SWAP1, SUB, DUP1, PUSH1, head, JUMPI, STOP]);
    // 1,500 instructions in one block, so three pieces, with memory growth (dynamic gas) in
    // each; then a GAS (a block end) and another long block.
    let mut long = Vec::new();
    for i in 0..500u32 {
        long.extend([PUSH1, (i % 200) as u8, MLOAD, POP]);
    }
    long.extend([GAS, POP]);
    for _ in 0..300 {
        long.extend([PUSH1, 1, POP]);
    }
    long.extend([PUSH1, 0, PUSH1, 0, RETURN]);
    for (name, code) in [
        ("straight", straight),
        ("into the middle", into_middle),
        ("loop", looping),
        ("pieces", long),
    ] {
        let full = run(Engine::Interp, &code, 1_000_000);
        assert_eq!(full.0, ::evmc_vm::sys::EVMC_SUCCESS, "{name}");
        let cost = 1_000_000 - full.1;
        for gas in 0..=cost + 2 {
            let expected = run(Engine::Interp, &code, gas);
            for engine in [Engine::Multipass, Engine::Lazy] {
                assert_eq!(
                    run(engine, &code, gas),
                    expected,
                    "{name}, gas {gas}, {engine:?}"
                );
            }
        }
    }
}

/// A block that fails several of its entry checks at once ends with the status the interpreter
/// checks first (gas, then stack underflow, then overflow): compiled code tests them with one
/// branch and works the status out afterwards.
#[test]
fn a_block_failing_several_checks_keeps_the_interpreters_status() {
    dtvm_jit::set_background_threads(0);
    // Underflow or out of gas.
    let underflow = vec![PUSH1, 1, JUMPDEST, ADD, ADD, STOP];
    // Overflow whatever the height (1,025 pushes in one block) or out of gas.
    let always_over = vec![PUSH0; 1025];
    // 1,000 items, then a block of 30 pushes: overflow at that height, or out of gas.
    let mut over_at_height = vec![PUSH0; 1000];
    over_at_height.push(JUMPDEST);
    over_at_height.extend([PUSH0; 30]);
    over_at_height.push(STOP);
    // A block that both underflows (SWAP16 on 16 items) and overflows (then 1,010 pushes).
    let mut both = vec![PUSH0; 16];
    both.extend([JUMPDEST, SWAP1 + 15]);
    both.extend([PUSH0; 1010]);
    both.push(STOP);
    for (name, code) in [
        ("underflow", underflow),
        ("always over", always_over),
        ("over at a height", over_at_height),
        ("under and over", both),
    ] {
        let full = run(Engine::Interp, &code, 1_000_000);
        assert_ne!(full.0, ::evmc_vm::sys::EVMC_SUCCESS, "{name}");
        let mut statuses = std::collections::BTreeSet::new();
        for gas in 0..=2_100 {
            let expected = run(Engine::Interp, &code, gas);
            statuses.insert(expected.0);
            for engine in [Engine::Multipass, Engine::Lazy] {
                assert_eq!(
                    run(engine, &code, gas),
                    expected,
                    "{name}, gas {gas}, {engine:?}"
                );
            }
        }
        // Both outcomes occur: out of gas below the block's cost, the stack failure above.
        assert_eq!(statuses.len(), 2, "{name}: {statuses:?}");
    }
}

#[test]
fn memory_growth_into_zeroed_bytes_charges_as_the_interpreter() {
    // Memory grows by `step` bytes at every access, at run-time offsets (a loop) and at
    // constant ones (straight-line code), into bytes zeroed ahead (inline in compiled code)
    // and past them (the helper). Every gas amount around each access's cost must end alike;
    // MSIZE and a word read back are in the output.
    for step in [1u8, 16, 32, 33, 100, 255] {
        let mut looping = vec![PUSH1, 0];
        let head = looping.len() as u8;
        looping.extend([JUMPDEST, DUP1, DUP1, MSTORE, PUSH1, step, ADD]);
        looping.extend([DUP1, PUSH2, 0x10, 0x00, GT, PUSH1, head, JUMPI]);
        looping.extend([MSIZE, PUSH1, 0, MSTORE, PUSH1, 64, PUSH1, 0, RETURN]);
        let mut straight = Vec::new();
        for k in 0..40u16 {
            let off = (k * step as u16).to_be_bytes();
            straight.extend([PUSH2, off[0], off[1], DUP1, MSTORE]);
        }
        straight.extend([MSIZE, PUSH1, 0, MSTORE, PUSH1, 64, PUSH1, 0, RETURN]);
        for code in [&looping, &straight] {
            let full = run(Engine::Interp, code, 10_000_000);
            assert_eq!(full.0, 0, "step {step}");
            let used = 10_000_000 - full.1;
            let mut checked = 0;
            let mut gas = used.saturating_sub(400).max(0);
            while gas <= used {
                let expected = run(Engine::Interp, code, gas);
                for engine in [Engine::Multipass, Engine::Lazy] {
                    assert_eq!(
                        run(engine, code, gas),
                        expected,
                        "{engine:?} step {step} gas {gas}"
                    );
                }
                gas += 1 + (used - gas) % 3;
                checked += 1;
            }
            assert!(checked > 100, "{checked}");
        }
    }
}
