//! Tiered execution: every contract starts in the plain interpreter; the time its interpreted
//! calls take (their own, not the nested calls they make) is its *heat*, which halves every
//! [`HEAT_HALF_LIFE_SECS`] so old heat fades. A contract whose heat reaches its hot threshold
//! (`config::hot_nanos`: about what compiling it is estimated to cost) is promoted: it enters the code cache and is
//! queued to the background compilers, which compile the regions its calls enter (on demand,
//! never the whole contract). Calls after promotion run on its slot table, so compiled regions
//! and interpreted segments interleave as they are published. Callers never compile and never
//! wait (unless the compile-now debug switch is on); code that never gets hot is never compiled.
//!
//! Invariants: a (code, revision) is either in the heat table or in the code cache, not both
//! (promotion moves it; an evicted contract starts cold again). The heat table is bounded
//! ([`MAX_HEAT_ENTRIES`]): when full, cold entries are dropped first.

use crate::background;
use crate::code_cache::{self, Key};
use crate::compiler::Effort;
use crate::config::{self, HEAT_HALF_LIFE_SECS};
use crate::contract::{CallerPolicy, Contract};
use crate::policy::CallBudget;
use crate::stats::{PROMOTIONS, PROMOTIONS_DEFERRED};
use crate::stubs::Stubs;
use ::evmc_vm::{ExecutionContext, ExecutionMessage, ExecutionResult};
use dtvm_core::Revision;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Contracts the heat table tracks at most (~50 bytes each).
pub(crate) const MAX_HEAT_ENTRIES: usize = 1 << 16;
/// How long a compile-now promotion may compile in the caller.
const COMPILE_NOW_BUDGET: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
struct Heat {
    /// Interpreted nanoseconds, decayed.
    nanos: u64,
    /// The half-life window `nanos` was last brought up to date in.
    window: u64,
}

type Shard = Mutex<HashMap<Key, Heat>>;

static HEAT: once_cell::sync::Lazy<[Shard; SHARDS]> =
    once_cell::sync::Lazy::new(|| std::array::from_fn(|_| Mutex::new(HashMap::new())));

fn shard(key: &Key) -> &'static Shard {
    &HEAT[(key.0 as usize) % SHARDS]
}

fn window() -> u64 {
    code_cache::now_ms() / (HEAT_HALF_LIFE_SECS * 1000)
}

/// Adds `nanos` to the heat of `key`; returns its heat now.
fn add_heat(key: &Key, nanos: u64) -> u64 {
    let now = window();
    let mut table = shard(key).lock().unwrap_or_else(|e| e.into_inner());
    if !table.contains_key(key) && table.len() >= MAX_HEAT_ENTRIES / SHARDS {
        make_room(&mut table, now);
    }
    let heat = table.entry(*key).or_insert(Heat {
        nanos: 0,
        window: now,
    });
    heat.nanos = decayed(*heat, now).saturating_add(nanos);
    heat.window = now;
    heat.nanos
}

fn decayed(heat: Heat, now: u64) -> u64 {
    heat.nanos >> now.saturating_sub(heat.window).min(63)
}

/// Drops the coldest half of a full shard.
#[cold]
fn make_room(table: &mut HashMap<Key, Heat>, now: u64) {
    let mut heats: Vec<u64> = table.values().map(|h| decayed(*h, now)).collect();
    let middle = heats.len() / 2;
    let (_, &mut median, _) = heats.select_nth_unstable(middle);
    table.retain(|_, h| decayed(*h, now) > median);
    if table.len() > middle {
        // Mostly equal heats: make room anyway.
        table.clear();
    }
}

