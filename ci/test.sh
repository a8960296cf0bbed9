#!/usr/bin/env bash
# dtvm's test command: what CI runs (through .ci/run) and what to run before pushing.
# One function per step; main lists them in order and the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# In CI the lock file is the truth: fail instead of resolving new versions.
cargo_flags=()
if [ "${CI:-}" = true ]; then
    cargo_flags+=(--locked)
fi

step() {
    echo
    echo "==> $*"
}

setup() {
    step "setup: toolchain components and C compiler"
    ./ci/setup.sh
}

format() {
    step "cargo fmt --check"
    cargo fmt --all -- --check
}

lint() {
    step "cargo clippy"
    # --release: the build scripts and proc-macros it builds are the release build's, reused
    # by the next step instead of built twice.
    cargo clippy "${cargo_flags[@]}" --release --workspace --all-targets -- -D warnings
}

build_release() {
    step "cargo build --release"
    cargo build "${cargo_flags[@]}" --release
    # Hosts find the VM by this symbol; a build that lost it is broken whatever the tests say.
    nm -D --defined-only target/release/libdtvm.so | grep -w evmc_create_dtvm
}

rust_tests() {
    step "cargo test --workspace --release"
    cargo test "${cargo_flags[@]}" --workspace --release
}

c_examples() {
    step "C examples against include/dtvm.h and target/release/libdtvm.so"
    ./ci/examples.sh
    examples/bin/abi_layout
    examples/bin/smoke target/release/libdtvm.so
}

# Every execution mode must pass every shared state-test fixture (see ../shared/fixtures/README.md).
STATE_TEST_MODES=(interpreter multipass lazy tiered)

state_tests() {
    local fixtures=../shared/fixtures/state_tests
    if [ ! -d "$fixtures" ]; then
        echo "missing $fixtures: the state-test fixtures live beside the project (see README)" >&2
        return 1
    fi
    for mode in "${STATE_TEST_MODES[@]}"; do
        step "state tests, mode=$mode"
        target/release/dtvm statetest --mode "$mode" "$fixtures"
    done
}

# The Uniswap v2/v3 scenarios as state tests (crates/dtvm-scenarios; expected results from revm),
# generated from ../shared/fixtures/contracts, in every mode.
scenario_state_tests() {
    local dir=target/scenario-state-tests
    step "scenario state tests: generate into $dir"
    rm -rf "$dir"
    cargo run "${cargo_flags[@]}" --release -p dtvm-scenarios --example write_statetests -- "$dir"
    for mode in "${STATE_TEST_MODES[@]}"; do
        step "scenario state tests, mode=$mode"
        target/release/dtvm statetest --mode "$mode" "$dir"
    done
}

bench_smoke() {
    step "dtvm bench --smoke (the harness agrees across engines; not a measurement)"
    target/release/dtvm bench --smoke
}

main() {
    setup
    format
    lint
    build_release
    rust_tests
    c_examples
    state_tests
    scenario_state_tests
    bench_smoke
    echo
    echo "ci/test.sh: all steps passed"
}

main "$@"
