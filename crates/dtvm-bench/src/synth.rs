//! Synthetic cases (group `synth/`), generated here with an independent Rust model of each
//! contract's output, so that a case checks the engines and not only their agreement.
use super::asm::{self, Asm};
use super::cases::{Account, BlockSpec, Case};
use revm::primitives::{address, keccak256, Address, B256, U256};
use std::sync::Arc;

const SENDER: Address = address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b");
const CONTRACT: Address = address!("be7c43a580000000000000000000000000000001");
/// evmone-bench's per-case gas budget is i64::MAX; the suite files use 1e9 of transaction gas.
/// Synthetic cases use the suite's figure so that both conventions apply to them alike.
const TX_GAS: u64 = 1_000_000_000;
/// Operations per loop iteration in the arithmetic and hashing loops: enough that the loop
/// control (about 8 instructions) is a small part of the work.
const UNROLL: usize = 16;

/// A 256-bit constant derived from a name, so values are arbitrary but reproducible.
fn constant(name: &str) -> U256 {
    U256::from_be_bytes(keccak256(name.as_bytes()).0)
}

fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn case(name: &str, code: Vec<u8>, input: Vec<u8>, expected: Vec<u8>) -> Case {
    let accounts: Arc<[Account]> = vec![
        Account {
            address: SENDER,
            balance: U256::from(1_000_000_000u64),
            nonce: 0,
            code: Arc::from(&[][..]),
            storage: Vec::new(),
        },
        Account {
            address: CONTRACT,
            balance: U256::ZERO,
            nonce: 0,
            code: code.into(),
            storage: Vec::new(),
        },
    ]
    .into();
    Case {
        name: format!("synth/{name}"),
        accounts,
        block: BlockSpec {
            coinbase: SENDER,
            number: 1,
            timestamp: 0x61a8d289,
            gas_limit: TX_GAS,
            difficulty: U256::from(1),
            prevrandao: B256::with_last_byte(1),
        },
        sender: SENDER,
        to: CONTRACT,
        input,
        tx_gas_limit: TX_GAS,
        expected_output: Some(expected),
    }
}

/// A case for `dtvm run`: `code` called with `input` in the synthetic cases' pre-state, no
/// expected output.
pub(crate) fn adhoc(code: Vec<u8>, input: Vec<u8>) -> Case {
    Case {
        name: "run".into(),
        expected_output: None,
        ..case("run", code, input, Vec::new())
    }
}

pub(crate) fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for op in ArithOp::ALL {
        v.push(arith(op));
    }
    v.push(mstore_sweep());
    v.push(mload_sweep());
    v.push(keccak(32, 2_000));
    v.push(keccak(1024, 300));
    v.push(recursion(512, 4));
    v.push(jumpdests_24k());
    v.push(lazy_one_function());
    v.push(case(
        "overhead/stop",
        vec![asm::STOP],
        Vec::new(),
        Vec::new(),
    ));
    v
}

#[derive(Clone, Copy)]
enum ArithOp {
    Add,
    Mul,
    Div,
    Exp,
    AddMod,
    MulMod,
}

impl ArithOp {
    const ALL: [ArithOp; 6] = [
        Self::Add,
        Self::Mul,
        Self::Div,
        Self::Exp,
        Self::AddMod,
        Self::MulMod,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Mul => "mul",
            Self::Div => "div",
            Self::Exp => "exp",
            Self::AddMod => "addmod",
            Self::MulMod => "mulmod",
        }
    }

    /// Loop iterations, chosen so each case runs a few milliseconds on revm.
    fn iterations(self) -> u64 {
        match self {
            Self::Add | Self::Mul => 20_000,
            Self::Div | Self::AddMod | Self::MulMod => 5_000,
            Self::Exp => 200,
        }
    }
}

