//! Benchmark cases: the evm-benchmarks suite (state-test-shaped JSON files) and the model both
//! engines are set up from.
use revm::primitives::{Address, B256, U256};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) struct Account {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code: Arc<[u8]>,
    pub storage: Vec<(U256, U256)>,
}

/// The block a case runs in. Base fee and gas price are always zero (see `Case::tx_gas_limit`).
#[derive(Clone)]
pub(crate) struct BlockSpec {
    pub coinbase: Address,
    pub number: u64,
    pub timestamp: u64,
    pub gas_limit: u64,
    pub difficulty: U256,
    pub prevrandao: B256,
}

pub(crate) struct Case {
    /// `<group>/<file>/<label>`, as evmone-bench names it.
    pub name: String,
    /// Pre-state, shared by the cases (inputs) of one file.
    pub accounts: Arc<[Account]>,
    pub block: BlockSpec,
    pub sender: Address,
    pub to: Address,
    pub input: Vec<u8>,
    /// The transaction gas limit of the suite file (intrinsic gas included). The gas price and
    /// the base fee are set to zero on both sides so that `--gas max` (i64::MAX of execution gas,
    /// evmone-bench's convention) needs no balance; no suite contract reads them.
    pub tx_gas_limit: u64,
    /// For synthetic cases: the output an independent Rust model of the contract predicts.
    pub expected_output: Option<Vec<u8>>,
}

impl Case {
    pub(crate) fn code(&self) -> &[u8] {
        self.accounts
            .iter()
            .find(|a| a.address == self.to)
            .map(|a| &a.code[..])
            .unwrap_or(&[])
    }
}

/// Where the suite lives: `--suite DIR`, else `DTVM_BENCH_SUITE`, else
/// `../shared/benchmarks/evm-benchmarks` seen from the project root (looked up from the
/// working directory and from this crate's source directory).
pub fn find_suite(explicit: Option<&str>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::var("DTVM_BENCH_SUITE") {
        return Ok(PathBuf::from(dir));
    }
    dtvm_scenarios::artifacts::find_beside_project(Path::new("shared/benchmarks/evm-benchmarks"))
        .ok_or_else(|| "cannot find ../shared/benchmarks/evm-benchmarks; pass --suite DIR".into())
}

/// Loads every `.json` file under `dir`, files before subdirectories, each level sorted, names
/// prefixed by the subdirectory path: the order and names evmone-bench uses.
pub(crate) fn load_suite(dir: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    load_dir(dir, "", &mut cases)?;
    Ok(cases)
}

fn load_dir(dir: &Path, prefix: &str, out: &mut Vec<Case>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in rd {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            subdirs.push(path);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    subdirs.sort();
    for f in &files {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        load_file(f, &format!("{prefix}{stem}"), out)
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    for d in &subdirs {
        let name = d.file_name().and_then(|s| s.to_str()).unwrap_or_default();
        load_dir(d, &format!("{prefix}{name}/"), out)?;
    }
    Ok(())
}

fn load_file(path: &Path, name: &str, out: &mut Vec<Case>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    // evmone-bench takes the first test of a file; the suite has one per file.
    let test = json
        .as_object()
        .and_then(|o| o.values().next())
        .ok_or("no test object")?;
    let mut accounts = Vec::new();
    for (addr, acc) in test["pre"].as_object().ok_or("no pre")? {
        let mut storage = Vec::new();
        if let Some(s) = acc["storage"].as_object() {
            for (k, v) in s {
                storage.push((u256(k)?, u256(str_of(v)?)?));
            }
        }
        accounts.push(Account {
            address: address(addr)?,
            balance: u256(str_of(&acc["balance"])?)?,
            nonce: u64_of(&acc["nonce"])?,
            code: hex(str_of(&acc["code"])?)?.into(),
            storage,
        });
    }
    let env = &test["env"];
    let difficulty = env
        .get("currentDifficulty")
        .map(|v| str_of(v).and_then(u256))
        .transpose()?
        .unwrap_or_default();
    let prevrandao = env
        .get("currentRandom")
        .map(|v| str_of(v).and_then(u256))
        .transpose()?
        .unwrap_or(difficulty);
    let block = BlockSpec {
        coinbase: address(str_of(&env["currentCoinbase"])?)?,
        number: u64_of(&env["currentNumber"])?,
        timestamp: u64_of(&env["currentTimestamp"])?,
        gas_limit: u64_of(&env["currentGasLimit"])?,
        difficulty,
        prevrandao: B256::from(prevrandao.to_be_bytes::<32>()),
    };
    let tx = &test["transaction"];
    let sender = address(str_of(&tx["sender"])?)?;
    let to = address(str_of(&tx["to"])?)?;
    let tx_gas_limit = u64_of(&tx["gasLimit"][0])?;
    let labels = &test["_info"]["labels"];
    let accounts: Arc<[Account]> = accounts.into();
    for (i, data) in tx["data"]
        .as_array()
        .ok_or("no transaction.data")?
        .iter()
        .enumerate()
    {
        let label = labels[i.to_string()]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| i.to_string());
        out.push(Case {
            name: format!("{name}/{label}"),
            accounts: accounts.clone(),
            block: block.clone(),
            sender,
            to,
            input: hex(str_of(data)?)?,
            tx_gas_limit,
            expected_output: None,
        });
    }
    Ok(())
}

fn str_of(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string, got {v}"))
}

fn u64_of(v: &Value) -> Result<u64, String> {
    let n = u256(str_of(v)?)?;
    u64::try_from(n).map_err(|_| format!("{n} does not fit in 64 bits"))
}

/// Decodes a hex string, with or without a `0x` prefix.
pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex: {s:.20}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("bad hex: {e}")))
        .collect()
}

fn u256(s: &str) -> Result<U256, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let digits = if digits.is_empty() { "0" } else { digits };
    U256::from_str_radix(digits, 16).map_err(|e| format!("bad number {s}: {e}"))
}

fn address(s: &str) -> Result<Address, String> {
    let bytes = hex(s)?;
    if bytes.len() != 20 {
        return Err(format!("bad address {s}"));
    }
    Ok(Address::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_follow_evmone_bench() {
        let Ok(dir) = find_suite(None) else {
            panic!("the shared benchmark suite must be present (see the crate's bench docs)")
        };
        let cases = load_suite(&dir).unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        for want in [
            "main/snailtracer/benchmark",
            "main/sha1_divs/5311",
            "main/blake2b_huff/8415nulls",
            "main/weierstrudel/15",
            "micro/memory_grow_mstore/by32",
        ] {
            assert!(names.contains(&want), "missing {want}");
        }
        // Files before subdirectories is irrelevant here (no top-level files), but the groups
        // come in sorted order and every case has the contract it targets.
        assert!(
            names.iter().position(|n| n.starts_with("main/"))
                < names.iter().position(|n| n.starts_with("micro/"))
        );
        let snail = cases
            .iter()
            .find(|c| c.name == "main/snailtracer/benchmark")
            .unwrap();
        assert_eq!(snail.input, vec![0x30, 0x62, 0x7b, 0x7c]);
        assert_eq!(snail.tx_gas_limit, 1_000_000_000);
        assert!(cases.iter().all(|c| !c.code().is_empty()));
    }
}
