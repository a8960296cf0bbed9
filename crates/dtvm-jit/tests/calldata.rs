//! CALLDATALOAD in compiled code reads a word inside the input inline and calls the runtime's
//! rule otherwise: around the input's end, past it, and at offsets of 2^32 and beyond, with the
//! offset a constant or a run-time value, the word must be the interpreter's.

mod common;
use common::*;
use dtvm_core::U256;

fn push32(v: U256) -> String {
    format!("7f{}", hex_of(&v.to_be_bytes::<32>()))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn words_around_the_input_end_match_the_interpreter() {
    let mut checked = 0;
    for len in [0usize, 1, 31, 32, 33, 64, 100] {
        let input: Vec<u8> = (0..len).map(|i| 0xa0 ^ i as u8).collect();
        let mut offsets: Vec<U256> = [0u64, 1, 31, 32, 33, 68, u32::MAX as u64, 1 << 32, u64::MAX]
            .into_iter()
            .map(U256::from)
            .collect();
        for near in [
            len as i64 - 33,
            len as i64 - 32,
            len as i64 - 31,
            len as i64 - 1,
        ] {
            if near >= 0 {
                offsets.push(U256::from(near as u64));
            }
        }
        offsets.extend([U256::from(1u8) << 64, U256::MAX]);
        for offset in offsets {
            // The offset as a constant, and as a run-time value (through memory).
            let constant = push32(offset);
            let dynamic = format!("{constant}600052600051");
            for load in [constant, dynamic] {
                let code = hex(&format!("{load}3560005260206000f3"));
                let what = format!("len {len}, offset {offset}");
                assert_jit_matches_interpreter(&code, &input, 1, &what);
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "{checked}");
}
