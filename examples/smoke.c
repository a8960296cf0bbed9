/*
 * Smoke test of libdtvm.so as a C host sees it: loaded with dlopen, driven only through the EVMC
 * table. Usage: smoke <path/to/libdtvm.so>. Exit status 0 only if every check passes.
 *
 * Bytecode expectations are computed by hand from the Yellow Paper and the EIPs named next to
 * each case (gas_left = gas - sum of the costs listed), never taken from a run.
 */
#define _POSIX_C_SOURCE 200809L

#include "test_host.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checks_run;
static int checks_failed;

static bool check(bool ok, const char* fmt, ...)
{
    ++checks_run;
    if (!ok)
    {
        ++checks_failed;
        va_list args;
        va_start(args, fmt);
        printf("FAIL: ");
        vprintf(fmt, args);
        printf("\n");
        va_end(args);
    }
    return ok;
}

static const char* status_name(enum evmc_status_code s)
{
    switch (s)
    {
    case EVMC_SUCCESS: return "SUCCESS";
    case EVMC_FAILURE: return "FAILURE";
    case EVMC_REVERT: return "REVERT";
    case EVMC_OUT_OF_GAS: return "OUT_OF_GAS";
    case EVMC_INVALID_INSTRUCTION: return "INVALID_INSTRUCTION";
    case EVMC_UNDEFINED_INSTRUCTION: return "UNDEFINED_INSTRUCTION";
    case EVMC_STACK_OVERFLOW: return "STACK_OVERFLOW";
    case EVMC_STACK_UNDERFLOW: return "STACK_UNDERFLOW";
    case EVMC_BAD_JUMP_DESTINATION: return "BAD_JUMP_DESTINATION";
    case EVMC_INVALID_MEMORY_ACCESS: return "INVALID_MEMORY_ACCESS";
    case EVMC_STATIC_MODE_VIOLATION: return "STATIC_MODE_VIOLATION";
    case EVMC_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case EVMC_REJECTED: return "REJECTED";
    default: return "(other)";
    }
}

static const char* option_result_name(enum evmc_set_option_result r)
{
    switch (r)
    {
    case EVMC_SET_OPTION_SUCCESS: return "SUCCESS";
    case EVMC_SET_OPTION_INVALID_NAME: return "INVALID_NAME";
    case EVMC_SET_OPTION_INVALID_VALUE: return "INVALID_VALUE";
    default: return "(other)";
    }
}

/* Decodes hex into out; returns the byte count. The inputs are this file's literals. */
static size_t from_hex(const char* hex, uint8_t* out, size_t capacity)
{
    const size_t len = strlen(hex);
    if (len % 2 != 0 || len / 2 > capacity)
    {
        fprintf(stderr, "bad hex literal: %s\n", hex);
        exit(2);
    }
    for (size_t i = 0; i < len / 2; ++i)
    {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
        {
            fprintf(stderr, "bad hex literal: %s\n", hex);
            exit(2);
        }
        out[i] = (uint8_t)byte;
    }
    return len / 2;
}

static void to_hex(const uint8_t* data, size_t size, char* out, size_t capacity)
{
    size_t n = 0;
    for (size_t i = 0; i < size && n + 3 <= capacity; ++i)
        n += (size_t)snprintf(out + n, capacity - n, "%02x", data[i]);
    out[n] = '\0';
}

static evmc_bytes32 word(uint8_t last)
{
    evmc_bytes32 w;
    memset(&w, 0, sizeof w);
    w.bytes[31] = last;
    return w;
}

static const evmc_address CONTRACT = {{[19] = 0xc0}};
static const evmc_address CALLER = {{[19] = 0xca}};

static struct evmc_message message(int64_t gas)
{
    struct evmc_message msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = EVMC_CALL;
    msg.gas = gas;
    msg.recipient = CONTRACT;
    msg.sender = CALLER;
    msg.code_address = CONTRACT;
    return msg;
}

static void release(struct evmc_result* r)
{
    if (r->release != NULL)
        r->release(r);
}

/* ---- The VM object ---------------------------------------------------------------------- */

