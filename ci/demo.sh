#!/usr/bin/env bash
# Builds libdtvm.so and runs a few EVM programs through it from a C host, loaded the way EVMC
# hosts load VMs ("path,option=value").
set -euo pipefail
cd "$(dirname "$0")/.."

./ci/setup.sh >/dev/null
cargo build --release -p dtvm-evmc
./ci/examples.sh

lib=target/release/libdtvm.so
demo() {
    echo
    echo "## $1"
    shift
    examples/bin/demo "$@"
}

demo "(7 + 5) * 3, returned as a word: expect output ...24, 32 gas" \
    "$lib,mode=interpreter" 600760050160030260005260206000f3 cancun 100000
demo "sum 1..10 in a loop, stored in slot 0, logged and returned: expect ...37 (55)" \
    "$lib" 6000600a5b809101906001900380600457508060005560005260206000a060206000f3 cancun
demo "REVERT with one byte of data: expect REVERT, output 0x2a, unused gas kept" \
    "$lib" 602a6000526001601ffd istanbul 100000
demo "PUSH0 before Shanghai: expect UNDEFINED_INSTRUCTION, all gas consumed" \
    "$lib" 5f00 istanbul 100000
