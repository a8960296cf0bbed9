//! Per-family interpreter tests with gas figures computed by hand from the Yellow Paper and EIPs.
mod common;
use ::evmc_vm::sys::*;
use ::evmc_vm::Revision;
use common::*;

const GAS: i64 = 1_000_000;

/// Runs at `rev` and returns (status, gas used, output).
fn run(rev: Revision, code: &str) -> (i32, i64, Vec<u8>) {
    let h = MockHost::new(rev);
    let r = h.run(&hex(code), GAS, &[]);
    (r.status_code, GAS - r.gas_left, r.output)
}

fn ret_word(n: u64) -> Vec<u8> {
    word(n).bytes.to_vec()
}

/// `PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN` appended to a computation leaving one word.
const RETURN_TOP: &str = "600052 6020 6000 f3";
/// Gas of RETURN_TOP: PUSH1 3 + MSTORE 3 + memory 3 + PUSH1 3 + PUSH1 3 + RETURN 0.
const RETURN_TOP_GAS: i64 = 15;

#[test]
fn arithmetic_and_return() {
    // 2 + 3 = 5: PUSH1 3, PUSH1 2, ADD -> 3 + 3 + 3
    let (s, used, out) = run(EVMC_CANCUN, &format!("6003 6002 01 {RETURN_TOP}"));
    assert_eq!(s, EVMC_SUCCESS);
    assert_eq!(out, ret_word(5));
    assert_eq!(used, 9 + RETURN_TOP_GAS);
    // 10 / 3 = 3, 10 % 3 = 1, 2 ** 10 = 1024 (EXP: 10 + 50 per exponent byte since Spurious Dragon).
    assert_eq!(
        run(EVMC_CANCUN, &format!("6003 600a 04 {RETURN_TOP}")).2,
        ret_word(3)
    );
    assert_eq!(
        run(EVMC_CANCUN, &format!("6003 600a 06 {RETURN_TOP}")).2,
        ret_word(1)
    );
    let (_, used, out) = run(EVMC_CANCUN, &format!("600a 6002 0a {RETURN_TOP}"));
    assert_eq!(out, ret_word(1024));
    assert_eq!(used, 3 + 3 + 10 + 50 + RETURN_TOP_GAS);
    let (_, used_frontier, _) = run(EVMC_FRONTIER, &format!("600a 6002 0a {RETURN_TOP}"));
    assert_eq!(used_frontier, 3 + 3 + 10 + 10 + RETURN_TOP_GAS);
    // ADDMOD(10, 10, 8) = 4; MULMOD(10, 10, 8) = 4; modulus 0 gives 0.
    assert_eq!(
        run(EVMC_CANCUN, &format!("6008 600a 600a 08 {RETURN_TOP}")).2,
        ret_word(4)
    );
    assert_eq!(
        run(EVMC_CANCUN, &format!("6008 600a 600a 09 {RETURN_TOP}")).2,
        ret_word(4)
    );
    assert_eq!(
        run(EVMC_CANCUN, &format!("6000 600a 600a 09 {RETURN_TOP}")).2,
        ret_word(0)
    );
}

#[test]
fn revision_gating_is_undefined_instruction() {
    // PUSH0 before Shanghai, CLZ before Osaka, SHL before Constantinople, REVERT before Byzantium.
    assert_eq!(run(EVMC_PARIS, "5f00").0, EVMC_UNDEFINED_INSTRUCTION);
    assert_eq!(run(EVMC_SHANGHAI, "5f00").0, EVMC_SUCCESS);
    assert_eq!(run(EVMC_PRAGUE, "60011e00").0, EVMC_UNDEFINED_INSTRUCTION);
    let (s, _, out) = run(EVMC_OSAKA, &format!("6001 1e {RETURN_TOP}"));
    assert_eq!((s, out), (EVMC_SUCCESS, ret_word(255)));
    assert_eq!(
        run(EVMC_BYZANTIUM, "600160011b00").0,
        EVMC_UNDEFINED_INSTRUCTION
    );
    assert_eq!(
        run(EVMC_HOMESTEAD, "60006000fd").0,
        EVMC_UNDEFINED_INSTRUCTION
    );
    assert_eq!(run(EVMC_CANCUN, "0c").0, EVMC_UNDEFINED_INSTRUCTION);
    assert_eq!(run(EVMC_CANCUN, "fe").0, EVMC_INVALID_INSTRUCTION);
}

