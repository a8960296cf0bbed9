//! dtvm's JIT: EVM bytecode compiled with Cranelift. The unit of entry is a JUMPDEST segment;
//! the unit of compilation is a region of consecutive segments (one function).
//!
//! * multipass: the whole contract is compiled, region by region, before its first run.
//! * lazy: a segment is compiled alone when execution first reaches it (by the thread that gets
//!   there first; others run it in the interpreter meanwhile), and background threads compile
//!   the whole-contract regions, which then replace the single segments.
//!
//! Every segment has a slot holding the address execution tail-calls to enter it: compiled code,
//! a resolver stub (lazy: compile on first entry) or an interpreter stub. Compiled and interpreted
//! segments (`dtvm_interp::run_segment`) run on the same `dtvm_runtime::Frame` and hand over at
//! JUMPDESTs, so any segment that is not compiled (not yet, over the compile budget, a codegen
//! error) simply runs in the interpreter. Long JUMPDEST segments are cut into pieces (see
//! `segments.rs`) that hand over the same way. All complex instructions call the
//! interpreter's own instruction bodies: results are the interpreter's, bit for bit.
//!
//! Compilation is bounded twice: per call (a wall-clock budget, the rest interpreted or left to
//! later calls) and per contract (a CPU-time budget; past it only hot segments are compiled).
//!
//! Compiled code is cached per (code, revision) for the process, shared by all threads, bounded
//! by bytes of machine code. A running frame holds its contract's `Arc`, so eviction never frees
//! code in use.

mod cache;
mod compiler;
mod segments;
mod shims;
mod stubs;
mod translate;

use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use dtvm_core::Revision;

pub use cache::{
    cached_contracts, clear_cache, segment_stats, set_background_threads, SegmentStats,
};

/// Executes `code` for `msg` at `rev` with compiled code: all segments compiled up front
/// (`lazy == false`, multipass) or on first use (`lazy == true`).
pub fn execute(
    ctx: &mut ExecutionContext,
    rev: Revision,
    msg: &ExecutionMessage,
    code: &[u8],
    lazy: bool,
) -> ExecutionResult {
    if code.is_empty() {
        return ExecutionResult::new(EVMC_SUCCESS, msg.gas().max(0), 0, Vec::new());
    }
    let Some(stubs) = cache::shared_stubs() else {
        return interpret(ctx, rev, msg, code);
    };
    let deadline = std::time::Instant::now() + cache::CALL_COMPILE_BUDGET;
    let contract = cache::contract(code, rev, lazy, stubs);
    if !lazy {
        contract.compile_all(deadline);
    }
    dtvm_runtime::execute_analyzed(ctx, rev, msg, contract.analysis(), |frame| {
        contract.run(frame, deadline)
    })
}

/// The interpreter, for a machine Cranelift cannot target. Out of line: inlined, the interpreter
/// loop's frame would sit in `execute`'s, which stays on the native stack at every call level.
#[cold]
#[inline(never)]
fn interpret(
    ctx: &mut ExecutionContext,
    rev: Revision,
    msg: &ExecutionMessage,
    code: &[u8],
) -> ExecutionResult {
    dtvm_interp::execute(ctx, rev, msg, code)
}
