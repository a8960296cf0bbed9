//! The JIT's inline arithmetic (addition and subtraction in 128-bit halves, comparisons) and its
//! shortcuts (64-bit division, power-of-two multiplication, division and modulus, constant
//! shifts, SIGNEXTEND and BYTE by a constant) against the interpreter, over operands at every
//! boundary they test: zero, one, 64-bit limits, sign boundaries, powers of two, the maximum.

mod common;
use common::*;
use dtvm_core::opcode::*;
use ruint::aliases::U256;

fn samples() -> Vec<U256> {
    let one = U256::from(1);
    let mut v = vec![
        U256::ZERO,
        one,
        U256::from(2),
        U256::from(3),
        U256::from(7),
        // Byte indexes at SIGNEXTEND's and BYTE's boundaries (and at limb boundaries).
        U256::from(8),
        U256::from(15),
        U256::from(16),
        U256::from(23),
        U256::from(24),
        U256::from(30),
        U256::from(31),
        U256::from(32),
        U256::from(0x80),
        U256::from(0x7f),
        U256::from(u64::MAX),
        U256::from(i64::MAX as u64),
        U256::from(1u64 << 63),
        U256::from(u64::MAX) + one,
        U256::MAX,
        U256::MAX - one,
        one << 255,
        (one << 255) - one,
        one << 128,
        one << 200,
        (one << 200) + U256::from(12345),
    ];
    // Sign-extended small negatives, including i64::MIN.
    for x in [-1i64, -2, -7, i64::MIN, i64::MIN + 1] {
        v.push(U256::from(x as u64) | (U256::MAX << 64));
    }
    v
}

/// Status, gas left and output of `code` on `input` in `engine`.
fn run_in(engine: Engine, code: &[u8], input: &[u8]) -> (i32, i64, Vec<u8>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let r = h.run(code, 1_000_000, input);
    (r.status_code, r.gas_left, r.output)
}

fn push32(code: &mut Vec<u8>, v: U256) {
    code.push(PUSH32);
    code.extend(v.to_be_bytes::<32>());
}

/// `op(a, b)` with both operands compile-time constants, one of them, or none (from calldata).
fn program(op: u8, a: U256, b: U256, known: (bool, bool)) -> (Vec<u8>, Vec<u8>) {
    let mut code = Vec::new();
    let mut input = Vec::new();
    for (value, known) in [(b, known.1), (a, known.0)] {
        if known {
            push32(&mut code, value);
        } else {
            code.extend([PUSH1 + 1, 0, input.len() as u8, CALLDATALOAD]);
            input.extend(value.to_be_bytes::<32>());
        }
    }
    code.extend([op, PUSH1, 0, MSTORE, PUSH1, 32, PUSH1, 0, RETURN]);
    (code, input)
}