static void check_vm_object(struct evmc_vm* vm)
{
    check(vm->abi_version == EVMC_ABI_VERSION, "abi_version %d, want %d", vm->abi_version,
          EVMC_ABI_VERSION);
    check(vm->name != NULL && strcmp(vm->name, "dtvm") == 0, "name \"%s\", want \"dtvm\"",
          vm->name != NULL ? vm->name : "(null)");
    check(vm->version != NULL && vm->version[0] != '\0', "empty version");
    check(vm->destroy != NULL && vm->execute != NULL && vm->get_capabilities != NULL &&
              vm->set_option != NULL,
          "NULL entry in the VM table");
    const evmc_capabilities_flagset caps = vm->get_capabilities(vm);
    check(caps == EVMC_CAPABILITY_EVM1, "capabilities 0x%x, want EVM1 only", caps);
}

/* ---- set_option ------------------------------------------------------------------------- */

static void expect_option(struct evmc_vm* vm, const char* name, const char* value,
                          enum evmc_set_option_result want)
{
    const enum evmc_set_option_result got = vm->set_option(vm, name, value);
    check(got == want, "set_option(%s, %s) = %s, want %s", name ? name : "NULL",
          value ? value : "NULL", option_result_name(got), option_result_name(want));
}

/* A trivial run proving the VM still executes with the interpreter (STOP keeps all gas). */
static bool still_runs(struct evmc_vm* vm, const char* context)
{
    struct test_host host;
    const struct evmc_message msg = message(100);
    test_host_reset(&host, &msg.sender, &msg.recipient);
    const uint8_t stop = 0x00;
    struct evmc_result r = vm->execute(vm, test_host_interface(), test_host_context(&host),
                                       EVMC_CANCUN, &msg, &stop, 1);
    const bool ok = check(r.status_code == EVMC_SUCCESS && r.gas_left == 100,
                          "%s: STOP gave %s gas_left %lld", context, status_name(r.status_code),
                          (long long)r.gas_left);
    release(&r);
    return ok;
}

static void check_options(struct evmc_vm* vm)
{
    expect_option(vm, "mode", "interpreter", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "mode", "INTERPRETER", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "enable_lazy_compile", "false", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "enable_lazy_compile", "0", EVMC_SET_OPTION_SUCCESS);

    /* The JIT modes. */
    expect_option(vm, "mode", "multipass", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "mode", "lazy", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "enable_lazy_compile", "true", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "enable_lazy_compile", "1", EVMC_SET_OPTION_SUCCESS);
    expect_option(vm, "mode", "interpreter", EVMC_SET_OPTION_SUCCESS);

    expect_option(vm, "mode", "jit", EVMC_SET_OPTION_INVALID_VALUE);
    expect_option(vm, "mode", "", EVMC_SET_OPTION_INVALID_VALUE);
    expect_option(vm, "mode", NULL, EVMC_SET_OPTION_INVALID_VALUE);
    expect_option(vm, "enable_lazy_compile", "yes", EVMC_SET_OPTION_INVALID_VALUE);
    expect_option(vm, "enable_lazy_compile", "", EVMC_SET_OPTION_INVALID_VALUE);
    expect_option(vm, "enable_lazy_compile", NULL, EVMC_SET_OPTION_INVALID_VALUE);

    expect_option(vm, "verbose", "1", EVMC_SET_OPTION_INVALID_NAME);
    expect_option(vm, "Mode", "interpreter", EVMC_SET_OPTION_INVALID_NAME);
    expect_option(vm, "unknown_option", NULL, EVMC_SET_OPTION_INVALID_NAME);
    expect_option(vm, "", "", EVMC_SET_OPTION_INVALID_NAME);
    expect_option(vm, NULL, "interpreter", EVMC_SET_OPTION_INVALID_NAME);

    still_runs(vm, "after refused options");
}

/* ---- Environment ------------------------------------------------------------------------ */

/* Creates a VM with one environment variable set; returns what the VM wrote to stderr. */
static struct evmc_vm* create_with_env(struct evmc_vm* (*create)(void), const char* var,
                                       const char* value, char* stderr_text, size_t capacity)
{
    setenv(var, value, 1);
    fflush(stderr);
    FILE* capture = tmpfile();
    const int saved = dup(STDERR_FILENO);
    if (capture == NULL || saved < 0 || dup2(fileno(capture), STDERR_FILENO) < 0)
    {
        perror("capturing stderr");
        exit(2);
    }
    struct evmc_vm* vm = create();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(capture);
    const size_t n = fread(stderr_text, 1, capacity - 1, capture);
    stderr_text[n] = '\0';
    fclose(capture);
    unsetenv(var);
    return vm;
}

