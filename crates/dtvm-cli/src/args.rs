//! The command line: subcommands, their options and what each means. Every option keeps the
//! spelling and meaning it had before clap (ci/, README and docs use them): `--mode` takes a
//! comma-separated list (`--modes` is an alias), values may follow `=` or a space.
use clap::{Args, Parser, Subcommand};
use dtvm_bench::GasChoice;
use evmc_vm::Revision;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "dtvm",
    version,
    about = "dtvm, an EVM: run bytecode, run state tests, run benchmarks",
    after_help = "Logs: set DTVM_LOG (e.g. DTVM_LOG=debug) to see the engines' tracing events on stderr."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run one bytecode in each chosen engine and check that they agree
    Run(RunArgs),
    /// Run Ethereum state-test fixtures (files or directories, recursively)
    Statetest(StatetestArgs),
    /// Benchmark dtvm's modes against revm on the evm-benchmarks suite and synthetic cases
    Bench(BenchArgs),
    /// A client's workload: thousands of distinct contracts called once to three times among a
    /// few hot ones; per mode the process's CPU time, peak RSS and the hot calls' time
    ManyContracts(ManyArgs),
}

/// One engine name (`--mode a,b` gives several).
fn engine(s: &str) -> Result<String, String> {
    Ok(dtvm_bench::parse_modes(s)?.remove(0))
}

fn revision(s: &str) -> Result<Revision, String> {
    dtvm_bench::revision_named(s)
}

fn positive_gas(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(g) if g > 0 => Ok(g),
        Ok(_) => Err("gas must be positive".into()),
        Err(_) => Err("gas takes a number".into()),
    }
}

/// Bytes given as hex (clap would read a bare `Vec<u8>` as a list of numbers).
#[derive(Clone)]
pub(crate) struct HexBytes(pub Vec<u8>);

fn hex_bytes(s: &str) -> Result<HexBytes, String> {
    dtvm_bench::hex(s.trim()).map(HexBytes)
}

#[derive(Args)]
#[command(
    after_help = "Exit status: 0 when every engine produced the same status, output, gas used and refund."
)]
pub(crate) struct RunArgs {
    /// Engines to run, in order [default: interpreter,multipass,lazy]
    #[arg(long = "mode", visible_alias = "modes", value_name = "M,...", value_delimiter = ',', value_parser = engine)]
    pub modes: Vec<String>,
    /// EVM revision
    #[arg(long, value_name = "NAME", default_value = "cancun", value_parser = revision)]
    pub rev: Revision,
    /// Execution gas of the call
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = positive_gas)]
    pub gas: i64,
    /// Call data, hex
    #[arg(long, value_name = "HEX", value_parser = hex_bytes)]
    pub input: Option<HexBytes>,
    /// Write an EIP-3155 trace of each dtvm engine's run to stderr (one JSON line per
    /// instruction, then a summary line); traced calls run in the interpreter in every mode
    #[arg(long)]
    pub trace: bool,
    /// The contract's runtime bytecode: hex (0x optional), or @FILE holding hex
    #[arg(value_name = "CODE")]
    pub code: String,
}

impl RunArgs {
    /// The options, or why CODE is not usable.
    pub(crate) fn into_options(self) -> Result<dtvm_bench::run::Options, String> {
        let text = match self.code.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
            None => self.code,
        };
        let mut o = dtvm_bench::run::Options {
            rev: self.rev,
            gas: self.gas,
            input: self.input.map(|h| h.0).unwrap_or_default(),
            code: dtvm_bench::hex(text.trim())?,
            trace: self.trace,
            ..Default::default()
        };
        if !self.modes.is_empty() {
            o.modes = self.modes;
        }
        Ok(o)
    }
}

#[derive(Args)]
pub(crate) struct StatetestArgs {
    /// Execution mode, passed to the VM as its `mode` option [default: the VM's default]
    #[arg(long, value_name = "M")]
    pub mode: Option<String>,
    /// Only cases of this fork (e.g. Cancun)
    #[arg(long, value_name = "F", value_parser = fork)]
    pub fork: Option<String>,
    /// Only tests whose name or file path contains SUBSTR
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Worker threads [default: the number of CPUs; 1 with --trace]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// Print one JSON object per case on stdout (name, fork, index, pass, stateRoot, logsHash,
    /// error), as geth's `evm statetest --json` does; the summary goes to stderr
    #[arg(long)]
    pub json: bool,
    /// Write an EIP-3155 trace of every case run to stderr, cases one after another (pick them
    /// with --filter, --fork and --index)
    #[arg(long)]
    pub trace: bool,
    /// Only the case with this index among its test's cases for its fork (as --json reports it)
    #[arg(long, value_name = "N")]
    pub index: Option<usize>,
    /// Fixture files or directories (inside directories, `.json` files only)
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

fn fork(s: &str) -> Result<String, String> {
    dtvm_state::revision_from_fork_name(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| format!("unknown fork {s}"))
}

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Engines to compare [default: interpreter,multipass,lazy,revm]; a dtvm mode the VM refuses is skipped
    #[arg(long = "mode", visible_alias = "modes", value_name = "M,...", value_delimiter = ',', value_parser = engine)]
    pub modes: Vec<String>,
    /// Only cases whose name (<group>/<file>/<label>) matches REGEX
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub filter: Option<regex::Regex>,
    /// Timed rounds per case [default: as many as fit in --time, at least 10]
    #[arg(long, value_name = "N")]
    pub iters: Option<usize>,
    /// Seconds per case for the adaptive round count
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = seconds)]
    pub time: Duration,
    /// Write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// EVM revision, the same on every engine
    #[arg(long, value_name = "NAME", default_value = "cancun", value_parser = revision)]
    pub rev: Revision,
    /// Execution gas per case; `max` is i64::MAX, evmone-bench's convention (use it with --rev
    /// istanbul to reproduce evmone-bench's setup) [default: the suite's 1e9 transaction gas
    /// minus intrinsic gas]
    #[arg(long, value_name = "N|max", value_parser = bench_gas)]
    pub gas: Option<GasChoice>,
    /// evm-benchmarks directory [default: ../shared/benchmarks/evm-benchmarks, or $DTVM_BENCH_SUITE]
    #[arg(long, value_name = "DIR")]
    pub suite: Option<String>,
    /// Print the selected case names and exit
    #[arg(long)]
    pub list: bool,
    /// A few cheap cases, few rounds, plus one case at Istanbul with i64::MAX gas: checks the
    /// harness and the engines' agreement (exit 1 on any mismatch)
    #[arg(long)]
    pub smoke: bool,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|_| "--time takes seconds")?;
    Ok(Duration::from_secs_f64(secs.max(0.0)))
}