#[test]
fn arithmetic_shortcuts_match_the_interpreter() {
    let samples = samples();
    let mut cases = 0;
    let ops = [
        ADD, SUB, LT, GT, SLT, SGT, EQ, MUL, DIV, MOD, SDIV, SMOD, SHL, SHR, SAR, SIGNEXTEND, BYTE,
    ];
    for op in ops {
        for &a in &samples {
            for &b in &samples {
                for known in [(false, false), (true, false), (false, true)] {
                    let (code, input) = program(op, a, b, known);
                    let run = |engine| run_in(engine, &code, &input);
                    let expected = run(Engine::Interp);
                    assert_eq!(
                        run(Engine::Multipass),
                        expected,
                        "op {op:#x}, a = {a:#x}, b = {b:#x}, constants {known:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, ops.len() * samples.len() * samples.len() * 3);
}

/// `ADDMOD(a, b, m)` over every triple of samples, with the modulus a compile-time constant or
/// not (the inline path takes reduced operands, the helper the rest; a constant power of two
/// masks the wrapping sum).
#[test]
fn addmod_shortcut_matches_the_interpreter() {
    let samples = samples();
    let mut cases = 0;
    for &a in &samples {
        for &b in &samples {
            for &m in &samples {
                for m_known in [false, true] {
                    let mut code = Vec::new();
                    let mut input = Vec::new();
                    if m_known {
                        push32(&mut code, m);
                    } else {
                        code.extend([PUSH1 + 1, 0, input.len() as u8, CALLDATALOAD]);
                        input.extend(m.to_be_bytes::<32>());
                    }
                    for v in [b, a] {
                        code.extend([PUSH1 + 1, 0, input.len() as u8, CALLDATALOAD]);
                        input.extend(v.to_be_bytes::<32>());
                    }
                    code.extend([ADDMOD, PUSH1, 0, MSTORE, PUSH1, 32, PUSH1, 0, RETURN]);
                    let run = |engine| run_in(engine, &code, &input);
                    assert_eq!(
                        run(Engine::Multipass),
                        run(Engine::Interp),
                        "ADDMOD a = {a:#x}, b = {b:#x}, m = {m:#x}, m constant: {m_known}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, samples.len().pow(3) * 2);
}

/// Words whose limbs are partly known at compile time (calldata masked by a constant: 64-bit
/// lanes in alternate limbs, as hash functions keep their state) fold limb by limb: products by
/// constants such as 2^64 + 1, sums without carries between lanes, masks, constant shifts.
/// Every operation on every pair of masked operands, and on a masked operand and a constant on
/// either side, must be the interpreter's.
#[test]
fn partly_known_words_match_the_interpreter() {
    const M: u64 = u64::MAX;
    let word = |l: [u64; 4]| U256::from_limbs(l);
    let masks = [
        [M, 0, M, 0],
        [0, M, 0, M],
        [M, 0, 0, 0],
        [M, M, 0, 0],
        [0, 0, M, M],
        [M; 4],
    ]
    .map(word);
    let constants = [
        [1, 1, 0, 0],
        [1 << 13, 0, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [M, 0, M, 0],
        [3, 0, 0, 0],
        [32, 0, 0, 0],
        [63, 0, 0, 0],
        [64, 0, 0, 0],
        [200, 0, 0, 0],
        [M; 4],
        [0x0123_4567_89ab_cdef, 7, 1 << 63, 0x8000_0000_0000_0001],
    ]
    .map(word);
    let values = [
        [M; 4],
        [M, 1, M, 1],
        [1 << 63, 1 << 63, 1 << 63, 1 << 63],
        [
            0x6a09_e667_f3bc_c908,
            0xbb67_ae85_84ca_a73b,
            0x3c6e_f372_fe94_f82b,
            1,
        ],
        [1, 0, 0, 0],
        [0xdead_beef, M - 5, 0, 0x1234_5678_9abc_def0],
    ]
    .map(word);
    let ops = [ADD, SUB, MUL, AND, OR, XOR, SHL, SHR, SAR];
    let mut cases = 0;
    for &a in &values {
        for &b in &values {
            let mut input = a.to_be_bytes::<32>().to_vec();
            input.extend(b.to_be_bytes::<32>());
            let masked = |code: &mut Vec<u8>, mask: U256, at: u8| {
                push32(code, mask);
                code.extend([PUSH1, at, CALLDATALOAD, AND]);
            };
            let mut code = Vec::new();
            let mut out = 0usize;
            let mut store = |code: &mut Vec<u8>| {
                code.extend([PUSH2, (out >> 8) as u8, out as u8, MSTORE]);
                out += 32;
            };
            for op in ops {
                for &ma in &masks {
                    for &mb in &masks {
                        masked(&mut code, mb, 32);
                        masked(&mut code, ma, 0);
                        code.push(op);
                        store(&mut code);
                    }
                    for &c in &constants {
                        masked(&mut code, ma, 0);
                        push32(&mut code, c);
                        code.push(op);
                        store(&mut code);
                        push32(&mut code, c);
                        masked(&mut code, ma, 0);
                        code.push(op);
                        store(&mut code);
                    }
                }
            }
            code.extend([PUSH2, (out >> 8) as u8, out as u8, PUSH0, RETURN]);
            let run = |engine: Engine| {
                let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
                let r = h.run(&code, 100_000_000, &input);
                (r.status_code, r.gas_left, r.output)
            };
            let expected = run(Engine::Interp);
            assert_eq!(expected.0, ::evmc_vm::sys::EVMC_SUCCESS);
            assert_eq!(run(Engine::Multipass), expected, "a = {a:#x}, b = {b:#x}");
            cases += 1;
        }
    }
    assert_eq!(cases, values.len() * values.len());
}

/// SIGNEXTEND by constant byte indexes chained on one run-time value: compiled code leaves a
/// limb it already extended from a lower bit as it is, and extends at 8, 16 and 32 bits with a
/// sign-extending move. Every order of indexes inside, across and above the limbs.
#[test]
fn chained_signextends_match_the_interpreter() {
    let indexes = [0u8, 1, 3, 4, 7, 8, 15, 16, 23, 24, 30, 31];
    let mut cases = 0;
    for &x in &samples() {
        for &k1 in &indexes {
            for &k2 in &indexes {
                // x, SIGNEXTEND(k1), SIGNEXTEND(k2), SIGNEXTEND(k1) again, each result returned.
                let mut code = vec![PUSH1, 0, CALLDATALOAD];
                for (i, k) in [k1, k2, k1].into_iter().enumerate() {
                    code.extend([PUSH1, k, SIGNEXTEND, DUP1, PUSH1, 32 * i as u8, MSTORE]);
                }
                code.extend([PUSH1, 96, PUSH1, 0, RETURN]);
                let input = x.to_be_bytes::<32>();
                let run = |engine| run_in(engine, &code, &input);
                assert_eq!(
                    run(Engine::Multipass),
                    run(Engine::Interp),
                    "x = {x:#x}, k = {k1}, {k2}"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, samples().len() * indexes.len() * indexes.len());
}

/// EQ where compiled code compares fewer limbs: a selector against calldata shifted right by 224
/// (high limbs known zero), and a word against itself.
#[test]
fn narrowed_equality_matches_the_interpreter() {
    for input in [
        vec![0xa9, 0x05, 0x9c, 0xbb],
        vec![0xa9, 0x05, 0x9c, 0xbc, 1, 2],
        vec![0; 4],
        vec![0xff; 36],
    ] {
        // EQ(0xa9059cbb, calldata[0..4]), EQ(x, x), EQ(x >> 224, x): three flags returned.
        let code = [
            PUSH4,
            0xa9,
            0x05,
            0x9c,
            0xbb,
            PUSH1,
            0,
            CALLDATALOAD,
            PUSH1,
            224,
            SHR,
            EQ,
            PUSH1,
            0,
            MSTORE,
            PUSH1,
            0,
            CALLDATALOAD,
            DUP1,
            EQ,
            PUSH1,
            32,
            MSTORE,
            PUSH1,
            0,
            CALLDATALOAD,
            DUP1,
            PUSH1,
            224,
            SHR,
            EQ,
            PUSH1,
            64,
            MSTORE,
            PUSH1,
            96,
            PUSH1,
            0,
            RETURN,
        ];
        assert_jit_matches_interpreter(&code, &input, 2, &format!("input {input:02x?}"));
    }
}
