//! Merkle-Patricia state root and the logs hash the fixtures carry.
use crate::state::WorldState;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::{Encodable, Header};
use alloy_trie::{root, TrieAccount};

/// A log emitted by LOG0..LOG4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The account whose code emitted it.
    pub address: Address,
    /// The indexed words, zero to four (LOG0..LOG4).
    pub topics: Vec<B256>,
    /// The unindexed payload, copied from memory.
    pub data: Bytes,
}

impl Log {
    fn payload_length(&self) -> usize {
        self.address.length() + self.topics.length() + self.data.length()
    }
}

impl Encodable for Log {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        Header {
            list: true,
            payload_length: self.payload_length(),
        }
        .encode(out);
        self.address.encode(out);
        self.topics.encode(out);
        self.data.encode(out);
    }
    fn length(&self) -> usize {
        let p = self.payload_length();
        p + alloy_rlp::length_of_length(p)
    }
}

/// keccak256 of the RLP list of logs (the `logs` field of a state-test post entry).
pub fn logs_hash(logs: &[Log]) -> B256 {
    let mut buf = Vec::new();
    alloy_rlp::encode_list(logs, &mut buf);
    keccak256(&buf)
}

/// The storage root of one account (slots with zero value are absent from the trie).
pub fn storage_root<'a>(storage: impl IntoIterator<Item = (&'a B256, &'a B256)>) -> B256 {
    root::storage_root_unhashed(
        storage
            .into_iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (*k, U256::from_be_bytes(v.0))),
    )
}

/// The state root: the secure trie of `keccak(address) -> rlp([nonce, balance, storage_root,
/// code_hash])`.
pub fn state_root(state: &WorldState) -> B256 {
    root::state_root_unhashed(state.accounts.iter().map(|(addr, acc)| {
        (
            *addr,
            TrieAccount {
                nonce: acc.nonce,
                balance: acc.balance,
                storage_root: storage_root(&acc.storage),
                code_hash: acc.code_hash,
            },
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AccountData;
    use alloy_primitives::map::B256Map;
    use alloy_primitives::{address, b256, hex};

    #[test]
    fn empty_state_and_empty_logs_have_the_well_known_hashes() {
        assert_eq!(
            state_root(&WorldState::default()),
            b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
        );
        assert_eq!(
            logs_hash(&[]),
            b256!("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")
        );
    }

    #[test]
    fn single_leaf_roots_are_the_hash_of_their_leaf_node() {
        // With one key the trie is a single leaf: keccak(rlp([hex-prefix(path), value])),
        // built here by hand, independently of the hash builder.
        let mut state = WorldState::default();
        state.accounts.insert(
            address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"),
            AccountData::new(
                0,
                U256::from(1_000_000_000_000_000_000u128),
                Bytes::new(),
                B256Map::default(),
            ),
        );
        let root = state_root(&state);
        // One-leaf trie: root = keccak(rlp([hex-prefix(path), rlp(account)])).
        let acc = TrieAccount {
            nonce: 0,
            balance: U256::from(1_000_000_000_000_000_000u128),
            storage_root: alloy_trie::EMPTY_ROOT_HASH,
            code_hash: crate::state::EMPTY_CODE_HASH,
        };
        let mut acc_rlp = Vec::new();
        acc.encode(&mut acc_rlp);
        let key = keccak256(address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"));
        let mut path = vec![0x20u8];
        path.extend_from_slice(key.as_slice());
        let mut leaf = Vec::new();
        let payload = path.as_slice().length() + acc_rlp.as_slice().length();
        Header {
            list: true,
            payload_length: payload,
        }
        .encode(&mut leaf);
        path.as_slice().encode(&mut leaf);
        acc_rlp.as_slice().encode(&mut leaf);
        assert_eq!(root, keccak256(&leaf));

        // A storage trie with one slot follows the same shape; zero values are not stored.
        let mut storage = B256Map::default();
        storage.insert(B256::ZERO, B256::with_last_byte(1));
        storage.insert(B256::with_last_byte(9), B256::ZERO);
        let key = keccak256(B256::ZERO);
        let mut path = vec![0x20u8];
        path.extend_from_slice(key.as_slice());
        let mut leaf = Vec::new();
        let value_rlp = hex!("01");
        let payload = path.as_slice().length() + value_rlp.as_slice().length();
        Header {
            list: true,
            payload_length: payload,
        }
        .encode(&mut leaf);
        path.as_slice().encode(&mut leaf);
        value_rlp.as_slice().encode(&mut leaf);
        assert_eq!(storage_root(&storage), keccak256(&leaf));
    }

    #[test]
    fn root_of_a_small_state_with_code_and_storage_matches_ethereum_tests() {
        // The pre-state of GeneralStateTests/stEIP1559/lowGasLimit. Its cases with an invalid
        // transaction expect the unchanged pre-state, so the fixture gives this state's root.
        let mut state = WorldState::default();
        state.accounts.insert(
            address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b"),
            AccountData::new(
                1,
                U256::from(0x0de0b6b3a7640000u64),
                Bytes::new(),
                B256Map::default(),
            ),
        );
        let mut storage = B256Map::default();
        storage.insert(B256::ZERO, B256::from(U256::from(0x60a7)));
        state.accounts.insert(
            address!("cccccccccccccccccccccccccccccccccccccccc"),
            AccountData::new(
                0,
                U256::from(0x0de0b6b3a7640000u64),
                Bytes::from_static(&hex!("600260005500")),
                storage,
            ),
        );
        assert_eq!(
            state_root(&state),
            b256!("b2b8d1860969ed21cd1eee5c69206176b951fbf820ee6b7f8ad84e8234094a5e")
        );
    }

    #[test]
    fn logs_hash_encodes_address_topics_data() {
        let log = Log {
            address: Address::repeat_byte(0x11),
            topics: vec![B256::repeat_byte(0x22)],
            data: Bytes::from_static(&[0x33]),
        };
        // rlp([[0x94 ++ addr, [0xa0 ++ topic], 0x33]])
        let mut inner = vec![0x94];
        inner.extend_from_slice(&[0x11; 20]);
        inner.push(0xe1);
        inner.push(0xa0);
        inner.extend_from_slice(&[0x22; 32]);
        inner.push(0x33);
        let mut log_rlp = vec![0xf8, inner.len() as u8];
        log_rlp.extend_from_slice(&inner);
        let mut list = vec![0xf8, log_rlp.len() as u8];
        list.extend_from_slice(&log_rlp);
        assert_eq!(logs_hash(&[log]), keccak256(&list));
    }
}
