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
                    let run = |engine: Engine| {
                        let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
                        let r = h.run(&code, 1_000_000, &input);
                        (r.status_code, r.gas_left, r.output)
                    };
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
/// not (the inline path takes reduced operands, the helper the rest).
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
                    let run = |engine: Engine| {
                        let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
                        let r = h.run(&code, 1_000_000, &input);
                        (r.status_code, r.gas_left, r.output)
                    };
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
