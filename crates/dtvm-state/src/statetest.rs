//! Ethereum state-test fixtures: loading both filled formats, and running one case.
//!
//! A fixture file maps test names to `{env, pre, transaction, post, config?}`. `transaction`
//! holds lists of `data`, `gasLimit` and `value`; each post entry picks one of each by
//! `indexes` and gives the expected state root (`hash`) and logs hash (`logs`).
//!
//! Two generations of the format are read:
//! * current (ethereum/tests since 2023, execution-spec-tests): EIP-1559/4844/7702 fields,
//!   `expectException` on every entry whose transaction is invalid, `txbytes` on every entry;
//! * legacy (ethereum/legacytests): `gasPrice`, `secretKey`, `currentDifficulty`, no base fee,
//!   old fork names, and no `expectException`: the expected root alone tells the outcome.
//!
//! Entries carrying `txbytes` come from fillers that always mark invalid transactions, so for
//! them validity must match `expectException` exactly; legacy entries are judged by their hashes.
pub use crate::results::CaseRun;
use crate::state::{AccountData, WorldState};
use crate::transaction::{
    finalize_block, transition, validate, Authorization, BlobSchedule, BlockEnv, Transaction,
    TxType,
};
use crate::trie::{logs_hash, state_root};
use crate::{revision_from_fork_name, revision_name, Revision};
use alloy_primitives::{Address, Bytes, B256, U256};
use evmc_vm::{sys, Vm};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A JSON scalar that fixtures write either as a string or as a number.
#[derive(Clone, Debug, Default)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Scalar(s)),
            serde_json::Value::Number(n) => Ok(Scalar(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string or number, got {other}"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvJson {
    current_coinbase: Scalar,
    current_gas_limit: Scalar,
    current_number: Scalar,
    current_timestamp: Scalar,
    current_difficulty: Option<Scalar>,
    current_random: Option<Scalar>,
    current_base_fee: Option<Scalar>,
    current_excess_blob_gas: Option<Scalar>,
    parent_base_fee: Option<Scalar>,
    parent_excess_blob_gas: Option<Scalar>,
}

#[derive(Deserialize)]
struct AccountJson {
    balance: Scalar,
    #[serde(default)]
    code: Scalar,
    nonce: Scalar,
    #[serde(default)]
    storage: HashMap<String, Scalar>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessListItemJson {
    address: Scalar,
    storage_keys: Vec<Scalar>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationJson {
    chain_id: Scalar,
    address: Scalar,
    nonce: Scalar,
    v: Option<Scalar>,
    y_parity: Option<Scalar>,
    r: Scalar,
    s: Scalar,
    signer: Option<Scalar>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxJson {
    data: Vec<Scalar>,
    gas_limit: Vec<Scalar>,
    value: Vec<Scalar>,
    nonce: Scalar,
    to: Option<Scalar>,
    gas_price: Option<Scalar>,
    max_fee_per_gas: Option<Scalar>,
    max_priority_fee_per_gas: Option<Scalar>,
    access_lists: Option<Vec<Option<Vec<AccessListItemJson>>>>,
    max_fee_per_blob_gas: Option<Scalar>,
    blob_versioned_hashes: Option<Vec<Scalar>>,
    authorization_list: Option<Vec<AuthorizationJson>>,
    sender: Option<Scalar>,
    secret_key: Option<Scalar>,
}

#[derive(Deserialize)]
struct IndexesJson {
    data: usize,
    gas: usize,
    value: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostJson {
    hash: Scalar,
    logs: Scalar,
    indexes: IndexesJson,
    expect_exception: Option<String>,
    txbytes: Option<serde::de::IgnoredAny>,
    state: Option<HashMap<String, AccountJson>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlobScheduleJson {
    target: Scalar,
    max: Scalar,
    base_fee_update_fraction: Scalar,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigJson {
    blob_schedule: Option<HashMap<String, BlobScheduleJson>>,
    chainid: Option<Scalar>,
}

#[derive(Deserialize)]
struct TestJson {
    env: EnvJson,
    pre: HashMap<String, AccountJson>,
    transaction: TxJson,
    post: BTreeMap<String, Vec<PostJson>>,
    config: Option<ConfigJson>,
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

fn parse_bytes(s: &Scalar) -> Result<Bytes, String> {
    let h = strip_0x(&s.0);
    alloy_primitives::hex::decode(h)
        .map(Bytes::from)
        .map_err(|e| format!("bad hex bytes {:?}: {e}", s.0))
}

/// A 256-bit integer: `0x` hex or decimal. `Ok(None)` for the `0x:bigint` form of values that do
/// not fit (they make the transaction unencodable, hence invalid).
fn parse_u256_opt(s: &Scalar) -> Result<Option<U256>, String> {
    let t = s.0.trim();
    if t.starts_with("0x:bigint ") {
        return Ok(None);
    }
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.is_empty() {
            Ok(U256::ZERO)
        } else {
            U256::from_str_radix(h, 16)
        }
    } else {
        U256::from_str_radix(t, 10)
    };
    parsed
        .map(Some)
        .map_err(|e| format!("bad integer {t:?}: {e}"))
}

fn parse_u256(s: &Scalar) -> Result<U256, String> {
    parse_u256_opt(s)?.ok_or_else(|| format!("integer out of range: {}", s.0))
}

fn parse_u64(s: &Scalar) -> Result<u64, String> {
    u64::try_from(parse_u256(s)?).map_err(|_| format!("integer above 2^64: {}", s.0))
}

fn parse_i64(s: &Scalar) -> Result<i64, String> {
    // Block fields are unsigned in the format; values past i64 are clamped (none are that big).
    Ok(i64::try_from(parse_u64(s)?).unwrap_or(i64::MAX))
}

fn parse_b256(s: &Scalar) -> Result<B256, String> {
    Ok(B256::from(parse_u256(s)?.to_be_bytes::<32>()))
}

fn parse_address(s: &Scalar) -> Result<Address, String> {
    let h = strip_0x(s.0.trim());
    let bytes = alloy_primitives::hex::decode(h).map_err(|e| format!("bad address {h:?}: {e}"))?;
    if bytes.len() != 20 {
        return Err(format!("bad address length {:?}", s.0));
    }
    Ok(Address::from_slice(&bytes))
}

fn parse_account(a: &AccountJson) -> Result<AccountData, String> {
    let mut storage = alloy_primitives::map::B256Map::default();
    for (k, v) in &a.storage {
        storage.insert(parse_b256(&Scalar(k.clone()))?, parse_b256(v)?);
    }
    Ok(AccountData::new(
        parse_u64(&a.nonce)?,
        parse_u256(&a.balance)?,
        parse_bytes(&a.code)?,
        storage,
    ))
}

fn parse_state(m: &HashMap<String, AccountJson>) -> Result<WorldState, String> {
    let mut state = WorldState::default();
    for (addr, acc) in m {
        state
            .accounts
            .insert(parse_address(&Scalar(addr.clone()))?, parse_account(acc)?);
    }
    Ok(state)
}

/// The transaction fields shared by all cases of a test, and the per-index lists.
#[derive(Clone, Debug)]
pub struct MultiTransaction {
    /// Every field but those a case picks by index (data, gas limit, value, access list).
    pub base: Transaction,
    /// The `data` list, indexed by [`Case::data`].
    pub data: Vec<Bytes>,
    /// The `gasLimit` list, indexed by [`Case::gas`].
    pub gas_limits: Vec<u64>,
    /// The `value` list, indexed by [`Case::value`]; `None`: a value that does not fit in 256
    /// bits.
    pub values: Vec<Option<U256>>,
    /// Per data index, when present.
    pub access_lists: Vec<Vec<(Address, Vec<B256>)>>,
}

/// One expected outcome: a fork and a choice of data, gas and value.
#[derive(Clone, Debug)]
pub struct Case {
    /// The fork name as the fixture's `post` section writes it.
    pub fork: String,
    /// `None` for a fork name this runner does not know (counted as skipped).
    pub rev: Option<Revision>,
    /// Index into [`MultiTransaction::data`] (`indexes.data`).
    pub data: usize,
    /// Index into [`MultiTransaction::gas_limits`] (`indexes.gas`).
    pub gas: usize,
    /// Index into [`MultiTransaction::values`] (`indexes.value`).
    pub value: usize,
    /// The expected state root after the transaction.
    pub hash: B256,
    /// The expected keccak256 of the RLP list of the transaction's logs.
    pub logs: B256,
    /// The error an invalid transaction must be rejected with, as the fixture names it;
    /// `None` when the transaction is valid (or the entry predates `expectException`).
    pub expect_exception: Option<String>,
    /// The filler marks every invalid transaction (see the module docs).
    pub strict_validity: bool,
    /// The expected post-state, when the fixture carries it (execution-spec-tests).
    pub expected_state: Option<WorldState>,
}

/// One named test of a fixture file: a pre-state, a block, a transaction with lists of data, gas
/// limits and values, and the expected outcome of each chosen combination per fork.
#[derive(Clone, Debug)]
pub struct StateTest {
    /// The test's key in the fixture file.
    pub name: String,
    /// The accounts before the transaction.
    pub pre: WorldState,
    /// The block (`env`) without the per-fork parts; [`block_for`](Self::block_for) adds them.
    pub block: BlockEnv,
    /// `currentRandom` and `currentDifficulty` as given; the block picks one per revision.
    random: Option<B256>,
    difficulty: Option<B256>,
    blob_schedules: HashMap<String, BlobSchedule>,
    /// The transaction and its per-index lists.
    pub tx: MultiTransaction,
    /// The expected outcomes, one per fork and index choice of `post`.
    pub cases: Vec<Case>,
}

impl Case {
    /// The case's fork and indexes for messages, e.g. `Cancun d0 g1 v0`.
    pub fn label(&self) -> String {
        format!("{} d{} g{} v{}", self.fork, self.data, self.gas, self.value)
    }
}

/// The fixture files `path` names: itself when it is not a directory; otherwise every `.json`
/// file below it (the fixture sets also hold licenses and placeholder files), in path order, so
/// runs and samples are the same on every machine.
pub fn fixture_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out)?;
            } else if e.extension().is_some_and(|x| x == "json") {
                out.push(e);
            }
        }
        Ok(())
    }
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    walk(path, &mut out)?;
    Ok(out)
}

/// Loads every test of a fixture file.
pub fn load_file(path: &Path) -> Result<Vec<StateTest>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    load_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads every test of a fixture file's contents.
pub fn load_str(text: &[u8]) -> Result<Vec<StateTest>, String> {
    let tests: BTreeMap<String, TestJson> =
        serde_json::from_slice(text).map_err(|e| format!("JSON: {e}"))?;
    tests
        .into_iter()
        .map(|(name, t)| convert(&name, t).map_err(|e| format!("{name}: {e}")))
        .collect()
}

fn convert(name: &str, t: TestJson) -> Result<StateTest, String> {
    let env = &t.env;
    if env.current_base_fee.is_none() && env.parent_base_fee.is_some() {
        return Err("base fee derived from the parent block is not supported".into());
    }
    if env.current_excess_blob_gas.is_none() && env.parent_excess_blob_gas.is_some() {
        return Err("excess blob gas derived from the parent block is not supported".into());
    }
    let config = t.config.as_ref();
    let chain_id = match config.and_then(|c| c.chainid.as_ref()) {
        Some(c) => parse_u256(c)?,
        None => U256::from(1),
    };
    let mut blob_schedules = HashMap::new();
    if let Some(s) = config.and_then(|c| c.blob_schedule.as_ref()) {
        for (fork, b) in s {
            blob_schedules.insert(
                fork.clone(),
                BlobSchedule {
                    target: parse_u64(&b.target)?,
                    max: parse_u64(&b.max)?,
                    base_fee_update_fraction: parse_u64(&b.base_fee_update_fraction)?,
                },
            );
        }
    }
    let block = BlockEnv {
        number: parse_i64(&env.current_number)?,
        timestamp: parse_i64(&env.current_timestamp)?,
        gas_limit: parse_i64(&env.current_gas_limit)?,
        coinbase: parse_address(&env.current_coinbase)?,
        prev_randao: B256::ZERO,
        base_fee: env
            .current_base_fee
            .as_ref()
            .map(parse_u256)
            .transpose()?
            .unwrap_or_default(),
        excess_blob_gas: env
            .current_excess_blob_gas
            .as_ref()
            .map(parse_u64)
            .transpose()?
            .unwrap_or_default(),
        chain_id,
        blob_schedule: None,
    };
    let random = env.current_random.as_ref().map(parse_b256).transpose()?;
    let difficulty = env
        .current_difficulty
        .as_ref()
        .map(parse_b256)
        .transpose()?;

    let tj = &t.transaction;
    let sender = match (&tj.sender, &tj.secret_key) {
        (Some(s), _) => parse_address(s)?,
        (None, Some(k)) => {
            crate::crypto::address_from_secret_key(&parse_b256(k)?).ok_or("invalid secretKey")?
        }
        (None, None) => return Err("transaction has neither sender nor secretKey".into()),
    };
    let to = match &tj.to {
        Some(s) if !s.0.trim().is_empty() => Some(parse_address(s)?),
        _ => None,
    };
    let mut base = Transaction {
        sender,
        to,
        nonce: parse_u64(&tj.nonce)?,
        ..Default::default()
    };
    match (
        &tj.gas_price,
        &tj.max_fee_per_gas,
        &tj.max_priority_fee_per_gas,
    ) {
        (Some(p), None, None) => {
            base.tx_type = TxType::Legacy;
            base.max_fee_per_gas = parse_u256(p)?;
            base.max_priority_fee_per_gas = base.max_fee_per_gas;
        }
        (None, Some(f), Some(p)) => {
            base.tx_type = TxType::Eip1559;
            base.max_fee_per_gas = parse_u256(f)?;
            base.max_priority_fee_per_gas = parse_u256(p)?;
        }
        _ => return Err("transaction needs either gasPrice or both EIP-1559 fee fields".into()),
    }
    if let Some(f) = &tj.max_fee_per_blob_gas {
        base.max_fee_per_blob_gas = parse_u256(f)?;
    }
    if let Some(hashes) = &tj.blob_versioned_hashes {
        base.tx_type = TxType::Blob;
        base.blob_hashes = hashes.iter().map(parse_b256).collect::<Result<_, _>>()?;
    } else if let Some(list) = &tj.authorization_list {
        base.tx_type = TxType::SetCode;
        for a in list {
            let parity = a
                .y_parity
                .as_ref()
                .or(a.v.as_ref())
                .ok_or("authorization without v")?;
            let auth = Authorization {
                chain_id: parse_u256(&a.chain_id)?,
                address: parse_address(&a.address)?,
                nonce: parse_u64(&a.nonce)?,
                y_parity: parse_u256(parity)?,
                r: parse_u256(&a.r)?,
                s: parse_u256(&a.s)?,
            };
            let authority = auth.recover_authority();
            // The filler's signer is a cross-check of the recovery, never a substitute for it.
            if let (Some(signer), Some(recovered)) = (&a.signer, authority) {
                let signer = parse_address(signer)?;
                if signer != recovered {
                    return Err(format!(
                        "authority recovered as {recovered}, fixture says {signer}"
                    ));
                }
            }
            base.authorizations.push((auth, authority));
        }
    }
    let mut access_lists = Vec::new();
    if let Some(lists) = &tj.access_lists {
        if base.tx_type == TxType::Legacy {
            base.tx_type = TxType::AccessList;
        }
        for list in lists {
            let mut items = Vec::new();
            for item in list.iter().flatten() {
                items.push((
                    parse_address(&item.address)?,
                    item.storage_keys
                        .iter()
                        .map(parse_b256)
                        .collect::<Result<_, _>>()?,
                ));
            }
            access_lists.push(items);
        }
    }
    let tx = MultiTransaction {
        base,
        data: tj.data.iter().map(parse_bytes).collect::<Result<_, _>>()?,
        gas_limits: tj
            .gas_limit
            .iter()
            .map(parse_u64)
            .collect::<Result<_, _>>()?,
        values: tj
            .value
            .iter()
            .map(parse_u256_opt)
            .collect::<Result<_, _>>()?,
        access_lists,
    };

    let mut cases = Vec::new();
    for (fork, entries) in &t.post {
        let rev = revision_from_fork_name(fork);
        for e in entries {
            cases.push(Case {
                fork: fork.clone(),
                rev,
                data: e.indexes.data,
                gas: e.indexes.gas,
                value: e.indexes.value,
                hash: parse_b256(&e.hash)?,
                logs: parse_b256(&e.logs)?,
                expect_exception: e.expect_exception.clone(),
                strict_validity: e.txbytes.is_some(),
                expected_state: e.state.as_ref().map(parse_state).transpose()?,
            });
        }
    }

    Ok(StateTest {
        name: name.to_string(),
        pre: parse_state(&t.pre)?,
        block,
        random,
        difficulty,
        blob_schedules,
        tx,
        cases,
    })
}

impl StateTest {
    /// The block environment at `fork`: PREVRANDAO from Paris, difficulty before; the fork's
    /// blob schedule from the fixture's config when it has one.
    pub fn block_for(&self, fork: &str, rev: Revision) -> BlockEnv {
        let mut block = self.block.clone();
        block.prev_randao = if rev >= sys::EVMC_PARIS {
            self.random.or(self.difficulty)
        } else {
            self.difficulty.or(self.random)
        }
        .unwrap_or_default();
        block.blob_schedule = self.blob_schedules.get(fork).copied();
        block
    }

    /// The transaction of a case; `Ok(None)` when its value does not fit in 256 bits.
    pub fn transaction(&self, case: &Case) -> Result<Option<Transaction>, String> {
        let m = &self.tx;
        let data = m.data.get(case.data).ok_or("data index out of range")?;
        let gas = *m.gas_limits.get(case.gas).ok_or("gas index out of range")?;
        let value = *m.values.get(case.value).ok_or("value index out of range")?;
        let Some(value) = value else { return Ok(None) };
        let mut tx = m.base.clone();
        tx.data = data.clone();
        tx.gas_limit = gas;
        tx.value = value;
        if !m.access_lists.is_empty() {
            tx.access_list = m
                .access_lists
                .get(case.data)
                .ok_or("access list index out of range")?
                .clone();
        }
        Ok(Some(tx))
    }
}

/// The result of running one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Validity, state root and logs hash all match the expectation.
    Pass,
    /// The fork is unknown to this runner.
    Skipped(String),
    /// The first differing field, expected vs got, and context.
    Fail(String),
}

/// Runs one case against `vm` and compares with the expectation.
pub fn run_case(test: &StateTest, case: &Case, vm: &Vm) -> Outcome {
    run_case_detailed(test, case, vm).outcome
}

/// [`run_case`] with the post-state root and logs hash it computed.
pub fn run_case_detailed(test: &StateTest, case: &Case, vm: &Vm) -> CaseRun {
    let early = |outcome| CaseRun {
        outcome,
        state_root: None,
        logs_hash: None,
    };
    let Some(rev) = case.rev else {
        return early(Outcome::Skipped(format!("unknown fork {}", case.fork)));
    };
    let tx = match test.transaction(case) {
        Ok(tx) => tx,
        Err(e) => return early(Outcome::Fail(format!("fixture: {e}"))),
    };
    let block = test.block_for(&case.fork, rev);

    let validity = match &tx {
        Some(tx) => validate(&test.pre, &block, tx, rev).map_err(|e| e.to_string()),
        None => Err("value does not fit in 256 bits".to_string()),
    };
    let (mut post, logs, summary) = match (&tx, validity) {
        (Some(tx), Ok(gas)) => {
            let r = transition(&test.pre, &block, tx, rev, vm, gas);
            if !r.host_errors.is_empty() {
                return early(Outcome::Fail(format!(
                    "host error: {}",
                    r.host_errors.join("; ")
                )));
            }
            let summary = format!("status {} gas used {}", r.status, r.gas_used);
            (r.post, logs_hash(&r.logs), Ok(summary))
        }
        (_, Err(e)) => (test.pre.clone(), logs_hash(&[]), Err(e)),
        (None, Ok(_)) => unreachable!("no transaction validates as Ok"),
    };
    finalize_block(&mut post, &block.coinbase, rev);

    if case.strict_validity {
        match (&case.expect_exception, &summary) {
            (Some(expected), Ok(s)) => {
                return early(Outcome::Fail(format!(
                    "exception: expected {expected}, got a valid transaction ({s})"
                )))
            }
            (None, Err(e)) => {
                return early(Outcome::Fail(format!("exception: expected none, got {e}")));
            }
            _ => {}
        }
    }
    let root = state_root(&post);
    let done = |outcome| CaseRun {
        outcome,
        state_root: Some(root),
        logs_hash: Some(logs),
    };
    let what = match &summary {
        Ok(s) => s.clone(),
        Err(e) => format!("invalid transaction: {e}"),
    };
    if root != case.hash {
        let mut msg = format!("state root: expected {}, got {root} ({what})", case.hash);
        if let Some(expected) = &case.expected_state {
            if let Some(d) = first_state_difference(expected, &post) {
                let _ = write!(msg, "; first difference: {d}");
            }
        }
        return done(Outcome::Fail(msg));
    }
    if logs != case.logs {
        return done(Outcome::Fail(format!(
            "logs hash: expected {}, got {logs} ({what})",
            case.logs
        )));
    }
    done(Outcome::Pass)
}

/// The first account field that differs between two states, for failure messages.
pub fn first_state_difference(expected: &WorldState, got: &WorldState) -> Option<String> {
    let mut addrs: Vec<&Address> = expected
        .accounts
        .keys()
        .chain(got.accounts.keys())
        .collect();
    addrs.sort();
    addrs.dedup();
    for addr in addrs {
        let (e, g) = match (expected.get(addr), got.get(addr)) {
            (Some(e), Some(g)) => (e, g),
            (Some(_), None) => return Some(format!("account {addr} missing")),
            (None, Some(_)) => return Some(format!("account {addr} unexpected")),
            (None, None) => continue,
        };
        if e.nonce != g.nonce {
            return Some(format!(
                "{addr} nonce: expected {}, got {}",
                e.nonce, g.nonce
            ));
        }
        if e.balance != g.balance {
            return Some(format!(
                "{addr} balance: expected {}, got {}",
                e.balance, g.balance
            ));
        }
        if e.code != g.code {
            return Some(format!("{addr} code: expected {}, got {}", e.code, g.code));
        }
        let mut keys: Vec<&B256> = e.storage.keys().chain(g.storage.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let (ev, gv) = (
                e.storage.get(k).copied().unwrap_or_default(),
                g.storage.get(k).copied().unwrap_or_default(),
            );
            if ev != gv {
                return Some(format!("{addr} storage[{k}]: expected {ev}, got {gv}"));
            }
        }
    }
    None
}

/// The revision name for messages (re-exported for the CLI).
pub fn fork_display(rev: Revision) -> &'static str {
    revision_name(rev)
}