static void check_env(struct evmc_vm* (*create)(void))
{
    static const struct
    {
        const char* var;
        const char* value;
        bool warns;
    } cases[] = {
        {"DTVM_EVM_MODE", "interpreter", false},
        {"DTVM_EVM_LAZY_COMPILE", "false", false},
        {"DTVM_EVM_MODE", "turbo", true},
        {"DTVM_EVM_LAZY_COMPILE", "maybe", true},
        {"DTVM_EVM_MODE", "multipass", false},
        {"DTVM_EVM_MODE", "lazy", false},
        {"DTVM_EVM_LAZY_COMPILE", "1", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    {
        char err[1024];
        struct evmc_vm* vm = create_with_env(create, cases[i].var, cases[i].value, err, sizeof err);
        if (!check(vm != NULL, "create with %s=%s returned NULL", cases[i].var, cases[i].value))
            continue;
        const bool warned = strstr(err, cases[i].var) != NULL;
        check(warned == cases[i].warns, "%s=%s: %s", cases[i].var, cases[i].value,
              cases[i].warns ? "no warning on stderr" : "unexpected warning on stderr");
        char context[128];
        snprintf(context, sizeof context, "%s=%s", cases[i].var, cases[i].value);
        still_runs(vm, context);
        /* set_option overrides the environment. */
        expect_option(vm, "mode", "interpreter", EVMC_SET_OPTION_SUCCESS);
        vm->destroy(vm);
    }
}

/* ---- execute at the edges of the ABI ---------------------------------------------------- */

static void expect_execute(struct evmc_vm* vm, const struct evmc_host_interface* host_iface,
                           enum evmc_revision rev, const struct evmc_message* msg,
                           const uint8_t* code, size_t code_size, enum evmc_status_code want_status,
                           int64_t want_gas_left, const char* what)
{
    struct test_host host;
    const evmc_address zero = {{0}};
    test_host_reset(&host, &zero, &zero);
    struct evmc_result r =
        vm->execute(vm, host_iface, test_host_context(&host), rev, msg, code, code_size);
    check(r.status_code == want_status && r.gas_left == want_gas_left,
          "%s: %s gas_left %lld, want %s gas_left %lld", what, status_name(r.status_code),
          (long long)r.gas_left, status_name(want_status), (long long)want_gas_left);
    check(r.output_size == 0 || r.output_data != NULL, "%s: output_size without data", what);
    release(&r);
}

static void check_execute_edges(struct evmc_vm* vm)
{
    const struct evmc_host_interface* host = test_host_interface();
    const struct evmc_message msg = message(1000);
    const uint8_t stop = 0x00;
    char what[96];

    for (int rev = EVMC_FRONTIER; rev <= EVMC_MAX_REVISION; ++rev)
    {
        snprintf(what, sizeof what, "empty code (NULL) at revision %d", rev);
        expect_execute(vm, host, (enum evmc_revision)rev, &msg, NULL, 0, EVMC_SUCCESS, 1000, what);
        snprintf(what, sizeof what, "STOP at revision %d", rev);
        expect_execute(vm, host, (enum evmc_revision)rev, &msg, &stop, 1, EVMC_SUCCESS, 1000, what);
    }
    expect_execute(vm, host, (enum evmc_revision)(EVMC_MAX_REVISION + 1), &msg, &stop, 1,
                   EVMC_REJECTED, 0, "revision MAX+1");
    expect_execute(vm, host, (enum evmc_revision)-1, &msg, &stop, 1, EVMC_REJECTED, 0,
                   "revision -1");
    expect_execute(vm, NULL, EVMC_CANCUN, &msg, &stop, 1, EVMC_REJECTED, 0, "NULL host");
    expect_execute(vm, host, EVMC_CANCUN, NULL, &stop, 1, EVMC_REJECTED, 0, "NULL message");

    struct evmc_message edge = message(-1);
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_REJECTED, 0, "gas -1");
    edge = message(0);
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_SUCCESS, 0, "gas 0");
    edge = message(INT64_MAX);
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_SUCCESS, INT64_MAX,
                   "gas INT64_MAX");
    edge = message(1000);
    edge.depth = 1024;
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_SUCCESS, 1000, "depth 1024");
    edge.depth = 1025;
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_REJECTED, 0, "depth 1025");
    edge.depth = -1;
    expect_execute(vm, host, EVMC_CANCUN, &edge, &stop, 1, EVMC_REJECTED, 0, "depth -1");
}

