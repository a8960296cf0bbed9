/*
 * dtvm: an EVM exposed as an EVMC plugin (EVMC ABI version 12).
 *
 * SPDX-License-Identifier: Apache-2.0
 *
 * This header declares evmc_create_dtvm() and the EVMC ABI 12 types a host needs to drive it.
 * The types use EVMC's names, tags, typedefs and values, so code written against <evmc/evmc.h>
 * compiles unchanged against this header, and the two can be mixed:
 *
 *  - it shares the include guard EVMC_H with <evmc/evmc.h>: whichever comes first provides the
 *    types and the other is skipped (EVMC's own helpers, loader and C++ wrapper work on top);
 *  - evmc_create_dtvm() is declared outside that guard, so it is available either way.
 *
 * The layout is pinned by examples/abi_layout.c, with the same numbers as the Rust layout tests
 * of crates/evmc-sys.
 *
 * Options (evmc_vm::set_option, or "libdtvm.so,mode=interpreter" with EVMC's loader):
 *   mode                 tiered (the default) | interpreter | multipass | lazy
 *   enable_lazy_compile  true | false | 1 | 0
 *   trace, jit_* and tiered_* settings: see README.md's options table
 * See README.md for their semantics and the DTVM_EVM_* environment variables.
 */
#ifndef EVMC_H
#define EVMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 6)
#define EVMC_DEPRECATED __attribute__((deprecated))
#else
#define EVMC_DEPRECATED
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic values ---------------------------------------------------------------------- */

enum
{
    /* Equals EVMC's major version; hosts compare it with evmc_vm::abi_version after loading. */
    EVMC_ABI_VERSION = 12
};

/* 32 bytes: hashes, storage keys and values, 256-bit words. */
typedef struct evmc_bytes32
{
    uint8_t bytes[32];
} evmc_bytes32;

/* A 256-bit unsigned integer stored big-endian. */
typedef struct evmc_bytes32 evmc_uint256be;

/* A 20-byte account address. */
typedef struct evmc_address
{
    uint8_t bytes[20];
} evmc_address;

/* ---- Messages ---------------------------------------------------------------------------- */

enum evmc_call_kind
{
    EVMC_CALL = 0,
    EVMC_DELEGATECALL = 1, /* Homestead+; the value field is ignored. */
    EVMC_CALLCODE = 2,
    EVMC_CREATE = 3,
    EVMC_CREATE2 = 4,   /* Constantinople+ */
    EVMC_EOFCREATE = 5  /* Osaka+ */
};

/* Bits of evmc_message::flags. */
enum evmc_flags
{
    EVMC_STATIC = 1,   /* No state modification allowed (STATICCALL and below). */
    EVMC_DELEGATED = 2 /* The code runs through an EIP-7702 delegation (Prague+). */
};

/* One call frame's parameters, from the host to the VM (depth 0) or the VM to the host. */
struct evmc_message
{
    enum evmc_call_kind kind;
    uint32_t flags;            /* evmc_flags bits */
    int32_t depth;             /* 0 for the transaction's own call */
    int64_t gas;
    evmc_address recipient;    /* account whose storage and balance the code acts on */
    evmc_address sender;
    const uint8_t* input_data; /* calldata, or NULL when input_size is 0 */
    size_t input_size;
    evmc_uint256be value;
    evmc_bytes32 create2_salt; /* CREATE2 only */
    evmc_address code_address; /* account the executed code belongs to */
    const uint8_t* code;       /* EOFCREATE initcode; NULL otherwise */
    size_t code_size;
};

/* A transaction-supplied initcode (TXCREATE). */
typedef struct evmc_tx_initcode
{
    evmc_bytes32 hash;
    const uint8_t* code;
    size_t code_size;
} evmc_tx_initcode;

