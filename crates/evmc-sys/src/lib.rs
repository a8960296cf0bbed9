//! Raw `#[repr(C)]` declarations of the EVMC ABI version 12 (EVMC 12.x `evmc.h`).
//!
//! crates.io only carries `evmc-sys` 9.0.0 (ABI 9, revisions up to Shanghai), which today's hosts
//! refuse, so these types are written by hand, in the header's order, and pinned by layout tests.
//! Names follow the C header so that a reader can check them line by line.
#![allow(non_camel_case_types)]
// Every item mirrors one of `evmc.h` under the same name; the header is its documentation.
#![allow(missing_docs)]

use std::os::raw::{c_char, c_int};

/// The ABI version a host checks before it uses a VM.
pub const EVMC_ABI_VERSION: c_int = 12;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct evmc_bytes32 {
    pub bytes: [u8; 32],
}

/// Big-endian 256-bit integer, as in the header.
pub type evmc_uint256be = evmc_bytes32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct evmc_address {
    pub bytes: [u8; 20],
}

/// `enum evmc_call_kind`. C enums are passed as `int`, so the Rust side uses a transparent
/// integer: a host may hand us a value we do not know, which must not be UB.
pub type evmc_call_kind = i32;
pub const EVMC_CALL: evmc_call_kind = 0;
pub const EVMC_DELEGATECALL: evmc_call_kind = 1;
pub const EVMC_CALLCODE: evmc_call_kind = 2;
pub const EVMC_CREATE: evmc_call_kind = 3;
pub const EVMC_CREATE2: evmc_call_kind = 4;
pub const EVMC_EOFCREATE: evmc_call_kind = 5;

/// `enum evmc_flags` (bit flags in `evmc_message::flags`).
pub const EVMC_STATIC: u32 = 1;
/// Delegated call mode (EIP-7702), valid since Prague.
pub const EVMC_DELEGATED: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_message {
    pub kind: evmc_call_kind,
    pub flags: u32,
    pub depth: i32,
    pub gas: i64,
    pub recipient: evmc_address,
    pub sender: evmc_address,
    pub input_data: *const u8,
    pub input_size: usize,
    pub value: evmc_uint256be,
    pub create2_salt: evmc_bytes32,
    pub code_address: evmc_address,
    /// Code to execute for EOFCREATE-style messages; NULL otherwise (the host resolves code).
    pub code: *const u8,
    pub code_size: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_tx_initcode {
    pub hash: evmc_bytes32,
    pub code: *const u8,
    pub code_size: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_tx_context {
    pub tx_gas_price: evmc_uint256be,
    pub tx_origin: evmc_address,
    pub block_coinbase: evmc_address,
    pub block_number: i64,
    pub block_timestamp: i64,
    pub block_gas_limit: i64,
    pub block_prev_randao: evmc_uint256be,
    pub chain_id: evmc_uint256be,
    pub block_base_fee: evmc_uint256be,
    pub blob_base_fee: evmc_uint256be,
    pub blob_hashes: *const evmc_bytes32,
    pub blob_hashes_count: usize,
    pub initcodes: *const evmc_tx_initcode,
    pub initcodes_count: usize,
}

/// Opaque host state; only ever handled by pointer.
#[repr(C)]
pub struct evmc_host_context {
    _private: [u8; 0],
}

/// `enum evmc_status_code`.
pub type evmc_status_code = i32;
pub const EVMC_SUCCESS: evmc_status_code = 0;
pub const EVMC_FAILURE: evmc_status_code = 1;
pub const EVMC_REVERT: evmc_status_code = 2;
pub const EVMC_OUT_OF_GAS: evmc_status_code = 3;
pub const EVMC_INVALID_INSTRUCTION: evmc_status_code = 4;
pub const EVMC_UNDEFINED_INSTRUCTION: evmc_status_code = 5;
pub const EVMC_STACK_OVERFLOW: evmc_status_code = 6;
pub const EVMC_STACK_UNDERFLOW: evmc_status_code = 7;
pub const EVMC_BAD_JUMP_DESTINATION: evmc_status_code = 8;
pub const EVMC_INVALID_MEMORY_ACCESS: evmc_status_code = 9;
pub const EVMC_CALL_DEPTH_EXCEEDED: evmc_status_code = 10;
pub const EVMC_STATIC_MODE_VIOLATION: evmc_status_code = 11;
pub const EVMC_PRECOMPILE_FAILURE: evmc_status_code = 12;
pub const EVMC_CONTRACT_VALIDATION_FAILURE: evmc_status_code = 13;
pub const EVMC_ARGUMENT_OUT_OF_RANGE: evmc_status_code = 14;
pub const EVMC_WASM_UNREACHABLE_INSTRUCTION: evmc_status_code = 15;
pub const EVMC_WASM_TRAP: evmc_status_code = 16;
pub const EVMC_INSUFFICIENT_BALANCE: evmc_status_code = 17;
pub const EVMC_INTERNAL_ERROR: evmc_status_code = -1;
pub const EVMC_REJECTED: evmc_status_code = -2;
pub const EVMC_OUT_OF_MEMORY: evmc_status_code = -3;

pub type evmc_release_result_fn = Option<unsafe extern "C" fn(result: *const evmc_result)>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_result {
    pub status_code: evmc_status_code,
    pub gas_left: i64,
    pub gas_refund: i64,
    pub output_data: *const u8,
    pub output_size: usize,
    pub release: evmc_release_result_fn,
    pub create_address: evmc_address,
    pub padding: [u8; 4],
}

/// `enum evmc_storage_status`.
pub type evmc_storage_status = i32;
pub const EVMC_STORAGE_ASSIGNED: evmc_storage_status = 0;
pub const EVMC_STORAGE_ADDED: evmc_storage_status = 1;
pub const EVMC_STORAGE_DELETED: evmc_storage_status = 2;
pub const EVMC_STORAGE_MODIFIED: evmc_storage_status = 3;
pub const EVMC_STORAGE_DELETED_ADDED: evmc_storage_status = 4;
pub const EVMC_STORAGE_MODIFIED_DELETED: evmc_storage_status = 5;
pub const EVMC_STORAGE_DELETED_RESTORED: evmc_storage_status = 6;
pub const EVMC_STORAGE_ADDED_DELETED: evmc_storage_status = 7;
pub const EVMC_STORAGE_MODIFIED_RESTORED: evmc_storage_status = 8;

/// `enum evmc_access_status`.
pub type evmc_access_status = i32;
pub const EVMC_ACCESS_COLD: evmc_access_status = 0;
pub const EVMC_ACCESS_WARM: evmc_access_status = 1;

pub type evmc_account_exists_fn = Option<
    unsafe extern "C" fn(context: *mut evmc_host_context, address: *const evmc_address) -> bool,
>;
pub type evmc_get_storage_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        key: *const evmc_bytes32,
    ) -> evmc_bytes32,
>;
pub type evmc_set_storage_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        key: *const evmc_bytes32,
        value: *const evmc_bytes32,
    ) -> evmc_storage_status,
