//! The interpreter's tests use the shared test host (`crates/dtvm-testkit`), whose default
//! engine is this crate's `execute`; the state-test host is the full one.
pub(crate) use dtvm_testkit::*;