/* Transaction and block values, fetched by the VM on demand. */
struct evmc_tx_context
{
    evmc_uint256be tx_gas_price;
    evmc_address tx_origin;
    evmc_address block_coinbase;
    int64_t block_number;
    int64_t block_timestamp;
    int64_t block_gas_limit;
    evmc_uint256be block_prev_randao; /* EIP-4399 (difficulty before Paris) */
    evmc_uint256be chain_id;
    evmc_uint256be block_base_fee;    /* EIP-1559 */
    evmc_uint256be blob_base_fee;     /* EIP-7516 */
    const evmc_bytes32* blob_hashes;  /* EIP-4844 */
    size_t blob_hashes_count;
    const evmc_tx_initcode* initcodes;
    size_t initcodes_count;
};

/* The host's own state, opaque to the VM, passed back in every host callback. */
struct evmc_host_context;

typedef struct evmc_tx_context (*evmc_get_tx_context_fn)(struct evmc_host_context* context);

typedef evmc_bytes32 (*evmc_get_block_hash_fn)(struct evmc_host_context* context, int64_t number);

/* ---- Results ---------------------------------------------------------------------------- */

enum evmc_status_code
{
    EVMC_SUCCESS = 0,
    EVMC_FAILURE = 1, /* generic failure */
    EVMC_REVERT = 2,  /* REVERT: output and gas_left are meaningful */
    EVMC_OUT_OF_GAS = 3,
    EVMC_INVALID_INSTRUCTION = 4,   /* the designated INVALID (0xfe) */
    EVMC_UNDEFINED_INSTRUCTION = 5, /* an opcode not defined at this revision */
    EVMC_STACK_OVERFLOW = 6,
    EVMC_STACK_UNDERFLOW = 7,
    EVMC_BAD_JUMP_DESTINATION = 8,
    EVMC_INVALID_MEMORY_ACCESS = 9, /* e.g. RETURNDATACOPY past the end */
    EVMC_CALL_DEPTH_EXCEEDED = 10,
    EVMC_STATIC_MODE_VIOLATION = 11,
    EVMC_PRECOMPILE_FAILURE = 12,
    EVMC_CONTRACT_VALIDATION_FAILURE = 13,
    EVMC_ARGUMENT_OUT_OF_RANGE = 14,
    EVMC_WASM_UNREACHABLE_INSTRUCTION = 15,
    EVMC_WASM_TRAP = 16,
    EVMC_INSUFFICIENT_BALANCE = 17,

    /* Not EVM outcomes: the VM could not or would not run the request. */
    EVMC_INTERNAL_ERROR = -1,
    EVMC_REJECTED = -2,
    EVMC_OUT_OF_MEMORY = -3
};

struct evmc_result;

/* Frees what a result owns. Called once by whoever holds the result, if not NULL. */
typedef void (*evmc_release_result_fn)(const struct evmc_result* result);

struct evmc_result
{
    enum evmc_status_code status_code;
    int64_t gas_left;   /* 0 unless status_code is EVMC_SUCCESS or EVMC_REVERT */
    int64_t gas_refund; /* uncapped; capping is the host's job */
    const uint8_t* output_data;
    size_t output_size;
    evmc_release_result_fn release;
    evmc_address create_address; /* set by hosts for CREATE results, never by the VM */
    uint8_t padding[4];          /* optional scratch space for the result's owner */
};

/* ---- Host interface --------------------------------------------------------------------- */

typedef bool (*evmc_account_exists_fn)(struct evmc_host_context* context,
                                       const evmc_address* address);

typedef evmc_bytes32 (*evmc_get_storage_fn)(struct evmc_host_context* context,
                                            const evmc_address* address,
                                            const evmc_bytes32* key);

typedef evmc_bytes32 (*evmc_get_transient_storage_fn)(struct evmc_host_context* context,
                                                      const evmc_address* address,
                                                      const evmc_bytes32* key);

/*
 * What a storage write did, as seen from the slot's value at the start of the transaction
 * (original), before the write (current) and after it (new). The VM derives SSTORE gas and refund
 * from it (EIP-2200 and successors).
 */
