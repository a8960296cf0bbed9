//! dtvm-state: an in-memory Ethereum world state and the transaction rules around the EVM.
//!
//! This is the host side of the VM/host split described in DESIGN.md: it validates and charges
//! transactions, keeps the journaled state, runs precompiles, creates accounts, and drives any
//! EVMC VM (`evmc_vm*`) through the real C function table for every frame of bytecode. The
//! state-test runner on top of it ([`statetest`]) is the conformance oracle for the whole VM.
//!
//! Module map:
//! * [`state`]: accounts, storage slots, the journal and its rollback, the post-state build.
//! * [`host`]: the [`evmc_vm::Host`] implementation for one transaction (calls, creates,
//!   selfdestruct, access lists, logs).
//! * [`transaction`]: transaction types, validation, intrinsic gas, fees and the transition.
//! * [`precompiles`]: per-revision precompile sets through `revm-precompile`.
//! * [`trie`]: state root (Merkle-Patricia trie) and the logs hash.
//! * [`crypto`]: create addresses, sender and authority recovery.
//! * [`statetest`]: the JSON fixture formats and running one case.
//! * [`results`]: a case's machine-readable result (`statetest --json`).

mod block;
pub mod crypto;
pub mod host;
pub mod precompiles;
pub mod results;
pub mod state;
pub mod statetest;
pub mod transaction;
pub mod trie;

pub use alloy_primitives::{Address, Bytes, B256, U256};
pub use evmc_vm::Revision;

use evmc_vm::sys;

/// Converts between the EVMC byte structs and the `alloy` types used inside the host.
pub(crate) mod conv {
    use super::*;

    pub(crate) fn addr(a: &sys::evmc_address) -> Address {
        Address::from(a.bytes)
    }
    pub(crate) fn to_evmc_addr(a: &Address) -> sys::evmc_address {
        sys::evmc_address { bytes: a.0 .0 }
    }
    pub(crate) fn b256(b: &sys::evmc_bytes32) -> B256 {
        B256::from(b.bytes)
    }
    pub(crate) fn to_evmc_b256(b: &B256) -> sys::evmc_bytes32 {
        sys::evmc_bytes32 { bytes: b.0 }
    }
    pub(crate) fn u256(b: &sys::evmc_bytes32) -> U256 {
        U256::from_be_bytes(b.bytes)
    }
    pub(crate) fn to_evmc_u256(v: &U256) -> sys::evmc_bytes32 {
        sys::evmc_bytes32 {
            bytes: v.to_be_bytes(),
        }
    }
}

/// Maps a fork name as it appears in fixture `post` sections to its EVMC revision.
///
/// Both naming schemes are accepted: the legacy test-suite names (`EIP150`, `EIP158`,
/// `ConstantinopleFix`) and the current ones (`TangerineWhistle`, `SpuriousDragon`,
/// `Petersburg`, `Merge`/`Paris`). Transition forks (`XToYAtTime15k`) have no single revision and
/// return `None`: callers must count them as skipped, never drop them silently.
pub fn revision_from_fork_name(name: &str) -> Option<Revision> {
    Some(match name {
        "Frontier" => sys::EVMC_FRONTIER,
        "Homestead" => sys::EVMC_HOMESTEAD,
        "EIP150" | "TangerineWhistle" => sys::EVMC_TANGERINE_WHISTLE,
        "EIP158" | "SpuriousDragon" => sys::EVMC_SPURIOUS_DRAGON,
        "Byzantium" => sys::EVMC_BYZANTIUM,
        "Constantinople" => sys::EVMC_CONSTANTINOPLE,
        "ConstantinopleFix" | "Petersburg" => sys::EVMC_PETERSBURG,
        "Istanbul" => sys::EVMC_ISTANBUL,
        "Berlin" => sys::EVMC_BERLIN,
        "London" => sys::EVMC_LONDON,
        "Merge" | "Paris" => sys::EVMC_PARIS,
        "Shanghai" => sys::EVMC_SHANGHAI,
        "Cancun" => sys::EVMC_CANCUN,
        "Prague" => sys::EVMC_PRAGUE,
        "Osaka" => sys::EVMC_OSAKA,
        _ => return None,
    })
}

/// The canonical name of a revision, for messages.
pub fn revision_name(rev: Revision) -> &'static str {
    match rev {
        sys::EVMC_FRONTIER => "Frontier",
        sys::EVMC_HOMESTEAD => "Homestead",
        sys::EVMC_TANGERINE_WHISTLE => "TangerineWhistle",
        sys::EVMC_SPURIOUS_DRAGON => "SpuriousDragon",
        sys::EVMC_BYZANTIUM => "Byzantium",
        sys::EVMC_CONSTANTINOPLE => "Constantinople",
        sys::EVMC_PETERSBURG => "Petersburg",
        sys::EVMC_ISTANBUL => "Istanbul",
        sys::EVMC_BERLIN => "Berlin",
        sys::EVMC_LONDON => "London",
        sys::EVMC_PARIS => "Paris",
        sys::EVMC_SHANGHAI => "Shanghai",
        sys::EVMC_CANCUN => "Cancun",
        sys::EVMC_PRAGUE => "Prague",
        sys::EVMC_OSAKA => "Osaka",
        _ => "Experimental",
    }
}

/// The maximum code size (EIP-170, from Spurious Dragon).
pub const MAX_CODE_SIZE: usize = 0x6000;
/// The maximum initcode size (EIP-3860, from Shanghai).
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_fork_names_map_to_revisions_0_to_7() {
        let names = [
            "Frontier",
            "Homestead",
            "EIP150",
            "EIP158",
            "Byzantium",
            "Constantinople",
            "ConstantinopleFix",
            "Istanbul",
        ];
        for (i, n) in names.iter().enumerate() {
            assert_eq!(revision_from_fork_name(n), Some(i as Revision), "{n}");
        }
        assert_eq!(revision_from_fork_name("Osaka"), Some(sys::EVMC_OSAKA));
        assert_eq!(revision_from_fork_name("ShanghaiToCancunAtTime15k"), None);
    }
}
