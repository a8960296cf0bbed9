//! The engines under comparison and how one execution of a case is run on each.
//!
//! dtvm: `dtvm::create()` wrapped in `evmc_vm::Vm`, `execute` called through the C function
//! table with the test kit's [`MockHost`] (the one in-memory host, journaled; it refuses
//! CREATE and precompile calls, so a case that needs them fails validation with a clear reason
//! instead of timing a different computation), as an EVMC client would. The top-level message is what a client
//! builds after its transaction checks: the execution gas (transaction gas minus intrinsic).
//!
//! revm: its whole transaction path (validation, caller load, intrinsic gas, warm sets, frame,
//! refunds, coinbase payment, state finalization) on an in-memory `CacheDB`, with the same
//! transaction gas limit, so both sides get the same execution gas. `transact` does not commit,
//! so every run starts from the same state; the database, bytecode analysis and revm's reused
//! buffers stay warm between runs, as dtvm's code caches do.
use super::cases::Case;
use ::evmc_vm::sys::*;
use ::evmc_vm::{ExecutionResult, Revision, Vm};
use dtvm_testkit::MockHost;
use revm::context::result::{ExecutionResult as RevmResult, HaltReason, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::precompile::{PrecompileSpecId, Precompiles};
use revm::primitives::eip4844::{
    BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{keccak256, Bytes, TxKind, U256};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Revision names accepted by `--rev`, in EVMC order.
pub(crate) const REVISIONS: [(&str, Revision); 15] = [
    ("frontier", EVMC_FRONTIER),
    ("homestead", EVMC_HOMESTEAD),
    ("tangerine_whistle", EVMC_TANGERINE_WHISTLE),
    ("spurious_dragon", EVMC_SPURIOUS_DRAGON),
    ("byzantium", EVMC_BYZANTIUM),
    ("constantinople", EVMC_CONSTANTINOPLE),
    ("petersburg", EVMC_PETERSBURG),
    ("istanbul", EVMC_ISTANBUL),
    ("berlin", EVMC_BERLIN),
    ("london", EVMC_LONDON),
    ("paris", EVMC_PARIS),
    ("shanghai", EVMC_SHANGHAI),
    ("cancun", EVMC_CANCUN),
    ("prague", EVMC_PRAGUE),
    ("osaka", EVMC_OSAKA),
];

/// The engines `--mode` accepts: dtvm's modes and the peer.
pub const ENGINE_NAMES: [&str; 5] = ["interpreter", "multipass", "lazy", "tiered", "revm"];

/// A `--mode` list: comma-separated names of [`ENGINE_NAMES`].
pub fn parse_modes(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(|m| {
            let m = m.trim();
            ENGINE_NAMES
                .contains(&m)
                .then(|| m.to_owned())
                .ok_or_else(|| format!("unknown mode {m}"))
        })
        .collect()
}

/// The revision a `--rev` value names (case-insensitive).
pub fn revision_named(name: &str) -> Result<Revision, String> {
    let lower = name.to_ascii_lowercase();
    REVISIONS
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|&(_, r)| r)
        .ok_or_else(|| format!("unknown revision {name}"))
}

/// The lower-case name `--rev` accepts for `rev` (`?` for one it does not know).
pub fn revision_name(rev: Revision) -> &'static str {
    REVISIONS
        .iter()
        .find(|(_, r)| *r == rev)
        .map_or("?", |(n, _)| n)
}

/// revm's fork for an EVMC revision. revm has no Constantinople (it folds it into Petersburg,
/// which dropped Constantinople's EIP-1283), so that one cannot be compared.
pub fn spec_of(rev: Revision) -> Option<SpecId> {
    Some(match rev {
        EVMC_FRONTIER => SpecId::FRONTIER,
        EVMC_HOMESTEAD => SpecId::HOMESTEAD,
        EVMC_TANGERINE_WHISTLE => SpecId::TANGERINE,
        EVMC_SPURIOUS_DRAGON => SpecId::SPURIOUS_DRAGON,
        EVMC_BYZANTIUM => SpecId::BYZANTIUM,
        EVMC_PETERSBURG => SpecId::PETERSBURG,
        EVMC_ISTANBUL => SpecId::ISTANBUL,
        EVMC_BERLIN => SpecId::BERLIN,
        EVMC_LONDON => SpecId::LONDON,
        EVMC_PARIS => SpecId::MERGE,
        EVMC_SHANGHAI => SpecId::SHANGHAI,
        EVMC_CANCUN => SpecId::CANCUN,
        EVMC_PRAGUE => SpecId::PRAGUE,
        EVMC_OSAKA => SpecId::OSAKA,
        _ => return None,
    })
}

