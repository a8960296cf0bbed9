//! The `dtvm` binary as a user meets it: `--version`, `--help` per subcommand, usage errors with
//! exit status 2 (clap's convention), every engine agreeing on a small program, and plain
//! progress lines (no terminal escape codes) when output is piped, as it is here.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dtvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dtvm"))
        .args(args)
        .output()
        .expect("run the dtvm binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn version_prints_the_crate_version() {
    let out = dtvm(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("dtvm {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn every_subcommand_has_help() {
    for (cmd, option) in [
        ("run", "--input"),
        ("statetest", "--fork"),
        ("bench", "--smoke"),
    ] {
        let out = dtvm(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let help = text(&out.stdout);
        assert!(help.contains(&format!("dtvm {cmd}")), "{cmd}: {help}");
        assert!(help.contains(option), "{cmd} help lacks {option}: {help}");
    }
}

#[test]
fn usage_errors_exit_with_status_2() {
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["run"],
        &["run", "--mode", "jit", "00"],
        &["run", "--gas", "-5", "00"],
        &["run", "--gas", "0", "00"],
        &["run", "0x0"],
        &["run", "--rev", "nope", "00"],
        &["run", "@/nonexistent/code.hex"],
        &["statetest"],
        &["statetest", "--fork", "Atlantis", "x.json"],
        &["statetest", "-j", "0", "x.json"],
        &["bench", "--bogus"],
        &["bench", "--mode", "jit"],
        &["bench", "--gas", "-5"],
        &["bench", "--filter", "("],
    ];
    for args in cases {
        let out = dtvm(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "dtvm {args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).is_empty(), "dtvm {args:?} says why");
    }
}

#[test]
fn a_program_runs_in_every_mode_and_agrees() {
    // 6 * 7, returned as a word.
    let out = dtvm(&[
        "run",
        "--mode",
        "interpreter,multipass,lazy,revm",
        "600660070260005260206000f3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("all 4 engines agree"), "{stdout}");
    assert!(stdout.contains(&format!("{:064x}", 42)), "{stdout}");
    // An input echoed back: CALLDATASIZE, 0, 0, CALLDATACOPY; CALLDATASIZE, 0, RETURN.
    let out = dtvm(&["run", "--input=0xabcdef", "366000600037366000f3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("output 0xabcdef"));
}

fn fixture() -> PathBuf {
    // crates/dtvm-cli -> project root -> ../shared/fixtures (the CI layout too).
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/fixtures/state_tests/ethereum-tests-GeneralStateTests/stSStoreTest/sstore_XtoYtoX.json",
    );
    assert!(path.is_file(), "missing fixture {}", path.display());
    path
}

#[test]
fn statetest_piped_prints_plain_lines_and_its_summary() {
    let path = fixture();
    let out = dtvm(&["statetest", "--mode", "interpreter", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with("0 failed, 0 skipped") && !summary.starts_with("0 passed"),
        "{stdout}"
    );
    for s in [&stdout, &stderr] {
        assert!(!s.contains('\x1b'), "escape codes in piped output: {s:?}");
    }
}

#[test]
fn bench_list_names_the_smoke_cases() {
    let out = dtvm(&["bench", "--smoke", "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let names: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert!(
        names.iter().any(|n| n == "main/sha1_divs/5311"),
        "{names:?}"
    );
    assert_eq!(names.len(), 4, "{names:?}");
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn statetest_json_prints_one_record_per_case() {
    let dir = fixture().parent().unwrap().to_path_buf();
    let out = dtvm(&[
        "statetest",
        "--json",
        "--fork",
        "Cancun",
        "--filter",
        "sstore_",
        dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // stdout is the records alone: every line one JSON object.
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = stderr.lines().last().unwrap_or_default();
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 10 && records.len() == passed, "{summary}");
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        assert_eq!(r["pass"], true, "{r}");
        assert_eq!(r["fork"], "Cancun", "{r}");
        assert!(r["name"].as_str().unwrap().starts_with("sstore_"), "{r}");
        for hash in ["stateRoot", "logsHash"] {
            let h = r[hash].as_str().unwrap();
            assert!(h.len() == 66 && h.starts_with("0x"), "{r}");
        }
        assert!(r.get("error").is_none(), "{r}");
        let key = (r["name"].to_string(), r["index"].as_u64().unwrap());
        assert!(seen.insert(key), "one record per (test, index): {r}");
    }
}

/// EIP-3155's per-instruction fields, each with the JSON type the EIP gives it.
fn assert_eip3155_step(l: &serde_json::Value) {
    for n in ["pc", "op", "depth", "memSize"] {
        assert!(l[n].is_u64(), "{n} in {l}");
    }
    for s in ["gas", "gasCost", "refund"] {
        assert!(
            l[s].as_str().is_some_and(|v| v.starts_with("0x")),
            "{s} in {l}"
        );
    }
    assert!(l["stack"].is_array() && l["opName"].is_string(), "{l}");
}

#[test]
fn statetest_trace_writes_eip3155_for_the_case_picked() {
    let path = fixture();
    let out = dtvm(&[
        "statetest",
        "--trace",
        "--fork",
        "Cancun",
        "--index",
        "0",
        "--mode",
        "multipass",
        path.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(text(&out.stdout).contains("1 passed, 0 failed"));
    let lines = json_lines(&stderr);
    let (summary, steps) = lines.split_last().expect("trace lines");
    assert!(steps.len() > 3, "{stderr}");
    steps.iter().for_each(assert_eip3155_step);
    assert!(summary["gasUsed"].is_string() && summary["output"].is_string());
    assert!(
        steps.iter().any(|l| l["opName"] == "SSTORE"),
        "an sstore test stores"
    );
}

#[test]
fn run_trace_writes_eip3155_per_dtvm_engine() {
    // PUSH1 1 PUSH1 2 ADD STOP
    let out = dtvm(&[
        "run",
        "--trace",
        "--mode",
        "interpreter,lazy",
        "600160020100",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = json_lines(&stderr);
    let ops: Vec<&str> = lines.iter().filter_map(|l| l["opName"].as_str()).collect();
    let once = ["PUSH1", "PUSH1", "ADD", "STOP"];
    assert_eq!(ops, [once, once].concat(), "{stderr}");
    lines
        .iter()
        .filter(|l| l.get("pc").is_some())
        .for_each(assert_eip3155_step);
    assert_eq!(
        lines.iter().filter(|l| l.get("gasUsed").is_some()).count(),
        2
    );
}