enum evmc_storage_status
{
    EVMC_STORAGE_ASSIGNED = 0,          /* anything not listed below */
    EVMC_STORAGE_ADDED = 1,             /* 0 -> 0 -> Z */
    EVMC_STORAGE_DELETED = 2,           /* X -> X -> 0 */
    EVMC_STORAGE_MODIFIED = 3,          /* X -> X -> Z */
    EVMC_STORAGE_DELETED_ADDED = 4,     /* X -> 0 -> Z */
    EVMC_STORAGE_MODIFIED_DELETED = 5,  /* X -> Y -> 0 */
    EVMC_STORAGE_DELETED_RESTORED = 6,  /* X -> 0 -> X */
    EVMC_STORAGE_ADDED_DELETED = 7,     /* 0 -> Y -> 0 */
    EVMC_STORAGE_MODIFIED_RESTORED = 8  /* X -> Y -> X */
};

typedef enum evmc_storage_status (*evmc_set_storage_fn)(struct evmc_host_context* context,
                                                        const evmc_address* address,
                                                        const evmc_bytes32* key,
                                                        const evmc_bytes32* value);

typedef void (*evmc_set_transient_storage_fn)(struct evmc_host_context* context,
                                              const evmc_address* address,
                                              const evmc_bytes32* key,
                                              const evmc_bytes32* value);

typedef evmc_uint256be (*evmc_get_balance_fn)(struct evmc_host_context* context,
                                              const evmc_address* address);

typedef size_t (*evmc_get_code_size_fn)(struct evmc_host_context* context,
                                        const evmc_address* address);

typedef evmc_bytes32 (*evmc_get_code_hash_fn)(struct evmc_host_context* context,
                                              const evmc_address* address);

/* Copies up to buffer_size bytes of code from code_offset; returns the number copied. */
typedef size_t (*evmc_copy_code_fn)(struct evmc_host_context* context,
                                    const evmc_address* address,
                                    size_t code_offset,
                                    uint8_t* buffer_data,
                                    size_t buffer_size);

/* Returns true if the account was not yet registered for destruction in this transaction. */
typedef bool (*evmc_selfdestruct_fn)(struct evmc_host_context* context,
                                     const evmc_address* address,
                                     const evmc_address* beneficiary);

typedef void (*evmc_emit_log_fn)(struct evmc_host_context* context,
                                 const evmc_address* address,
                                 const uint8_t* data,
                                 size_t data_size,
                                 const evmc_bytes32 topics[],
                                 size_t topics_count);

/* EIP-2929 access lists (Berlin+): the status before the access; the access warms the item. */
enum evmc_access_status
{
    EVMC_ACCESS_COLD = 0,
    EVMC_ACCESS_WARM = 1
};

typedef enum evmc_access_status (*evmc_access_account_fn)(struct evmc_host_context* context,
                                                          const evmc_address* address);

typedef enum evmc_access_status (*evmc_access_storage_fn)(struct evmc_host_context* context,
                                                          const evmc_address* address,
                                                          const evmc_bytes32* key);

/* A nested call or create; the returned result is owned by the caller (release it). */
typedef struct evmc_result (*evmc_call_fn)(struct evmc_host_context* context,
                                           const struct evmc_message* msg);

/* The host's callbacks. Every entry must be non-NULL. */
struct evmc_host_interface
{
    evmc_account_exists_fn account_exists;
    evmc_get_storage_fn get_storage;
    evmc_set_storage_fn set_storage;
    evmc_get_balance_fn get_balance;
    evmc_get_code_size_fn get_code_size;
    evmc_get_code_hash_fn get_code_hash;
    evmc_copy_code_fn copy_code;
    evmc_selfdestruct_fn selfdestruct;
    evmc_call_fn call;
    evmc_get_tx_context_fn get_tx_context;
    evmc_get_block_hash_fn get_block_hash;
    evmc_emit_log_fn emit_log;
    evmc_access_account_fn access_account;
    evmc_access_storage_fn access_storage;
    evmc_get_transient_storage_fn get_transient_storage;
    evmc_set_transient_storage_fn set_transient_storage;
};

/* ---- The VM ----------------------------------------------------------------------------- */

struct evmc_vm;

typedef void (*evmc_destroy_fn)(struct evmc_vm* vm);