/* ---- Bytecode through the host ---------------------------------------------------------- */

#define ZERO31 "00000000000000000000000000000000000000000000000000000000000000"
#define WORD(last_byte_hex) ZERO31 last_byte_hex

struct expected_log
{
    const char* data;
    size_t topics_count;
    uint8_t topics[4]; /* last byte of each topic word */
};

struct bytecode_case
{
    const char* name;
    enum evmc_revision rev;
    const char* code;
    int64_t gas;
    uint32_t flags;
    const char* input;
    /* Slot (preload_key) holds preload_value before the call when preload_value != 0. */
    uint8_t preload_key, preload_value;

    enum evmc_status_code status;
    int64_t gas_left;
    int64_t gas_refund;
    const char* output;
    /* When check_slot: slot (slot_key) of the contract holds slot_value afterwards. */
    bool check_slot;
    uint8_t slot_key, slot_value;
    const struct expected_log* log;
};

/* PUSH2 0xbeef PUSH1 0 MSTORE; LOG2(offset 30, size 2, topics 1, 2) */
static const struct expected_log LOG_BEEF = {"beef", 2, {0x01, 0x02}};

/*
 * Costs used (Yellow Paper appendix G, with the EIPs that changed them):
 * G_verylow 3 (PUSH, ADD, SUB, MSTORE, CALLDATALOAD, DUP, SWAP), G_low 5 (MUL), G_base 2 (PUSH0),
 * G_jumpdest 1, G_mid 8 (JUMP), memory 3*words + words^2/512 charged on expansion,
 * LOG: 375 + 375*topics + 8*bytes. Istanbul (EIP-2200/1884): SLOAD 800, SSTORE set 20000,
 * reset 5000, no-op 800, clear refund 15000. Cancun (EIP-2929/3529): cold slot +2100, warm read
 * 100, SSTORE set 20000, reset 2900, no-op 100, clear refund 4800; TLOAD/TSTORE 100 (EIP-1153).
 * EIP-2200 sentry: SSTORE fails with out of gas when gas_left <= 2300 before it.
 */
