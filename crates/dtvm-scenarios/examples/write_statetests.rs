//! Writes the scenarios as state-test fixtures, one file per scenario, for `dtvm statetest`:
//!
//! ```text
//! cargo run --release -p dtvm-scenarios --example write_statetests -- target/scenario-state-tests
//! target/release/dtvm statetest --mode lazy target/scenario-state-tests
//! ```
//! Expected results come from revm (see `dtvm_scenarios::statetests`).
use dtvm_scenarios::{build_all, statetests};
use std::path::PathBuf;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: write_statetests DIR");
        std::process::exit(2);
    };
    let result = build_all().and_then(|s| statetests::write_dir(&s, &dir).map(|p| (s, p)));
    match result {
        Ok((scenarios, paths)) => {
            for (s, p) in scenarios.iter().zip(paths) {
                println!("{}: {} tests", p.display(), s.steps.len());
            }
        }
        Err(e) => {
            eprintln!("write_statetests: {e}");
            std::process::exit(1);
        }
    }
}
