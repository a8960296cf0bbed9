//! `cargo bench -p dtvm-bench [-- ARGS]` runs `dtvm bench ARGS` built with the bench profile. A
//! benchmark, not a test: the test command never runs it (the harness is kept alive by the
//! `--smoke` unit test instead).

fn main() {
    // cargo passes `--bench` to every benchmark target; the rest is for the harness.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    std::process::exit(dtvm_bench::main(&args))
}