#[test]
fn failures_consume_all_gas() {
    let h = MockHost::new(EVMC_CANCUN);
    let r = h.run(&hex("01"), GAS, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_STACK_UNDERFLOW, 0));
    // 1025 PUSH0s overflow.
    let r = h.run(&vec![0x5f; 1025], GAS, &[]);
    assert_eq!(r.status_code, EVMC_STACK_OVERFLOW);
    // 1024 are fine.
    let r = h.run(&vec![0x5f; 1024], GAS, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_SUCCESS, GAS - 2048));
    // Out of gas: exactly enough for two PUSH1 but not ADD.
    let r = h.run(&hex("6001600101"), 8, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_OUT_OF_GAS, 0));
    let r = h.run(&hex("6001600101"), 9, &[]);
    assert_eq!((r.status_code, r.gas_left), (EVMC_SUCCESS, 0));
}

#[test]
fn jumps() {
    // PUSH1 4 JUMP INVALID JUMPDEST STOP
    assert_eq!(run(EVMC_CANCUN, "600456fe5b00").0, EVMC_SUCCESS);
    assert_eq!(run(EVMC_CANCUN, "6003565b00").0, EVMC_SUCCESS);
    // Jump into PUSH data (the 0x5b at offset 4 is data of PUSH1).
    assert_eq!(
        run(EVMC_CANCUN, "600456605b00").0,
        EVMC_BAD_JUMP_DESTINATION
    );
    assert_eq!(run(EVMC_CANCUN, "61ffff56").0, EVMC_BAD_JUMP_DESTINATION);
    // JUMPI not taken falls through; taken to a bad destination fails.
    assert_eq!(run(EVMC_CANCUN, "6000600057600100").0, EVMC_SUCCESS);
    assert_eq!(run(EVMC_CANCUN, "6001600057").0, EVMC_BAD_JUMP_DESTINATION);
    // Gas of a loop: counts down from 3 in a JUMPDEST loop.
    // 6003 (3) | 5b (1) 6001 (3) 90 (3) 03 (3) 80 (3) 6002 (3) 57 (10) | 00
    let (s, used, _) = run(EVMC_CANCUN, "6003 5b 6001 90 03 80 6002 57 00");
    assert_eq!(s, EVMC_SUCCESS);
    assert_eq!(used, 3 + 3 * (1 + 3 + 3 + 3 + 3 + 3 + 10));
}

#[test]
fn truncated_push_reads_zeros() {
    // PUSH2 0x01 (missing byte) -> 0x0100, then implicit STOP.
    let h = MockHost::new(EVMC_CANCUN);
    assert_eq!(h.run(&hex("6101"), GAS, &[]).status_code, EVMC_SUCCESS);
    assert_eq!(h.run(&hex("7f"), GAS, &[]).gas_left, GAS - 3);
}

#[test]
fn gas_opcode_sees_per_instruction_gas() {
    // PUSH1 0 POP GAS: 3 + 2 + 2 used when GAS runs; GAS pushes the gas left after itself.
    let (_, _, out) = run(EVMC_CANCUN, &format!("6000 50 5a {RETURN_TOP}"));
    assert_eq!(out, ret_word((GAS - 7) as u64));
}

#[test]
fn memory_expansion_and_limits() {
    // MSTORE at 0x20 expands to 64 bytes: 6 gas of memory.
    let (s, used, _) = run(EVMC_CANCUN, "6001 6020 52 00");
    assert_eq!((s, used), (EVMC_SUCCESS, 3 + 3 + 3 + 6));
    // MLOAD near 2^64: out of gas, not a crash or an allocation.
    assert_eq!(
        run(EVMC_CANCUN, "67ffffffffffffffff 51 00").0,
        EVMC_OUT_OF_GAS
    );
    let h = MockHost::new(EVMC_CANCUN);
    let r = h.run(
        &hex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 51 00"),
        i64::MAX,
        &[],
    );
    assert_eq!(r.status_code, EVMC_OUT_OF_GAS);
    // Zero-size RETURN at a huge offset is fine.
    assert_eq!(
        run(EVMC_CANCUN, "6000 67ffffffffffffffff f3").0,
        EVMC_SUCCESS
    );
    // MSIZE after touching byte 100: 128.
    assert_eq!(
        run(EVMC_CANCUN, &format!("6000 6064 53 59 {RETURN_TOP}")).2,
        ret_word(128)
    );
}

