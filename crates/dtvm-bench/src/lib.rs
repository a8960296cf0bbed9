//! The benchmark harness behind `dtvm bench` (and, through [`run`], `dtvm run`): dtvm's
//! execution modes against revm on the evm-benchmarks suite and on synthetic cases; and, in
//! [`many`], `dtvm many-contracts`, a client's workload measured per process.
//!
//! Per case: every engine runs once and the results (status, output, gas used, refund; for
//! synthetic cases also the output a Rust model predicts) must agree and be a success, or the
//! case is an error and gets no number. Then warm-up runs, then rounds in which each engine runs once, in an order
//! that rotates every round so no engine always follows the same one. Each run is timed alone
//! with `Instant`; the pre-state is restored between runs, outside the timed region. Reported
//! times are medians over rounds.
mod asm;
mod cases;
mod engines;
pub mod many;
mod real;
mod report;
pub mod run;
mod synth;

use cases::Case;
pub use cases::{find_suite, hex};
pub use engines::{parse_modes, revision_name, revision_named, spec_of, GasChoice, ENGINE_NAMES};
use engines::{DtvmEngine, Engine, ModeStatus, Revm, Setup};
use evmc_vm::sys::{EVMC_CANCUN, EVMC_ISTANBUL};
use evmc_vm::Revision;
use regex::Regex;
use report::{CaseResult, Column, EngineResult, Stats};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The cases `--smoke` runs: one Solidity contract with calldata, one memory-heavy micro case,
/// one with nested calls. Cheap enough for a test run.
const SMOKE_CASES: [&str; 3] = [
    "main/structarray_alloc/nfts_rank",
    "micro/memory_grow_mstore/by1",
    "synth/call/recursion_512x4",
];
/// The evmone-bench convention (Istanbul, i64::MAX gas) is smoke-tested on this case.
const SMOKE_EVMONE_CASE: &str = "main/sha1_divs/5311";
const SMOKE_ROUNDS: usize = 3;

/// What `dtvm bench` runs: its command-line options, parsed by the CLI.
pub struct Options {
    /// Engines to compare, in column order: `interpreter`, `multipass`, `lazy`, `revm`.
    pub modes: Vec<String>,
    /// Only cases whose name (`<group>/<file>/<label>`) matches.
    pub filter: Option<Regex>,
    /// Timed rounds per case; `None`: as many as fit in `time`, at least 10.
    pub iters: Option<usize>,
    /// Where to write the results as JSON.
    pub json: Option<String>,
    /// EVM revision, the same for every engine.
    pub rev: Revision,
    /// Gas per call: the suite's or a fixed amount.
    pub gas: GasChoice,
    /// Time per case for the adaptive round count.
    pub time: Duration,
    /// The evm-benchmarks directory; `None`: found by [`cases::find_suite`].
    pub suite: Option<String>,
    /// Print the selected case names instead of running them.
    pub list: bool,
    /// A few cheap cases and few rounds, plus one case in evmone-bench's convention.
    pub smoke: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            modes: ENGINE_NAMES.map(String::from).to_vec(),
            filter: None,
            iters: None,
            json: None,
            rev: EVMC_CANCUN,
            gas: GasChoice::FromCase,
            time: Duration::from_secs(1),
            suite: None,
            list: false,
            smoke: false,
        }
    }
}

/// Where the harness reports each case as it finishes (the CLI draws a progress bar on a
/// terminal); the report itself goes to stdout at the end of each pass.
pub trait Progress: Sync {
    /// `cases` cases are about to run.
    fn start(&self, _cases: usize) {}
    /// A case ran: its wall time in seconds, or why it got no number.
    fn case_done(&self, name: &str, result: Result<f64, &str>);
    /// Every case ran; the report follows.
    fn finish(&self) {}
    /// Prints a pass's report (to stdout, around whatever the progress display draws).
    fn print(&self, text: &str) {
        print!("{text}");
    }
}