>;
pub type evmc_get_balance_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
    ) -> evmc_uint256be,
>;
pub type evmc_get_code_size_fn = Option<
    unsafe extern "C" fn(context: *mut evmc_host_context, address: *const evmc_address) -> usize,
>;
pub type evmc_get_code_hash_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
    ) -> evmc_bytes32,
>;
pub type evmc_copy_code_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        code_offset: usize,
        buffer_data: *mut u8,
        buffer_size: usize,
    ) -> usize,
>;
pub type evmc_selfdestruct_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        beneficiary: *const evmc_address,
    ) -> bool,
>;
pub type evmc_call_fn = Option<
    unsafe extern "C" fn(context: *mut evmc_host_context, msg: *const evmc_message) -> evmc_result,
>;
pub type evmc_get_tx_context_fn =
    Option<unsafe extern "C" fn(context: *mut evmc_host_context) -> evmc_tx_context>;
pub type evmc_get_block_hash_fn =
    Option<unsafe extern "C" fn(context: *mut evmc_host_context, number: i64) -> evmc_bytes32>;
pub type evmc_emit_log_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        data: *const u8,
        data_size: usize,
        topics: *const evmc_bytes32,
        topics_count: usize,
    ),
>;
pub type evmc_access_account_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
    ) -> evmc_access_status,
>;
pub type evmc_access_storage_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        key: *const evmc_bytes32,
    ) -> evmc_access_status,
>;
pub type evmc_get_transient_storage_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        key: *const evmc_bytes32,
    ) -> evmc_bytes32,
>;
pub type evmc_set_transient_storage_fn = Option<
    unsafe extern "C" fn(
        context: *mut evmc_host_context,
        address: *const evmc_address,
        key: *const evmc_bytes32,
        value: *const evmc_bytes32,
    ),
>;

