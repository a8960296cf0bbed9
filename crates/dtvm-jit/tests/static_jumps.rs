//! Regions are laid out along static jumps, and a region's entry switch has cases only for the
//! segments execution can enter it at (`policy::plan_regions`, `policy::plan_entries`). Code
//! that jumps statically all over (a random walk over hundreds of segments, several regions'
//! worth), with and without a computed jump somewhere, must end as in the interpreter.

mod common;
use common::rng::{Entropy, SplitMix64};
use common::*;
use dtvm_core::opcode::*;

/// `n` segments visited in a random order, each adding a constant to an accumulator and, by a
/// JUMPI on the accumulator's low bit, sometimes skipping the next segment of the order; then
/// the accumulator is returned. With `computed`, the jump to the exit adds zero to its
/// destination, so it is no static jump.
fn program(rng: &mut impl Entropy, n: usize, computed: bool) -> Vec<u8> {
    // JUMPDEST PUSH1 k ADD DUP1 PUSH1 1 AND PUSH2 skip JUMPI PUSH2 next JUMP
    const SEGMENT: usize = 16;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // The program starts with PUSH0 PUSH2 first JUMP (5 bytes); the exit follows the segments.
    let at = |segment: usize| 5 + segment * SEGMENT;
    let exit = at(n);
    let mut code = vec![
        PUSH0,
        PUSH2,
        (at(order[0]) >> 8) as u8,
        at(order[0]) as u8,
        JUMP,
    ];
    let mut next_of = vec![0; n];
    let mut skip_of = vec![0; n];
    for (j, &s) in order.iter().enumerate() {
        next_of[s] = order.get(j + 1).map_or(exit, |&t| at(t));
        skip_of[s] = order.get(j + 2).map_or(exit, |&t| at(t));
    }
    for s in 0..n {
        let (next, skip) = (next_of[s], skip_of[s]);
        code.extend([
            JUMPDEST,
            PUSH1,
            rng.below(256) as u8,
            ADD,
            DUP1,
            PUSH1,
            1,
            AND,
        ]);
        code.extend([PUSH2, (skip >> 8) as u8, skip as u8, JUMPI]);
        code.extend([PUSH2, (next >> 8) as u8, next as u8, JUMP]);
    }
    assert_eq!(code.len(), exit);
    code.extend([JUMPDEST, PUSH0, MSTORE, PUSH1, 32, PUSH0, RETURN]);
    if computed {
        // The exit's predecessors now reach it through a computed jump: the last segment's
        // static JUMP to the exit becomes a jump to a trampoline that computes it.
        let trampoline = code.len();
        code.extend([
            JUMPDEST,
            PUSH2,
            (exit >> 8) as u8,
            exit as u8,
            PUSH0,
            ADD,
            JUMP,
        ]);
        let last = *order.last().expect("segments");
        let at_next = at(last) + 12;
        code[at_next + 1] = (trampoline >> 8) as u8;
        code[at_next + 2] = trampoline as u8;
    }
    code
}

#[test]
fn random_static_walks_match_the_interpreter() {
    dtvm_jit::set_background_threads(0);
    let mut rng = SplitMix64::new(0x5eed_0f57_a71c);
    for case in 0..12 {
        let code = program(&mut rng, 300 + 100 * case, case % 2 == 1);
        assert_jit_matches_interpreter(&code, &[], 3, &format!("case {case}"));
    }
}
