/*
 * A small EVMC host in C for the examples: one contract's storage (with original values, so it
 * can report EIP-2200 storage statuses), EIP-2929 warm sets, transient storage and a log record.
 * Accounts other than the running contract have no code, balance or storage.
 */
#ifndef DTVM_EXAMPLES_TEST_HOST_H
#define DTVM_EXAMPLES_TEST_HOST_H

#include <dtvm.h>

#define TEST_HOST_MAX_SLOTS 64
#define TEST_HOST_MAX_LOGS 16
#define TEST_HOST_MAX_LOG_DATA 256
#define TEST_HOST_MAX_WARM 16

struct test_host_slot
{
    evmc_address address;
    evmc_bytes32 key;
    evmc_bytes32 original; /* value at the start of the transaction */
    evmc_bytes32 current;
    bool warm;
};

struct test_host_log
{
    evmc_address address;
    uint8_t data[TEST_HOST_MAX_LOG_DATA];
    size_t data_size;
    evmc_bytes32 topics[4];
    size_t topics_count;
};

struct test_host
{
    struct test_host_slot slots[TEST_HOST_MAX_SLOTS];
    size_t slots_count;
    struct test_host_slot transient[TEST_HOST_MAX_SLOTS];
    size_t transient_count;
    struct test_host_log logs[TEST_HOST_MAX_LOGS];
    size_t logs_count;
    evmc_address warm_accounts[TEST_HOST_MAX_WARM];
    size_t warm_accounts_count;
    struct evmc_tx_context tx;
    /* Set when the VM used the host beyond its capacity or broke the EVMC contract. */
    const char* error;
};

/* The callback table; the context pointer is a struct test_host*. */
const struct evmc_host_interface* test_host_interface(void);

/* Empties the host; warms the transaction's sender and recipient as a real host would. */
void test_host_reset(struct test_host* host, const evmc_address* sender,
                     const evmc_address* recipient);

/* Sets a slot's original and current value (state before the transaction). */
void test_host_preload(struct test_host* host, const evmc_address* address,
                       const evmc_bytes32* key, const evmc_bytes32* value);

/* The current value of a slot (zero if never written). */
evmc_bytes32 test_host_storage(const struct test_host* host, const evmc_address* address,
                               const evmc_bytes32* key);

static inline struct evmc_host_context* test_host_context(struct test_host* host)
{
    return (struct evmc_host_context*)host;
}

#endif