/// How much gas each case's call gets.
#[derive(Clone, Copy, Debug)]
pub enum GasChoice {
    /// The suite file's transaction gas limit (intrinsic gas included).
    FromCase,
    /// This much execution gas: what dtvm's message gets, plus intrinsic gas for revm's tx.
    Execution(i64),
}

/// What both engines are given for one case: fork, gas split, and the parameters of the
/// transaction, computed once outside any timed region.
pub(crate) struct Setup {
    pub rev: Revision,
    pub spec: SpecId,
    pub intrinsic: u64,
    pub exec_gas: i64,
}

impl Setup {
    pub(crate) fn new(case: &Case, rev: Revision, gas: GasChoice) -> Result<Self, String> {
        let spec = spec_of(rev)
            .ok_or_else(|| format!("revision {} has no revm equivalent", revision_name(rev)))?;
        let intrinsic =
            calculate_initial_tx_gas(spec, &case.input, false, 0, 0, 0, None).initial_regular_gas();
        let exec_gas = match gas {
            GasChoice::FromCase => case
                .tx_gas_limit
                .checked_sub(intrinsic)
                .ok_or("transaction gas limit below intrinsic gas")?
                .try_into()
                .map_err(|_| "gas limit beyond i64")?,
            GasChoice::Execution(g) => g,
        };
        Ok(Self {
            rev,
            spec,
            intrinsic,
            exec_gas,
        })
    }

    fn tx_gas(&self) -> u64 {
        self.exec_gas as u64 + self.intrinsic
    }
}

/// The refund a transaction gets for an execution's refund counter: EIP-3529 caps it at a fifth
/// of the transaction's gas used from London, at half before. revm reports the capped figure.
fn capped_refund(rev: Revision, intrinsic: u64, exec_used: u64, refund: u64) -> u64 {
    let quotient = if rev >= EVMC_LONDON { 5 } else { 2 };
    refund.min((intrinsic + exec_used) / quotient)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Success,
    Revert,
    Halt,
}

/// What an execution produced, in terms both engines can be compared on.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub class: Class,
    pub output: Vec<u8>,
    /// Execution gas spent before refunds (revm: total spent minus intrinsic).
    pub gas_used: u64,
    /// The refund the transaction gets, after the cap; successful executions only.
    pub refund: Option<u64>,
    /// Engine-specific status, for messages.
    pub detail: String,
}

impl Outcome {
    /// Why `self` and `other` differ, if they do.
    pub(crate) fn diff(&self, other: &Outcome) -> Option<String> {
        if self.class != other.class {
            return Some(format!("status {} vs {}", self.detail, other.detail));
        }
        if self.output != other.output {
            return Some(format!(
                "output {} vs {}",
                short_hex(&self.output),
                short_hex(&other.output)
            ));
        }
        if self.gas_used != other.gas_used {
            return Some(format!("gas used {} vs {}", self.gas_used, other.gas_used));
        }
        if self.refund != other.refund {
            return Some(format!("refund {:?} vs {:?}", self.refund, other.refund));
        }
        None
    }
}

pub(crate) fn short_hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(40).map(|x| format!("{x:02x}")).collect();
    if b.len() > 40 {
        s.push_str(&format!("...({} bytes)", b.len()));
    }
    if s.is_empty() {
        s.push_str("(empty)");
    }
    s
}