fn bench_gas(s: &str) -> Result<GasChoice, String> {
    if s == "max" {
        return Ok(GasChoice::Execution(i64::MAX));
    }
    positive_gas(s).map(GasChoice::Execution)
}

impl BenchArgs {
    pub(crate) fn into_options(self) -> dtvm_bench::Options {
        let mut o = dtvm_bench::Options {
            filter: self.filter,
            iters: self.iters.map(|n| n.max(1)),
            json: self.json,
            rev: self.rev,
            time: self.time,
            suite: self.suite,
            list: self.list,
            smoke: self.smoke,
            ..Default::default()
        };
        if !self.modes.is_empty() {
            o.modes = self.modes;
        }
        if let Some(g) = self.gas {
            o.gas = g;
        }
        o
    }
}

#[derive(Args)]
pub(crate) struct ManyArgs {
    /// Modes to measure, each in its own process
    #[arg(long = "mode", visible_alias = "modes", value_name = "M,...", value_delimiter = ',',
          default_value = "interpreter,multipass,lazy,tiered", value_parser = dtvm_mode)]
    pub modes: Vec<String>,
    /// Distinct cold contracts, each called 1-3 times
    #[arg(long, value_name = "N", default_value = "20000")]
    pub contracts: usize,
    /// Hot contracts
    #[arg(long, value_name = "N", default_value = "5", value_parser = at_least_one)]
    pub hot: usize,
    /// Calls of each hot contract, interleaved with the cold ones
    #[arg(long, value_name = "N", default_value = "2000")]
    pub hot_calls: usize,
    /// Generator seed
    #[arg(long, value_name = "N", default_value = "1")]
    pub seed: u64,
    /// Internal: measure the one mode given, in this process, and print its figures
    #[arg(long, hide = true)]
    pub child: bool,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("takes a number of at least 1".into()),
    }
}

impl ManyArgs {
    pub(crate) fn into_options(self) -> dtvm_bench::many::Options {
        dtvm_bench::many::Options {
            modes: self.modes,
            contracts: self.contracts,
            hot: self.hot,
            hot_calls: self.hot_calls,
            seed: self.seed,
            child: self.child,
        }
    }
}

/// One dtvm mode (not revm): the modes the VM's `mode` option takes.
fn dtvm_mode(s: &str) -> Result<String, String> {
    match engine(s)? {
        m if m == "revm" => Err("revm is not a dtvm mode".into()),
        m => Ok(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn bench(args: &str) -> Result<dtvm_bench::Options, clap::Error> {
        let cli = Cli::try_parse_from(format!("dtvm bench {args}").split_whitespace())?;
        match cli.command {
            Command::Bench(b) => Ok(b.into_options()),
            _ => unreachable!("parsed as bench"),
        }
    }

    #[test]
    fn run_options_keep_their_meaning() {
        let cli = Cli::try_parse_from(
            "dtvm run --modes lazy,revm --rev prague --gas 5000 --input 0xabcd 0x6001".split(' '),
        )
        .unwrap();
        let Command::Run(r) = cli.command else {
            unreachable!("parsed as run")
        };
        let o = r.into_options().unwrap();
        assert_eq!(o.modes, ["lazy", "revm"]);
        assert_eq!(o.rev, evmc_vm::sys::EVMC_PRAGUE);
        assert_eq!(
            (o.gas, o.input, o.code),
            (5000, vec![0xab, 0xcd], vec![0x60, 1])
        );
    }

    #[test]
    fn bench_options_keep_their_meaning() {
        let o = bench("--mode=interpreter,revm --filter ^main/ --rev Istanbul --gas max --iters 7")
            .unwrap();
        assert_eq!(o.modes, ["interpreter", "revm"]);
        assert_eq!(o.rev, evmc_vm::sys::EVMC_ISTANBUL);
        assert!(matches!(o.gas, GasChoice::Execution(i64::MAX)));
        assert_eq!(o.iters, Some(7));
        assert!(o.filter.unwrap().is_match("main/snailtracer/benchmark"));
        let d = bench("--modes multipass --time 2.5 --smoke").unwrap();
        assert_eq!(d.modes, ["multipass"]);
        assert_eq!(d.time, Duration::from_millis(2500));
        assert!(d.smoke && !d.list);
        let default = bench("").unwrap();
        assert_eq!(default.modes, dtvm_bench::ENGINE_NAMES);
        assert!(matches!(default.gas, GasChoice::FromCase));
        for bad in [
            "--mode jit",
            "--rev constantinople2",
            "--gas -5",
            "--gas 0",
            "--bogus",
        ] {
            let e = bench(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }
}
