//! Precompiled contracts by revision, through `revm-precompile`.
//!
//! The sets: ecrecover, sha256, ripemd160, identity from Frontier; modexp and the alt_bn128
//! trio from Byzantium; blake2f and cheaper alt_bn128 from Istanbul; EIP-2565 modexp pricing from
//! Berlin; KZG point evaluation from Cancun; BLS12-381 from Prague; EIP-7823/7883 modexp and
//! p256verify (0x100) from Osaka.
use alloy_primitives::Address;
use evmc_vm::sys;
use evmc_vm::ExecutionResult;
use evmc_vm::Revision;
use revm_precompile::{PrecompileHalt, PrecompileSpecId, PrecompileStatus, Precompiles};

fn spec(rev: Revision) -> PrecompileSpecId {
    match rev {
        r if r >= sys::EVMC_OSAKA => PrecompileSpecId::OSAKA,
        sys::EVMC_PRAGUE => PrecompileSpecId::PRAGUE,
        sys::EVMC_CANCUN => PrecompileSpecId::CANCUN,
        r if r >= sys::EVMC_BERLIN => PrecompileSpecId::BERLIN,
        sys::EVMC_ISTANBUL => PrecompileSpecId::ISTANBUL,
        r if r >= sys::EVMC_BYZANTIUM => PrecompileSpecId::BYZANTIUM,
        _ => PrecompileSpecId::HOMESTEAD,
    }
}

fn set(rev: Revision) -> &'static Precompiles {
    Precompiles::new(spec(rev))
}

/// Whether `addr` is a precompile at `rev` (precompiles are always warm, EIP-2929).
pub fn is_precompile(rev: Revision, addr: &Address) -> bool {
    // Every precompile address is below 2^16; most addresses fail this before the map lookup.
    addr.0[..18].iter().all(|b| *b == 0) && set(rev).contains(addr)
}

/// Runs the precompile at `addr` with `gas`. Failures consume all gas, as in the EVM.
///
/// `Err` carries a message when the precompile library reports a fatal error (not an EVM-level
/// failure): the host records it so the run is reported broken rather than silently wrong.
pub fn call(
    rev: Revision,
    addr: &Address,
    input: &[u8],
    gas: i64,
) -> Result<ExecutionResult, String> {
    let precompile = set(rev)
        .get(addr)
        .ok_or_else(|| format!("{addr} is not a precompile at revision {rev}"))?;
    let gas_limit = u64::try_from(gas).unwrap_or(0);
    let out = precompile
        .execute(input, gas_limit, 0)
        .map_err(|e| format!("precompile {addr}: {e:?}"))?;
    let gas_left = |used: u64| i64::try_from(gas_limit.saturating_sub(used)).unwrap_or(0);
    Ok(match out.status {
        PrecompileStatus::Success => ExecutionResult::new(
            sys::EVMC_SUCCESS,
            gas_left(out.gas_used),
            0,
            out.bytes.to_vec(),
        ),
        PrecompileStatus::Revert => ExecutionResult::new(
            sys::EVMC_REVERT,
            gas_left(out.gas_used),
            0,
            out.bytes.to_vec(),
        ),
        PrecompileStatus::Halt(PrecompileHalt::OutOfGas) => {
            ExecutionResult::failure(sys::EVMC_OUT_OF_GAS)
        }
        PrecompileStatus::Halt(_) => ExecutionResult::failure(sys::EVMC_PRECOMPILE_FAILURE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(n: u16) -> Address {
        let mut a = [0u8; 20];
        a[18..].copy_from_slice(&n.to_be_bytes());
        Address::from(a)
    }

    #[test]
    fn precompile_sets_grow_with_forks() {
        let highest = |rev| (1..=0x200).filter(|n| is_precompile(rev, &pc(*n))).count();
        assert_eq!(highest(sys::EVMC_FRONTIER), 4);
        assert_eq!(highest(sys::EVMC_SPURIOUS_DRAGON), 4);
        assert_eq!(highest(sys::EVMC_BYZANTIUM), 8);
        assert_eq!(highest(sys::EVMC_PETERSBURG), 8);
        assert_eq!(highest(sys::EVMC_ISTANBUL), 9);
        assert_eq!(highest(sys::EVMC_SHANGHAI), 9);
        assert_eq!(highest(sys::EVMC_CANCUN), 10);
        assert_eq!(highest(sys::EVMC_PRAGUE), 17);
        assert_eq!(highest(sys::EVMC_OSAKA), 18);
        assert!(is_precompile(sys::EVMC_OSAKA, &pc(0x100)));
        assert!(!is_precompile(sys::EVMC_PRAGUE, &pc(0x100)));
        assert!(!is_precompile(sys::EVMC_OSAKA, &Address::ZERO));
    }

    #[test]
    fn identity_charges_per_word_and_runs_out_of_gas() {
        let input = [0xabu8; 33];
        let r = call(sys::EVMC_CANCUN, &pc(4), &input, 100).unwrap();
        assert_eq!(r.status_code, sys::EVMC_SUCCESS);
        assert_eq!(r.gas_left, 100 - (15 + 3 * 2));
        assert_eq!(r.output, input);
        let r = call(sys::EVMC_CANCUN, &pc(4), &input, 20).unwrap();
        assert_eq!((r.status_code, r.gas_left), (sys::EVMC_OUT_OF_GAS, 0));
    }

    #[test]
    fn modexp_minimum_gas_changes_in_berlin_and_osaka() {
        // 1^1 mod 1 with one-byte operands.
        let mut input = vec![0u8; 96];
        input[31] = 1;
        input[63] = 1;
        input[95] = 1;
        input.extend_from_slice(&[1, 1, 1]);
        let used = |rev| 100_000 - call(rev, &pc(5), &input, 100_000).unwrap().gas_left;
        assert_eq!(used(sys::EVMC_BERLIN), 200);
        assert_eq!(used(sys::EVMC_OSAKA), 500);
    }

    #[test]
    fn blake2f_eip152_vector_at_istanbul() {
        // EIP-152 test vector 5: 12 rounds over the padded block "abc" with the BLAKE2b-512 IV
        // (h[0] xor 0x01010040), t = 3, final. The result is BLAKE2b-512("abc") from RFC 7693
        // Appendix A; the gas is one per round (EIP-152: GFROUND = 1).
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let mut input = hex("0000000c");
        input.extend(hex(concat!(
            "48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5",
            "d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b"
        )));
        let mut block = vec![0u8; 128];
        block[..3].copy_from_slice(b"abc");
        input.extend(block);
        input.extend(3u64.to_le_bytes());
        input.extend(0u64.to_le_bytes());
        input.push(1);
        assert_eq!(input.len(), 213);
        let expected = hex(concat!(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1",
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        ));
        let r = call(sys::EVMC_ISTANBUL, &pc(9), &input, 1000).unwrap();
        assert_eq!(r.status_code, sys::EVMC_SUCCESS);
        assert_eq!(r.output, expected);
        assert_eq!(r.gas_left, 1000 - 12);
        // A final-block flag other than 0 or 1 is malformed: failure, all gas consumed.
        *input.last_mut().unwrap() = 2;
        let r = call(sys::EVMC_ISTANBUL, &pc(9), &input, 1000).unwrap();
        assert_eq!((r.status_code == sys::EVMC_SUCCESS, r.gas_left), (false, 0));
        // Not a precompile before Istanbul.
        assert!(!is_precompile(sys::EVMC_PETERSBURG, &pc(9)));
    }
}