/// One engine prepared for one case.
pub(crate) trait Runner {
    /// Restores the pre-state; never timed.
    fn reset(&mut self);
    /// One execution; the duration covers the engine call alone (results are dropped after).
    fn run_timed(&mut self) -> Duration;
    /// One execution, also returning what it produced, or why it could not be compared.
    fn run_checked(&mut self) -> Result<(Duration, Outcome), String>;
    /// Runs the case until the engine has reached its steady state (after warm-up, untimed).
    fn settle(&mut self) {}
}

/// Something that can prepare a [`Runner`] for a case.
pub(crate) trait Engine {
    fn runner(&self, case: &Case, setup: &Setup) -> Result<Box<dyn Runner>, String>;
}

/// revm, driven through its transaction path.
pub(crate) struct Revm;

impl Engine for Revm {
    fn runner(&self, case: &Case, setup: &Setup) -> Result<Box<dyn Runner>, String> {
        Ok(Box::new(RevmRunner::new(case, setup)?))
    }
}

impl Engine for DtvmEngine {
    fn runner(&self, case: &Case, setup: &Setup) -> Result<Box<dyn Runner>, String> {
        Ok(Box::new(self.dtvm_runner(case, setup)))
    }
}

/// A dtvm instance in one mode.
pub(crate) struct DtvmEngine {
    vm: Arc<Vm>,
    /// Tiered mode: compiles in the background once a contract is hot, so its steady state is
    /// reached by running the case until its compilation settles.
    tiered: bool,
}

pub(crate) enum ModeStatus {
    Selected,
    /// The VM has no `mode` option: it runs its only engine, the interpreter.
    NoModeOption,
    Unavailable(&'static str),
}

impl DtvmEngine {
    pub(crate) fn new(mode: &str) -> (Self, ModeStatus) {
        // SAFETY: `create` returns a fresh VM that only this `Vm` owns and destroys.
        let vm = unsafe { Vm::from_raw(dtvm::create()) };
        use ModeStatus::Unavailable;
        let status = match vm.set_option("mode", mode) {
            EVMC_SET_OPTION_SUCCESS => ModeStatus::Selected,
            EVMC_SET_OPTION_INVALID_NAME if mode == "interpreter" => ModeStatus::NoModeOption,
            EVMC_SET_OPTION_INVALID_NAME => Unavailable("the VM has no `mode` option"),
            EVMC_SET_OPTION_INVALID_VALUE => Unavailable("set_option returned INVALID_VALUE"),
            _ => Unavailable("set_option failed"),
        };
        let engine = Self {
            vm: Arc::new(vm),
            tiered: mode == "tiered",
        };
        (engine, status)
    }

    /// Sets one of the VM's options (e.g. `trace`).
    pub(crate) fn set_option(&self, name: &str, value: &str) -> Result<(), String> {
        match self.vm.set_option(name, value) {
            EVMC_SET_OPTION_SUCCESS => Ok(()),
            r => Err(format!("set_option({name}, {value}) returned {r}")),
        }
    }

