//! `dtvm`: run bytecode, run state tests, run benchmarks.
mod bench;
mod many;
mod statetest;

fn usage() -> ! {
    eprintln!(
        "usage:\n  dtvm run [--mode M,...] [--rev R] [--gas N] [--input HEX] CODE\n  dtvm statetest [--mode M] [--fork F] PATH...\n  dtvm bench [--mode interpreter,multipass,lazy,revm] [--filter REGEX] [--iters N] [--json FILE] [--smoke]\n  dtvm many-contracts [--mode M,...] [--contracts N] [--hot N] [--hot-calls N]"
    );
    std::process::exit(2)
}

/// A subcommand's parsed options, or its exit status (2) after printing why (an empty reason is
/// a request for help) and its usage.
fn options<T>(command: &str, usage: &str, parsed: Result<T, String>) -> Result<T, i32> {
    parsed.map_err(|e| {
        if !e.is_empty() {
            eprintln!("{command}: {e}");
        }
        eprintln!("{usage}");
        2
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else { usage() };
    let rest: Vec<String> = args.collect();
    let code = match cmd.as_str() {
        "statetest" => statetest::main(&rest),
        "bench" => bench::main(&rest),
        "run" => bench::run::main(&rest),
        "many-contracts" => many::main(&rest),
        _ => usage(),
    };
    std::process::exit(code)
}