/// `acc = f(acc)`, UNROLL times per iteration: a dependency chain, so no engine can skip or
/// reorder the work.
fn arith(op: ArithOp) -> Case {
    let k = constant(&format!("synth/arith/{}/k", op.name()));
    // A divisor of about 80 bits: long division with more than one limb.
    let d = (constant("synth/arith/div/d") >> 176) | U256::from(1);
    // Odd exponent and odd start keep EXP's results nonzero.
    let e = constant("synth/arith/exp/e") | U256::from(1);
    let m = constant("synth/arith/mod/m") | U256::from(1);
    let init = constant("synth/arith/init") | U256::from(1);
    let n = op.iterations();

    let mut a = Asm::new();
    a.push_n(&word(init)).push_u64(n);
    let top = a.label();
    a.bind(top).op(asm::SWAP1);
    for _ in 0..UNROLL {
        match op {
            ArithOp::Add => a.push_n(&word(k)).op(asm::ADD),
            ArithOp::Mul => a.push_n(&word(k)).op(asm::MUL),
            ArithOp::Div => a
                .push_n(&word(d))
                .op(asm::SWAP1)
                .op(asm::DIV)
                .push_n(&word(k))
                .op(asm::XOR),
            ArithOp::Exp => a.push_n(&word(e)).op(asm::SWAP1).op(asm::EXP),
            ArithOp::AddMod | ArithOp::MulMod => a
                .push_n(&word(m))
                .op(asm::SWAP1)
                .push_n(&word(k))
                .op(asm::SWAP1)
                .op(if matches!(op, ArithOp::AddMod) {
                    asm::ADDMOD
                } else {
                    asm::MULMOD
                }),
        };
    }
    a.op(asm::SWAP1);
    count_down_and_loop(&mut a, top);
    a.op(asm::POP).return_top_word();

    let mut acc = init;
    for _ in 0..n * UNROLL as u64 {
        acc = match op {
            ArithOp::Add => k.wrapping_add(acc),
            ArithOp::Mul => k.wrapping_mul(acc),
            ArithOp::Div => (acc / d) ^ k,
            ArithOp::Exp => acc.wrapping_pow(e),
            ArithOp::AddMod => acc.add_mod(k, m),
            ArithOp::MulMod => acc.mul_mod(k, m),
        };
    }
    case(
        &format!("arith/{}", op.name()),
        a.finish(),
        Vec::new(),
        word(acc).to_vec(),
    )
}

/// `[.., n] -> [.., n-1]`, jumping back to `top` while it is nonzero.
fn count_down_and_loop(a: &mut Asm, top: asm::Label) {
    a.push_u64(1)
        .op(asm::SWAP1)
        .op(asm::SUB)
        .op(asm::DUP1)
        .jumpi(top);
}

const SWEEP_BYTES: u64 = 32 * 1024;
const SWEEPS: u64 = 64;

/// Emits `for off in (0..SWEEP_BYTES).step_by(32) { body }` with `off` on top of the stack
/// during `body`, which must leave the stack as it found it.
fn sweep(a: &mut Asm, body: impl Fn(&mut Asm)) {
    a.push_u64(0);
    let top = a.label();
    a.bind(top);
    body(a);
    a.push_u64(32)
        .op(asm::ADD)
        .op(asm::DUP1)
        .push_u64(SWEEP_BYTES)
        .op(asm::GT)
        .jumpi(top)
        .op(asm::POP);
}

/// SWEEPS passes of `mem[off] = off ^ pass` over 32 KiB; returns the last word written.
fn mstore_sweep() -> Case {
    let mut a = Asm::new();
    a.push_u64(SWEEPS);
    let top = a.label();
    a.bind(top);
    // [pass, off] -> MSTORE(off, off ^ pass)
    sweep(&mut a, |a| {
        a.ops(&[asm::DUP2, asm::DUP2, asm::XOR, asm::DUP2, asm::MSTORE]);
    });
    count_down_and_loop(&mut a, top);
    a.op(asm::POP)
        .push_u64(SWEEP_BYTES - 32)
        .op(asm::MLOAD)
        .return_top_word();
    // The last pass counts down to 1.
    let expected = U256::from((SWEEP_BYTES - 32) ^ 1);
    case(
        "memory/mstore",
        a.finish(),
        Vec::new(),
        word(expected).to_vec(),
    )
}