    fn dtvm_runner(&self, case: &Case, setup: &Setup) -> DtvmRunner {
        let rev = setup.rev;
        let blob_base_fee = if rev >= EVMC_CANCUN {
            U256::from(1) // revm's price at zero excess blob gas
        } else {
            U256::ZERO
        };
        let randao = if rev >= EVMC_PARIS {
            case.block.prevrandao.0
        } else {
            case.block.difficulty.to_be_bytes::<32>()
        };
        let tx = evmc_tx_context {
            tx_gas_price: Default::default(),
            tx_origin: addr(&case.sender),
            block_coinbase: addr(&case.block.coinbase),
            block_number: case.block.number as i64,
            block_timestamp: case.block.timestamp as i64,
            block_gas_limit: case.block.gas_limit as i64,
            block_prev_randao: evmc_bytes32 { bytes: randao },
            chain_id: b32(U256::from(1)),
            block_base_fee: Default::default(),
            blob_base_fee: b32(blob_base_fee),
            blob_hashes: std::ptr::null(),
            blob_hashes_count: 0,
            initcodes: std::ptr::null(),
            initcodes_count: 0,
        };
        let precompiles = if rev >= EVMC_BERLIN {
            Precompiles::new(PrecompileSpecId::from_spec_id(setup.spec))
                .addresses()
                .map(addr)
                .collect()
        } else {
            Vec::new()
        };
        let host = MockHost::with_vm(rev, self.vm.clone());
        // The recorded messages would be work in the timed region that revm does not do.
        host.record_calls.set(false);
        *host.tx.borrow_mut() = Some(tx);
        for a in case.accounts.iter() {
            let at = addr(&a.address);
            host.balances.borrow_mut().insert(at, b32(a.balance));
            if !a.code.is_empty() {
                host.codes.borrow_mut().insert(at, a.code.to_vec());
            }
            let mut storage = host.storage.borrow_mut();
            storage.extend(a.storage.iter().map(|&(k, v)| ((at, b32(k)), b32(v))));
        }
        // Warm before execution starts, as in a transaction: origin, recipient, coinbase
        // (Shanghai, EIP-3651) and precompiles (Berlin, EIP-2929), which the host refuses.
        let mut warm = vec![tx.tx_origin, addr(&case.to)];
        if rev >= EVMC_SHANGHAI {
            warm.push(tx.block_coinbase);
        }
        for p in precompiles {
            host.refuse_calls_to(p);
            warm.push(p);
        }
        host.warm_accounts.borrow_mut().extend(warm);
        host.save_pre_state();
        DtvmRunner {
            host,
            code: case.code().to_vec(),
            input: case.input.clone(),
            sender: addr(&case.sender),
            recipient: addr(&case.to),
            gas: setup.exec_gas,
            intrinsic: setup.intrinsic,
            rev,
            tiered: self.tiered,
        }
    }
}

/// An address as EVMC spells it.
pub(crate) fn addr(a: &revm::primitives::Address) -> evmc_address {
    evmc_address { bytes: a.0 .0 }
}

/// A word as EVMC spells it.
pub(crate) fn b32(v: U256) -> evmc_bytes32 {
    evmc_bytes32 {
        bytes: v.to_be_bytes::<32>(),
    }
}

pub(crate) struct DtvmRunner {
    host: MockHost,
    code: Vec<u8>,
    input: Vec<u8>,
    sender: evmc_address,
    recipient: evmc_address,
    gas: i64,
    intrinsic: u64,
    rev: Revision,
    tiered: bool,
}

impl DtvmRunner {
    fn message(&self) -> evmc_message {
        evmc_message {
            kind: EVMC_CALL,
            flags: 0,
            depth: 0,
            gas: self.gas,
            recipient: self.recipient,
            sender: self.sender,
            input_data: self.input.as_ptr(),
            input_size: self.input.len(),
            value: Default::default(),
            create2_salt: Default::default(),
            code_address: self.recipient,
            code: std::ptr::null(),
            code_size: 0,
        }
    }

    fn exec(&mut self) -> (Duration, ExecutionResult) {
        let msg = self.message();
        let start = Instant::now();
        let result = self.host.execute(&msg, &self.code);
        (start.elapsed(), result)
    }
}

impl Runner for DtvmRunner {
    fn reset(&mut self) {
        self.host.reset();
    }

    fn settle(&mut self) {
        if self.tiered {
            let (code, rev) = (self.code.clone(), self.rev);
            crate::settle_tiered(&code, rev, &mut || {
                self.reset();
                self.run_timed();
            });
        }
    }

    fn run_timed(&mut self) -> Duration {
        let (d, r) = self.exec();
        std::hint::black_box(&r);
        d
    }