/// One plain line per case on stderr.
pub struct Lines;

impl Progress for Lines {
    fn case_done(&self, name: &str, result: Result<f64, &str>) {
        match result {
            Ok(secs) => eprintln!("{name:<40} {secs:>6.2}s"),
            Err(e) => eprintln!("{name:<40} ERROR: {e}"),
        }
    }
}

/// Runs the benchmark; returns the process exit status (0 every case agreed, 1 a case failed,
/// 2 nothing could run).
pub fn bench(opts: Options, progress: &dyn Progress) -> i32 {
    // Nested calls re-enter the engines through native frames (the host's `call` runs the VM
    // again), up to 1024 deep: more than a main thread's stack holds. Both engines run here.
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("bench".into())
            .stack_size(1 << 30)
            .spawn_scoped(s, move || run(opts, progress));
        match worker.map(|h| h.join()) {
            Ok(Ok(code)) => code,
            _ => {
                eprintln!("bench: the benchmark thread failed");
                3
            }
        }
    })
}

/// The engines a run compares, with their table columns.
struct Lineup {
    engines: Vec<Box<dyn Engine>>,
    columns: Vec<Column>,
}

fn lineup(modes: &[String], notes: &mut Vec<String>) -> Lineup {
    let mut l = Lineup {
        engines: Vec::new(),
        columns: Vec::new(),
    };
    for m in modes {
        let engine: Box<dyn Engine> = if m == "revm" {
            Box::new(Revm)
        } else {
            let (e, status) = DtvmEngine::new(m);
            match status {
                ModeStatus::Selected => {}
                ModeStatus::NoModeOption => notes.push(
                    "dtvm has no `mode` option yet: `interpreter` is its default engine".into(),
                ),
                ModeStatus::Unavailable(why) => {
                    notes.push(format!("mode {m} unavailable ({why}): column skipped"));
                    continue;
                }
            }
            Box::new(e)
        };
        l.engines.push(engine);
        l.columns.push(Column {
            name: m.clone(),
            is_jit: m == "multipass" || m == "lazy",
        });
    }
    l
}

struct Timing {
    /// Fixed number of rounds, or adaptive within `budget`.
    rounds: Option<usize>,
    budget: Duration,
    warmup: usize,
}

/// Code already executed per engine and revision in this process: a first execution that is
/// also the first sight of the code includes analysis/compilation.
type Seen = HashSet<(usize, Revision, Vec<u8>)>;

fn bench_case(
    case: &Case,
    lineup: &Lineup,
    setup: &Setup,
    timing: &Timing,
    seen: &mut Seen,
) -> Result<CaseResult, String> {
    let mut runners = lineup
        .engines
        .iter()
        .map(|e| e.runner(case, setup))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = lineup.columns.iter().map(|c| c.name.as_str()).collect();

    let mut first = Vec::new();
    let mut outcomes = Vec::new();
    for (i, r) in runners.iter_mut().enumerate() {
        r.reset();
        let (d, o) = r.run_checked().map_err(|e| format!("{}: {e}", names[i]))?;
        first.push((d, seen.insert((i, setup.rev, case.code().to_vec()))));
        outcomes.push(o);
    }
    let reference = names.iter().position(|n| *n == "revm").unwrap_or(0);
    for (i, o) in outcomes.iter().enumerate() {
        if let Some(diff) = o.diff(&outcomes[reference]) {
            return Err(format!(
                "mismatch {} vs {}: {diff}",
                names[i], names[reference]
            ));
        }
    }
    // As in evmone-bench: the time of an execution that fails says nothing useful.
    if outcomes[reference].class != engines::Class::Success {
        return Err(format!(
            "the engines agree, but the case does not succeed at this revision ({})",
            outcomes[reference].detail
        ));
    }
    if let Some(want) = &case.expected_output {
        if outcomes[reference].output != *want {
            return Err(format!(
                "the engines agree on {}, but the model of the contract predicts {}",
                engines::short_hex(&outcomes[reference].output),
                engines::short_hex(want)
            ));
        }
    }

    // Warm-up; the first warm-up run is checked again, which catches state leaking from one
    // run into the next (a host or VM cache that changes results).
    let mut warm_time = vec![Duration::ZERO; runners.len()];
    for w in 0..timing.warmup {
        for (i, r) in runners.iter_mut().enumerate() {
            r.reset();
            if w == 0 {
                let (d, o) = r.run_checked().map_err(|e| format!("{}: {e}", names[i]))?;
                if let Some(diff) = o.diff(&outcomes[i]) {
                    return Err(format!(
                        "{}: a second run differs from the first: {diff}",
                        names[i]
                    ));
                }
                warm_time[i] = d;
            } else {
                warm_time[i] = warm_time[i].min(r.run_timed());
            }
        }
    }
    for r in runners.iter_mut() {
        r.settle();
    }
    let samples = timed_rounds(timing, &warm_time, |i| {
        runners[i].reset();
        runners[i].run_timed()
    });
    let jit = lineup
        .columns
        .iter()
        .any(|c| c.is_jit)
        .then(|| settled_jit_stats(case.code(), setup.rev))
        .flatten();
    Ok(CaseResult {
        name: case.name.clone(),
        code_size: case.code().len(),
        jit,
        gas_used: outcomes[reference].gas_used,
        engines: engine_results(&samples, first),
    })
}