static const struct bytecode_case CASES[] = {
    /* (7 + 5) * 3 = 36 = 0x24 returned as a word.
     * PUSH1 PUSH1 ADD PUSH1 MUL PUSH1 MSTORE(+1 word) PUSH1 PUSH1 RETURN
     * = 3+3+3+3+5+3+(3+3)+3+3 = 32 */
    {.name = "arith_return", .rev = EVMC_CANCUN, .code = "600760050160030260005260206000f3",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 99968, .output = WORD("24")},
    {.name = "arith_return", .rev = EVMC_ISTANBUL, .code = "600760050160030260005260206000f3",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 99968, .output = WORD("24")},
    /* The same with exactly enough gas, and one short. */
    {.name = "arith_exact_gas", .rev = EVMC_CANCUN, .code = "600760050160030260005260206000f3",
     .gas = 32, .status = EVMC_SUCCESS, .gas_left = 0, .output = WORD("24")},
    {.name = "arith_one_gas_short", .rev = EVMC_CANCUN,
     .code = "600760050160030260005260206000f3", .gas = 31, .status = EVMC_OUT_OF_GAS,
     .output = ""},
    /* PUSH1 0 CALLDATALOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN = 3+3+3+6+3+3 = 21 */
    {.name = "calldata_echo", .rev = EVMC_CANCUN, .code = "60003560005260206000f3",
     .input = WORD("99"), .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 99979,
     .output = WORD("99")},

    /* SSTORE(1, 0x2a) then SLOAD(1), returned.
     * Cancun: 3+3 + (2100 cold + 20000 set) + 3 + 100 warm + 3+6+3+3 = 22224 */
    {.name = "sstore_sload", .rev = EVMC_CANCUN, .code = "602a60015560015460005260206000f3",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 77776, .output = WORD("2a"),
     .check_slot = true, .slot_key = 1, .slot_value = 0x2a},
    /* Istanbul: 3+3 + 20000 + 3 + 800 + 3+6+3+3 = 20824 */
    {.name = "sstore_sload", .rev = EVMC_ISTANBUL, .code = "602a60015560015460005260206000f3",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 79176, .output = WORD("2a"),
     .check_slot = true, .slot_key = 1, .slot_value = 0x2a},
    /* Clearing a slot that held 5: 3+3 + (Cancun 2100+2900 | Istanbul 5000) and a refund. */
    {.name = "sstore_clear_refund", .rev = EVMC_CANCUN, .code = "600060015500",
     .preload_key = 1, .preload_value = 5, .gas = 100000, .status = EVMC_SUCCESS,
     .gas_left = 94994, .gas_refund = 4800, .output = "", .check_slot = true, .slot_key = 1,
     .slot_value = 0},
    {.name = "sstore_clear_refund", .rev = EVMC_ISTANBUL, .code = "600060015500",
     .preload_key = 1, .preload_value = 5, .gas = 100000, .status = EVMC_SUCCESS,
     .gas_left = 94994, .gas_refund = 15000, .output = "", .check_slot = true, .slot_key = 1,
     .slot_value = 0},
    /* No-op SSTORE(1, 1) on a slot holding 1, at the EIP-2200 sentry: 2306 - 6 = 2300 left
     * fails; one more gas passes and pays (Cancun 2100 cold + 100 | Istanbul 800). */
    {.name = "sstore_sentry_fail", .rev = EVMC_CANCUN, .code = "600160015500",
     .preload_key = 1, .preload_value = 1, .gas = 2306, .status = EVMC_OUT_OF_GAS, .output = "",
     .check_slot = true, .slot_key = 1, .slot_value = 1},
    {.name = "sstore_sentry_pass", .rev = EVMC_CANCUN, .code = "600160015500",
     .preload_key = 1, .preload_value = 1, .gas = 2307, .status = EVMC_SUCCESS, .gas_left = 101,
     .output = "", .check_slot = true, .slot_key = 1, .slot_value = 1},
    {.name = "sstore_sentry_fail", .rev = EVMC_ISTANBUL, .code = "600160015500",
     .preload_key = 1, .preload_value = 1, .gas = 2306, .status = EVMC_OUT_OF_GAS, .output = "",
     .check_slot = true, .slot_key = 1, .slot_value = 1},
    {.name = "sstore_sentry_pass", .rev = EVMC_ISTANBUL, .code = "600160015500",
     .preload_key = 1, .preload_value = 1, .gas = 2307, .status = EVMC_SUCCESS, .gas_left = 1501,
     .output = "", .check_slot = true, .slot_key = 1, .slot_value = 1},
    /* SSTORE under STATICCALL rules. */
    {.name = "sstore_static", .rev = EVMC_CANCUN, .code = "6001600155", .gas = 100000,
     .flags = EVMC_STATIC, .status = EVMC_STATIC_MODE_VIOLATION, .output = "",
     .check_slot = true, .slot_key = 1, .slot_value = 0},
    /* TSTORE(1, 0x2a) TLOAD(1) returned: 3+3+100+3+100+3+6+3+3 = 224; no TSTORE before Cancun. */
    {.name = "tstore_tload", .rev = EVMC_CANCUN, .code = "602a60015d60015c60005260206000f3",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 99776, .output = WORD("2a")},
    {.name = "tstore_undefined", .rev = EVMC_ISTANBUL, .code = "602a60015d60015c60005260206000f3",
     .gas = 100000, .status = EVMC_UNDEFINED_INSTRUCTION, .output = ""},

    /* PUSH2 PUSH1 MSTORE(+1 word) PUSH1 x4 LOG2(2 bytes) = 3+3+6+12+(375+750+16) = 1165 */
    {.name = "log2", .rev = EVMC_CANCUN, .code = "61beef600052600260016002601ea200",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 98835, .output = "", .log = &LOG_BEEF},
    {.name = "log2", .rev = EVMC_ISTANBUL, .code = "61beef600052600260016002601ea200",
     .gas = 100000, .status = EVMC_SUCCESS, .gas_left = 98835, .output = "", .log = &LOG_BEEF},

    /* MSTORE 0x2a, REVERT(offset 31, size 1): 3+3+6+3+3 = 18, unused gas returned. */
    {.name = "revert_data", .rev = EVMC_CANCUN, .code = "602a6000526001601ffd", .gas = 100000,
     .status = EVMC_REVERT, .gas_left = 99982, .output = "2a"},
    {.name = "revert_data", .rev = EVMC_ISTANBUL, .code = "602a6000526001601ffd", .gas = 100000,
     .status = EVMC_REVERT, .gas_left = 99982, .output = "2a"},

    /* JUMPDEST PUSH1 0 JUMP forever. */
    {.name = "oog_loop", .rev = EVMC_CANCUN, .code = "5b600056", .gas = 100000,
     .status = EVMC_OUT_OF_GAS, .output = ""},
    {.name = "oog_loop", .rev = EVMC_ISTANBUL, .code = "5b600056", .gas = 100000,
     .status = EVMC_OUT_OF_GAS, .output = ""},
    /* MLOAD at 0xffffffff: the memory expansion alone costs ~2^55 gas. */
    {.name = "oog_memory", .rev = EVMC_CANCUN, .code = "63ffffffff5100", .gas = 100000,
     .status = EVMC_OUT_OF_GAS, .output = ""},

    {.name = "invalid_fe", .rev = EVMC_CANCUN, .code = "fe", .gas = 100000,
     .status = EVMC_INVALID_INSTRUCTION, .output = ""},
    {.name = "invalid_fe", .rev = EVMC_ISTANBUL, .code = "fe", .gas = 100000,
     .status = EVMC_INVALID_INSTRUCTION, .output = ""},
    {.name = "undefined_0c", .rev = EVMC_CANCUN, .code = "0c", .gas = 100000,
     .status = EVMC_UNDEFINED_INSTRUCTION, .output = ""},
    /* PUSH0 (EIP-3855, Shanghai): 2 gas at Cancun, undefined at Istanbul. */
    {.name = "push0", .rev = EVMC_CANCUN, .code = "5f00", .gas = 100000, .status = EVMC_SUCCESS,
     .gas_left = 99998, .output = ""},
    {.name = "push0_undefined", .rev = EVMC_ISTANBUL, .code = "5f00", .gas = 100000,
     .status = EVMC_UNDEFINED_INSTRUCTION, .output = ""},

    {.name = "underflow_add_empty", .rev = EVMC_CANCUN, .code = "01", .gas = 100000,
     .status = EVMC_STACK_UNDERFLOW, .output = ""},
    {.name = "underflow_add_one", .rev = EVMC_ISTANBUL, .code = "600101", .gas = 100000,
     .status = EVMC_STACK_UNDERFLOW, .output = ""},
    /* JUMPDEST PUSH1 0 PUSH1 0 JUMP: one more item per lap, 1025th push overflows. */
    {.name = "overflow", .rev = EVMC_CANCUN, .code = "5b6000600056", .gas = 100000,
     .status = EVMC_STACK_OVERFLOW, .output = ""},
    /* PUSH1 4 JUMP PUSH1 0x5b STOP: offset 4 holds 0x5b, but as PUSH data. */
    {.name = "jump_into_push_data", .rev = EVMC_CANCUN, .code = "600456605b00", .gas = 100000,
     .status = EVMC_BAD_JUMP_DESTINATION, .output = ""},
};

