//! The gas schedule: static cost of every instruction per revision, and the dynamic rules
//! (memory, copies, cold access, SSTORE, calls) that engines apply at the instruction.

use crate::opcode;
use crate::*;
use evmc_vm::sys::{self, evmc_storage_status};
use once_cell::sync::Lazy;

/// Static gas of every opcode at one revision (0 for opcodes undefined there).
pub type GasTable = [u16; 256];

static TABLES: Lazy<Vec<GasTable>> =
    Lazy::new(|| (0..=MAX_REVISION).map(build_gas_table).collect());

/// The static gas table of `rev` (which must be a valid revision, 0..=MAX_REVISION).
pub fn static_gas_table(rev: Revision) -> &'static GasTable {
    &TABLES[rev as usize]
}

fn build_gas_table(rev: Revision) -> GasTable {
    use opcode::*;
    // The cost at each instruction's first revision (the opcode list); repricings follow.
    let mut t: GasTable = std::array::from_fn(|op| OPCODES[op].base_gas);
    if rev >= TANGERINE_WHISTLE {
        // EIP-150: IO-heavy operations repriced.
        t[BALANCE as usize] = 400;
        t[EXTCODESIZE as usize] = 700;
        t[EXTCODECOPY as usize] = 700;
        t[SLOAD as usize] = 200;
        t[CALL as usize] = 700;
        t[CALLCODE as usize] = 700;
        t[DELEGATECALL as usize] = 700;
        t[STATICCALL as usize] = 700;
        t[SELFDESTRUCT as usize] = 5000;
    }
    if rev >= ISTANBUL {
        // EIP-1884.
        t[BALANCE as usize] = 700;
        t[EXTCODEHASH as usize] = 700;
        t[SLOAD as usize] = 800;
    }
    if rev >= BERLIN {
        // EIP-2929: the static part is the warm cost; the cold surcharge is dynamic.
        for op in [
            BALANCE,
            EXTCODESIZE,
            EXTCODECOPY,
            EXTCODEHASH,
            SLOAD,
            CALL,
            CALLCODE,
            DELEGATECALL,
            STATICCALL,
        ] {
            t[op as usize] = WARM_STORAGE_READ_COST as u16;
        }
    }
    for (op, info) in OPCODES.iter().enumerate() {
        if !info.defined_in(rev) {
            t[op] = 0;
        }
    }
    t
}

/// EIP-2929 (Berlin): the cost of touching an account or slot already accessed in the
/// transaction (warm); the static table charges it for every account-accessing opcode and SLOAD.
pub const WARM_STORAGE_READ_COST: i64 = 100;
/// EIP-2929 (Berlin): the cost of the first access to a storage slot in the transaction.
pub const COLD_SLOAD_COST: i64 = 2100;
/// EIP-2929 (Berlin): the cost of the first access to an account in the transaction.
pub const COLD_ACCOUNT_ACCESS_COST: i64 = 2600;
/// Cold surcharge on top of the warm cost already in the static table.
pub const ADDITIONAL_COLD_ACCOUNT_ACCESS_COST: i64 =
    COLD_ACCOUNT_ACCESS_COST - WARM_STORAGE_READ_COST;
/// Cold SLOAD surcharge on top of the warm cost already in the static table.
pub const ADDITIONAL_COLD_SLOAD_COST: i64 = COLD_SLOAD_COST - WARM_STORAGE_READ_COST;

/// Yellow Paper G_callvalue: a CALL or CALLCODE that transfers a non-zero value.
pub const CALL_VALUE_COST: i64 = 9000;
/// Yellow Paper G_callstipend: gas given free to the callee of a value-transferring call, on top
/// of what the caller forwards.
pub const CALL_STIPEND: i64 = 2300;
/// Yellow Paper G_newaccount: a CALL (from Tangerine Whistle also a SELFDESTRUCT, EIP-150) to an
/// account that does not exist; from Spurious Dragon only if it moves value there (EIP-161).
pub const ACCOUNT_CREATION_COST: i64 = 25000;
/// Yellow Paper R_selfdestruct: the refund for the first SELFDESTRUCT of an account; removed in
/// London (EIP-3529).
pub const SELFDESTRUCT_REFUND: i64 = 24000;
/// Yellow Paper G_logdata: per byte of LOG data.
pub const LOG_DATA_COST: i64 = 8;
/// Yellow Paper G_keccak256word: per 32-byte word hashed by KECCAK256 and CREATE2's address.
pub const KECCAK_WORD_COST: i64 = 6;
/// Yellow Paper G_copy: per 32-byte word copied by the *COPY opcodes.
pub const COPY_WORD_COST: i64 = 3;
/// EIP-3860 (Shanghai): per 32-byte word of init code of CREATE, CREATE2 and create
/// transactions.
pub const INITCODE_WORD_COST: i64 = 2;
/// EIP-2200: SSTORE fails when no more than the call stipend is left.
pub const SSTORE_SENTRY: i64 = CALL_STIPEND;

