#!/usr/bin/env bash
# Builds the C examples against include/ into examples/bin/.
# They load target/release/libdtvm.so at run time (abi_layout links it directly).
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-cc}
CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Werror -Iinclude)
lib_dir=$PWD/target/release
out=examples/bin
mkdir -p "$out"

"$CC" "${CFLAGS[@]}" examples/abi_layout.c -L"$lib_dir" -ldtvm -Wl,-rpath,"$lib_dir" \
    -o "$out/abi_layout"
"$CC" "${CFLAGS[@]}" examples/smoke.c examples/test_host.c -ldl -o "$out/smoke"
"$CC" "${CFLAGS[@]}" examples/demo.c examples/test_host.c -ldl -o "$out/demo"
echo "examples: built abi_layout, smoke, demo in $out/"