#[test]
fn storage_gas_by_revision() {
    // SSTORE(0, 1) on an empty slot.
    let code = "6001 6000 55 00";
    // Frontier: 20000. Istanbul: 20000. Berlin: 20000 + 2100 cold.
    assert_eq!(run(EVMC_FRONTIER, code).1, 6 + 20000);
    assert_eq!(run(EVMC_ISTANBUL, code).1, 6 + 20000);
    assert_eq!(run(EVMC_BERLIN, code).1, 6 + 22100);
    // Then SLOAD warm: 100.
    let (_, used, out) = run(EVMC_CANCUN, &format!("6001 6000 55 6000 54 {RETURN_TOP}"));
    assert_eq!(out, ret_word(1));
    assert_eq!(used, 6 + 22100 + 3 + 100 + RETURN_TOP_GAS);
    // EIP-2200 sentry: with 2300 gas left at SSTORE, out of gas.
    let h = MockHost::new(EVMC_ISTANBUL);
    let r = h.run(&hex(code), 6 + 2300, &[]);
    assert_eq!(r.status_code, EVMC_OUT_OF_GAS);
    // Static context forbids SSTORE.
    let h = MockHost::new(EVMC_CANCUN);
    let mut msg = ::evmc_vm::empty_message();
    msg.gas = GAS;
    msg.flags = EVMC_STATIC;
    assert_eq!(
        h.execute(&msg, &hex(code)).status_code,
        EVMC_STATIC_MODE_VIOLATION
    );
}

#[test]
fn refunds_on_clear() {
    // Slot preset to 1, clear it: London: 2900 + 2100 cold, refund 4800.
    let h = MockHost::new(EVMC_LONDON);
    h.storage.borrow_mut().insert((addr(1), word(0)), word(1));
    let r = h.run(&hex("6000 6000 55 00"), GAS, &[]);
    assert_eq!((GAS - r.gas_left, r.gas_refund), (6 + 5000, 4800));
    // Refunds are dropped on revert.
    let h = MockHost::new(EVMC_LONDON);
    h.storage.borrow_mut().insert((addr(1), word(0)), word(1));
    let r = h.run(&hex("6000 6000 55 6000 6000 fd"), GAS, &[]);
    assert_eq!((r.status_code, r.gas_refund), (EVMC_REVERT, 0));
}

