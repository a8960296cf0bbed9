//! dtvm's EVM interpreter (work in progress: every opcode not implemented yet fails cleanly).
use evmc_vm::{sys, ExecutionContext, ExecutionMessage, ExecutionResult, Revision};

/// Executes `code` for `msg` at revision `rev`.
pub fn execute(
    _ctx: &mut ExecutionContext,
    _rev: Revision,
    _msg: &ExecutionMessage,
    code: &[u8],
) -> ExecutionResult {
    if code.is_empty() || code[0] == 0x00 {
        return ExecutionResult::new(sys::EVMC_SUCCESS, _msg.gas(), 0, Vec::new());
    }
    ExecutionResult::failure(sys::EVMC_UNDEFINED_INSTRUCTION)
}