/// Memory cannot grow beyond this many bytes: offsets past it are out of gas in practice for any
/// real gas limit, and the bound keeps a host passing `i64::MAX` gas from asking for terabytes.
pub const MAX_MEMORY_SIZE: u64 = u32::MAX as u64;

/// Number of 32-byte words covering `size` bytes.
#[inline]
pub const fn num_words(size: u64) -> u64 {
    size.div_ceil(32)
}

/// Gas per word of memory, the linear part of [`memory_cost`].
pub const MEMORY_WORD_COST: u64 = 3;
/// The quadratic part of [`memory_cost`] is `words² / MEMORY_QUADRATIC_DIVISOR` (a power of two:
/// compiled code divides by shifting).
pub const MEMORY_QUADRATIC_DIVISOR: u64 = 512;
const _: () = assert!(MEMORY_QUADRATIC_DIVISOR.is_power_of_two());

/// Total cost of a memory of `words` words (Yellow Paper C_mem).
#[inline]
pub const fn memory_cost(words: u64) -> i64 {
    (MEMORY_WORD_COST * words + words * words / MEMORY_QUADRATIC_DIVISOR) as i64
}

/// Cost of copying `size` bytes (CALLDATACOPY, CODECOPY, ...), without the memory expansion.
#[inline]
pub const fn copy_cost(size: u64) -> i64 {
    num_words(size) as i64 * COPY_WORD_COST
}

/// EXP cost per byte of the exponent (EIP-160 raised it in Spurious Dragon).
#[inline]
pub const fn exp_byte_cost(rev: Revision) -> i64 {
    if rev >= SPURIOUS_DRAGON {
        50
    } else {
        10
    }
}

/// The cost and refund of one SSTORE, given the storage status reported by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageStoreCost {
    /// Gas charged for the SSTORE, on top of the cold surcharge (EIP-2929).
    pub gas: i64,
    /// Change to the refund counter; negative when a write undoes an earlier refund
    /// (EIP-2200's "deleted, then added" case).
    pub refund: i64,
}

struct StorageCostSpec {
    net_metering: bool,
    warm_access: i64,
    set: i64,
    reset: i64,
    clear_refund: i64,
}

fn storage_cost_spec(rev: Revision) -> StorageCostSpec {
    match rev {
        CONSTANTINOPLE => StorageCostSpec {
            net_metering: true,
            warm_access: 200,
            set: 20000,
            reset: 5000,
            clear_refund: 15000,
        },
        r if r < ISTANBUL => StorageCostSpec {
            net_metering: false,
            warm_access: 0,
            set: 20000,
            reset: 5000,
            clear_refund: 15000,
        },
        ISTANBUL => StorageCostSpec {
            net_metering: true,
            warm_access: 800,
            set: 20000,
            reset: 5000,
            clear_refund: 15000,
        },
        BERLIN => StorageCostSpec {
            net_metering: true,
            warm_access: WARM_STORAGE_READ_COST,
            set: 20000,
            reset: 5000 - COLD_SLOAD_COST,
            clear_refund: 15000,
        },
        _ => StorageCostSpec {
            net_metering: true,
            warm_access: WARM_STORAGE_READ_COST,
            set: 20000,
            reset: 5000 - COLD_SLOAD_COST,
            clear_refund: 4800, // EIP-3529
        },
    }
}

static SSTORE_COSTS: Lazy<Vec<[StorageStoreCost; 9]>> =
    Lazy::new(|| (0..=MAX_REVISION).map(build_sstore_costs).collect());

fn build_sstore_costs(rev: Revision) -> [StorageStoreCost; 9] {
    let s = storage_cost_spec(rev);
    let c = |gas, refund| StorageStoreCost { gas, refund };
    let mut t = [c(0, 0); 9];
    if !s.net_metering {
        // Before net metering only the current and new values matter: writing a non-zero value
        // into a zero slot costs `set`, anything else `reset`; clearing a slot refunds.
        t[sys::EVMC_STORAGE_ASSIGNED as usize] = c(s.reset, 0);
        t[sys::EVMC_STORAGE_ADDED as usize] = c(s.set, 0);
        t[sys::EVMC_STORAGE_DELETED as usize] = c(s.reset, s.clear_refund);
        t[sys::EVMC_STORAGE_MODIFIED as usize] = c(s.reset, 0);
        t[sys::EVMC_STORAGE_DELETED_ADDED as usize] = c(s.set, 0);
        t[sys::EVMC_STORAGE_MODIFIED_DELETED as usize] = c(s.reset, s.clear_refund);
        t[sys::EVMC_STORAGE_DELETED_RESTORED as usize] = c(s.set, 0);
        t[sys::EVMC_STORAGE_ADDED_DELETED as usize] = c(s.reset, s.clear_refund);
        t[sys::EVMC_STORAGE_MODIFIED_RESTORED as usize] = c(s.reset, 0);
    } else {
        // EIP-1283 / EIP-2200 / EIP-3529 net metering.
        t[sys::EVMC_STORAGE_ASSIGNED as usize] = c(s.warm_access, 0);
        t[sys::EVMC_STORAGE_ADDED as usize] = c(s.set, 0);
        t[sys::EVMC_STORAGE_DELETED as usize] = c(s.reset, s.clear_refund);
        t[sys::EVMC_STORAGE_MODIFIED as usize] = c(s.reset, 0);
        t[sys::EVMC_STORAGE_DELETED_ADDED as usize] = c(s.warm_access, -s.clear_refund);
        t[sys::EVMC_STORAGE_MODIFIED_DELETED as usize] = c(s.warm_access, s.clear_refund);
        t[sys::EVMC_STORAGE_DELETED_RESTORED as usize] =
            c(s.warm_access, s.reset - s.warm_access - s.clear_refund);
        t[sys::EVMC_STORAGE_ADDED_DELETED as usize] = c(s.warm_access, s.set - s.warm_access);
        t[sys::EVMC_STORAGE_MODIFIED_RESTORED as usize] = c(s.warm_access, s.reset - s.warm_access);
    }
    t
}

