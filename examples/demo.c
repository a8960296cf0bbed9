/*
 * Runs EVM bytecode through libdtvm.so the way an EVMC host does, and prints the outcome.
 *
 *   demo <config> <code-hex> [revision] [gas] [calldata-hex]
 *
 * <config> follows EVMC's loader convention: a library path, then comma-separated options,
 * e.g. "target/release/libdtvm.so,mode=interpreter". The factory symbol is derived from the file
 * name as EVMC's loader does: "libdtvm.so" -> "evmc_create_dtvm".
 * revision is a number (12 = Cancun, the default) or a name such as "istanbul".
 */
#define _POSIX_C_SOURCE 200809L

#include "test_host.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char* const REVISIONS[] = {
    "frontier", "homestead", "tangerine_whistle", "spurious_dragon", "byzantium", "constantinople",
    "petersburg", "istanbul", "berlin", "london", "paris", "shanghai", "cancun", "prague", "osaka",
    "experimental"};

static const char* const STATUS[] = {
    "SUCCESS", "FAILURE", "REVERT", "OUT_OF_GAS", "INVALID_INSTRUCTION", "UNDEFINED_INSTRUCTION",
    "STACK_OVERFLOW", "STACK_UNDERFLOW", "BAD_JUMP_DESTINATION", "INVALID_MEMORY_ACCESS",
    "CALL_DEPTH_EXCEEDED", "STATIC_MODE_VIOLATION", "PRECOMPILE_FAILURE",
    "CONTRACT_VALIDATION_FAILURE", "ARGUMENT_OUT_OF_RANGE", "WASM_UNREACHABLE_INSTRUCTION",
    "WASM_TRAP", "INSUFFICIENT_BALANCE"};

static const char* status_name(enum evmc_status_code s)
{
    if (s >= 0 && (size_t)s < sizeof STATUS / sizeof STATUS[0])
        return STATUS[s];
    switch (s)
    {
    case EVMC_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case EVMC_REJECTED: return "REJECTED";
    case EVMC_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    default: return "(unknown)";
    }
}

static void print_hex(const uint8_t* data, size_t size)
{
    printf("0x");
    for (size_t i = 0; i < size; ++i)
        printf("%02x", data[i]);
}

/* Decodes hex (an optional 0x prefix allowed) into a malloc'd buffer; exits on bad input. */
static uint8_t* parse_hex(const char* hex, size_t* size)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    const size_t len = strlen(hex);
    if (len % 2 != 0)
    {
        fprintf(stderr, "odd number of hex digits\n");
        exit(2);
    }
    uint8_t* out = malloc(len / 2 + 1);
    for (size_t i = 0; i < len / 2; ++i)
    {
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]))
        {
            fprintf(stderr, "not a hex digit at offset %zu\n", 2 * i);
            exit(2);
        }
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
    }
    *size = len / 2;
    return out;
}

/* "dir/libfoo-bar.so.1" -> "evmc_create_foo_bar" (EVMC loader rule). */
static void factory_name(const char* path, char* out, size_t capacity)
{
    const char* base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "lib", 3) == 0)
        base += 3;
    size_t n = (size_t)snprintf(out, capacity, "evmc_create_");
    for (; *base != '\0' && *base != '.' && n + 1 < capacity; ++base)
        out[n++] = *base == '-' ? '_' : *base;
    out[n] = '\0';
}

static struct evmc_vm* load_and_configure(const char* config)
{
    char* copy = strdup(config);
    char* options = strchr(copy, ',');
    if (options != NULL)
        *options++ = '\0';

    void* lib = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
    {
        fprintf(stderr, "cannot load %s: %s\n", copy, dlerror());
        exit(2);
    }
    char symbol[256];
    factory_name(copy, symbol, sizeof symbol);
    void* sym = dlsym(lib, symbol);
    if (sym == NULL)
    {
        fprintf(stderr, "%s does not export %s\n", copy, symbol);
        exit(2);
    }
    struct evmc_vm* (*create)(void);
    memcpy(&create, &sym, sizeof create); /* object -> function pointer, as POSIX permits */
    struct evmc_vm* vm = create();
    if (vm == NULL || vm->abi_version != EVMC_ABI_VERSION)
    {
        fprintf(stderr, "%s: no VM or ABI version mismatch\n", symbol);
        exit(2);
    }

