//! `dtvm bench`: dtvm's execution modes against revm on the evm-benchmarks suite and on
//! synthetic cases.
//!
//! Per case: every engine runs once and the results (status, output, gas used, refund; for
//! synthetic cases also the output a Rust model predicts) must agree, or the case is an error
//! and gets no number. Then warm-up runs, then rounds in which each engine runs once, in an order
//! that rotates every round so no engine always follows the same one. Each run is timed alone
//! with `Instant`; the pre-state is restored between runs, outside the timed region. Reported
//! times are medians over rounds.
mod asm;
mod cases;
mod engines;
mod host;
mod report;
mod synth;

use cases::Case;
use engines::{DtvmEngine, GasChoice, ModeStatus, RevmRunner, Runner, Setup};
use evmc_vm::sys::{EVMC_CANCUN, EVMC_ISTANBUL};
use evmc_vm::Revision;
use regex::Regex;
use report::{CaseResult, Column, EngineResult, Stats};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: dtvm bench [--mode interpreter,multipass,lazy,revm] [--filter REGEX] [--iters N]
                  [--json FILE] [--rev NAME] [--gas N|max] [--time SECONDS] [--suite DIR]
                  [--list] [--smoke]
  --mode    engines to compare (default: all four); a dtvm mode the VM refuses is skipped
  --filter  only cases whose name (<group>/<file>/<label>) matches REGEX
  --iters   timed rounds per case (default: as many as fit in --time, at least 10)
  --time    seconds per case for the adaptive round count (default 1)
  --rev     EVM revision, same on both sides (default cancun)
  --gas     execution gas per case; `max` is i64::MAX, evmone-bench's convention (use it with
            --rev istanbul to reproduce evmone-bench's setup); default: the suite's 1e9
            transaction gas minus intrinsic gas
  --suite   evm-benchmarks directory (default: ../shared/benchmarks/evm-benchmarks)
  --list    print the selected case names and exit
  --smoke   a few cheap cases, few rounds, plus one case at Istanbul with i64::MAX gas:
            checks the harness and the engines' agreement (exit 1 on any mismatch)";

/// The cases `--smoke` runs: one Solidity contract with calldata, one memory-heavy micro case,
/// one with nested calls. Cheap enough for a test run.
const SMOKE_CASES: [&str; 3] = [
    "main/structarray_alloc/nfts_rank",
    "micro/memory_grow_mstore/by1",
    "synth/call/recursion_256x8",
];
/// The evmone-bench convention (Istanbul, i64::MAX gas) is smoke-tested on this case.
const SMOKE_EVMONE_CASE: &str = "main/sha1_divs/5311";
const SMOKE_ROUNDS: usize = 3;

struct Options {
    modes: Vec<String>,
    filter: Option<Regex>,
    iters: Option<usize>,
    json: Option<String>,
    rev: Revision,
    gas: GasChoice,
    time: Duration,
    suite: Option<String>,
    list: bool,
    smoke: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        modes: ["interpreter", "multipass", "lazy", "revm"]
            .map(String::from)
            .to_vec(),
        filter: None,
        iters: None,
        json: None,
        rev: EVMC_CANCUN,
        gas: GasChoice::FromCase,
        time: Duration::from_secs(1),
        suite: None,
        list: false,
        smoke: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--mode" | "--modes" => {
                o.modes = value()?.split(',').map(|m| m.trim().to_owned()).collect();
                for m in &o.modes {
                    if !["interpreter", "multipass", "lazy", "revm"].contains(&m.as_str()) {
                        return Err(format!("unknown mode {m}"));
                    }
                }
            }
            "--filter" => {
                o.filter = Some(Regex::new(&value()?).map_err(|e| e.to_string())?);
            }
            "--iters" => {
                let n: usize = value()?.parse().map_err(|_| "--iters takes a number")?;
                o.iters = Some(n.max(1));
            }
            "--time" => {
                let s: f64 = value()?.parse().map_err(|_| "--time takes seconds")?;
                o.time = Duration::from_secs_f64(s.max(0.0));
            }
            "--json" => o.json = Some(value()?),
            "--suite" => o.suite = Some(value()?),
            "--rev" => {
                let v = value()?.to_ascii_lowercase();
                o.rev = engines::REVISIONS
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|(_, r)| *r)
                    .ok_or_else(|| format!("unknown revision {v}"))?;
            }
            "--gas" => {
                let v = value()?;
                o.gas = GasChoice::Execution(if v == "max" {
                    i64::MAX
                } else {
                    v.parse().map_err(|_| "--gas takes a number or `max`")?
                });
            }
            "--list" => o.list = true,
            "--smoke" => o.smoke = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(o)
}

