//! `cargo bench -p dtvm-cli [-- ARGS]` runs `dtvm bench ARGS` with the optimized binary cargo
//! builds for benchmarks. A benchmark, not a test: the test command never runs it (the harness
//! is kept alive by the `--smoke` unit test instead).
use std::process::{exit, Command};

fn main() {
    // cargo passes `--bench` to every benchmark target; the rest is for `dtvm bench`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let status = Command::new(env!("CARGO_BIN_EXE_dtvm"))
        .arg("bench")
        .args(&args)
        .status()
        .unwrap_or_else(|e| {
            eprintln!("cannot run the dtvm binary: {e}");
            exit(3)
        });
    exit(status.code().unwrap_or(3))
}
