//! Lazy mode compiles only what runs: calling one function of a big contract compiles the
//! dispatcher and that function's segments, nothing else, and repeat calls compile nothing.

mod common;
use ::evmc_vm::sys::*;
use common::*;
use dtvm_core::opcode::*;

const FUNCTIONS: usize = 40;
/// JUMPDEST segments in each function body.
const BODY_SEGMENTS: usize = 4;

/// A dispatcher on the first calldata byte, then `FUNCTIONS` bodies of `BODY_SEGMENTS` segments
/// each (a loop and forward jumps), each returning a word derived from its index.
fn big_contract() -> (Vec<u8>, Vec<usize>) {
    let mut code = vec![PUSH1, 0, CALLDATALOAD, PUSH1, 248, SHR];
    let mut patches = Vec::new();
    for f in 0..FUNCTIONS {
        code.extend([DUP1, PUSH1, f as u8, EQ, PUSH1 + 1, 0, 0, JUMPI]);
        patches.push(code.len() - 3);
    }
    code.extend([PUSH1, 0, DUP1, REVERT]);
    let mut entries = Vec::new();
    for f in 0..FUNCTIONS {
        let entry = code.len();
        entries.push(entry);
        // Segment 1: entry, set a loop counter.
        code.extend([JUMPDEST, POP, PUSH1, 3]);
        // Segment 2: loop body, back to itself while the counter is non-zero.
        let head = code.len();
        code.extend([JUMPDEST, PUSH1, 1, SWAP1, SUB, DUP1]);
        code.extend([PUSH1 + 1, (head >> 8) as u8, head as u8, JUMPI]);
        // Segment 3: forward jump over dead code to segment 4.
        let jump_at = code.len();
        code.extend([JUMPDEST, PUSH1 + 1, 0, 0, JUMP, INVALID]);
        let last = code.len();
        code[jump_at + 2] = (last >> 8) as u8;
        code[jump_at + 3] = last as u8;
        // Segment 4: return f * 7 + 1.
        code.extend([JUMPDEST, POP, PUSH1, (f * 7 + 1) as u8]);
        code.extend([PUSH1, 0, MSTORE, PUSH1, 32, PUSH1, 0, RETURN]);
    }
    for (f, at) in patches.into_iter().enumerate() {
        code[at] = (entries[f] >> 8) as u8;
        code[at + 1] = entries[f] as u8;
    }
    (code, entries)
}

fn call(code: &[u8], engine: Engine, function: u8) -> (i32, i64, Vec<u8>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let r = h.run(code, 100_000, &[function]);
    (r.status_code, r.gas_left, r.output)
}

#[test]
fn lazy_compiles_only_reached_segments() {
    dtvm_jit::set_background_threads(0);
    let (code, _) = big_contract();
    let total = 1 + FUNCTIONS * BODY_SEGMENTS;

    let expected = call(&code, Engine::Interp, 7);
    assert_eq!(expected.0, EVMC_SUCCESS);
    assert_eq!(expected.2[31], 7 * 7 + 1);
    assert_eq!(call(&code, Engine::Lazy, 7), expected);
    let stats = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
    assert_eq!(stats.segments, total);
    // The dispatcher and function 7's four segments; the loop re-enters its own segment inside
    // the compiled function, so each segment is resolved exactly once.
    assert_eq!(stats.compiled, 1 + BODY_SEGMENTS);
    assert_eq!(stats.resolver_entries, 1 + BODY_SEGMENTS);
    assert_eq!(stats.compiled_in_background, 0);

    // Repeat calls compile nothing and never enter the resolver.
    assert_eq!(call(&code, Engine::Lazy, 7), expected);
    assert_eq!(
        dtvm_jit::segment_stats(&code, dtvm_core::CANCUN),
        Some(stats)
    );

    // Another function adds its own segments only.
    let other = call(&code, Engine::Interp, 30);
    assert_eq!(call(&code, Engine::Lazy, 30), other);
    let stats = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
    assert_eq!(stats.compiled, 1 + 2 * BODY_SEGMENTS);

    // Multipass on the same code compiles the rest, within its per-call budget: one call in an
    // optimised build on an idle machine, a few when the machine is loaded (the budget is wall
    // time) or in an unoptimised build (Cranelift's verifier on).
    let mut stats = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
    for _ in 0..50 {
        assert_eq!(
            call(&code, Engine::Multipass, 12),
            call(&code, Engine::Interp, 12)
        );
        stats = dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).expect("cached");
        if stats.compiled == total {
            break;
        }
    }
    assert_eq!(stats.fallbacks, 0);
    assert_eq!(stats.compiled, total, "{stats:?}");
}