pub fn main(args: &[String]) -> i32 {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench: {e}");
            }
            eprintln!("{USAGE}");
            return 2;
        }
    };
    // Nested calls re-enter the engines through native frames (the host's `call` runs the VM
    // again), up to 1024 deep: more than a main thread's stack holds. Both engines run here.
    let worker = std::thread::Builder::new()
        .name("bench".into())
        .stack_size(1 << 30)
        .spawn(move || run(opts));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("bench: the benchmark thread failed");
            3
        }
    }
}

enum Engine {
    Dtvm(DtvmEngine),
    Revm,
}

impl Engine {
    fn runner(&self, case: &Case, setup: &Setup) -> Result<Box<dyn Runner>, String> {
        Ok(match self {
            Engine::Dtvm(e) => Box::new(e.runner(case, setup)),
            Engine::Revm => Box::new(RevmRunner::new(case, setup)?),
        })
    }
}

/// The engines a run compares, with their table columns.
struct Lineup {
    engines: Vec<Engine>,
    columns: Vec<Column>,
}

fn lineup(modes: &[String], notes: &mut Vec<String>) -> Lineup {
    let mut l = Lineup {
        engines: Vec::new(),
        columns: Vec::new(),
    };
    for m in modes {
        let engine = if m == "revm" {
            Engine::Revm
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
            Engine::Dtvm(e)
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

/// Code already executed per engine in this process: a first execution that is also the first
/// sight of the code includes analysis/compilation.
type Seen = HashSet<(usize, Vec<u8>)>;

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
        first.push((d, seen.insert((i, case.code().to_vec()))));
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
        if let Some(want) = &case.expected_output {
            if o.output != *want {
                return Err(format!(
                    "{} output {} differs from the model's {}",
                    names[i],
                    engines::short_hex(&o.output),
                    engines::short_hex(want)
                ));
            }
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
    let rounds = timing.rounds.unwrap_or_else(|| {
        let per_round: Duration = warm_time.iter().sum();
        let fit = timing.budget.as_secs_f64() / per_round.as_secs_f64().max(1e-9);
        (fit as usize).clamp(10, 20_000)
    });
    let n = runners.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (k + round) % n;
            runners[i].reset();
            samples[i].push(runners[i].run_timed());
        }
    }
    Ok(CaseResult {
        name: case.name.clone(),
        code_size: case.code().len(),
        gas_used: outcomes[reference].gas_used,
        engines: samples
            .iter()
            .zip(first)
            .map(|(s, (d, first_sight))| EngineResult {
                steady: Stats::of(s),
                first_call: d.as_secs_f64() * 1e6,
                first_sight,
            })
            .collect(),
    })
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

fn run(opts: Options) -> i32 {
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

    let passes: Vec<Pass> = if opts.smoke {
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
        return 0;
    }
    if passes.iter().all(|p| p.cases.is_empty()) {
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

    let mut seen = Seen::new();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut json_passes = Vec::new();
    for pass in &passes {
        let mut results = Vec::new();
        for case in &pass.cases {
            let started = Instant::now();
            let outcome = Setup::new(case, pass.rev, pass.gas)
                .and_then(|setup| bench_case(case, &lineup, &setup, &timing, &mut seen));
            match outcome {
                Ok(r) => {
                    eprintln!(
                        "{:<40} {:>6.2}s",
                        case.name,
                        started.elapsed().as_secs_f64()
                    );
                    results.push(r);
                }
                Err(e) => {
                    eprintln!("{:<40} ERROR: {e}", case.name);
                    errors.push((case.name.clone(), e));
                }
            }
        }
        println!("\n### {}\n", pass.title);
        if results.is_empty() {
            println!("(no case could be timed)");
        } else {
            println!("{}", report::markdown(&lineup.columns, &results));
            if let Some(t) = report::compile_table(&lineup.columns, &results) {
                println!("{t}");
            }
        }
        json_passes.push(report::json(
            &lineup.columns,
            &results,
            serde_json::json!({
                "title": pass.title,
                "revision": engines::revision_name(pass.rev),
                "gas": gas_label(pass.gas),
            }),
            &errors,
        ));
    }
    println!(
        "{} times are medians of per-call `execute` (dtvm) / `transact` (revm) wall time; \
         ratios are time / reference (below 1 = faster).",
        report::utc_date()
    );
    for n in &notes {
        println!("note: {n}");
    }
    if let Some(path) = &opts.json {
        let doc = serde_json::json!({
            "date": report::utc_date(),
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