    fn run_checked(&mut self) -> Result<(Duration, Outcome), String> {
        let (d, r) = self.exec();
        if let Some(what) = self.host.unsupported() {
            return Err(format!("the bench host does not implement {what}"));
        }
        let class = match r.status_code {
            EVMC_SUCCESS => Class::Success,
            EVMC_REVERT => Class::Revert,
            _ => Class::Halt,
        };
        let gas_left = if class == Class::Halt { 0 } else { r.gas_left };
        let gas_used = (self.gas - gas_left) as u64;
        let refund = (class == Class::Success).then(|| {
            let raw = r.gas_refund.max(0) as u64;
            capped_refund(self.host.rev.get(), self.intrinsic, gas_used, raw)
        });
        Ok((
            d,
            Outcome {
                class,
                output: r.output,
                gas_used,
                refund,
                detail: format!("EVMC {}", ::evmc_vm::status_name(r.status_code)),
            },
        ))
    }
}

type RevmEvm = MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>;

pub(crate) struct RevmRunner {
    evm: RevmEvm,
    tx: TxEnv,
    intrinsic: u64,
}

impl RevmRunner {
    pub(crate) fn new(case: &Case, setup: &Setup) -> Result<Self, String> {
        let mut db = CacheDB::new(EmptyDB::default());
        for a in case.accounts.iter() {
            let code = Bytes::copy_from_slice(&a.code);
            let info = AccountInfo::new(
                a.balance,
                a.nonce,
                keccak256(&code),
                Bytecode::new_raw(code),
            );
            db.insert_account_info(a.address, info);
            for &(k, v) in &a.storage {
                db.insert_account_storage(a.address, k, v)
                    .map_err(|e| e.to_string())?;
            }
        }
        let mut cfg = CfgEnv::new_with_spec(setup.spec);
        // The suite's block gas limit (1e9) must not cap evmone-bench's i64::MAX of gas, and
        // Osaka's per-transaction cap (EIP-7825) must not either: both sides get the same gas.
        cfg.disable_block_gas_limit = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let fraction = if setup.spec >= SpecId::PRAGUE {
            BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
        } else {
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
        };
        let block = BlockEnv {
            number: U256::from(case.block.number),
            beneficiary: case.block.coinbase,
            timestamp: U256::from(case.block.timestamp),
            gas_limit: case.block.gas_limit,
            basefee: 0,
            difficulty: case.block.difficulty,
            prevrandao: Some(case.block.prevrandao),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, fraction)),
            slot_num: 0,
        };
        let tx = TxEnv::builder()
            .caller(case.sender)
            .gas_limit(setup.tx_gas())
            .gas_price(0)
            .kind(TxKind::Call(case.to))
            .data(Bytes::copy_from_slice(&case.input))
            .nonce(0)
            .build()
            .map_err(|e| format!("revm transaction: {e:?}"))?;
        let evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        Ok(Self {
            evm,
            tx,
            intrinsic: setup.intrinsic,
        })
    }
}

impl Runner for RevmRunner {
    fn reset(&mut self) {}

    fn run_timed(&mut self) -> Duration {
        let tx = self.tx.clone();
        let start = Instant::now();
        let r = self.evm.transact(tx);
        let d = start.elapsed();
        std::hint::black_box(&r);
        d
    }

    fn run_checked(&mut self) -> Result<(Duration, Outcome), String> {
        let tx = self.tx.clone();
        let start = Instant::now();
        let r = self.evm.transact(tx);
        let d = start.elapsed();
        let r = r.map_err(|e| format!("revm rejected the transaction: {e}"))?;
        let gas = *r.result.gas();
        let gas_used = gas.total_gas_spent() - self.intrinsic;
        let outcome = match r.result {
            RevmResult::Success { output, .. } => {
                let output = match output {
                    Output::Call(b) => b.to_vec(),
                    Output::Create(b, _) => b.to_vec(),
                };
                Outcome {
                    class: Class::Success,
                    output,
                    gas_used,
                    refund: Some(gas.inner_refunded()),
                    detail: "revm success".into(),
                }
            }
            RevmResult::Revert { output, .. } => Outcome {
                class: Class::Revert,
                output: output.to_vec(),
                gas_used,
                refund: None,
                detail: "revm revert".into(),
            },
            RevmResult::Halt { reason, .. } => Outcome {
                class: Class::Halt,
                output: Vec::new(),
                gas_used,
                refund: None,
                detail: format!("revm halt {}", halt_name(&reason)),
            },
        };
        Ok((d, outcome))
    }
}

fn halt_name(r: &HaltReason) -> String {
    format!("{r:?}")
}
