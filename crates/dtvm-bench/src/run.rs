//! `dtvm run`: one bytecode, one call, in each chosen engine; prints what each produced and
//! whether they agree. It shares the bench's engines and hosts (a dtvm `evmc_vm` driven through
//! the C ABI with an in-memory host, revm through its transaction path), so what it shows is what
//! a client of the plugin would get.
use super::cases::{hex, Case};
use super::engines::{self, DtvmEngine, Engine, GasChoice, ModeStatus, Outcome, Revm, Setup};
use super::synth;
use evmc_vm::sys::EVMC_CANCUN;
use evmc_vm::Revision;
use std::io::Write;

/// Prints a line; a closed stdout (`dtvm run ... | head`) is not an error worth a panic.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

const USAGE: &str = "\
usage: dtvm run [--mode interpreter,multipass,lazy,revm] [--rev NAME] [--gas N] [--input HEX]
                CODE
  CODE     the contract's runtime bytecode: hex (0x optional), or @FILE holding hex
  --mode   engines to run, in order (default: interpreter,multipass,lazy)
  --rev    EVM revision (default cancun)
  --gas    execution gas of the call (default 10000000)
  --input  call data, hex
Exit status: 0 when every engine produced the same status, output, gas used and refund.";

struct Options {
    modes: Vec<String>,
    rev: Revision,
    gas: i64,
    input: Vec<u8>,
    code: Vec<u8>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        modes: ["interpreter", "multipass", "lazy"]
            .map(String::from)
            .to_vec(),
        rev: EVMC_CANCUN,
        gas: 10_000_000,
        input: Vec::new(),
        code: Vec::new(),
    };
    let mut code = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--mode" | "--modes" => o.modes = engines::parse_modes(&value()?)?,
            "--rev" => o.rev = engines::revision_named(&value()?)?,
            "--gas" => {
                o.gas = value()?.parse().map_err(|_| "--gas takes a number")?;
                if o.gas <= 0 {
                    return Err("--gas must be positive".into());
                }
            }
            "--input" => o.input = hex(value()?.trim())?,
            "-h" | "--help" => return Err(String::new()),
            a if a.starts_with("--") => return Err(format!("unknown option {a}")),
            a if code.is_none() => code = Some(a.to_owned()),
            a => return Err(format!("unexpected argument {a}")),
        }
    }
    let code = code.ok_or("no CODE given")?;
    let text = match code.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => code,
    };
    o.code = hex(text.trim())?;
    Ok(o)
}

pub fn main(args: &[String]) -> i32 {
    let opts = match crate::options("dtvm run", USAGE, parse(args)) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let case: Case = synth::adhoc(opts.code, opts.input);
    let setup = match Setup::new(&case, opts.rev, GasChoice::Execution(opts.gas)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dtvm run: {e}");
            return 2;
        }
    };
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    for mode in &opts.modes {
        let engine: Box<dyn Engine> = if mode == "revm" {
            Box::new(Revm)
        } else {
            let (e, status) = DtvmEngine::new(mode);
            if let ModeStatus::Unavailable(why) = status {
                eprintln!("dtvm run: mode {mode} unavailable: {why}");
                return 2;
            }
            Box::new(e)
        };
        let ran = engine
            .runner(&case, &setup)
            .and_then(|mut r| r.run_checked());
        match ran {
            Ok((took, o)) => {
                say!(
                    "{mode:>11}: {:<24} gas used {:>10}  refund {:>8}  {:>9.1?}  output 0x{}",
                    o.detail,
                    o.gas_used,
                    o.refund.map_or("-".into(), |r| r.to_string()),
                    took,
                    o.output
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                );
                outcomes.push((mode.clone(), o));
            }
            Err(e) => {
                eprintln!("dtvm run: {mode}: {e}");
                return 1;
            }
        }
    }
    let Some(((first_mode, first), rest)) = outcomes.split_first() else {
        return 0;
    };
    let mut agree = true;
    for (mode, o) in rest {
        if let Some(why) = first.diff(o) {
            say!("{mode} differs from {first_mode}: {why}");
            agree = false;
        }
    }
    if agree && !rest.is_empty() {
        say!("all {} engines agree", outcomes.len());
    }
    if agree {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn a_program_runs_in_every_mode_and_agrees() {
        // 6 * 7, returned as a word.
        let code = "60066007026000526020".to_owned() + "6000f3";
        assert_eq!(
            main(&args(&format!(
                "--mode interpreter,multipass,lazy,revm {code}"
            ))),
            0
        );
        // An input echoed back: CALLDATASIZE, 0, 0, CALLDATACOPY; CALLDATASIZE, 0, RETURN.
        let echo = "366000600037366000f3";
        assert_eq!(main(&args(&format!("--input 0xabcdef {echo}"))), 0);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert_eq!(main(&args("")), 2);
        assert_eq!(main(&args("--mode jit 00")), 2);
        assert_eq!(main(&args("--gas -5 00")), 2);
        assert_eq!(main(&args("0x0")), 2);
        assert_eq!(main(&args("--rev nope 00")), 2);
    }
}
