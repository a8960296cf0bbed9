//! dtvm's robustness suite, shared by the integration tests in `tests/tests` and the fuzz targets
//! in `fuzz/`.
//!
//! * [`modes`]: every execution mode the plugin accepts, as loaded [`evmc_vm::Vm`]s; modes the
//!   build refuses are skipped with a note, so JIT modes join the suite when they land.
//! * [`world`]: the pre-state, transaction and block a scenario runs in, and the [`Outcome`]
//!   both engines are compared on.
//! * [`host`]: an in-memory EVMC host that runs whole transactions through the C ABI, nested
//!   calls included (it re-enters the VM for them).
//! * [`reference`]: the same transaction on revm, through its full transaction path.
//! * [`gen`]: random programs with valid control flow, loops, nested calls and creates.
//!
//! [`Outcome`]: world::Outcome

pub mod gen;
pub mod host;
pub mod modes;
pub mod reference;
pub mod rng;
pub mod world;
