//! Generated programs (valid jumps, loops, nested calls, creates, memory growth) steered by the fuzzer's bytes, against revm and across modes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dtvm_tests::fuzz::structured(data));
