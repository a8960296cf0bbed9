//! `dtvm`: run bytecode, run state tests, run benchmarks.
//!
//! This crate is the command line only: clap parses it (usage errors exit with status 2, as
//! clap does), [`progress`] draws progress, `DTVM_LOG` filters the `tracing` logs the engines
//! emit (e.g. `DTVM_LOG=debug`, `DTVM_LOG=dtvm_jit=debug`). The work is dtvm-bench's (`run`,
//! `bench`, `many-contracts`) and dtvm-state's (`statetest`).
mod args;
mod progress;
mod statetest;

use clap::Parser;

fn main() {
    init_logs();
    let cli = args::Cli::parse();
    let code = match cli.command {
        args::Command::Run(a) => match a.into_options() {
            Ok(o) => dtvm_bench::run::run(o),
            Err(e) => usage_error("run", &e),
        },
        args::Command::Statetest(a) => statetest::main(a),
        args::Command::Bench(a) => {
            let reporter = progress::BenchProgress::new();
            dtvm_bench::bench(a.into_options(), &reporter)
        }
        args::Command::ManyContracts(a) => dtvm_bench::many::main(a.into_options()),
    };
    std::process::exit(code)
}

/// A usage error found after parsing (e.g. an unreadable `@FILE`): the message and exit code 2,
/// as clap reports its own.
fn usage_error(command: &str, why: &str) -> i32 {
    eprintln!("error: {why}\n\nFor more information, try 'dtvm {command} --help'.");
    2
}

/// Logs go to stderr, filtered by `DTVM_LOG` (tracing-subscriber's `EnvFilter` syntax);
/// warnings only when it is unset.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DTVM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
