//! dtvm's execution modes as loaded VMs.
use ::evmc_vm::sys::*;
use ::evmc_vm::Vm;
use std::io::Write;
use std::sync::Once;

/// Every mode the plugin has a name for, in the order results are compared (the first available
/// one is the baseline).
pub const MODES: [&str; 3] = ["interpreter", "multipass", "lazy"];

/// A fresh dtvm VM in `mode`, or why the VM refused the mode.
pub fn vm(mode: &str) -> Result<Vm, String> {
    // SAFETY: `create` returns a fresh VM that only this `Vm` owns and destroys.
    let vm = unsafe { Vm::from_raw(dtvm::create()) };
    match vm.set_option("mode", mode) {
        EVMC_SET_OPTION_SUCCESS => Ok(vm),
        EVMC_SET_OPTION_INVALID_VALUE => Err("set_option(mode) returned INVALID_VALUE".into()),
        other => Err(format!("set_option(mode) returned {other}")),
    }
}

/// One VM per mode this build runs. Refused modes are reported once per process on stderr,
/// bypassing the test harness's capture so the note shows in every run.
pub fn available() -> Vec<(&'static str, Vm)> {
    static NOTE: Once = Once::new();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for mode in MODES {
        match vm(mode) {
            Ok(vm) => out.push((mode, vm)),
            Err(why) => skipped.push(format!("{mode} ({why})")),
        }
    }
    NOTE.call_once(|| {
        if !skipped.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "note: dtvm-tests skips modes this build refuses: {}",
                skipped.join(", ")
            );
        }
    });
    assert!(
        out.first().is_some_and(|(m, _)| *m == "interpreter"),
        "the interpreter must always be available"
    );
    out
}
