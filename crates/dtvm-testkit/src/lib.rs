//! Test support shared by dtvm's engine crates, the bench and `dtvm run`.
//!
//! * [`MockHost`]: the one in-memory EVMC host, whose nested calls run in the same engine as
//!   the outer frame (a differential run compares whole call trees) or in a loaded VM. (The
//!   full transaction host, with creates and precompiles, is `dtvm-tests`'s; the state-test
//!   host is `dtvm-state`'s.)
//! * [`rng`]: the one source of test randomness (seeded, or a fuzzer's bytes).
//! * [`gen`]: random programs for the engines' differential tests.
//! * [`Engine`]: which engine runs a [`MockHost`]'s frames.

pub mod gen;
mod host;
pub mod rng;

pub use host::{Map, MockHost, Set};

use ::evmc_vm::*;

/// (address, data, topics)
pub type Log = (Address, Vec<u8>, Vec<Bytes32>);

/// What executes a frame: `dtvm_interp::execute` or a JIT mode's entry with the same signature.
pub type Exec =
    fn(&mut ExecutionContext<'_>, Revision, &ExecutionMessage<'_>, &[u8]) -> ExecutionResult;

/// The test address whose last byte is `n` (the rest zero).
pub fn addr(n: u8) -> Address {
    let mut a = Address::default();
    a.bytes[19] = n;
    a
}

/// `n` as a big-endian 32-byte word.
pub fn word(n: u64) -> Bytes32 {
    let mut b = Bytes32::default();
    b.bytes[24..].copy_from_slice(&n.to_be_bytes());
    b
}

/// Which engine executes a [`MockHost`]'s frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The interpreter (`dtvm_interp::execute`).
    #[default]
    Interp,
    /// The JIT with the whole contract compiled before its first run.
    Multipass,
    /// The JIT compiling each segment when execution first reaches it.
    Lazy,
    /// Interpreted until the contract is hot, then the background compilers' code.
    Tiered,
}

impl From<Engine> for Exec {
    fn from(engine: Engine) -> Exec {
        match engine {
            Engine::Interp => dtvm_interp::execute,
            Engine::Multipass => {
                |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, false)
            }
            Engine::Lazy => |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, true),
            Engine::Tiered => dtvm_jit::execute_tiered,
        }
    }
}

/// Everything a run of `code` at Cancun with 300,000 gas observably produces, for comparing
/// engines: status, gas left, refund, output and logs.
pub fn outcome(engine: Engine, code: &[u8], input: &[u8]) -> (i32, i64, i64, Vec<u8>, Vec<Log>) {
    let h = MockHost::with_engine(::evmc_vm::sys::EVMC_CANCUN, engine);
    let r = h.run(code, 300_000, input);
    (
        r.status_code,
        r.gas_left,
        r.gas_refund,
        r.output,
        h.logs.take(),
    )
}

/// Runs `code` in the interpreter, which must succeed, then `calls` times in each JIT mode
/// (multipass, lazy: the first calls may interpret what is not compiled yet): every outcome must
/// be the interpreter's. `what` names the case in failure messages.
pub fn assert_jit_matches_interpreter(code: &[u8], input: &[u8], calls: usize, what: &str) {
    let expected = outcome(Engine::Interp, code, input);
    assert_eq!(
        expected.0,
        ::evmc_vm::sys::EVMC_SUCCESS,
        "the interpreter failed: {what}"
    );
    for engine in [Engine::Multipass, Engine::Lazy] {
        for _ in 0..calls {
            assert_eq!(outcome(engine, code, input), expected, "{engine:?}: {what}");
        }
    }
}

/// Runs `f` on a thread with a stack deep enough for 1024 nested EVM calls, as clients do.
pub fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Assembles hex like "6001600201" into bytes.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
