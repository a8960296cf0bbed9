//! Raw bytes as code and calldata in every mode (and revm where comparable): no crash, identical results.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dtvm_tests::fuzz::raw_bytecode(data));
