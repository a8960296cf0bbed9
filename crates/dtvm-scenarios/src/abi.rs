//! Solidity ABI encoding by hand, for the handful of shapes the scenarios call: static words
//! (addresses, unsigned and signed integers, booleans) and `bytes` tails. Selectors are computed
//! from their signatures (first 4 bytes of keccak256), never written as magic numbers.
use alloy_primitives::{keccak256, Address, U256};

/// One argument of a call or constructor.
#[derive(Clone, Debug)]
pub enum Arg {
    /// A static value, already a 32-byte word.
    Word([u8; 32]),
    /// A dynamic `bytes` value: an offset in the head, length and padded data in the tail.
    Bytes(Vec<u8>),
}

/// An `address`.
pub fn addr(a: Address) -> Arg {
    Arg::Word(U256::from_be_slice(a.as_slice()).to_be_bytes())
}

/// A `uint<N>`.
pub fn uint(v: U256) -> Arg {
    Arg::Word(v.to_be_bytes())
}

/// A `uint<N>` from a small value.
pub fn uint_u64(v: u64) -> Arg {
    uint(U256::from(v))
}

/// A signed integer of any width up to 256 bits (`int24`, `int256`): two's complement,
/// sign-extended to the word as the ABI requires.
pub fn int(v: i128) -> Arg {
    let magnitude = U256::from(v.unsigned_abs());
    let word = if v < 0 {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    uint(word)
}

/// A `bool`.
pub fn boolean(b: bool) -> Arg {
    uint_u64(u64::from(b))
}

/// A `bytes`.
pub fn bytes(b: &[u8]) -> Arg {
    Arg::Bytes(b.to_vec())
}

/// The 4-byte function selector of a canonical signature such as `transfer(address,uint256)`.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// The head/tail encoding of a tuple of arguments (constructor arguments, callback data).
pub fn encode_args(args: &[Arg]) -> Vec<u8> {
    let head_len = 32 * args.len();
    let mut head = Vec::with_capacity(head_len);
    let mut tail = Vec::new();
    for a in args {
        match a {
            Arg::Word(w) => head.extend_from_slice(w),
            Arg::Bytes(b) => {
                let offset = U256::from(head_len + tail.len());
                head.extend_from_slice(&offset.to_be_bytes::<32>());
                tail.extend_from_slice(&U256::from(b.len()).to_be_bytes::<32>());
                tail.extend_from_slice(b);
                tail.resize(tail.len().next_multiple_of(32), 0);
            }
        }
    }
    head.extend_from_slice(&tail);
    head
}

/// Calldata of a call: the selector of `signature`, then the encoded arguments.
pub fn call(signature: &str, args: &[Arg]) -> Vec<u8> {
    let mut data = selector(signature).to_vec();
    data.extend_from_slice(&encode_args(args));
    data
}

/// The `n`th 32-byte word of ABI-encoded output.
pub fn word_at(output: &[u8], n: usize) -> Option<U256> {
    output.get(32 * n..32 * (n + 1)).map(U256::from_be_slice)
}

/// The address in the `n`th word of ABI-encoded output.
pub fn address_at(output: &[u8], n: usize) -> Option<Address> {
    output
        .get(32 * n + 12..32 * (n + 1))
        .map(Address::from_slice)
}

/// The `n`th word read as a signed integer of up to 128 bits (`int24` ticks, `int256` amounts
/// within range); `None` when it does not fit.
pub fn int_at(output: &[u8], n: usize) -> Option<i128> {
    let w = word_at(output, n)?;
    if w.bit(255) {
        i128::try_from(w.wrapping_neg()).ok().map(|m| -m)
    } else {
        i128::try_from(w).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_the_published_ones() {
        // ERC-20's transfer selector as every token list and explorer shows it.
        assert_eq!(
            selector("transfer(address,uint256)"),
            [0xa9, 0x05, 0x9c, 0xbb]
        );
        assert_eq!(selector("balanceOf(address)"), [0x70, 0xa0, 0x82, 0x31]);
    }

    #[test]
    fn dynamic_bytes_go_to_the_tail_and_ints_are_sign_extended() {
        let enc = encode_args(&[int(-60), bytes(&[1, 2, 3]), uint_u64(7)]);
        assert_eq!(enc.len(), 32 * 3 + 32 + 32);
        assert_eq!(int_at(&enc, 0), Some(-60));
        assert!(enc[..32].iter().take(31).all(|b| *b == 0xff));
        assert_eq!(word_at(&enc, 1), Some(U256::from(96)));
        assert_eq!(word_at(&enc, 2), Some(U256::from(7)));
        assert_eq!(word_at(&enc, 3), Some(U256::from(3)));
        assert_eq!(&enc[128..131], &[1, 2, 3]);
    }
}
