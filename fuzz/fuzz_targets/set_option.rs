//! Sequences of set_option calls with arbitrary names and values, checked against a model of the options.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dtvm_tests::fuzz::set_option(data));
