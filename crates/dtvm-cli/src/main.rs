//! `dtvm`: run bytecode, run state tests, run benchmarks. The bench harness and `run` live in
//! dtvm-bench; this crate parses the command line and prints.
mod statetest;

fn usage() -> ! {
    eprintln!(
        "usage:\n  dtvm run [--mode M,...] [--rev R] [--gas N] [--input HEX] CODE\n  dtvm statetest [--mode M] [--fork F] PATH...\n  dtvm bench [--mode interpreter,multipass,lazy,revm] [--filter REGEX] [--iters N] [--json FILE] [--smoke]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else { usage() };
    let rest: Vec<String> = args.collect();
    let code = match cmd.as_str() {
        "statetest" => statetest::main(&rest),
        "bench" => dtvm_bench::main(&rest),
        "run" => dtvm_bench::run::main(&rest),
        _ => usage(),
    };
    std::process::exit(code)
}