/// The skip list (`skip-list.txt` in this crate): test name -> reason.
const SKIP_LIST: &str = include_str!("../skip-list.txt");

fn skip_entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    SKIP_LIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('|') {
            Some((name, reason)) => (name.trim(), reason.trim()),
            None => (l, ""),
        })
}

/// Why a test is on the skip list, if it is.
pub fn skip_reason(test_name: &str) -> Option<&'static str> {
    skip_entries()
        .find(|(name, _)| *name == test_name)
        .map(|(_, reason)| reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skip_entry_has_a_reason() {
        for (name, reason) in skip_entries() {
            assert!(!name.is_empty(), "skip entry without a test name");
            assert!(!reason.is_empty(), "skip entry {name} has no reason");
        }
    }

    #[test]
    fn both_formats_load_with_their_fork_names_and_senders() {
        let legacy = br#"{"t": {
            "env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                    "currentDifficulty": "0x020000", "currentGasLimit": "0x7fffffffffffffff",
                    "currentNumber": "0x01", "currentTimestamp": "0x03e8",
                    "previousHash": "0x5e20a0453cecd065ea59c37ac63e079ee08998b6045136a8ce6635c7912ec0b6"},
            "pre": {"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b":
                    {"balance": "0x0de0b6b3a7640000", "code": "0x", "nonce": "0x00", "storage": {}}},
            "transaction": {"data": ["0x"], "gasLimit": ["0x5208"], "gasPrice": "0x01",
                    "nonce": "0x00", "to": "",
                    "secretKey": "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8",
                    "value": ["0x00"]},
            "post": {"EIP158": [{"hash": "0x00", "logs": "0x00",
                    "indexes": {"data": 0, "gas": 0, "value": 0}}]}}}"#;
        let t = &load_str(legacy).unwrap()[0];
        assert_eq!(
            t.tx.base.sender,
            alloy_primitives::address!("a94f5374fce5edbc8e2a8697c15331677e6ebf0b")
        );
        assert_eq!(t.tx.base.to, None);
        assert_eq!(t.tx.base.tx_type, TxType::Legacy);
        assert_eq!(t.cases[0].rev, Some(sys::EVMC_SPURIOUS_DRAGON));
        assert!(!t.cases[0].strict_validity);
        // Before Paris the block's randomness field is the difficulty.
        let block = t.block_for("EIP158", sys::EVMC_SPURIOUS_DRAGON);
        assert_eq!(block.prev_randao, B256::from(U256::from(0x020000u64)));
        assert_eq!(block.base_fee, U256::ZERO);

        let current = br#"{"t": {
            "env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                    "currentGasLimit": "0x055d4a80", "currentNumber": "0x01",
                    "currentTimestamp": "0x03e8", "currentDifficulty": "0x00",
                    "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000000007",
                    "currentBaseFee": "0x07", "currentExcessBlobGas": "0x00"},
            "pre": {},
            "transaction": {"data": ["0x"], "gasLimit": ["0x5208"], "nonce": "0x00",
                    "maxFeePerGas": "0x07", "maxPriorityFeePerGas": "0x00",
                    "to": "0x0000000000000000000000000000000000001000", "value": ["0x00"],
                    "maxFeePerBlobGas": "0x01",
                    "blobVersionedHashes": ["0x0100000000000000000000000000000000000000000000000000000000000000"],
                    "sender": "0x4574a8755074f9810c0e40de87dc9823fd0afc18"},
            "post": {"Cancun": [{"hash": "0x00", "logs": "0x00", "txbytes": "0x",
                    "expectException": "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS",
                    "indexes": {"data": 0, "gas": 0, "value": 0}}],
                     "ShanghaiToCancunAtTime15k": [{"hash": "0x00", "logs": "0x00",
                    "indexes": {"data": 0, "gas": 0, "value": 0}}]},
            "config": {"chainid": "0x01", "blobSchedule": {"Cancun":
                    {"target": "0x03", "max": "0x06", "baseFeeUpdateFraction": "0x32f0ed"}}}}}"#;
        let t = &load_str(current).unwrap()[0];
        assert_eq!(t.tx.base.tx_type, TxType::Blob);
        let cancun = t.cases.iter().find(|c| c.fork == "Cancun").unwrap();
        assert!(cancun.strict_validity);
        assert!(cancun.expect_exception.is_some());
        let transition = t.cases.iter().find(|c| c.fork != "Cancun").unwrap();
        assert_eq!(transition.rev, None);
        let block = t.block_for("Cancun", sys::EVMC_CANCUN);
        assert_eq!(block.prev_randao, B256::with_last_byte(7));
        assert_eq!(
            block.blob_schedule,
            Some(BlobSchedule::for_revision(sys::EVMC_CANCUN))
        );
    }
}
