//! Steps as state tests, in the fixture format `dtvm statetest` reads (see
//! `dtvm_state::statetest`): one test per step (`env`, `pre`, `transaction`, one `post` entry at
//! [`crate::FORK`]), one file per scenario. The expected state root (`hash`), logs hash (`logs`)
//! and post-state (`state`, for failure messages) are revm's result, never dtvm's.
use crate::{block, Scenario, Step, FORK, REV};
use alloy_primitives::hex;
use alloy_primitives::{Address, U256};
use dtvm_state::state::WorldState;
use dtvm_state::transaction::finalize_block;
use dtvm_state::trie::{logs_hash, state_root};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

fn num(v: impl std::fmt::LowerHex) -> Value {
    Value::String(format!("0x{v:x}"))
}

fn hex_bytes(b: &[u8]) -> Value {
    Value::String(format!("0x{}", hex::encode(b)))
}

fn address(a: &Address) -> String {
    format!("0x{}", hex::encode(a))
}

fn state_json(state: &WorldState) -> Value {
    let mut accounts: Vec<_> = state.accounts.iter().collect();
    accounts.sort_by_key(|(a, _)| **a);
    let mut out = Map::new();
    for (addr, acc) in accounts {
        let mut slots: Vec<_> = acc.storage.iter().collect();
        slots.sort();
        let storage: Map<String, Value> = slots
            .into_iter()
            .map(|(k, v)| {
                (
                    format!("0x{:x}", U256::from_be_bytes(k.0)),
                    num(U256::from_be_bytes(v.0)),
                )
            })
            .collect();
        out.insert(
            address(addr),
            json!({
                "nonce": num(acc.nonce),
                "balance": num(acc.balance),
                "code": hex_bytes(&acc.code),
                "storage": storage,
            }),
        );
    }
    Value::Object(out)
}

/// The state test of one step.
pub fn test_json(step: &Step) -> Value {
    let b = block();
    let tx = &step.tx;
    let mut post = step.expected.post.clone();
    finalize_block(&mut post, &b.coinbase, REV);
    json!({
        "env": {
            "currentCoinbase": address(&b.coinbase),
            "currentGasLimit": num(b.gas_limit as u64),
            "currentNumber": num(b.number as u64),
            "currentTimestamp": num(b.timestamp as u64),
            "currentDifficulty": "0x00",
            "currentRandom": hex_bytes(b.prev_randao.as_slice()),
            "currentBaseFee": num(b.base_fee),
            "currentExcessBlobGas": num(b.excess_blob_gas),
        },
        "pre": state_json(&step.pre),
        "transaction": {
            "data": [hex_bytes(&tx.data)],
            "gasLimit": [num(tx.gas_limit)],
            "value": [num(tx.value)],
            "nonce": num(tx.nonce),
            "to": tx.to.as_ref().map(address).unwrap_or_default(),
            "gasPrice": num(tx.max_fee_per_gas),
            "sender": address(&tx.sender),
        },
        "post": {
            FORK: [{
                "hash": format!("{}", state_root(&post)),
                "logs": format!("{}", logs_hash(&step.expected.logs)),
                "indexes": {"data": 0, "gas": 0, "value": 0},
                "state": state_json(&post),
            }]
        }
    })
}

/// One fixture file's content: every step of `scenario`, by step name.
pub fn scenario_json(scenario: &Scenario) -> Value {
    Value::Object(
        scenario
            .steps
            .iter()
            .map(|s| (s.name.clone(), test_json(s)))
            .collect(),
    )
}

/// Writes `<dir>/<scenario>.json` for each scenario; returns the paths.
pub fn write_dir(scenarios: &[Scenario], dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for s in scenarios {
        let path = dir.join(format!("{}.json", s.name));
        let text = serde_json::to_string_pretty(&scenario_json(s)).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}
