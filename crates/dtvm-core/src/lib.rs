//! What every dtvm engine agrees on: the opcode table, the gas schedule of each revision, and the
//! analysis of a contract's bytecode (jump destinations, basic blocks, JUMPDEST segments).
//!
//! The interpreter and the JIT read these tables; neither re-derives an EVM rule on its own.

pub mod analysis;
pub mod gas;
pub mod opcode;
pub mod prologue;
pub mod recent;

pub use evmc_vm::sys::{
    evmc_revision as Revision, EVMC_BERLIN as BERLIN, EVMC_BYZANTIUM as BYZANTIUM,
    EVMC_CANCUN as CANCUN, EVMC_CONSTANTINOPLE as CONSTANTINOPLE, EVMC_FRONTIER as FRONTIER,
    EVMC_HOMESTEAD as HOMESTEAD, EVMC_ISTANBUL as ISTANBUL, EVMC_LONDON as LONDON,
    EVMC_MAX_REVISION as MAX_REVISION, EVMC_OSAKA as OSAKA, EVMC_PARIS as PARIS,
    EVMC_PETERSBURG as PETERSBURG, EVMC_PRAGUE as PRAGUE, EVMC_SHANGHAI as SHANGHAI,
    EVMC_SPURIOUS_DRAGON as SPURIOUS_DRAGON, EVMC_TANGERINE_WHISTLE as TANGERINE_WHISTLE,
};

/// The EVM word.
pub type U256 = ruint::aliases::U256;

/// EVM stack limit (items).
pub const STACK_LIMIT: usize = 1024;
/// EVM call depth limit.
pub const CALL_DEPTH_LIMIT: i32 = 1024;
/// EIP-170 code size limit (Spurious Dragon+).
pub const MAX_CODE_SIZE: usize = 0x6000;
/// EIP-3860 initcode size limit (Shanghai+).
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;