/// One pass of `mem[off] = off`, then SWEEPS passes summing every word; returns the sum.
fn mload_sweep() -> Case {
    let mut a = Asm::new();
    sweep(&mut a, |a| {
        a.ops(&[asm::DUP1, asm::DUP1, asm::MSTORE]);
    });
    a.push_u64(0).push_u64(SWEEPS);
    let top = a.label();
    a.bind(top);
    // [acc, pass, off] -> [acc + mem[off], pass, off]
    sweep(&mut a, |a| {
        a.ops(&[
            asm::DUP1,
            asm::MLOAD,
            asm::DUP4,
            asm::ADD,
            asm::SWAP3,
            asm::POP,
        ]);
    });
    count_down_and_loop(&mut a, top);
    a.op(asm::POP).return_top_word();
    let per_pass: u64 = (0..SWEEP_BYTES).step_by(32).sum();
    let expected = U256::from(per_pass * SWEEPS);
    case(
        "memory/mload",
        a.finish(),
        Vec::new(),
        word(expected).to_vec(),
    )
}

/// A hash chain: `mem[0] = acc; acc = keccak256(mem[0..size])`, UNROLL times per iteration.
fn keccak(size: u64, iterations: u64) -> Case {
    let init = constant("synth/keccak/init");
    let mut a = Asm::new();
    a.push_n(&word(init)).push_u64(iterations);
    let top = a.label();
    a.bind(top).op(asm::SWAP1);
    for _ in 0..UNROLL {
        a.push_u64(0)
            .op(asm::MSTORE)
            .push_u64(size)
            .push_u64(0)
            .op(asm::KECCAK256);
    }
    a.op(asm::SWAP1);
    count_down_and_loop(&mut a, top);
    a.op(asm::POP).return_top_word();

    let mut buf = vec![0u8; size as usize];
    let mut acc = word(init);
    for _ in 0..iterations * UNROLL as u64 {
        buf[..32].copy_from_slice(&acc);
        acc = keccak256(&buf).0;
    }
    case(
        &format!("keccak256/{size}"),
        a.finish(),
        Vec::new(),
        acc.to_vec(),
    )
}

/// Input `(depth, reps)`: a frame makes `reps` calls to itself with `(depth - 1, 1)` and returns
/// `1 + sum of its children's results`, i.e. the number of frames it ran. The top frame runs
/// `reps` chains `depth` deep, so each depth is entered `reps` times: the case measures call
/// cost and how well an engine reuses per-depth state. A failed call reverts the whole chain.
/// Passing all gas (GAS) relies on EIP-150's 63/64 rule: before Tangerine Whistle such a call
/// asks for more than is left and fails, and so does the case.
fn recursion(depth: u64, reps: u64) -> Case {
    let mut a = Asm::new();
    let done = a.label();
    let fail = a.label();
    let top = a.label();
    a.push_u64(1)
        .push_u64(0)
        .op(asm::CALLDATALOAD)
        .op(asm::DUP1)
        .op(asm::ISZERO)
        .jumpi(done)
        // mem[0] = depth - 1, mem[32] = 1: the child's input.
        .push_u64(1)
        .op(asm::SWAP1)
        .op(asm::SUB)
        .push_u64(0)
        .op(asm::MSTORE)
        .push_u64(1)
        .push_u64(32)
        .op(asm::MSTORE)
        .push_u64(32)
        .op(asm::CALLDATALOAD);
    // [total, reps]
    a.bind(top)
        .push_u64(32) // retSize
        .push_u64(64) // retOffset
        .push_u64(64) // argsSize
        .push_u64(0) // argsOffset
        .push_u64(0) // value
        .op(asm::ADDRESS)
        .op(asm::GAS)
        .op(asm::CALL)
        .op(asm::ISZERO)
        .jumpi(fail)
        .push_u64(64)
        .op(asm::MLOAD)
        .op(asm::DUP3)
        .op(asm::ADD)
        .op(asm::SWAP2)
        .op(asm::POP);
    count_down_and_loop(&mut a, top);
    // [total, 0] on both paths.
    a.bind(done).op(asm::POP).return_top_word();
    a.bind(fail).push_u64(0).push_u64(0).op(asm::REVERT);

    let mut input = word(U256::from(depth)).to_vec();
    input.extend_from_slice(&word(U256::from(reps)));
    let frames = 1 + reps * depth;
    case(
        &format!("call/recursion_{depth}x{reps}"),
        a.finish(),
        input,
        word(U256::from(frames)).to_vec(),
    )
}

