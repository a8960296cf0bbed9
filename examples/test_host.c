#include "test_host.h"

#include <string.h>

static struct test_host* as_host(struct evmc_host_context* context)
{
    return (struct test_host*)context;
}

static bool is_zero(const evmc_bytes32* v)
{
    static const evmc_bytes32 zero;
    return memcmp(v, &zero, sizeof zero) == 0;
}

static bool equal(const evmc_bytes32* a, const evmc_bytes32* b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The index of (address, key) in slots, or count if absent. */
static size_t find(const struct test_host_slot* slots, size_t count, const evmc_address* address,
                   const evmc_bytes32* key)
{
    size_t i = 0;
    while (i < count && !(memcmp(&slots[i].address, address, sizeof *address) == 0 &&
                          equal(&slots[i].key, key)))
        ++i;
    return i;
}

/* The slot for (address, key), created as never-written zero if missing; NULL when full. */
static struct test_host_slot* slot(struct test_host* host, struct test_host_slot* slots,
                                   size_t* count, const evmc_address* address,
                                   const evmc_bytes32* key)
{
    const size_t i = find(slots, *count, address, key);
    if (i < *count)
        return &slots[i];
    if (*count == TEST_HOST_MAX_SLOTS)
    {
        host->error = "storage capacity exceeded";
        return NULL;
    }
    struct test_host_slot* s = &slots[(*count)++];
    memset(s, 0, sizeof *s);
    s->address = *address;
    s->key = *key;
    return s;
}

/*
 * The EIP-2200 classification by original (o), current (c) and new (v) value, as EVMC defines
 * evmc_storage_status; X, Y, Z stand for distinct non-zero values.
 */
static enum evmc_storage_status storage_status(const evmc_bytes32* o, const evmc_bytes32* c,
                                               const evmc_bytes32* v)
{
    if (equal(c, v))
        return EVMC_STORAGE_ASSIGNED;
    if (equal(o, c)) /* clean slot */
    {
        if (is_zero(o))
            return EVMC_STORAGE_ADDED; /* 0 0 Z */
        return is_zero(v) ? EVMC_STORAGE_DELETED : EVMC_STORAGE_MODIFIED; /* X X 0 | X X Z */
    }
    /* dirty slot */
    if (is_zero(o))
        return is_zero(v) ? EVMC_STORAGE_ADDED_DELETED : EVMC_STORAGE_ASSIGNED; /* 0 Y 0 | 0 Y Z */
    if (is_zero(c))
        return equal(o, v) ? EVMC_STORAGE_DELETED_RESTORED : EVMC_STORAGE_DELETED_ADDED;
    if (is_zero(v))
        return EVMC_STORAGE_MODIFIED_DELETED; /* X Y 0 */
    return equal(o, v) ? EVMC_STORAGE_MODIFIED_RESTORED : EVMC_STORAGE_ASSIGNED; /* X Y X | X Y Z */
}

static bool account_exists(struct evmc_host_context* context, const evmc_address* address)
{
    (void)context;
    (void)address;
    return false;
}

static evmc_bytes32 get_storage(struct evmc_host_context* context, const evmc_address* address,
                                const evmc_bytes32* key)
{
    return test_host_storage(as_host(context), address, key);
}

static enum evmc_storage_status set_storage(struct evmc_host_context* context,
                                            const evmc_address* address, const evmc_bytes32* key,
                                            const evmc_bytes32* value)
{
    struct test_host* host = as_host(context);
    struct test_host_slot* s = slot(host, host->slots, &host->slots_count, address, key);
    if (s == NULL)
        return EVMC_STORAGE_ASSIGNED;
    const enum evmc_storage_status status = storage_status(&s->original, &s->current, value);
    s->current = *value;
    return status;
}

static evmc_uint256be get_balance(struct evmc_host_context* context, const evmc_address* address)
{
    (void)context;
    (void)address;
    const evmc_uint256be zero = {{0}};
    return zero;
}

static size_t get_code_size(struct evmc_host_context* context, const evmc_address* address)
{
    (void)context;
    (void)address;
    return 0;
}

static evmc_bytes32 get_code_hash(struct evmc_host_context* context, const evmc_address* address)
{
    /* Only called for existing accounts' hashes; none exist here, and EIP-1052 gives 0 then. */
    (void)context;
    (void)address;
    const evmc_bytes32 zero = {{0}};
    return zero;
}

static size_t copy_code(struct evmc_host_context* context, const evmc_address* address,
                        size_t code_offset, uint8_t* buffer_data, size_t buffer_size)
{
    (void)context;
    (void)address;
    (void)code_offset;
    (void)buffer_data;
    (void)buffer_size;
    return 0;
}

static bool selfdestruct(struct evmc_host_context* context, const evmc_address* address,
                         const evmc_address* beneficiary)
{
    (void)address;
    (void)beneficiary;
    as_host(context)->error = "unexpected SELFDESTRUCT";
    return false;
}

static struct evmc_result call(struct evmc_host_context* context, const struct evmc_message* msg)
{
    /* Every other account is empty: a call runs no code and returns all its gas. */
    (void)context;
    struct evmc_result result;
    memset(&result, 0, sizeof result);
    result.status_code = EVMC_SUCCESS;
    result.gas_left = msg->gas;
    return result;
}

static struct evmc_tx_context get_tx_context(struct evmc_host_context* context)
{
    return as_host(context)->tx;
}

static evmc_bytes32 get_block_hash(struct evmc_host_context* context, int64_t number)
{
    (void)context;
    (void)number;
    const evmc_bytes32 zero = {{0}};
    return zero;
}

static void emit_log(struct evmc_host_context* context, const evmc_address* address,
                     const uint8_t* data, size_t data_size, const evmc_bytes32 topics[],
                     size_t topics_count)
{
    struct test_host* host = as_host(context);
    if (host->logs_count == TEST_HOST_MAX_LOGS || data_size > TEST_HOST_MAX_LOG_DATA)
    {
        host->error = "log capacity exceeded";
        return;
    }
    if (topics_count > 4)
    {
        host->error = "more than 4 log topics";
        return;
    }
    struct test_host_log* log = &host->logs[host->logs_count++];
    log->address = *address;
    if (data_size != 0)
        memcpy(log->data, data, data_size);
    log->data_size = data_size;
    if (topics_count != 0)
        memcpy(log->topics, topics, topics_count * sizeof topics[0]);
    log->topics_count = topics_count;
}

static enum evmc_access_status access_account(struct evmc_host_context* context,
                                              const evmc_address* address)
{
    struct test_host* host = as_host(context);
    for (size_t i = 0; i < host->warm_accounts_count; ++i)
        if (memcmp(&host->warm_accounts[i], address, sizeof *address) == 0)
            return EVMC_ACCESS_WARM;
    if (host->warm_accounts_count == TEST_HOST_MAX_WARM)
        host->error = "warm account capacity exceeded";
    else
        host->warm_accounts[host->warm_accounts_count++] = *address;
    return EVMC_ACCESS_COLD;
}

static enum evmc_access_status access_storage(struct evmc_host_context* context,
                                              const evmc_address* address,
                                              const evmc_bytes32* key)
{
    struct test_host* host = as_host(context);
    struct test_host_slot* s = slot(host, host->slots, &host->slots_count, address, key);
    if (s == NULL)
        return EVMC_ACCESS_COLD;
    const bool was_warm = s->warm;
    s->warm = true;
    return was_warm ? EVMC_ACCESS_WARM : EVMC_ACCESS_COLD;
}

static evmc_bytes32 get_transient_storage(struct evmc_host_context* context,
                                          const evmc_address* address, const evmc_bytes32* key)
{
    struct test_host* host = as_host(context);
    const size_t i = find(host->transient, host->transient_count, address, key);
    if (i < host->transient_count)
        return host->transient[i].current;
    const evmc_bytes32 zero = {{0}};
    return zero;
}

static void set_transient_storage(struct evmc_host_context* context, const evmc_address* address,
                                  const evmc_bytes32* key, const evmc_bytes32* value)
{
    struct test_host* host = as_host(context);
    struct test_host_slot* s = slot(host, host->transient, &host->transient_count, address, key);
    if (s != NULL)
        s->current = *value;
}

const struct evmc_host_interface* test_host_interface(void)
{
    static const struct evmc_host_interface table = {
        .account_exists = account_exists,
        .get_storage = get_storage,
        .set_storage = set_storage,
        .get_balance = get_balance,
        .get_code_size = get_code_size,
        .get_code_hash = get_code_hash,
        .copy_code = copy_code,
        .selfdestruct = selfdestruct,
        .call = call,
        .get_tx_context = get_tx_context,
        .get_block_hash = get_block_hash,
        .emit_log = emit_log,
        .access_account = access_account,
        .access_storage = access_storage,
        .get_transient_storage = get_transient_storage,
        .set_transient_storage = set_transient_storage,
    };
    return &table;
}

void test_host_reset(struct test_host* host, const evmc_address* sender,
                     const evmc_address* recipient)
{
    memset(host, 0, sizeof *host);
    host->warm_accounts[host->warm_accounts_count++] = *sender;
    host->warm_accounts[host->warm_accounts_count++] = *recipient;
    host->tx.block_number = 1;
    host->tx.block_gas_limit = 30000000;
    host->tx.chain_id.bytes[31] = 1;
}

void test_host_preload(struct test_host* host, const evmc_address* address,
                       const evmc_bytes32* key, const evmc_bytes32* value)
{
    struct test_host_slot* s = slot(host, host->slots, &host->slots_count, address, key);
    if (s != NULL)
    {
        s->original = *value;
        s->current = *value;
    }
}

evmc_bytes32 test_host_storage(const struct test_host* host, const evmc_address* address,
                               const evmc_bytes32* key)
{
    const size_t i = find(host->slots, host->slots_count, address, key);
    if (i < host->slots_count)
        return host->slots[i].current;
    const evmc_bytes32 zero = {{0}};
    return zero;
}
