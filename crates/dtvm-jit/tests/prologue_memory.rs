//! Compiled code takes the memory the prologue's constant-offset accesses left as given in every
//! segment past the prologue (`dtvm_core::prologue`), and charges nothing for accesses below it.
//! Gas, status and output must still be the interpreter's, for code past the prologue and for a
//! JUMPDEST segment inside it, whose first entry comes before the prologue's accesses.

mod common;
use common::*;
use dtvm_core::opcode::*;

/// Appends `PUSH1 offset MLOAD` and `PUSH1 offset MSTORE` of a sum, with GAS folded in so the gas
/// left at each access shows in the output.
fn touch(code: &mut Vec<u8>, offset: u8) {
    code.extend([PUSH1, offset, MLOAD, GAS, ADD, PUSH1, offset, MSTORE]);
}

#[test]
fn segments_past_the_prologue_match_the_interpreter() {
    dtvm_jit::set_background_threads(0);
    // Solidity's prologue, then a JUMPI both ways into segments that access the free memory
    // pointer, the scratch words, and words past the 96 bytes (which grow memory).
    let mut code = vec![
        PUSH1,
        0x80,
        PUSH1,
        0x40,
        MSTORE,
        CALLDATASIZE,
        PUSH1,
        0,
        JUMPI,
    ];
    code.extend([PUSH1, 0, PUSH1, 0, MSTORE8]);
    let target = code.len() as u8 + 3;
    code.extend([PUSH1, target, JUMP, JUMPDEST]);
    for offset in [0x40, 0x00, 0x20, 0x41, 0x60, 0x40, 0xa0] {
        touch(&mut code, offset);
    }
    code.extend([MSIZE, PUSH1, 0, RETURN]);
    // Patch the JUMPI's target: the JUMPDEST.
    code[7] = target;
    assert_jit_matches_interpreter(&code, &[], 3, "no input: fall through, then jump");
    assert_jit_matches_interpreter(&code, &[1], 3, "input: jump straight there");
}

#[test]
fn a_jumpdest_inside_the_prologue_knows_no_memory() {
    dtvm_jit::set_background_threads(0);
    // pc 3 is a JUMPDEST inside the prologue: its segment reads 0x40 before the prologue's
    // MSTORE there (so it grows memory and pays for it), and runs a second time after it,
    // through the jump back.
    let mut code = vec![PUSH1, 0, POP, JUMPDEST];
    touch(&mut code, 0x40);
    code.extend([PUSH1, 0x80, PUSH1, 0x40, MSTORE]);
    // A flag in word 0x60: clear, set it and jump back to pc 3; set, leave.
    code.extend([PUSH1, 0x60, MLOAD, PUSH1, 0, JUMPI]);
    let exit_operand = code.len() - 2;
    code.extend([PUSH1, 1, PUSH1, 0x60, MSTORE, PUSH1, 3, JUMP]);
    code[exit_operand] = code.len() as u8;
    code.extend([
        JUMPDEST, MSIZE, PUSH1, 0, MSTORE, PUSH1, 0x80, PUSH1, 0, RETURN,
    ]);
    assert_jit_matches_interpreter(&code, &[], 3, "prologue with a JUMPDEST inside");
}