/// Not a benchmark: a small loop each engine runs once before the first case, so one-time
/// process costs (the JIT's shared stubs and target description, background threads, lazily
/// initialised tables) are not counted as the first call of whichever case comes first.
pub(crate) fn warm_up() -> Case {
    let mut a = Asm::new();
    a.push_u64(3);
    let top = a.label();
    a.bind(top).op(asm::JUMPDEST);
    count_down_and_loop(&mut a, top);
    a.op(asm::POP).op(asm::STOP);
    case("warm-up", a.finish(), Vec::new(), Vec::new())
}

/// EIP-170's maximum contract size.
const MAX_CODE: usize = 24 * 1024;

/// 24 KiB of JUMPDESTs run straight through: every instruction starts a basic block, the worst
/// case for analysis and for a compiler that splits code into blocks.
fn jumpdests_24k() -> Case {
    let mut code = vec![asm::JUMPDEST; MAX_CODE - 1];
    code.push(asm::STOP);
    case("jumpdest/24k", code, Vec::new(), Vec::new())
}

/// A 24 KiB contract of 191 independent functions behind a computed jump; the input calls one.
/// A lazy compiler needs the dispatcher and that function, an eager one compiles everything.
fn lazy_one_function() -> Case {
    const BASE: usize = 32;
    const FN_SIZE: usize = 128;
    const ITERATIONS: u64 = 64;
    let count = (MAX_CODE - BASE) / FN_SIZE;
    let called = count / 2;
    let k = constant("synth/lazy/k");

    let mut a = Asm::new();
    a.push_u64(0)
        .op(asm::CALLDATALOAD)
        .push_n(&(FN_SIZE as u16).to_be_bytes())
        .op(asm::MUL)
        .push_n(&(BASE as u16).to_be_bytes())
        .op(asm::ADD)
        .op(asm::JUMP)
        .pad_to(BASE, asm::INVALID);
    for i in 0..count {
        debug_assert_eq!(a.len(), BASE + i * FN_SIZE);
        let id = (i as u16).to_be_bytes();
        // acc = i; ITERATIONS times acc = acc * k + i.
        a.op(asm::JUMPDEST).push_n(&id).push_u64(ITERATIONS);
        let top = a.label();
        a.bind(top)
            .op(asm::SWAP1)
            .push_n(&word(k))
            .op(asm::MUL)
            .push_n(&id)
            .op(asm::ADD)
            .op(asm::SWAP1);
        count_down_and_loop(&mut a, top);
        a.op(asm::POP)
            .return_top_word()
            .pad_to(BASE + (i + 1) * FN_SIZE, asm::INVALID);
    }
    let code = a.finish();
    assert!(code.len() <= MAX_CODE);

    let i = U256::from(called);
    let mut acc = i;
    for _ in 0..ITERATIONS {
        acc = acc.wrapping_mul(k).wrapping_add(i);
    }
    case(
        "lazy/one_fn_of_24k",
        code,
        word(i).to_vec(),
        word(acc).to_vec(),
    )
}