/// The timed rounds after warm-up: as many as `timing` fixes, or as fit in its budget at the
/// warm-up's pace (10 to 20,000); each round runs every engine once (`run(i)`), in an order that
/// rotates every round so no engine always follows the same one.
/// How long [`settle_tiered`] runs a case at most.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// Compilation has settled when this many runs in a row, over at least [`SETTLED_TIME`],
/// compiled nothing new (a background compiler may be busy with a function meanwhile).
const SETTLED_RUNS: usize = 20;
const SETTLED_TIME: Duration = Duration::from_millis(100);

/// Tiered mode's steady state, reached after warm-up (untimed): `run` runs the case until the
/// contract `code` is promoted, no compile job is pending and nothing new was compiled for
/// [`SETTLED_RUNS`] runs and [`SETTLED_TIME`] (or until [`SETTLE_LIMIT`]): what a client calling
/// it repeatedly would run.
pub(crate) fn settle_tiered(code: &[u8], rev: Revision, run: &mut dyn FnMut()) {
    let start = Instant::now();
    let mut quiet = 0;
    let mut since = start;
    let mut compiled = dtvm_jit::tier_stats().functions_compiled;
    while (quiet < SETTLED_RUNS || since.elapsed() < SETTLED_TIME) && start.elapsed() < SETTLE_LIMIT
    {
        run();
        let stats = dtvm_jit::tier_stats();
        let promoted = dtvm_jit::segment_stats(code, rev).is_some();
        if promoted && stats.pending_jobs == 0 && stats.functions_compiled == compiled {
            quiet += 1;
        } else {
            quiet = 0;
            since = Instant::now();
            compiled = stats.functions_compiled;
        }
    }
}

fn timed_rounds(
    timing: &Timing,
    warm_time: &[Duration],
    mut run: impl FnMut(usize) -> Duration,
) -> Vec<Vec<Duration>> {
    let rounds = timing.rounds.unwrap_or_else(|| {
        let per_round: Duration = warm_time.iter().sum();
        let fit = timing.budget.as_secs_f64() / per_round.as_secs_f64().max(1e-9);
        (fit as usize).clamp(10, 20_000)
    });
    let n = warm_time.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (k + round) % n;
            samples[i].push(run(i));
        }
    }
    samples
}

/// Per engine: steady-state statistics of its samples and its first run (time, first sight).
fn engine_results(samples: &[Vec<Duration>], first: Vec<(Duration, bool)>) -> Vec<EngineResult> {
    samples
        .iter()
        .zip(first)
        .map(|(s, (d, first_sight))| EngineResult {
            steady: Stats::of(s),
            first_call: d.as_secs_f64() * 1e6,
            first_sight,
        })
        .collect()
}

