//! Statistics and the markdown/JSON output of a run.
use std::fmt::Write as _;
use std::time::Duration;

pub(crate) struct Stats {
    /// The samples in round order, microseconds.
    pub rounds: Vec<f64>,
    pub median: f64,
    pub p25: f64,
    pub p75: f64,
    pub min: f64,
    pub samples: usize,
}

impl Stats {
    /// Order statistics of the samples, in microseconds.
    pub(crate) fn of(samples: &[Duration]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let rounds: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        let mut us = rounds.clone();
        us.sort_by(f64::total_cmp);
        let q = |p: f64| {
            // Linear interpolation between closest ranks.
            let x = p * (us.len() - 1) as f64;
            let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
            us[lo] + (us[hi] - us[lo]) * (x - lo as f64)
        };
        Stats {
            rounds,
            median: q(0.5),
            p25: q(0.25),
            p75: q(0.75),
            min: us[0],
            samples: us.len(),
        }
    }
}

pub(crate) struct EngineResult {
    pub steady: Stats,
    /// The first execution of the case on this engine, in microseconds.
    pub first_call: f64,
    /// Whether that first execution was the first time this engine saw the code in this
    /// process (so it includes analysis or compilation, not just cold caches).
    pub first_sight: bool,
}

pub(crate) struct CaseResult {
    pub name: String,
    pub code_size: usize,
    /// The JIT's counters for the contract (shared by both JIT modes), once its background
    /// compilation is done or after a bounded wait; `None` without a JIT mode.
    pub jit: Option<dtvm_jit::SegmentStats>,
    pub gas_used: u64,
    /// One entry per engine, in column order.
    pub engines: Vec<EngineResult>,
}

impl CaseResult {
    pub(crate) fn group(&self) -> &str {
        self.name.split('/').next().unwrap_or("")
    }
}

pub(crate) struct Column {
    pub name: String,
    /// JIT modes get first-call and compile figures.
    pub is_jit: bool,
}

/// Microseconds with three significant digits or whole numbers.
pub(crate) fn us(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median over rounds of `a[round] / b[round]`. Both engines ran in the same round, so a
/// load change on the machine between rounds affects both sides of each ratio alike.
pub(crate) fn paired_ratio(a: &Stats, b: &Stats) -> f64 {
    median(a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect())
}

fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| *v <= 0.0) {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

/// The main table: median steady-state time per engine, first-call time for JIT modes, ratios
/// to revm and to the interpreter (paired per round, time / reference: below 1 is faster), and
/// geometric means per group.
pub(crate) fn markdown(columns: &[Column], results: &[CaseResult]) -> String {
    let revm = columns.iter().position(|c| c.name == "revm");
    let interp = columns.iter().position(|c| c.name == "interpreter");
    // (header, value of a case) for every numeric column after the case name.
    type Getter<'a> = Box<dyn Fn(&CaseResult) -> f64 + 'a>;
    let mut cols: Vec<(String, Getter<'_>, bool)> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        cols.push((
            format!("{} µs", c.name),
            Box::new(move |r| r.engines[i].steady.median),
            false,
        ));
        if c.is_jit {
            cols.push((
                format!("{} 1st call µs", c.name),
                Box::new(move |r| r.engines[i].first_call),
                false,
            ));
        }
    }
    let ratio = |i: usize, j: usize| -> Getter<'_> {
        Box::new(move |r: &CaseResult| paired_ratio(&r.engines[i].steady, &r.engines[j].steady))
    };
    if let Some(j) = revm {
        for (i, c) in columns.iter().enumerate().filter(|(i, _)| *i != j) {
            cols.push((format!("{}/revm", c.name), ratio(i, j), true));
        }
    }
    if let Some(j) = interp {
        for (i, c) in columns.iter().enumerate() {
            if c.is_jit {
                cols.push((format!("{}/interp", c.name), ratio(i, j), true));
            }
        }
    }

    let mut out = String::new();
    let _ = write!(out, "| case | gas used |");
    for (h, _, _) in &cols {
        let _ = write!(out, " {h} |");
    }
    let _ = write!(out, "\n|---|---:|");
    for _ in &cols {
        out.push_str("---:|");
    }
    out.push('\n');
    let fmt = |v: f64, is_ratio: bool| {
        if is_ratio {
            format!("{v:.2}")
        } else {
            us(v)
        }
    };
    for r in results {
        let _ = write!(out, "| {} | {} |", r.name, r.gas_used);
        for (_, get, is_ratio) in &cols {
            let _ = write!(out, " {} |", fmt(get(r), *is_ratio));
        }
        out.push('\n');
    }
    let mut groups: Vec<&str> = results.iter().map(|r| r.group()).collect();
    groups.dedup();
    for g in groups {
        let members: Vec<&CaseResult> = results.iter().filter(|r| r.group() == g).collect();
        let _ = write!(out, "| **geomean {g}/** ({} cases) | |", members.len());
        for (_, get, is_ratio) in &cols {
            let values: Vec<f64> = members.iter().map(|r| get(r)).collect();
            let cell = geomean(&values).map_or("-".into(), |v| fmt(v, *is_ratio));
            let _ = write!(out, " **{cell}** |");
        }
        out.push('\n');
    }
    out
}

