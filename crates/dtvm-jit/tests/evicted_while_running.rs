//! A contract evicted while its frame runs finishes with the interpreter's result: the outer
//! frame calls out, the nested call empties the code cache (dropping the cache's reference to
//! the outer contract), and the outer frame goes on in its compiled code, which its `Arc`
//! keeps alive until it returns.

mod common;
use common::*;
use dtvm_core::opcode::*;
use evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult, Revision};

/// Nested calls first empty the code cache, then run in the JIT (multipass).
fn evicting(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
) -> ExecutionResult {
    if msg.depth() > 0 {
        dtvm_jit::clear_cache();
    }
    dtvm_jit::execute(ctx, rev, msg, code, false)
}

/// `x = calldata[0] * 3 + 7`, CALL addr(3) (which returns 32 bytes), then a loop that adds
/// the callee's word into `x` 50 times, and returns `x`.
fn outer() -> Vec<u8> {
    let mut c = vec![PUSH1, 0, CALLDATALOAD, PUSH1, 3, MUL, PUSH1, 7, ADD];
    // CALL(gas, addr 3, 0, in 0/0, out 0x20/0x20)
    c.extend([
        PUSH1, 0x20, PUSH1, 0x20, PUSH1, 0, PUSH1, 0, PUSH1, 0, PUSH1, 3, GAS, CALL,
    ]);
    c.extend([POP, PUSH1, 50]); // [x, n]
    let top = c.len() as u8;
    c.extend([JUMPDEST, SWAP1, PUSH1, 0x20, MLOAD, ADD, SWAP1]); // x += word
    c.extend([PUSH1, 1, SWAP1, SUB, DUP1, PUSH1, top, JUMPI]); // n -= 1; loop while n
    c.extend([POP, PUSH1, 0, MSTORE, PUSH1, 0x20, PUSH1, 0, RETURN]);
    c
}

/// Returns 0x1234 * 5 as one word.
fn callee() -> Vec<u8> {
    vec![
        PUSH1 + 1,
        0x12,
        0x34,
        PUSH1,
        5,
        MUL,
        PUSH1,
        0,
        MSTORE,
        PUSH1,
        0x20,
        PUSH1,
        0,
        RETURN,
    ]
}

fn run(engine: Exec, code: &[u8]) -> (i32, i64, Vec<u8>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    h.codes.borrow_mut().insert(addr(3), callee());
    let r = h.run(code, 200_000, &[9; 32]);
    (r.status_code, r.gas_left, r.output)
}

#[test]
fn a_contract_evicted_while_running_finishes_right() {
    let code = outer();
    let expected = run(dtvm_interp::execute, &code);
    assert_eq!(expected.0, evmc_vm::sys::EVMC_SUCCESS, "{expected:?}");
    for round in 0..20 {
        let got = run(evicting, &code);
        assert_eq!(got, expected, "round {round}");
        // The nested call evicted the outer contract, and nothing put it back.
        assert!(dtvm_jit::segment_stats(&code, dtvm_core::CANCUN).is_none());
    }
}