static void run_case(struct evmc_vm* vm, const struct bytecode_case* c)
{
    static uint8_t code[4096], input[4096], want_output[4096];
    const size_t code_size = from_hex(c->code, code, sizeof code);
    const size_t input_size = c->input ? from_hex(c->input, input, sizeof input) : 0;
    const size_t want_output_size = from_hex(c->output, want_output, sizeof want_output);

    struct evmc_message msg = message(c->gas);
    msg.flags = c->flags;
    msg.input_data = input_size ? input : NULL;
    msg.input_size = input_size;

    struct test_host host;
    test_host_reset(&host, &msg.sender, &msg.recipient);
    if (c->preload_value != 0)
    {
        const evmc_bytes32 key = word(c->preload_key), value = word(c->preload_value);
        test_host_preload(&host, &CONTRACT, &key, &value);
    }

    struct evmc_result r = vm->execute(vm, test_host_interface(), test_host_context(&host),
                                       c->rev, &msg, code, code_size);

    char id[64], got_hex[2 * 64 + 1];
    snprintf(id, sizeof id, "%s@%s", c->name, c->rev == EVMC_CANCUN ? "cancun" : "istanbul");
    const int failed_before = checks_failed;

    to_hex(r.output_data, r.output_size, got_hex, sizeof got_hex);
    check(r.status_code == c->status, "%s: status %s, want %s", id, status_name(r.status_code),
          status_name(c->status));
    check(r.gas_left == c->gas_left, "%s: gas_left %lld, want %lld", id, (long long)r.gas_left,
          (long long)c->gas_left);
    check(r.gas_refund == c->gas_refund, "%s: gas_refund %lld, want %lld", id,
          (long long)r.gas_refund, (long long)c->gas_refund);
    check(r.output_size == want_output_size &&
              (want_output_size == 0 || memcmp(r.output_data, want_output, want_output_size) == 0),
          "%s: output \"%s\", want \"%s\"", id, got_hex, c->output);
    check(host.error == NULL, "%s: host: %s", id, host.error ? host.error : "");

    if (c->check_slot)
    {
        const evmc_bytes32 key = word(c->slot_key);
        const evmc_bytes32 value = test_host_storage(&host, &CONTRACT, &key);
        check(value.bytes[31] == c->slot_value, "%s: slot %u holds ..%02x, want ..%02x", id,
              c->slot_key, value.bytes[31], c->slot_value);
    }

    const size_t want_logs = c->log != NULL ? 1 : 0;
    if (check(host.logs_count == want_logs, "%s: %zu logs, want %zu", id, host.logs_count,
              want_logs) &&
        c->log != NULL)
    {
        const struct test_host_log* log = &host.logs[0];
        uint8_t data[TEST_HOST_MAX_LOG_DATA];
        const size_t data_size = from_hex(c->log->data, data, sizeof data);
        check(memcmp(&log->address, &CONTRACT, sizeof CONTRACT) == 0, "%s: log address", id);
        check(log->data_size == data_size && memcmp(log->data, data, data_size) == 0,
              "%s: log data", id);
        bool topics_ok = log->topics_count == c->log->topics_count;
        for (size_t t = 0; topics_ok && t < log->topics_count; ++t)
        {
            const evmc_bytes32 want = word(c->log->topics[t]);
            topics_ok = memcmp(&log->topics[t], &want, sizeof want) == 0;
        }
        check(topics_ok, "%s: log topics", id);
    }

    printf("%s %s\n", checks_failed == failed_before ? "ok  " : "FAIL", id);
    release(&r);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char* argv[])
{
    if (argc != 2)
    {
        fprintf(stderr, "usage: %s path/to/libdtvm.so\n", argv[0]);
        return 2;
    }
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
    {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    /* POSIX guarantees dlsym's object pointer converts to a function pointer; memcpy avoids
     * the ISO C diagnostic for the cast. */
    struct evmc_vm* (*create)(void) = NULL;
    void* sym = dlsym(lib, "evmc_create_dtvm");
    if (sym == NULL)
    {
        fprintf(stderr, "%s does not export evmc_create_dtvm\n", argv[1]);
        return 2;
    }
    memcpy(&create, &sym, sizeof create);

    struct evmc_vm* vm = create();
    if (vm == NULL)
    {
        fprintf(stderr, "evmc_create_dtvm returned NULL\n");
        return 2;
    }

    printf("-- vm object, set_option, environment, execute edges\n");
    check_vm_object(vm);
    check_options(vm);
    check_env(create);
    check_execute_edges(vm);

    printf("-- bytecode through the C host\n");
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; ++i)
        run_case(vm, &CASES[i]);

    vm->destroy(vm);
    dlclose(lib);

    printf("smoke: %d checks, %d failed: %s\n", checks_run, checks_failed,
           checks_failed == 0 ? "PASS" : "FAIL");
    return checks_failed == 0 ? 0 : 1;
}
