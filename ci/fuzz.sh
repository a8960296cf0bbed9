#!/usr/bin/env bash
# Bounded fuzzing: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 60) each,
# seeded from the shared fixtures' and benchmarks' contract codes (generated here into
# fuzz/seeds/, never committed). Exits non-zero on the first finding; the input that triggered
# it is in fuzz/artifacts/<target>/ and becomes a regression test when copied into
# tests/fuzz-regressions/<target>/ (replayed by `cargo test`).
#
# Not part of ci/test.sh: it needs minutes, and cargo-fuzz's flags (-Zsanitizer=address,
# sanitizer-coverage passes) are nightly-only. No nightly toolchain can be installed here, so the
# installed stable toolchain runs them with RUSTC_BOOTSTRAP=1 (set FUZZ_TOOLCHAIN=nightly to use
# a nightly instead, where there is one).
#
# libFuzzer runs every seed (and every input kept in fuzz/corpus/) once before FUZZ_SECONDS
# start counting, so a target takes longer than that: with the JIT modes compiling each seed
# under AddressSanitizer, about a minute more. FUZZ_SEEDS (default 1500) bounds the seeds taken
# from the fixtures.
#
#   FUZZ_SECONDS=60 FUZZ_TARGETS="raw_bytecode structured set_option" ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
read -r -a targets <<<"${FUZZ_TARGETS:-raw_bytecode structured set_option}"
shared="${SHARED_DIR:-../shared}"

toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi

step() {
    echo
    echo "==> $*"
}

install_cargo_fuzz() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        step "installing cargo-fuzz"
        cargo install cargo-fuzz --locked
    fi
    cargo fuzz --version
}

seeds() {
    step "seeds from $shared"
    rm -rf fuzz/seeds
    if [ -d "$shared" ]; then
        python3 fuzz/make_seeds.py "$shared" fuzz/seeds "${FUZZ_SEEDS:-1500}"
    else
        echo "no $shared: fuzzing from empty corpora"
    fi
    for t in "${targets[@]}"; do
        mkdir -p "fuzz/seeds/$t" "fuzz/corpus/$t"
    done
}

build() {
    step "cargo fuzz build (release, debug assertions, AddressSanitizer)"
    cargo "${toolchain[@]}" fuzz build -O --debug-assertions
}

# fuzz/lsan.supp lists the leak reports that are known not to be dtvm's (each with its reason).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

run() {
    local t=$1
    step "fuzz $t for ${seconds}s"
    # corpus/<t> collects what the run finds (kept between runs, not committed); seeds/<t> is
    # read-only input. -timeout: a single input running 30 s is a finding (a hang). This build
    # has debug assertions, which turn on Cranelift's IR verifier, and AddressSanitizer: the
    # JIT compiles several times slower than in release (24 KB of JUMPDEST runs took 13 s per
    # input here on a loaded 2-core machine, 0.3 s in release; it is replayed from
    # tests/fuzz-regressions/). -rss_limit_mb: the machine has 24 GB; a run using 4 GB is a
    # finding too.
    cargo "${toolchain[@]}" fuzz run -O --debug-assertions "$t" \
        "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=30000 \
        -print_final_stats=1
}

main() {
    install_cargo_fuzz
    seeds
    build
    for t in "${targets[@]}"; do
        run "$t"
    done
    echo
    echo "ci/fuzz.sh: ${#targets[@]} target(s), ${seconds}s each, no findings"
}

main "$@"
