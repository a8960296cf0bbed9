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
}

impl From<Engine> for Exec {
    fn from(engine: Engine) -> Exec {
        match engine {
            Engine::Interp => dtvm_interp::execute,
            Engine::Multipass => {
                |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, false)
            }
            Engine::Lazy => |ctx, rev, msg, code| dtvm_jit::execute(ctx, rev, msg, code, true),
        }
    }
}