/// Forgets all heat (with [`crate::clear_cache`]).
pub(crate) fn clear_heat() {
    for shard in HEAT.iter() {
        shard.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

thread_local! {
    /// Nanoseconds the calls nested in this thread's current tiered call have taken so far, so
    /// that a caller's heat is its own interpretation, not its callees' (which heat them).
    static NESTED_NANOS: Cell<u64> = const { Cell::new(0) };
    /// Cold calls on this thread's stack: only they read the time of their nested calls, so a
    /// promoted call below none of them need not read the clock (two reads were 6% of a short
    /// compiled call).
    static COLD_CALLERS: Cell<u32> = const { Cell::new(0) };
}

/// What a tiered call runs on.
enum Tier {
    /// The contract is in the code cache: its compiled regions (and the interpreter for the rest).
    Promoted(Arc<Contract>),
    /// Not (yet) promoted: interpreted, counting heat under this key.
    Cold(Key),
}

/// Counts a cold call on the thread's stack while alive (also when a panic unwinds it).
struct ColdCall;

impl ColdCall {
    fn enter() -> Self {
        COLD_CALLERS.set(COLD_CALLERS.get() + 1);
        ColdCall
    }
}

impl Drop for ColdCall {
    fn drop(&mut self) {
        COLD_CALLERS.set(COLD_CALLERS.get() - 1);
    }
}

/// Runs `code` for `msg` at `rev`: compiled code if the contract was promoted, otherwise the
/// interpreter, counting heat.
pub(crate) fn execute(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    code: &[u8],
    stubs: &'static Stubs,
) -> ExecutionResult {
    // The thread's recent contract spares hashing the code (see `code_cache::recent`).
    let tier = match code_cache::recent(code, rev) {
        Some(contract) => Tier::Promoted(contract),
        None => {
            let key = code_cache::key(code, rev);
            match code_cache::lookup(&key, code) {
                Some(contract) => Tier::Promoted(contract),
                None => Tier::Cold(key),
            }
        }
    };
    if let Tier::Promoted(contract) = &tier {
        if COLD_CALLERS.get() == 0 {
            // No heat to count above: nobody needs this call's time.
            return run_promoted(ctx, rev, msg, contract);
        }
    }
    let start = Instant::now();
    let callers_nested = NESTED_NANOS.replace(0);
    let result = match &tier {
        Tier::Promoted(contract) => run_promoted(ctx, rev, msg, contract),
        Tier::Cold(key) => {
            let _cold = ColdCall::enter();
            crate::interpret(ctx, rev, msg, code, key.0)
        }
    };
    let took = (start.elapsed().as_nanos() as u64).max(1);
    let own = took.saturating_sub(NESTED_NANOS.get()).max(1);
    NESTED_NANOS.set(callers_nested.saturating_add(took));
    if let Tier::Cold(key) = tier {
        if add_heat(&key, own) >= config::hot_nanos(code.len())
            && code.len() <= config::max_code_size()
        {
            promote(&key, code, rev, stubs);
        }
    }
    result
}

/// A promoted contract's call: its compiled regions and the interpreter for the rest.
#[inline(never)]
fn run_promoted(
    ctx: &mut ExecutionContext<'_>,
    rev: Revision,
    msg: &ExecutionMessage<'_>,
    contract: &Arc<Contract>,
) -> ExecutionResult {
    let policy = if config::compile_now() {
        CallerPolicy::Compiles
    } else {
        CallerPolicy::Never
    };
    let budget = CallBudget::new();
    dtvm_runtime::execute_analyzed(ctx, rev, msg, contract.analysis(), |frame| {
        contract.run(frame, &budget, policy)
    })
}

/// Moves a hot contract from the heat table into the code cache and queues it for the
/// background compilers (or, with compile-now, compiles it here). Put off, heat kept, when
/// the compilers already have their cap of pending jobs.
#[cold]
#[inline(never)]
fn promote(key: &Key, code: &[u8], rev: Revision, stubs: &'static Stubs) {
    let now = config::compile_now();
    if !now && (!background::enabled() || background::pending() >= config::max_pending()) {
        PROMOTIONS_DEFERRED.fetch_add(1, Relaxed);
        return;
    }
    let (contract, created) = code_cache::contract(key, code, rev, stubs, Effort::Thorough);
    shard(key)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(key);
    if !created {
        return;
    }
    contract.on_demand.store(true, Relaxed);
    PROMOTIONS.fetch_add(1, Relaxed);
    tracing::debug!(
        code_len = code.len(),
        rev = ?rev,
        "dtvm-jit: tiered promotes a hot contract"
    );
    // Without compile-now, the regions its next calls enter are requested from the background
    // compilers as they are entered.
    if now {
        contract.compile_all(&CallBudget::of(COMPILE_NOW_BUDGET));
    }
}
