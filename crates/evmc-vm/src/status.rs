//! Names of `evmc_status_code` values, as evmc.h spells them without the `EVMC_` prefix: what
//! every tool prints for a status (the bench, `dtvm run`, the robustness suite's reports).
use crate::StatusCode;
use evmc_sys::*;

/// `SUCCESS`, `REVERT`, `OUT_OF_GAS`, ...; `status N` for a code evmc.h does not define.
pub fn status_name(code: StatusCode) -> String {
    let name = match code {
        EVMC_SUCCESS => "SUCCESS",
        EVMC_FAILURE => "FAILURE",
        EVMC_REVERT => "REVERT",
        EVMC_OUT_OF_GAS => "OUT_OF_GAS",
        EVMC_INVALID_INSTRUCTION => "INVALID_INSTRUCTION",
        EVMC_UNDEFINED_INSTRUCTION => "UNDEFINED_INSTRUCTION",
        EVMC_STACK_OVERFLOW => "STACK_OVERFLOW",
        EVMC_STACK_UNDERFLOW => "STACK_UNDERFLOW",
        EVMC_BAD_JUMP_DESTINATION => "BAD_JUMP_DESTINATION",
        EVMC_INVALID_MEMORY_ACCESS => "INVALID_MEMORY_ACCESS",
        EVMC_CALL_DEPTH_EXCEEDED => "CALL_DEPTH_EXCEEDED",
        EVMC_STATIC_MODE_VIOLATION => "STATIC_MODE_VIOLATION",
        EVMC_PRECOMPILE_FAILURE => "PRECOMPILE_FAILURE",
        EVMC_ARGUMENT_OUT_OF_RANGE => "ARGUMENT_OUT_OF_RANGE",
        EVMC_INSUFFICIENT_BALANCE => "INSUFFICIENT_BALANCE",
        EVMC_INTERNAL_ERROR => "INTERNAL_ERROR",
        EVMC_REJECTED => "REJECTED",
        EVMC_OUT_OF_MEMORY => "OUT_OF_MEMORY",
        _ => return format!("status {code}"),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_evmc_h() {
        assert_eq!(status_name(EVMC_SUCCESS), "SUCCESS");
        assert_eq!(status_name(EVMC_OUT_OF_MEMORY), "OUT_OF_MEMORY");
        assert_eq!(status_name(12345), "status 12345");
    }
}