#[test]
fn logs_and_revert_data() {
    let h = MockHost::new(EVMC_CANCUN);
    // MSTORE8(0, 0xaa); LOG1(0, 1, topic 7)
    let r = h.run(&hex("60aa 6000 53 6007 6001 6000 a1 00"), GAS, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    // 3+3+3+3(mem) + 3+3+3 + 375+375+8
    assert_eq!(GAS - r.gas_left, 12 + 9 + 758);
    assert_eq!(h.logs.borrow()[0], (addr(1), vec![0xaa], vec![word(7)]));
    // REVERT with 2 bytes of data keeps the remaining gas.
    let r = h.run(&hex("61beef 6000 52 6002 601e fd"), GAS, &[]);
    assert_eq!(
        (r.status_code, r.output.clone()),
        (EVMC_REVERT, vec![0xbe, 0xef])
    );
    assert_eq!(r.gas_left, GAS - (3 + 3 + 3 + 3 + 3 + 3));
}

#[test]
fn calls_pass_value_gas_and_return_data() {
    let h = MockHost::new(EVMC_CANCUN);
    // Callee addr(3): returns 32 bytes of CALLVALUE.
    h.codes
        .borrow_mut()
        .insert(addr(3), hex(&format!("34 {RETURN_TOP}")));
    h.balances.borrow_mut().insert(addr(1), word(100));
    // CALL(gas 50000, addr 3, value 5, in 0/0, out 0/32) then RETURN memory[0..32].
    let code = "6020 6000 6000 6000 6005 6003 61c350 f1 50 6020 6000 f3";
    let r = h.run(&hex(code), GAS, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    assert_eq!(r.output, ret_word(5));
    let calls = h.calls.borrow();
    assert_eq!(calls[0].gas, 50000 + 2300);
    assert_eq!(calls[0].depth, 1);
    assert_eq!(calls[0].value, word(5));
    // Used: 7 pushes (21) + CALL 100 + cold 2500 + value 9000 + memory 3 + callee's gas
    // (2 + 15) - stipend is not ours to keep... the callee used 17, we gave it 52300.
    let callee_used = 2 + RETURN_TOP_GAS;
    assert_eq!(
        GAS - r.gas_left,
        21 + 100 + 2500 + 9000 + 3 + callee_used - 2300 + 2 + 6
    );
}

#[test]
fn call_depth_and_balance_checks_skip_the_call() {
    let h = MockHost::new(EVMC_CANCUN);
    let mut msg = ::evmc_vm::empty_message();
    msg.gas = GAS;
    msg.depth = 1024;
    msg.recipient = addr(1);
    // CALL to addr 3 with no value at depth 1024: pushes 0, host never called.
    let r = h.execute(
        &msg,
        &hex(&format!(
            "6000 6000 6000 6000 6000 6003 61c350 f1 {RETURN_TOP}"
        )),
    );
    assert_eq!(r.output, ret_word(0));
    assert!(h.calls.borrow().is_empty());
    // Value larger than the balance: same.
    msg.depth = 0;
    let r = h.execute(
        &msg,
        &hex(&format!(
            "6000 6000 6000 6000 6001 6003 61c350 f1 {RETURN_TOP}"
        )),
    );
    assert_eq!(r.output, ret_word(0));
    assert!(h.calls.borrow().is_empty());
}

#[test]
fn deep_recursion_terminates_cleanly() {
    // Contract addr(1) calls itself with all gas until the depth limit. 1024 nested frames of
    // VM + host need more native stack than a test thread's default 2 MB in unoptimized builds.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(deep_recursion)
        .unwrap()
        .join()
        .unwrap();
}

fn deep_recursion() {
    let h = MockHost::new(EVMC_CANCUN);
    let code = hex("6000 6000 6000 6000 6000 30 5a f1 00");
    h.codes.borrow_mut().insert(addr(1), code.clone());
    let r = h.run(&code, 1_000_000_000_000_000, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    let max_depth = h.calls.borrow().iter().map(|m| m.depth).max().unwrap();
    assert_eq!(max_depth, 1024);
}

#[test]
fn calldata_and_code_copies() {
    let h = MockHost::new(EVMC_CANCUN);
    // CALLDATALOAD(1) of input 0x0102 -> 0x02 followed by zeros.
    let r = h.run(&hex(&format!("6001 35 {RETURN_TOP}")), GAS, &[1, 2]);
    let mut expected = [0u8; 32];
    expected[0] = 2;
    assert_eq!(r.output, expected.to_vec());
    // CODECOPY(0, 0, 4) of "6004600060003900..." copies its own first bytes.
    let r = h.run(&hex("6004 6000 6000 39 6004 6000 f3"), GAS, &[]);
    assert_eq!(r.output, hex("60046000"));
    // RETURNDATACOPY past the (empty) return data is an invalid memory access.
    assert_eq!(
        h.run(&hex("6001 6000 6000 3e 00"), GAS, &[]).status_code,
        EVMC_INVALID_MEMORY_ACCESS
    );
    assert_eq!(
        h.run(&hex("6000 6001 6000 3e 00"), GAS, &[]).status_code,
        EVMC_INVALID_MEMORY_ACCESS
    );
    assert_eq!(
        h.run(&hex("6000 6000 6000 3e 00"), GAS, &[]).status_code,
        EVMC_SUCCESS
    );
}

#[test]
fn create_passes_initcode_and_pushes_address() {
    let h = MockHost::new(EVMC_CANCUN);
    // Store 4 bytes of initcode, CREATE(0, 28, 4).
    let r = h.run(&hex("63deadbeef 6000 52 6004 601c 6000 f0 00"), GAS, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    let calls = h.calls.borrow();
    assert_eq!(calls[0].kind, EVMC_CREATE);
    assert_eq!(calls[0].input_size, 4);
    // All but 1/64 of the gas left is passed on.
    let left_before = GAS - (3 + 3 + 3 + 3 + 3 + 3 + 3 + 32000 + 2);
    assert_eq!(calls[0].gas, left_before - left_before / 64);
}

#[test]
fn huge_gas_does_not_overflow() {
    let h = MockHost::new(EVMC_ISTANBUL);
    let r = h.run(&hex("5a 6000 52 6020 6000 f3"), i64::MAX, &[]);
    assert_eq!(r.status_code, EVMC_SUCCESS);
    assert_eq!(r.output, ret_word((i64::MAX - 2) as u64));
}

#[test]
fn segments_hand_over_at_jumpdests() {
    use ::evmc_vm::*;
    use dtvm_interp::{execute_analyzed, run_segment, Exit};
    // PUSH1 1 | JUMPDEST PUSH1 2 ADD | JUMPDEST PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    let code = hex("6001 5b 6002 01 5b 600052 6020 6000 f3");
    let analysis = dtvm_core::analysis::CodeAnalysis::new(&code, EVMC_CANCUN);
    let h = MockHost::new(EVMC_CANCUN);
    let mut msg = empty_message();
    msg.gas = GAS;
    let table = host_interface::<MockHost>();
    let mut visited = Vec::new();
    // SAFETY: table, host and message outlive the call.
    let result = unsafe {
        let mut ctx = ExecutionContext::new(&table, host_context(&h));
        let m = ExecutionMessage::new(&msg);
        execute_analyzed(&mut ctx, EVMC_CANCUN, &m, &analysis, |frame| {
            let mut pc = 0;
            loop {
                visited.push(pc);
                match run_segment(frame, pc) {
                    Exit::Segment(next) => pc = next,
                    Exit::Done(status) => return status,
                }
            }
        })
    };
    assert_eq!(visited, vec![0, 2, 6]);
    assert_eq!(result.output, word(3).bytes.to_vec());
    // Same gas as one uninterrupted run.
    let whole = h.run(&code, GAS, &[]);
    assert_eq!(result.gas_left, whole.gas_left);
}
