//! dtvm's robustness suite, shared by the integration tests in `tests/tests` and the fuzz targets
//! in `fuzz/`.
//!
//! * [`modes`]: every execution mode the plugin accepts, as loaded [`evmc_vm::Vm`]s; modes the
//!   build refuses are skipped with a note, so JIT modes join the suite when they land.
//! * [`world`]: the pre-state, transaction and block a scenario runs in, and the [`Outcome`]
//!   both engines are compared on.
//! * [`host`]: an in-memory EVMC host that runs whole transactions through the C ABI, nested
//!   calls included (it re-enters the VM for them).
//! * [`reference`]: the same transaction on revm, through its full transaction path.
//! * [`eip3155`]: the comparator of dtvm's EIP-3155 traces with revm's `TracerEip3155`.
//! * [`gen`]: random programs with valid control flow, loops, nested calls and creates.
//!
//! [`Outcome`]: world::Outcome

pub mod eip3155;
pub mod fuzz;
pub mod gen;
pub mod host;
pub mod modes;
pub mod reference;
/// The test kit's RNG, shared with the engines' tests.
pub use dtvm_testkit::rng;
pub mod world;

/// Native stack for threads that run EVM code. Each EVM call level is a native recursion
/// (host -> VM -> host), about 3.7 KB per level on the interpreter and 11.7 KB in the JIT modes
/// (measured by the adversarial test `native_stack_per_call_level`), so depth 1024 needs more
/// than the 2 MiB that test threads get, and dtvm's stack guard keeps 256 KiB free on top; this
/// leaves room for engines with bigger frames.
pub const EVM_THREAD_STACK: usize = 64 << 20;

/// Runs `f` on a scoped thread with [`EVM_THREAD_STACK`] of stack; panics propagate.
pub fn on_evm_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(EVM_THREAD_STACK)
            .spawn_scoped(s, f)
            .expect("spawn an EVM thread")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
