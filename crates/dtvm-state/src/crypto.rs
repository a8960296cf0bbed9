//! Address derivation and signature recovery.
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_rlp::{Encodable, Header};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

/// The CREATE address: `keccak256(rlp([sender, nonce]))[12..]`.
pub fn create_address(sender: &Address, nonce: u64) -> Address {
    let payload_len = sender.length() + nonce.length();
    let mut buf = Vec::with_capacity(payload_len + 1);
    Header {
        list: true,
        payload_length: payload_len,
    }
    .encode(&mut buf);
    sender.encode(&mut buf);
    nonce.encode(&mut buf);
    Address::from_slice(&keccak256(&buf)[12..])
}

/// The CREATE2 address (EIP-1014): `keccak256(0xff ++ sender ++ salt ++ keccak256(initcode))[12..]`.
pub fn create2_address(sender: &Address, salt: &B256, initcode: &[u8]) -> Address {
    let mut buf = [0u8; 85];
    buf[0] = 0xff;
    buf[1..21].copy_from_slice(sender.as_slice());
    buf[21..53].copy_from_slice(salt.as_slice());
    buf[53..].copy_from_slice(keccak256(initcode).as_slice());
    Address::from_slice(&keccak256(buf)[12..])
}

fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    // Skip the 0x04 SEC1 tag: the address hashes the 64-byte x ++ y.
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// The address controlled by a secp256k1 secret key; `None` for an invalid key.
pub fn address_from_secret_key(secret: &B256) -> Option<Address> {
    let key = SigningKey::from_slice(secret.as_slice()).ok()?;
    Some(address_of(key.verifying_key()))
}

/// secp256k1n / 2: signatures with a larger `s` are malleable and rejected (EIP-2).
pub const SECP256K1N_HALF: U256 = U256::from_limbs([
    0xdfe92f46681b20a0,
    0x5d576e7357a4501d,
    0xffffffffffffffff,
    0x7fffffffffffffff,
]);

/// Recovers the signer of a 32-byte message hash; `None` if the signature is invalid.
pub fn ecrecover(hash: &B256, y_parity: u64, r: &U256, s: &U256) -> Option<Address> {
    let y = u8::try_from(y_parity).ok().filter(|y| *y <= 1)?;
    let sig = Signature::from_scalars(r.to_be_bytes::<32>(), s.to_be_bytes::<32>()).ok()?;
    let recid = RecoveryId::from_byte(y)?;
    let key = VerifyingKey::recover_from_prehash(hash.as_slice(), &sig, recid).ok()?;
    Some(address_of(&key))
}

/// The message an EIP-7702 authority signs: `keccak256(0x05 ++ rlp([chain_id, address, nonce]))`.
pub fn authorization_hash(chain_id: &U256, address: &Address, nonce: u64) -> B256 {
    let payload_len = chain_id.length() + address.length() + nonce.length();
    let mut buf = Vec::with_capacity(payload_len + 4);
    buf.push(0x05);
    Header {
        list: true,
        payload_length: payload_len,
    }
    .encode(&mut buf);
    chain_id.encode(&mut buf);
    address.encode(&mut buf);
    nonce.encode(&mut buf);
    keccak256(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, hex};

    #[test]
    fn create_address_matches_known_vectors() {
        // The first contracts deployed by 0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0.
        let sender = address!("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0");
        assert_eq!(
            create_address(&sender, 0),
            address!("cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d")
        );
        assert_eq!(
            create_address(&sender, 1),
            address!("343c43a37d37dff08ae8c4a11544c718abb4fcf8")
        );
        // Nonces >= 0x80 take the long RLP integer form.
        assert_eq!(
            create_address(&sender, 0x80),
            Address::from_slice(
                &keccak256(hex!("d7946ac7ea33f8831ea9dcc53393aaa88b25a785dbf08180"))[12..]
            )
        );
    }

    #[test]
    fn create2_address_matches_eip1014_examples() {
        // EIP-1014 example 0 and example 5.
        assert_eq!(
            create2_address(&Address::ZERO, &B256::ZERO, &[0x00]),
            address!("4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38")
        );
        let sender = address!("00000000000000000000000000000000deadbeef");
        let salt = b256!("00000000000000000000000000000000000000000000000000000000cafebabe");
        assert_eq!(
            create2_address(
                &sender,
                &salt,
                &hex!("deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
            ),
            address!("1d8bfDC5D46DC4f61D6b6115972536eBE6A8854C")
        );
    }

    #[test]
    fn secret_key_of_the_state_tests_derives_their_sender() {
        // The key most ethereum/tests fillers use.
        let sk = b256!("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8");
        assert_eq!(
            address_from_secret_key(&sk),
            Some(address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"))
        );
        assert_eq!(address_from_secret_key(&B256::ZERO), None);
    }

    #[test]
    fn ecrecover_round_trips_a_signature() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let hash = authorization_hash(&U256::from(1), &Address::repeat_byte(0x11), 5);
        let (sig, recid) = sk.sign_prehash_recoverable(hash.as_slice()).unwrap();
        let r = U256::from_be_slice(&sig.r().to_bytes());
        let s = U256::from_be_slice(&sig.s().to_bytes());
        let expected = address_of(sk.verifying_key());
        assert_eq!(
            ecrecover(&hash, recid.to_byte() as u64, &r, &s),
            Some(expected)
        );
        // The other parity recovers a different key (or none); a bad parity never recovers.
        assert_ne!(
            ecrecover(&hash, 1 - recid.to_byte() as u64, &r, &s),
            Some(expected)
        );
        assert_eq!(ecrecover(&hash, 2, &r, &s), None);
        assert_eq!(ecrecover(&hash, 0, &U256::ZERO, &s), None);
    }

    #[test]
    fn secp256k1n_half_is_n_over_2() {
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        assert_eq!(SECP256K1N_HALF, n / U256::from(2));
    }
}
