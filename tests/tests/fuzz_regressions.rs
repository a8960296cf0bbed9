//! Replays recorded fuzz inputs through the fuzz targets' own checks (`dtvm_tests::fuzz`).
//! A finding from `ci/fuzz.sh` (a file under `fuzz/artifacts/<target>/`) becomes a regression
//! test by copying it into `tests/fuzz-regressions/<target>/` with a descriptive name.
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    for f in files {
        let data = std::fs::read(&f).expect("read input");
        println!("{target}: {}", f.display());
        check(&data);
    }
}

#[test]
fn raw_bytecode() {
    replay("raw_bytecode", dtvm_tests::fuzz::raw_bytecode);
}

#[test]
fn structured() {
    replay("structured", dtvm_tests::fuzz::structured);
}

#[test]
fn set_option() {
    replay("set_option", dtvm_tests::fuzz::set_option);
}