/// The JIT's counters for `code`, after waiting (boundedly) for its background compilation.
fn settled_jit_stats(code: &[u8], rev: Revision) -> Option<dtvm_jit::SegmentStats> {
    let until = Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let stats = dtvm_jit::segment_stats(code, rev)?;
        if stats.settled() || Instant::now() > until {
            return Some(stats);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

struct Pass<'a> {
    title: String,
    cases: Vec<&'a Case>,
    rev: Revision,
    gas: GasChoice,
}

fn gas_label(gas: GasChoice) -> String {
    match gas {
        GasChoice::FromCase => "suite tx gas (1e9) minus intrinsic".into(),
        GasChoice::Execution(i64::MAX) => "i64::MAX".into(),
        GasChoice::Execution(g) => g.to_string(),
    }
}

/// The 1-minute load average: benchmarks on a busy machine say so next to their numbers.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn run(opts: Options, progress: &dyn Progress) -> i32 {
    let mut all: Vec<Case> = Vec::new();
    match cases::find_suite(opts.suite.as_deref()).and_then(|d| cases::load_suite(&d)) {
        Ok(c) => all.extend(c),
        Err(e) => {
            eprintln!("bench: {e}");
            return 2;
        }
    }
    all.extend(synth::cases());
    let selected = |name: &str| opts.filter.as_ref().is_none_or(|re| re.is_match(name));
    // The real/ group: transaction sequences built on revm from ../shared/fixtures/contracts.
    let scenarios = match opts.smoke {
        true => Vec::new(),
        false => match dtvm_scenarios::build_all() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("bench: real/: {e}");
                return 2;
            }
        },
    };
    let (real_calls, real_deploys) = real::select(&scenarios, selected);

    let passes: Vec<Pass<'_>> = if opts.smoke {
        let pick = |names: &[&str]| -> Vec<&Case> {
            names
                .iter()
                .filter_map(|n| all.iter().find(|c| c.name == *n))
                .filter(|c| selected(&c.name))
                .collect()
        };
        vec![
            Pass {
                title: format!(
                    "smoke: {}, {}",
                    engines::revision_name(opts.rev),
                    gas_label(opts.gas)
                ),
                cases: pick(&SMOKE_CASES),
                rev: opts.rev,
                gas: opts.gas,
            },
            Pass {
                title: "smoke: evmone-bench convention (istanbul, i64::MAX gas)".into(),
                cases: pick(&[SMOKE_EVMONE_CASE]),
                rev: EVMC_ISTANBUL,
                gas: GasChoice::Execution(i64::MAX),
            },
        ]
    } else {
        vec![Pass {
            title: format!(
                "{}, {}",
                engines::revision_name(opts.rev),
                gas_label(opts.gas)
            ),
            cases: all.iter().filter(|c| selected(&c.name)).collect(),
            rev: opts.rev,
            gas: opts.gas,
        }]
    };
    if opts.list {
        for p in &passes {
            for c in &p.cases {
                println!("{}", c.name);
            }
        }
        for s in real_deploys.iter().chain(&real_calls) {
            println!("{}", real::case_name(s));
        }
        return 0;
    }
    if passes.iter().all(|p| p.cases.is_empty()) && real_calls.is_empty() && real_deploys.is_empty()
    {
        eprintln!("bench: no case selected");
        return 2;
    }

    let mut notes = Vec::new();
    let lineup = lineup(&opts.modes, &mut notes);
    for n in &notes {
        println!("note: {n}");
    }
    if lineup.engines.is_empty() {
        eprintln!("bench: no engine available");
        return 2;
    }
    let timing = if opts.smoke {
        Timing {
            rounds: Some(opts.iters.unwrap_or(SMOKE_ROUNDS)),
            budget: opts.time,
            warmup: 1,
        }
    } else {
        Timing {
            rounds: opts.iters,
            budget: opts.time,
            warmup: opts.iters.map_or(3, |n| (n / 10).clamp(1, 10)),
        }
    };

    // One-time process costs are not a contract's first call.
    let warm_up = synth::warm_up();
    if let Ok(setup) = Setup::new(&warm_up, EVMC_CANCUN, GasChoice::Execution(1_000_000)) {
        for engine in &lineup.engines {
            if let Ok(mut runner) = engine.runner(&warm_up, &setup) {
                let _ = runner.run_checked();
            }
        }
    }

    let load_before = load_average();
    let mut seen = Seen::new();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut json_passes = Vec::new();
    let timed: Vec<&Pass<'_>> = passes.iter().filter(|p| !p.cases.is_empty()).collect();
    progress.start(timed.iter().map(|p| p.cases.len()).sum());
    for (i, pass) in timed.iter().enumerate() {
        let mut results = Vec::new();
        let mut pass_errors = Vec::new();
        for case in &pass.cases {
            let started = Instant::now();
            let outcome = Setup::new(case, pass.rev, pass.gas)
                .and_then(|setup| bench_case(case, &lineup, &setup, &timing, &mut seen));
            match outcome {
                Ok(r) => {
                    progress.case_done(&case.name, Ok(started.elapsed().as_secs_f64()));
                    results.push(r);
                }
                Err(e) => {
                    progress.case_done(&case.name, Err(&e));
                    pass_errors.push((case.name.clone(), e));
                }
            }
        }
        if i + 1 == timed.len() {
            progress.finish();
        }
        let mut text = format!("\n### {}\n\n", pass.title);
        if results.is_empty() {
            text.push_str("(no case could be timed)\n");
        } else {
            text.push_str(&report::markdown(&lineup.columns, &results));
            text.push('\n');
            if let Some(t) = report::compile_table(&lineup.columns, &results) {
                text.push_str(&t);
                text.push('\n');
            }
        }
        progress.print(&text);
        json_passes.push(report::json(
            &lineup.columns,
            &results,
            serde_json::json!({
                "title": pass.title,
                "revision": engines::revision_name(pass.rev),
                "gas": gas_label(pass.gas),
            }),
            &pass_errors,
        ));
        errors.extend(pass_errors);
    }
    if !real_calls.is_empty() || !real_deploys.is_empty() {
        let (json, pass_errors) =
            real::run_pass(&real_calls, &real_deploys, &lineup.columns, &timing);
        json_passes.push(json);
        errors.extend(pass_errors);
    }
    let machine = format!(
        "{}, {} cores, load average {} before / {} after",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_before,
        load_average()
    );
    println!(
        "{}; {machine}.\nTimes are medians of per-call `execute` (dtvm) / `transact` (revm) wall \
         time; ratios are medians of per-round time / reference (below 1 = faster).",
        report::utc_date()
    );
    for n in &notes {
        println!("note: {n}");
    }
    if let Some(path) = &opts.json {
        let doc = serde_json::json!({
            "date": report::utc_date(),
            "machine": machine,
            "args": std::env::args().collect::<Vec<_>>(),
            "notes": notes,
            "passes": json_passes,
        });
        let text = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("bench: cannot write {path}: {e}");
            return 2;
        }
    }
    if errors.is_empty() {
        0
    } else {
        println!("\n{} case(s) failed:", errors.len());
        for (c, e) in &errors {
            println!("- {c}: {e}");
        }
        1
    }
}

