//! `dtvm run`: one bytecode, one call, in each chosen engine; prints what each produced and
//! whether they agree. It shares the bench's engines and hosts (a dtvm `evmc_vm` driven through
//! the C ABI with an in-memory host, revm through its transaction path), so what it shows is what
//! a client of the plugin would get.
use super::cases::Case;
use super::engines::{DtvmEngine, Engine, GasChoice, ModeStatus, Outcome, Revm, Setup};
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

/// What `dtvm run` runs, parsed by the CLI.
pub struct Options {
    /// Engines to run, in order: `interpreter`, `multipass`, `lazy`, `revm`.
    pub modes: Vec<String>,
    /// EVM revision, the same for every engine.
    pub rev: Revision,
    /// Execution gas of the call (positive).
    pub gas: i64,
    /// Call data.
    pub input: Vec<u8>,
    /// The contract's runtime bytecode.
    pub code: Vec<u8>,
    /// Set the VM's `trace` option: an EIP-3155 trace of each dtvm engine's run on stderr.
    pub trace: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            modes: ["interpreter", "multipass", "lazy"]
                .map(String::from)
                .to_vec(),
            rev: EVMC_CANCUN,
            gas: 10_000_000,
            input: Vec::new(),
            code: Vec::new(),
            trace: false,
        }
    }
}

/// Runs the call in every chosen engine; returns the exit status: 0 when every engine produced
/// the same status, output, gas used and refund, 1 when not or when one failed to run, 2 when a
/// mode is unavailable or the setup is impossible.
pub fn run(opts: Options) -> i32 {
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
            if opts.trace {
                if let Err(why) = e.set_option("trace", "1") {
                    eprintln!("dtvm run: cannot trace: {why}");
                    return 2;
                }
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
    use crate::hex;

    #[test]
    fn a_program_runs_in_every_mode_and_agrees() {
        // 6 * 7, returned as a word.
        let opts = Options {
            modes: crate::ENGINE_NAMES.map(String::from).to_vec(),
            code: hex("600660070260005260206000f3").unwrap(),
            ..Options::default()
        };
        assert_eq!(run(opts), 0);
        // An input echoed back: CALLDATASIZE, 0, 0, CALLDATACOPY; CALLDATASIZE, 0, RETURN.
        let opts = Options {
            code: hex("366000600037366000f3").unwrap(),
            input: vec![0xab, 0xcd, 0xef],
            ..Options::default()
        };
        assert_eq!(run(opts), 0);
    }
}
