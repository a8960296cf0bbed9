/*
 * Pins the layout of include/dtvm.h: every struct's size and every field offset, on LP64
 * (x86-64, aarch64). The numbers are the ones crates/evmc-sys asserts for the Rust side, so the
 * header and the library cannot drift apart without one of the two tests failing.
 *
 * Checked at compile time; the program only reports that it was built.
 */
#include <dtvm.h>

#include <stdio.h>
#include <string.h>

#define SIZE(type, n) _Static_assert(sizeof(type) == (n), "sizeof " #type)
#define ALIGN(type, n) _Static_assert(_Alignof(type) == (n), "alignof " #type)
#define AT(type, field, n) _Static_assert(offsetof(type, field) == (n), #type "." #field)
#define VALUE(name, n) _Static_assert((name) == (n), #name)

_Static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "the pinned numbers are for LP64");

SIZE(evmc_bytes32, 32);
ALIGN(evmc_bytes32, 1);
SIZE(evmc_address, 20);
ALIGN(evmc_address, 1);

AT(struct evmc_message, kind, 0);
AT(struct evmc_message, flags, 4);
AT(struct evmc_message, depth, 8);
AT(struct evmc_message, gas, 16);
AT(struct evmc_message, recipient, 24);
AT(struct evmc_message, sender, 44);
AT(struct evmc_message, input_data, 64);
AT(struct evmc_message, input_size, 72);
AT(struct evmc_message, value, 80);
AT(struct evmc_message, create2_salt, 112);
AT(struct evmc_message, code_address, 144);
AT(struct evmc_message, code, 168);
AT(struct evmc_message, code_size, 176);
SIZE(struct evmc_message, 184);

AT(evmc_tx_initcode, hash, 0);
AT(evmc_tx_initcode, code, 32);
AT(evmc_tx_initcode, code_size, 40);
SIZE(evmc_tx_initcode, 48);

AT(struct evmc_tx_context, tx_gas_price, 0);
AT(struct evmc_tx_context, tx_origin, 32);
AT(struct evmc_tx_context, block_coinbase, 52);
AT(struct evmc_tx_context, block_number, 72);
AT(struct evmc_tx_context, block_timestamp, 80);
AT(struct evmc_tx_context, block_gas_limit, 88);
AT(struct evmc_tx_context, block_prev_randao, 96);
AT(struct evmc_tx_context, chain_id, 128);
AT(struct evmc_tx_context, block_base_fee, 160);
AT(struct evmc_tx_context, blob_base_fee, 192);
AT(struct evmc_tx_context, blob_hashes, 224);
AT(struct evmc_tx_context, blob_hashes_count, 232);
AT(struct evmc_tx_context, initcodes, 240);
AT(struct evmc_tx_context, initcodes_count, 248);
SIZE(struct evmc_tx_context, 256);

AT(struct evmc_result, status_code, 0);
AT(struct evmc_result, gas_left, 8);
AT(struct evmc_result, gas_refund, 16);
AT(struct evmc_result, output_data, 24);
AT(struct evmc_result, output_size, 32);
AT(struct evmc_result, release, 40);
AT(struct evmc_result, create_address, 48);
AT(struct evmc_result, padding, 68);
SIZE(struct evmc_result, 72);

AT(struct evmc_host_interface, account_exists, 0 * 8);
AT(struct evmc_host_interface, get_storage, 1 * 8);
AT(struct evmc_host_interface, set_storage, 2 * 8);
AT(struct evmc_host_interface, get_balance, 3 * 8);
AT(struct evmc_host_interface, get_code_size, 4 * 8);
AT(struct evmc_host_interface, get_code_hash, 5 * 8);
AT(struct evmc_host_interface, copy_code, 6 * 8);
AT(struct evmc_host_interface, selfdestruct, 7 * 8);
AT(struct evmc_host_interface, call, 8 * 8);
AT(struct evmc_host_interface, get_tx_context, 9 * 8);
AT(struct evmc_host_interface, get_block_hash, 10 * 8);
AT(struct evmc_host_interface, emit_log, 11 * 8);
AT(struct evmc_host_interface, access_account, 12 * 8);
AT(struct evmc_host_interface, access_storage, 13 * 8);
AT(struct evmc_host_interface, get_transient_storage, 14 * 8);
AT(struct evmc_host_interface, set_transient_storage, 15 * 8);
SIZE(struct evmc_host_interface, 16 * 8);

AT(struct evmc_vm, abi_version, 0);
AT(struct evmc_vm, name, 8);
AT(struct evmc_vm, version, 16);
AT(struct evmc_vm, destroy, 24);
AT(struct evmc_vm, execute, 32);
AT(struct evmc_vm, get_capabilities, 40);
AT(struct evmc_vm, set_option, 48);
SIZE(struct evmc_vm, 56);

/* Enums cross the ABI as int: same width as the Rust i32 aliases, values as in crates/evmc-sys. */
SIZE(enum evmc_status_code, 4);
SIZE(enum evmc_revision, 4);
SIZE(enum evmc_call_kind, 4);
SIZE(enum evmc_storage_status, 4);
VALUE(EVMC_ABI_VERSION, 12);
VALUE(EVMC_CREATE2, 4);
VALUE(EVMC_EOFCREATE, 5);
VALUE(EVMC_STATIC, 1);
VALUE(EVMC_DELEGATED, 2);
VALUE(EVMC_INSUFFICIENT_BALANCE, 17);
VALUE(EVMC_INTERNAL_ERROR, -1);
VALUE(EVMC_REJECTED, -2);
VALUE(EVMC_OUT_OF_MEMORY, -3);
VALUE(EVMC_STORAGE_MODIFIED_RESTORED, 8);
VALUE(EVMC_ACCESS_WARM, 1);
VALUE(EVMC_SET_OPTION_INVALID_VALUE, 2);
VALUE(EVMC_CANCUN, 12);
VALUE(EVMC_OSAKA, 14);
VALUE(EVMC_MAX_REVISION, 15);
VALUE(EVMC_LATEST_STABLE_REVISION, 12);
VALUE(EVMC_CAPABILITY_PRECOMPILES, 4);

/*
 * Linked directly against libdtvm.so (the smoke test uses dlopen): reads the VM object through
 * this header's layout, so a mismatch with the library shows up as wrong values.
 */
int main(void)
{
    struct evmc_vm* vm = evmc_create_dtvm();
    if (vm == NULL)
    {
        printf("abi_layout: FAILED: evmc_create_dtvm returned NULL\n");
        return 1;
    }
    const int ok = vm->abi_version == EVMC_ABI_VERSION && strcmp(vm->name, "dtvm") == 0 &&
                   vm->get_capabilities(vm) == EVMC_CAPABILITY_EVM1;
    printf("abi_layout: %s (layout pinned at compile time; abi_version %d, name %s)\n",
           ok ? "ok" : "FAILED", vm->abi_version, vm->name);
    vm->destroy(vm);
    return ok ? 0 : 1;
}