#[cfg(test)]
mod tests {
    use super::engines::{Outcome, Runner};
    use super::*;
    use evmc_vm::sys::EVMC_FRONTIER;

    fn timing() -> Timing {
        Timing {
            rounds: Some(2),
            budget: Duration::ZERO,
            warmup: 1,
        }
    }

    /// The generators and their Rust models agree, judged by revm: a wrong model or a wrong
    /// contract would fail here rather than blame an engine.
    #[test]
    fn synthetic_cases_produce_their_modelled_output_on_revm() {
        for rev in [EVMC_CANCUN, EVMC_ISTANBUL] {
            for case in synth::cases() {
                let setup = Setup::new(&case, rev, GasChoice::FromCase).unwrap();
                let mut r = Revm.runner(&case, &setup).unwrap();
                let (_, o) = r.run_checked().unwrap();
                assert_eq!(
                    o.class,
                    engines::Class::Success,
                    "{}: {}",
                    case.name,
                    o.detail
                );
                assert_eq!(
                    Some(&o.output),
                    case.expected_output.as_ref(),
                    "{}",
                    case.name
                );
            }
        }
    }

    /// An engine that runs revm but reports a different output.
    struct Corrupt;
    struct CorruptRunner(Box<dyn Runner>);

    impl Engine for Corrupt {
        fn runner(&self, case: &Case, setup: &Setup) -> Result<Box<dyn Runner>, String> {
            Ok(Box::new(CorruptRunner(Revm.runner(case, setup)?)))
        }
    }

