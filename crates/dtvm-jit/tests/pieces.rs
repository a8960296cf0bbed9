//! Long straight-line segments are compiled in pieces, and a piece starts knowing the constants
//! the code before it pushed (see `Segments::entry`). Random long segments mixing
//! constants, unknown values, stack shuffles and foldable arithmetic must end as in the
//! interpreter, whatever their stack holds at the cuts.

mod common;
use common::rng::{Entropy, SplitMix64};
use common::*;
use dtvm_core::opcode::*;

/// About `ops` instructions of straight-line code with a stack of 0 to 40 items, then the top
/// eight items (or zeros) written to memory and returned. With `computed`, the code starts with
/// a computed jump (by zero, from the input's size) to the straight-line code's JUMPDEST: pieces
/// then know only what their own segment pushed (not what any way into it did).
fn program(rng: &mut impl Entropy, ops: usize, computed: bool) -> Vec<u8> {
    const PURE: [u8; 12] = [
        ADD, SUB, MUL, DIV, AND, OR, XOR, SHL, SAR, LT, SIGNEXTEND, BYTE,
    ];
    let mut code = Vec::new();
    if computed {
        // 128 bytes of input: CALLDATASIZE - 128 = 0.
        code.extend([PUSH1, 128, CALLDATASIZE, SUB, PUSH1, 8, ADD, JUMP, JUMPDEST]);
    }
    let mut depth = 0usize;
    for _ in 0..ops {
        let choice = rng.below(100);
        if depth < 2 || (choice < 30 && depth < 40) {
            if rng.below(4) == 0 {
                code.extend([PUSH1, (rng.below(4) * 32) as u8, CALLDATALOAD]);
            } else {
                let n = 1 + rng.below(4) as u8;
                code.push(PUSH1 + n - 1);
                code.extend((0..n).map(|_| rng.below(256) as u8));
            }
            depth += 1;
        } else if choice < 45 && depth < 40 {
            let n = 1 + rng.below(depth.min(16) as u64) as u8;
            code.push(DUP1 + n - 1);
            depth += 1;
        } else if choice < 60 {
            let n = 1 + rng.below((depth - 1).min(16) as u64) as u8;
            code.push(SWAP1 + n - 1);
        } else if choice < 70 {
            code.push(POP);
            depth -= 1;
        } else {
            code.push(*rng.pick(&PURE));
            depth -= 1;
        }
    }
    for i in 0..8u8 {
        if depth == 0 {
            code.push(PUSH0);
            depth += 1;
        }
        code.extend([PUSH1, i * 32, MSTORE]);
        depth -= 1;
    }
    code.extend([PUSH1 + 1, 1, 0, PUSH0, RETURN]);
    code
}

#[test]
fn random_long_segments_match_the_interpreter() {
    dtvm_jit::set_background_threads(0);
    let mut rng = SplitMix64::new(0x9e37_79b9_7f4a_7c15);
    let input: Vec<u8> = (0..128).map(|i| (i * 37 + 11) as u8).collect();
    for case in 0..60 {
        let code = program(&mut rng, 1_500, case % 2 == 1);
        assert_jit_matches_interpreter(&code, &input, 2, &format!("case {case}"));
    }
}
