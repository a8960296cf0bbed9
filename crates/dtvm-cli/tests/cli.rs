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