/// The host's function table, in the header's order (16 entries).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct evmc_host_interface {
    pub account_exists: evmc_account_exists_fn,
    pub get_storage: evmc_get_storage_fn,
    pub set_storage: evmc_set_storage_fn,
    pub get_balance: evmc_get_balance_fn,
    pub get_code_size: evmc_get_code_size_fn,
    pub get_code_hash: evmc_get_code_hash_fn,
    pub copy_code: evmc_copy_code_fn,
    pub selfdestruct: evmc_selfdestruct_fn,
    pub call: evmc_call_fn,
    pub get_tx_context: evmc_get_tx_context_fn,
    pub get_block_hash: evmc_get_block_hash_fn,
    pub emit_log: evmc_emit_log_fn,
    pub access_account: evmc_access_account_fn,
    pub access_storage: evmc_access_storage_fn,
    pub get_transient_storage: evmc_get_transient_storage_fn,
    pub set_transient_storage: evmc_set_transient_storage_fn,
}

/// `enum evmc_set_option_result`.
pub type evmc_set_option_result = i32;
pub const EVMC_SET_OPTION_SUCCESS: evmc_set_option_result = 0;
pub const EVMC_SET_OPTION_INVALID_NAME: evmc_set_option_result = 1;
pub const EVMC_SET_OPTION_INVALID_VALUE: evmc_set_option_result = 2;

/// `enum evmc_revision`.
pub type evmc_revision = i32;
pub const EVMC_FRONTIER: evmc_revision = 0;
pub const EVMC_HOMESTEAD: evmc_revision = 1;
pub const EVMC_TANGERINE_WHISTLE: evmc_revision = 2;
pub const EVMC_SPURIOUS_DRAGON: evmc_revision = 3;
pub const EVMC_BYZANTIUM: evmc_revision = 4;
pub const EVMC_CONSTANTINOPLE: evmc_revision = 5;
pub const EVMC_PETERSBURG: evmc_revision = 6;
pub const EVMC_ISTANBUL: evmc_revision = 7;
pub const EVMC_BERLIN: evmc_revision = 8;
pub const EVMC_LONDON: evmc_revision = 9;
pub const EVMC_PARIS: evmc_revision = 10;
pub const EVMC_SHANGHAI: evmc_revision = 11;
pub const EVMC_CANCUN: evmc_revision = 12;
pub const EVMC_PRAGUE: evmc_revision = 13;
pub const EVMC_OSAKA: evmc_revision = 14;
pub const EVMC_EXPERIMENTAL: evmc_revision = 15;
pub const EVMC_MAX_REVISION: evmc_revision = EVMC_EXPERIMENTAL;
pub const EVMC_LATEST_STABLE_REVISION: evmc_revision = EVMC_CANCUN;

/// `enum evmc_capabilities` (bits of `evmc_capabilities_flagset`).
pub type evmc_capabilities_flagset = u32;
pub const EVMC_CAPABILITY_EVM1: evmc_capabilities_flagset = 1 << 0;
pub const EVMC_CAPABILITY_EWASM: evmc_capabilities_flagset = 1 << 1;
pub const EVMC_CAPABILITY_PRECOMPILES: evmc_capabilities_flagset = 1 << 2;

pub type evmc_destroy_fn = Option<unsafe extern "C" fn(vm: *mut evmc_vm)>;
pub type evmc_execute_fn = Option<
    unsafe extern "C" fn(
        vm: *mut evmc_vm,
        host: *const evmc_host_interface,
        context: *mut evmc_host_context,
        rev: evmc_revision,
        msg: *const evmc_message,
        code: *const u8,
        code_size: usize,
    ) -> evmc_result,
>;
pub type evmc_get_capabilities_fn =
    Option<unsafe extern "C" fn(vm: *mut evmc_vm) -> evmc_capabilities_flagset>;
pub type evmc_set_option_fn = Option<
    unsafe extern "C" fn(
        vm: *mut evmc_vm,
        name: *const c_char,
        value: *const c_char,
    ) -> evmc_set_option_result,
>;

/// The VM object a host receives from `evmc_create_<name>()`. A VM implementation embeds it as
/// the first field of its own `#[repr(C)]` struct so the pointer can be cast back.
#[repr(C)]
#[derive(Debug)]
pub struct evmc_vm {
    pub abi_version: c_int,
    pub name: *const c_char,
    pub version: *const c_char,
    pub destroy: evmc_destroy_fn,
    pub execute: evmc_execute_fn,
    pub get_capabilities: evmc_get_capabilities_fn,
    pub set_option: evmc_set_option_fn,
}

#[cfg(test)]
mod layout {
    //! Sizes and offsets on LP64 (x86-64, aarch64), computed from the C header's field order.
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn scalars() {
        assert_eq!(size_of::<evmc_bytes32>(), 32);
        assert_eq!(align_of::<evmc_bytes32>(), 1);
        assert_eq!(size_of::<evmc_address>(), 20);
        assert_eq!(align_of::<evmc_address>(), 1);
        assert_eq!(EVMC_ABI_VERSION, 12);
    }

