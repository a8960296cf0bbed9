//! The shared test host (`crates/dtvm-testkit`) with the engine a test picks: nested calls run
//! in the same engine as the outer frame, so a differential run compares whole call trees.
#![allow(dead_code)]

pub mod gen;

pub use dtvm_testkit::*;

/// Which engine executes frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    #[default]
    Interp,
    Multipass,
    Lazy,
    Tiered,
}

impl From<Engine> for Exec {
    fn from(engine: Engine) -> Exec {
        match engine {
            Engine::Interp => dtvm_interp::execute,
            Engine::Multipass => {
                |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, false)
            }
            Engine::Lazy => |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, true),
            Engine::Tiered => dtvm_jit::execute_tiered,
        }
    }
}

/// Everything a run of `code` at Cancun with 300,000 gas observably produces, for comparing
/// engines: status, gas left, refund, output and logs.
pub fn outcome(engine: Engine, code: &[u8], input: &[u8]) -> (i32, i64, i64, Vec<u8>, Vec<Log>) {
    let h = MockHost::with_engine(dtvm_core::CANCUN, engine);
    let r = h.run(code, 300_000, input);
    (
        r.status_code,
        r.gas_left,
        r.gas_refund,
        r.output,
        h.logs.take(),
    )
}