/// A first call no slower than the median means the compile cost is below the noise of the
/// machine, not that compiling saved time.
fn compile_estimate(diff: f64) -> String {
    if diff > 0.0 {
        us(diff)
    } else {
        "≈ 0 (below noise)".into()
    }
}

/// Per contract and dtvm mode, the first execution (which analyses, and compiles in the JIT
/// modes) against the steady state; the interpreter's row is the baseline a cold JIT call is
/// compared with.
pub(crate) fn compile_table(columns: &[Column], results: &[CaseResult]) -> Option<String> {
    let mut out = String::from(
        "| first case of a contract | code bytes | mode | 1st call µs | steady µs | 1st − steady µs (≈ analysis + compile) | segments compiled | compile ms, all (µs per compiled byte) |\n|---|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let mut any = false;
    for r in results {
        for (c, e) in columns.iter().zip(&r.engines) {
            if (c.is_jit || c.name == "interpreter") && e.first_sight {
                any = true;
                let (segments, compile) = match (&r.jit, c.is_jit) {
                    (Some(j), true) => {
                        let ms = j.compile_nanos as f64 / 1e6;
                        let deferred = if j.deferred > 0 {
                            format!(", {} deferred", j.deferred)
                        } else {
                            String::new()
                        };
                        (
                            format!("{} of {}{deferred}", j.compiled, j.segments),
                            format!("{ms:.1} ({:.1})", ms * 1e3 / j.compiled_bytes.max(1) as f64),
                        )
                    }
                    _ => (String::new(), String::new()),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    r.name,
                    r.code_size,
                    c.name,
                    us(e.first_call),
                    us(e.steady.median),
                    compile_estimate(e.first_call - e.steady.median),
                    segments,
                    compile
                );
            }
        }
    }
    out.push_str(
        "\nFirst calls run in column order, so code analysis that dtvm's modes share is counted \
         for the first dtvm mode listed; run one mode alone (`--mode lazy`) for its whole cold cost.\n",
    );
    any.then_some(out)
}

pub(crate) fn json(
    columns: &[Column],
    results: &[CaseResult],
    meta: serde_json::Value,
    errors: &[(String, String)],
) -> serde_json::Value {
    use serde_json::json;
    let cases: Vec<_> = results
        .iter()
        .map(|r| {
            let engines: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .zip(&r.engines)
                .map(|(c, e)| {
                    let s = &e.steady;
                    (
                        c.name.clone(),
                        json!({
                            "median_us": s.median, "p25_us": s.p25, "p75_us": s.p75,
                            "min_us": s.min, "samples": s.samples,
                            "first_call_us": e.first_call, "first_sight_of_code": e.first_sight,
                        }),
                    )
                })
                .collect();
            json!({"name": r.name, "code_size": r.code_size, "gas_used": r.gas_used, "engines": engines})
        })
        .collect();
    let errors: Vec<_> = errors
        .iter()
        .map(|(c, m)| json!({"case": c, "error": m}))
        .collect();
    json!({"meta": meta, "cases": cases, "errors": errors})
}

/// Today's UTC date as YYYY-MM-DD (days-to-civil conversion; no date crate needed for this).
pub(crate) fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate() {
        let d: Vec<Duration> = [4u64, 1, 3, 2]
            .iter()
            .map(|&v| Duration::from_micros(v))
            .collect();
        let s = Stats::of(&d);
        assert_eq!((s.min, s.median, s.samples), (1.0, 2.5, 4));
        assert!((s.p25 - 1.75).abs() < 1e-9 && (s.p75 - 3.25).abs() < 1e-9);
        assert_eq!(s.rounds, [4.0, 1.0, 3.0, 2.0]);
    }

    #[test]
    fn paired_ratio_follows_rounds_not_sorted_order() {
        let a = Stats::of(&[10, 40, 20].map(Duration::from_micros));
        let b = Stats::of(&[5, 20, 10].map(Duration::from_micros));
        assert_eq!(paired_ratio(&a, &b), 2.0);
        // Unpaired medians give 10 / 10 = 1; the rounds' ratios are 0.5, 3 and 2.
        let e = Stats::of(&[10, 30, 10].map(Duration::from_micros));
        let f = Stats::of(&[20, 10, 5].map(Duration::from_micros));
        assert_eq!(paired_ratio(&e, &f), 2.0);
    }

    fn result(name: &str, times: &[(f64, f64, bool)]) -> CaseResult {
        CaseResult {
            jit: None,
            name: name.into(),
            code_size: 100,
            gas_used: 21,
            engines: times
                .iter()
                .map(|&(steady, first, first_sight)| EngineResult {
                    steady: Stats::of(&[Duration::from_secs_f64(steady / 1e6)]),
                    first_call: first,
                    first_sight,
                })
                .collect(),
        }
    }

    #[test]
    fn jit_columns_ratios_and_compile_rows() {
        let columns: Vec<Column> = [("interpreter", false), ("multipass", true), ("revm", false)]
            .map(|(n, is_jit)| Column {
                name: n.into(),
                is_jit,
            })
            .into();
        let results = [
            result(
                "main/a/x",
                &[(40.0, 50.0, true), (10.0, 510.0, true), (20.0, 30.0, true)],
            ),
            result(
                "main/a/y",
                &[
                    (160.0, 170.0, false),
                    (40.0, 45.0, false),
                    (80.0, 90.0, false),
                ],
            ),
        ];
        let md = markdown(&columns, &results);
        let header = md.lines().next().unwrap();
        assert_eq!(
            header,
            "| case | gas used | interpreter µs | multipass µs | multipass 1st call µs | revm µs \
             | interpreter/revm | multipass/revm | multipass/interp |"
        );
        assert!(md.contains("| main/a/x | 21 | 40.0 | 10.0 | 510 | 20.0 | 2.00 | 0.50 | 0.25 |"));
        // Geometric means: sqrt(40 * 160) = 80, ratios are equal in both cases.
        assert!(
            md.contains("| **geomean main/** (2 cases) | | **80.0** |"),
            "{md}"
        );
        let compile = compile_table(&columns, &results).unwrap();
        assert!(compile.contains("| main/a/x | 100 | multipass | 510 | 10.0 | 500 |"));
        assert!(
            !compile.contains("main/a/y"),
            "only first sights are compile rows"
        );
        let noisy = [result(
            "main/b/z",
            &[(40.0, 50.0, true), (10.0, 9.0, true), (20.0, 30.0, true)],
        )];
        let compile = compile_table(&columns, &noisy).unwrap();
        assert!(
            compile.contains("| multipass | 9.00 | 10.0 | ≈ 0 (below noise) |"),
            "{compile}"
        );
    }

    #[test]
    fn geomean_of_ratios() {
        assert!((geomean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
        assert!(geomean(&[]).is_none());
    }
}