    #[test]
    fn message() {
        assert_eq!(offset_of!(evmc_message, kind), 0);
        assert_eq!(offset_of!(evmc_message, flags), 4);
        assert_eq!(offset_of!(evmc_message, depth), 8);
        assert_eq!(offset_of!(evmc_message, gas), 16);
        assert_eq!(offset_of!(evmc_message, recipient), 24);
        assert_eq!(offset_of!(evmc_message, sender), 44);
        assert_eq!(offset_of!(evmc_message, input_data), 64);
        assert_eq!(offset_of!(evmc_message, input_size), 72);
        assert_eq!(offset_of!(evmc_message, value), 80);
        assert_eq!(offset_of!(evmc_message, create2_salt), 112);
        assert_eq!(offset_of!(evmc_message, code_address), 144);
        assert_eq!(offset_of!(evmc_message, code), 168);
        assert_eq!(offset_of!(evmc_message, code_size), 176);
        assert_eq!(size_of::<evmc_message>(), 184);
    }

    #[test]
    fn tx_context() {
        assert_eq!(offset_of!(evmc_tx_context, tx_gas_price), 0);
        assert_eq!(offset_of!(evmc_tx_context, tx_origin), 32);
        assert_eq!(offset_of!(evmc_tx_context, block_coinbase), 52);
        assert_eq!(offset_of!(evmc_tx_context, block_number), 72);
        assert_eq!(offset_of!(evmc_tx_context, block_timestamp), 80);
        assert_eq!(offset_of!(evmc_tx_context, block_gas_limit), 88);
        assert_eq!(offset_of!(evmc_tx_context, block_prev_randao), 96);
        assert_eq!(offset_of!(evmc_tx_context, chain_id), 128);
        assert_eq!(offset_of!(evmc_tx_context, block_base_fee), 160);
        assert_eq!(offset_of!(evmc_tx_context, blob_base_fee), 192);
        assert_eq!(offset_of!(evmc_tx_context, blob_hashes), 224);
        assert_eq!(offset_of!(evmc_tx_context, blob_hashes_count), 232);
        assert_eq!(offset_of!(evmc_tx_context, initcodes), 240);
        assert_eq!(offset_of!(evmc_tx_context, initcodes_count), 248);
        assert_eq!(size_of::<evmc_tx_context>(), 256);
        assert_eq!(size_of::<evmc_tx_initcode>(), 48);
    }

    #[test]
    fn result() {
        assert_eq!(offset_of!(evmc_result, status_code), 0);
        assert_eq!(offset_of!(evmc_result, gas_left), 8);
        assert_eq!(offset_of!(evmc_result, gas_refund), 16);
        assert_eq!(offset_of!(evmc_result, output_data), 24);
        assert_eq!(offset_of!(evmc_result, output_size), 32);
        assert_eq!(offset_of!(evmc_result, release), 40);
        assert_eq!(offset_of!(evmc_result, create_address), 48);
        assert_eq!(offset_of!(evmc_result, padding), 68);
        assert_eq!(size_of::<evmc_result>(), 72);
    }

    #[test]
    fn host_interface_and_vm() {
        assert_eq!(size_of::<evmc_host_interface>(), 16 * 8);
        assert_eq!(offset_of!(evmc_host_interface, call), 8 * 8);
        assert_eq!(offset_of!(evmc_host_interface, access_account), 12 * 8);
        assert_eq!(
            offset_of!(evmc_host_interface, set_transient_storage),
            15 * 8
        );
        assert_eq!(offset_of!(evmc_vm, abi_version), 0);
        assert_eq!(offset_of!(evmc_vm, name), 8);
        assert_eq!(offset_of!(evmc_vm, version), 16);
        assert_eq!(offset_of!(evmc_vm, destroy), 24);
        assert_eq!(offset_of!(evmc_vm, execute), 32);
        assert_eq!(offset_of!(evmc_vm, get_capabilities), 40);
        assert_eq!(offset_of!(evmc_vm, set_option), 48);
        assert_eq!(size_of::<evmc_vm>(), 56);
    }

    #[test]
    fn enum_values() {
        assert_eq!(EVMC_OSAKA, 14);
        assert_eq!(EVMC_MAX_REVISION, 15);
        assert_eq!(EVMC_INSUFFICIENT_BALANCE, 17);
        assert_eq!(EVMC_OUT_OF_MEMORY, -3);
        assert_eq!(EVMC_STORAGE_MODIFIED_RESTORED, 8);
        assert_eq!(EVMC_CREATE2, 4);
        assert_eq!(EVMC_DELEGATED, 2);
    }
}
