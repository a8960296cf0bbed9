//! The host's half of SSTORE: which `evmc_storage_status` a store has (EIP-2200's table as
//! EVMC defines it). Every Rust host classifies stores with [`storage_status`]; the VM turns the
//! status into gas and refund by its revision's rules (EIP-1283, EIP-2200, EIP-3529).
//!
//! The rule lives here, beside the status type, because it is the definition of that type's
//! values (evmc.h documents the same table on the enum): any host needs it, and every host
//! already depends on this crate.
use crate::StorageStatus;
use evmc_sys::*;

/// The status of writing `new` to a slot whose value was `original` at the start of the
/// transaction and is `current` now (X, Y, Z below are distinct nonzero values):
///
/// | original -> current -> new | status |
/// |---|---|
/// | 0 -> 0 -> Z | ADDED |
/// | X -> X -> 0 | DELETED |
/// | X -> X -> Z | MODIFIED |
/// | X -> 0 -> Z | DELETED_ADDED |
/// | X -> Y -> 0 | MODIFIED_DELETED |
/// | X -> 0 -> X | DELETED_RESTORED |
/// | 0 -> Y -> 0 | ADDED_DELETED |
/// | X -> Y -> X | MODIFIED_RESTORED |
/// | anything else (no change, or a dirty slot moved to another value) | ASSIGNED |
pub fn storage_status(original: &[u8; 32], current: &[u8; 32], new: &[u8; 32]) -> StorageStatus {
    const ZERO: [u8; 32] = [0; 32];
    let dirty = original != current;
    let restored = original == new;
    let current_zero = *current == ZERO;
    let new_zero = *new == ZERO;
    match (dirty, restored) {
        (false, false) if current_zero => EVMC_STORAGE_ADDED,
        (false, false) if new_zero => EVMC_STORAGE_DELETED,
        (false, false) => EVMC_STORAGE_MODIFIED,
        (true, false) if current_zero && !new_zero => EVMC_STORAGE_DELETED_ADDED,
        (true, false) if !current_zero && new_zero => EVMC_STORAGE_MODIFIED_DELETED,
        (true, true) if current_zero => EVMC_STORAGE_DELETED_RESTORED,
        (true, true) if new_zero => EVMC_STORAGE_ADDED_DELETED,
        (true, true) => EVMC_STORAGE_MODIFIED_RESTORED,
        _ => EVMC_STORAGE_ASSIGNED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u8) -> [u8; 32] {
        let mut b = [0; 32];
        b[31] = n;
        b
    }

    #[test]
    fn storage_status_covers_the_eip2200_table() {
        let z = v(0);
        // (original, current, new) -> status, one row per entry of EVMC's table.
        let rows = [
            ((z, z, z), EVMC_STORAGE_ASSIGNED),
            ((v(1), v(1), v(1)), EVMC_STORAGE_ASSIGNED),
            ((z, z, v(1)), EVMC_STORAGE_ADDED),
            ((v(1), v(1), z), EVMC_STORAGE_DELETED),
            ((v(1), v(1), v(2)), EVMC_STORAGE_MODIFIED),
            ((v(1), z, v(2)), EVMC_STORAGE_DELETED_ADDED),
            ((v(1), v(2), z), EVMC_STORAGE_MODIFIED_DELETED),
            ((v(1), z, v(1)), EVMC_STORAGE_DELETED_RESTORED),
            ((z, v(1), z), EVMC_STORAGE_ADDED_DELETED),
            ((v(1), v(2), v(1)), EVMC_STORAGE_MODIFIED_RESTORED),
            // Dirty slots moved to yet another value are plain assignments.
            ((v(1), v(2), v(3)), EVMC_STORAGE_ASSIGNED),
            ((z, v(1), v(2)), EVMC_STORAGE_ASSIGNED),
            ((v(1), z, z), EVMC_STORAGE_ASSIGNED),
        ];
        for ((o, c, n), expected) in rows {
            assert_eq!(
                storage_status(&o, &c, &n),
                expected,
                "{} {} {}",
                o[31],
                c[31],
                n[31]
            );
        }
    }
}