    impl Runner for CorruptRunner {
        fn reset(&mut self) {
            self.0.reset()
        }
        fn run_timed(&mut self) -> Duration {
            self.0.run_timed()
        }
        fn run_checked(&mut self) -> Result<(Duration, Outcome), String> {
            let (d, mut o) = self.0.run_checked()?;
            o.output.push(0);
            Ok((d, o))
        }
    }

    #[test]
    fn a_mismatch_between_engines_is_an_error_not_a_number() {
        let case = synth::cases().into_iter().next().unwrap();
        let setup = Setup::new(&case, EVMC_CANCUN, GasChoice::FromCase).unwrap();
        let columns = |names: &[&str]| {
            names
                .iter()
                .map(|n| Column {
                    name: n.to_string(),
                    is_jit: false,
                })
                .collect()
        };
        let agreeing = Lineup {
            engines: vec![Box::new(Revm), Box::new(Revm)],
            columns: columns(&["revm", "revm2"]),
        };
        let r = bench_case(&case, &agreeing, &setup, &timing(), &mut Seen::new()).unwrap();
        assert_eq!(r.engines.len(), 2);
        assert!(r.engines.iter().all(|e| e.steady.samples == 2));

        let disagreeing = Lineup {
            engines: vec![Box::new(Corrupt), Box::new(Revm)],
            columns: columns(&["corrupt", "revm"]),
        };
        let err = bench_case(&case, &disagreeing, &setup, &timing(), &mut Seen::new())
            .err()
            .expect("a mismatch must fail the case");
        assert!(err.contains("mismatch corrupt vs revm: output"), "{err}");
    }

    #[test]
    fn a_case_that_fails_everywhere_is_an_error() {
        // The synthetic recursion needs EIP-150; at Frontier every engine fails it alike.
        let case = synth::cases()
            .into_iter()
            .find(|c| c.name.starts_with("synth/call/recursion"))
            .unwrap();
        let setup = Setup::new(&case, EVMC_FRONTIER, GasChoice::FromCase).unwrap();
        let lineup = Lineup {
            engines: vec![Box::new(Revm)],
            columns: vec![Column {
                name: "revm".into(),
                is_jit: false,
            }],
        };
        let err = bench_case(&case, &lineup, &setup, &timing(), &mut Seen::new())
            .err()
            .expect("no number for a failing case");
        assert!(err.contains("does not succeed"), "{err}");
    }

    /// What the test command runs to keep the harness alive: dtvm against revm on a few cases,
    /// including evmone-bench's Istanbul/i64::MAX convention. Fails on any disagreement.
    #[test]
    fn smoke_run_passes() {
        let opts = Options {
            smoke: true,
            ..Options::default()
        };
        assert_eq!(bench(opts, &Lines), 0);
    }
}