    /* Each option is name=value; a missing '=' gives an empty value, as in EVMC's loader. */
    for (char* opt = options; opt != NULL && *opt != '\0';)
    {
        char* next = strchr(opt, ',');
        if (next != NULL)
            *next++ = '\0';
        char* value = strchr(opt, '=');
        if (value != NULL)
            *value++ = '\0';
        else
            value = opt + strlen(opt);
        const enum evmc_set_option_result r = vm->set_option(vm, opt, value);
        if (r != EVMC_SET_OPTION_SUCCESS)
        {
            fprintf(stderr, "%s: %s option '%s'='%s'\n", vm->name,
                    r == EVMC_SET_OPTION_INVALID_NAME ? "unknown" : "unsupported value for", opt,
                    value);
            exit(2);
        }
        printf("option   %s=%s\n", opt, value);
        opt = next;
    }
    free(copy);
    return vm;
}

static enum evmc_revision parse_revision(const char* s)
{
    for (size_t i = 0; i < sizeof REVISIONS / sizeof REVISIONS[0]; ++i)
        if (strcasecmp(s, REVISIONS[i]) == 0)
            return (enum evmc_revision)i;
    char* end;
    const long n = strtol(s, &end, 10);
    if (*end != '\0' || n < 0 || n > EVMC_MAX_REVISION)
    {
        fprintf(stderr, "unknown revision %s\n", s);
        exit(2);
    }
    return (enum evmc_revision)n;
}

int main(int argc, char* argv[])
{
    if (argc < 3 || argc > 6)
    {
        fprintf(stderr, "usage: %s <lib[,name=value...]> <code-hex> [revision] [gas] [calldata-hex]\n",
                argv[0]);
        return 2;
    }
    struct evmc_vm* vm = load_and_configure(argv[1]);
    size_t code_size = 0, input_size = 0;
    uint8_t* code = parse_hex(argv[2], &code_size);
    const enum evmc_revision rev = argc > 3 ? parse_revision(argv[3]) : EVMC_CANCUN;
    const int64_t gas = argc > 4 ? strtoll(argv[4], NULL, 10) : 1000000;
    uint8_t* input = argc > 5 ? parse_hex(argv[5], &input_size) : NULL;

    struct evmc_message msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = EVMC_CALL;
    msg.gas = gas;
    msg.recipient.bytes[19] = 0xc0;
    msg.sender.bytes[19] = 0xca;
    msg.code_address = msg.recipient;
    msg.input_data = input;
    msg.input_size = input_size;

    struct test_host host;
    test_host_reset(&host, &msg.sender, &msg.recipient);

    printf("vm       %s %s\n", vm->name, vm->version);
    printf("revision %s, gas %lld, code %zu bytes\n", REVISIONS[rev], (long long)gas, code_size);
    struct evmc_result r = vm->execute(vm, test_host_interface(), test_host_context(&host), rev,
                                       &msg, code, code_size);
    printf("status   %s\n", status_name(r.status_code));
    printf("gas      used %lld, left %lld, refund %lld\n", (long long)(gas - r.gas_left),
           (long long)r.gas_left, (long long)r.gas_refund);
    printf("output   ");
    print_hex(r.output_data, r.output_size);
    printf("\n");
    for (size_t i = 0; i < host.slots_count; ++i)
    {
        if (memcmp(&host.slots[i].original, &host.slots[i].current, 32) == 0)
            continue;
        printf("storage  ");
        print_hex(host.slots[i].key.bytes, 32);
        printf(" = ");
        print_hex(host.slots[i].current.bytes, 32);
        printf("\n");
    }
    for (size_t i = 0; i < host.logs_count; ++i)
    {
        printf("log      %zu topics, data ", host.logs[i].topics_count);
        print_hex(host.logs[i].data, host.logs[i].data_size);
        printf("\n");
    }
    if (r.release != NULL)
        r.release(&r);
    vm->destroy(vm);
    free(code);
    free(input);
    return 0;
}
