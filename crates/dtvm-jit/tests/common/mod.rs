//! The shared test kit (`crates/dtvm-testkit`): its host with the engine a test picks (nested
//! calls run in the same engine as the outer frame, so a differential run compares whole call
//! trees), its program generator and its RNG.
pub(crate) use dtvm_testkit::*;
