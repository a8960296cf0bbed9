#!/usr/bin/env bash
# Benchmarks: dtvm's execution modes against revm on evm-benchmarks and the synthetic cases.
# Not run by CI (benchmarks are not tests; `cargo test` runs the `--smoke` check instead).
#
#   ci/bench.sh                      all cases, all modes, JSON in target/bench.json
#   ci/bench.sh --filter '^main/'    any `dtvm bench` argument is passed through
#   ci/bench.sh --rev istanbul --gas max   evmone-bench's convention
#
# Run it on a quiet machine: the numbers are medians of wall time and another process
# competing for the cores shows up in them.
set -euo pipefail
cd "$(dirname "$0")/.."
# The bench profile adds thin LTO on top of release (see the workspace Cargo.toml).
cargo build --profile bench -p dtvm-cli
exec ./target/bench/dtvm bench --json target/bench.json "$@"
