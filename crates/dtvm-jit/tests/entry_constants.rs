//! A segment starts knowing the stack items every way into it leaves constant
//! (`Segments::entry`), and the compiler folds them. Random loops over segments that keep a few
//! stack variables, set some to constants and compute others, reach each segment by falling
//! through, static jumps and (in some cases) a computed jump: an item is known only where every
//! predecessor agrees, so the results must be the interpreter's.

mod common;
use common::rng::{Entropy, SplitMix64};
use common::*;
use dtvm_core::opcode::*;

/// Stack variables under the loop counter.
const VARS: usize = 6;

fn push_u16(code: &mut Vec<u8>, v: usize) {
    code.extend([PUSH2, (v >> 8) as u8, v as u8]);
}

/// A constant of a shape the compiler folds limb by limb: small, lane masks, 2^64 + 1, shift
/// amounts, all ones.
fn constant(rng: &mut impl Entropy, code: &mut Vec<u8>) {
    let words: [[u64; 4]; 8] = [
        [rng.below(70), 0, 0, 0],
        [u64::MAX, 0, u64::MAX, 0],
        [1, 1, 0, 0],
        [0, u64::MAX, 0, u64::MAX],
        [u64::MAX; 4],
        [rng.next_u64(), 0, rng.next_u64(), 0],
        [1 << rng.below(64), 0, 1, 0],
        [
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        ],
    ];
    let w = words[rng.below(8) as usize];
    code.push(PUSH32);
    for limb in w.iter().rev() {
        code.extend(limb.to_be_bytes());
    }
}

/// `n` segments; the stack is `VARS` variables and a counter on top. Each segment sets a
/// variable to a constant or to an operation on two others, counts down, leaves for the exit at
/// zero and otherwise jumps (statically, by a JUMPI on the counter's low bit, or through a
/// computed jump) or falls through. The exit returns the variables.
fn program(rng: &mut impl Entropy, n: usize, computed: bool) -> Vec<u8> {
    const OPS: [u8; 9] = [ADD, SUB, MUL, AND, OR, XOR, SHL, SHR, SAR];
    let mut segments: Vec<Vec<u8>> = Vec::new();
    // Patched later: (segment, offset of a PUSH2's immediate, target segment or n = exit).
    let mut fixups = Vec::new();
    for s in 0..n {
        let mut code = vec![JUMPDEST];
        for _ in 0..1 + rng.below(4) {
            let k = 1 + rng.below(VARS as u64) as u8;
            if rng.below(3) == 0 {
                constant(rng, &mut code);
            } else {
                // Operands below the counter (and the operand pushed first).
                let i = 2 + rng.below(VARS as u64) as u8;
                let j = 3 + rng.below(VARS as u64) as u8;
                let op = *rng.pick(&OPS);
                if matches!(op, SHL | SHR | SAR) && rng.below(2) == 0 {
                    code.extend([DUP1 + i - 1, PUSH1, rng.below(256) as u8, op]);
                } else {
                    code.extend([DUP1 + i - 1, DUP1 + j - 1, op]);
                }
            }
            // Replace variable k (below the counter, under the new item).
            code.extend([SWAP1 + k, POP]);
        }
        code.extend([PUSH1, 1, SWAP1, SUB, DUP1, ISZERO]);
        fixups.push((s, code.len() + 1, n));
        push_u16(&mut code, 0);
        code.push(JUMPI);
        match rng.below(4) {
            0 => {}
            1 => {
                code.extend([DUP1, PUSH1, 1, AND]);
                fixups.push((s, code.len() + 1, rng.below(n as u64) as usize));
                push_u16(&mut code, 0);
                code.push(JUMPI);
            }
            2 if computed => {
                fixups.push((s, code.len() + 1, rng.below(n as u64) as usize));
                push_u16(&mut code, 0);
                // The destination plus a word from calldata (zero) is no static jump.
                code.extend([PUSH0, CALLDATALOAD, ADD, JUMP]);
            }
            _ => {
                fixups.push((s, code.len() + 1, rng.below(n as u64) as usize));
                push_u16(&mut code, 0);
                code.push(JUMP);
            }
        }
        segments.push(code);
    }
    // Entry: the variables, the counter, a jump to segment 0.
    let mut code = Vec::new();
    for _ in 0..VARS {
        constant(rng, &mut code);
    }
    code.extend([PUSH1, 40 + rng.below(40) as u8]);
    let first_jump = code.len() + 1;
    push_u16(&mut code, 0);
    code.push(JUMP);
    let mut at = Vec::new();
    for s in &segments {
        at.push(code.len());
        code.extend(s);
    }
    let exit = code.len();
    code.extend([JUMPDEST, POP]);
    for i in 0..VARS {
        code.extend([PUSH1, (32 * i) as u8, MSTORE]);
    }
    code.extend([PUSH1, (32 * VARS) as u8, PUSH0, RETURN]);
    let mut patch = |pos: usize, target: usize| {
        code[pos] = (target >> 8) as u8;
        code[pos + 1] = target as u8;
    };
    patch(first_jump, at[0]);
    for (s, offset, target) in fixups {
        patch(at[s] + offset, if target == n { exit } else { at[target] });
    }
    code
}

#[test]
fn random_loops_over_known_constants_match_the_interpreter() {
    dtvm_jit::set_background_threads(0);
    let mut rng = SplitMix64::new(0xc0de_5eed_1234);
    let input = [0u8; 32];
    for case in 0..200 {
        let code = program(&mut rng, 2 + case % 12, case % 3 == 2);
        assert_jit_matches_interpreter(
            &code,
            &input,
            2,
            &format!(
                "case {case}, code {}",
                code.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        );
    }
}