/// Cost and refund of SSTORE at `rev` for the status the host returned. An unknown status (a
/// broken host) is priced as the most expensive write.
pub fn sstore_cost(rev: Revision, status: evmc_storage_status) -> StorageStoreCost {
    let table = &SSTORE_COSTS[rev as usize];
    match usize::try_from(status).ok().and_then(|i| table.get(i)) {
        Some(c) => *c,
        None => table[sys::EVMC_STORAGE_ADDED as usize],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::*;

    #[test]
    fn eip150_and_1884_and_2929_repricing() {
        assert_eq!(static_gas_table(FRONTIER)[SLOAD as usize], 50);
        assert_eq!(static_gas_table(TANGERINE_WHISTLE)[SLOAD as usize], 200);
        assert_eq!(static_gas_table(ISTANBUL)[SLOAD as usize], 800);
        assert_eq!(static_gas_table(BERLIN)[SLOAD as usize], 100);
        assert_eq!(static_gas_table(ISTANBUL)[BALANCE as usize], 700);
        assert_eq!(static_gas_table(CONSTANTINOPLE)[EXTCODEHASH as usize], 400);
        assert_eq!(
            static_gas_table(TANGERINE_WHISTLE)[SELFDESTRUCT as usize],
            5000
        );
        assert_eq!(static_gas_table(FRONTIER)[SELFDESTRUCT as usize], 0);
        assert_eq!(static_gas_table(FRONTIER)[LOG4 as usize], 1875);
        // Undefined at a revision: no static cost, the engine reports UNDEFINED_INSTRUCTION.
        assert_eq!(static_gas_table(PARIS)[PUSH0 as usize], 0);
        assert_eq!(static_gas_table(SHANGHAI)[PUSH0 as usize], 2);
    }

    #[test]
    fn sstore_costs_by_revision() {
        use sys::*;
        // Frontier: 0 -> x costs 20000; x -> 0 costs 5000 and refunds 15000.
        assert_eq!(
            sstore_cost(FRONTIER, EVMC_STORAGE_ADDED),
            StorageStoreCost {
                gas: 20000,
                refund: 0
            }
        );
        assert_eq!(
            sstore_cost(PETERSBURG, EVMC_STORAGE_DELETED),
            StorageStoreCost {
                gas: 5000,
                refund: 15000
            }
        );
        // Constantinople EIP-1283: no-op costs 200.
        assert_eq!(sstore_cost(CONSTANTINOPLE, EVMC_STORAGE_ASSIGNED).gas, 200);
        // Istanbul EIP-2200: dirty write costs SLOAD (800); restoring an original 0 refunds 19200.
        assert_eq!(
            sstore_cost(ISTANBUL, EVMC_STORAGE_ADDED_DELETED),
            StorageStoreCost {
                gas: 800,
                refund: 19200
            }
        );
        // Berlin: reset is 5000 - 2100 (the cold surcharge is charged separately).
        assert_eq!(sstore_cost(BERLIN, EVMC_STORAGE_MODIFIED).gas, 2900);
        // London EIP-3529: clearing refunds 4800.
        assert_eq!(
            sstore_cost(LONDON, EVMC_STORAGE_DELETED),
            StorageStoreCost {
                gas: 2900,
                refund: 4800
            }
        );
        assert_eq!(
            sstore_cost(CANCUN, EVMC_STORAGE_MODIFIED_RESTORED),
            StorageStoreCost {
                gas: 100,
                refund: 2800
            }
        );
        assert_eq!(
            sstore_cost(CANCUN, EVMC_STORAGE_DELETED_ADDED),
            StorageStoreCost {
                gas: 100,
                refund: -4800
            }
        );
    }

    #[test]
    fn memory_and_copy_costs() {
        assert_eq!(memory_cost(0), 0);
        assert_eq!(memory_cost(1), 3);
        assert_eq!(memory_cost(1024), 3 * 1024 + 2048);
        assert_eq!(copy_cost(33), 6);
        assert_eq!(num_words(0), 0);
        assert_eq!(exp_byte_cost(EIP150_REV), 10);
        assert_eq!(exp_byte_cost(SPURIOUS_DRAGON), 50);
    }
    const EIP150_REV: Revision = TANGERINE_WHISTLE;
}