enum evmc_set_option_result
{
    EVMC_SET_OPTION_SUCCESS = 0,
    EVMC_SET_OPTION_INVALID_NAME = 1,
    EVMC_SET_OPTION_INVALID_VALUE = 2
};

/* value may be NULL (dtvm answers EVMC_SET_OPTION_INVALID_VALUE for a known name). */
typedef enum evmc_set_option_result (*evmc_set_option_fn)(struct evmc_vm* vm,
                                                          char const* name,
                                                          char const* value);

/* Ethereum protocol revisions, in activation order. */
enum evmc_revision
{
    EVMC_FRONTIER = 0,
    EVMC_HOMESTEAD = 1,
    EVMC_TANGERINE_WHISTLE = 2,
    EVMC_SPURIOUS_DRAGON = 3,
    EVMC_BYZANTIUM = 4,
    EVMC_CONSTANTINOPLE = 5,
    EVMC_PETERSBURG = 6,
    EVMC_ISTANBUL = 7,
    EVMC_BERLIN = 8,
    EVMC_LONDON = 9,
    EVMC_PARIS = 10,
    EVMC_SHANGHAI = 11,
    EVMC_CANCUN = 12,
    EVMC_PRAGUE = 13,
    EVMC_OSAKA = 14,
    EVMC_EXPERIMENTAL = 15,

    EVMC_MAX_REVISION = EVMC_EXPERIMENTAL,
    EVMC_LATEST_STABLE_REVISION = EVMC_CANCUN
};

/*
 * Runs code for msg. The result's status is an EVM outcome, or EVMC_REJECTED for a request no
 * EVM can serve (dtvm: NULL host or msg, revision outside 0..EVMC_MAX_REVISION, negative gas,
 * depth outside 0..1024), or EVMC_INTERNAL_ERROR for a failure inside the VM: a caught panic, or
 * less than 256 KiB of native stack left on the calling thread (each nested call is a native
 * recursion through the host; the guard refuses the level rather than overflow the stack).
 * EVMC_INTERNAL_ERROR comes with zero gas left and is not an EVM outcome: another EVM would have
 * run the message, so a host that sees it at any depth must not commit the transaction's result.
 * A dtvm frame whose nested call or create returns it ends with it too, so it reaches the top.
 */
typedef struct evmc_result (*evmc_execute_fn)(struct evmc_vm* vm,
                                              const struct evmc_host_interface* host,
                                              struct evmc_host_context* context,
                                              enum evmc_revision rev,
                                              const struct evmc_message* msg,
                                              uint8_t const* code,
                                              size_t code_size);

enum evmc_capabilities
{
    EVMC_CAPABILITY_EVM1 = (1u << 0),       /* runs EVM bytecode (dtvm's only capability) */
    EVMC_CAPABILITY_EWASM = (1u << 1),
    EVMC_CAPABILITY_PRECOMPILES = (1u << 2) /* serves precompiled contracts itself */
};

/* A set of evmc_capabilities bits. */
typedef uint32_t evmc_capabilities_flagset;

typedef evmc_capabilities_flagset (*evmc_get_capabilities_fn)(struct evmc_vm* vm);

/* The VM instance. Thread-safe: execute and set_option may run concurrently. */
struct evmc_vm
{
    const int abi_version;
    const char* name;
    const char* version;
    evmc_destroy_fn destroy;
    evmc_execute_fn execute;
    evmc_get_capabilities_fn get_capabilities;
    evmc_set_option_fn set_option;
};

#ifdef __cplusplus
}
#endif

#endif /* EVMC_H */

/* ---- dtvm ------------------------------------------------------------------------------- */

#ifndef DTVM_H
#define DTVM_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Creates a dtvm VM; release it with vm->destroy(vm). The environment variables DTVM_EVM_MODE,
 * DTVM_EVM_LAZY_COMPILE and the JIT's DTVM_EVM_* settings are read here. Returns NULL only on an
 * internal failure.
 */
struct evmc_vm* evmc_create_dtvm(void);

#ifdef __cplusplus
}
#endif

#endif /* DTVM_H */
