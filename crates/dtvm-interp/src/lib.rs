//! dtvm's EVM interpreter: the dispatch loop over the shared runtime's [`Frame`].
//!
//! The frame, memory and every out-of-line instruction body live in `dtvm_runtime`, which the
//! JIT shares, so every EVM rule has one definition. Gas and stack bounds are checked once per
//! basic block (see `dtvm_core::analysis`); inside a block, instructions run without checks.

mod interpreter;
pub mod trace;

use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use dtvm_core::analysis::analysis_cache;
use dtvm_core::Revision;
pub use dtvm_runtime::{execute_analyzed, Frame, Status};

pub use interpreter::{run, run_segment, Exit};
pub use trace::{execute_traced, stderr_sink, TraceSink};

/// Executes `code` for `msg` at revision `rev` in the interpreter.
pub fn execute(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
) -> ExecutionResult {
    if code.is_empty() {
        return ExecutionResult::new(EVMC_SUCCESS, msg.gas().max(0), 0, Vec::new());
    }
    let analysis = analysis_cache().get_recent(code, rev);
    execute_analyzed(ctx, rev, msg, &analysis, |frame| run(frame, 0))
}

/// [`execute`] for a caller that has already hashed `code` (`dtvm_core::analysis::code_hash`).
pub fn execute_hashed(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
    code_hash: u128,
) -> ExecutionResult {
    if code.is_empty() {
        return ExecutionResult::new(EVMC_SUCCESS, msg.gas().max(0), 0, Vec::new());
    }
    let analysis = analysis_cache().get_hashed(code, code_hash, rev);
    execute_analyzed(ctx, rev, msg, &analysis, |frame| run(frame, 0))
}
