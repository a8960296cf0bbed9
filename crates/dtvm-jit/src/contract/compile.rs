//! How a contract gets compiled: whole-contract passes (multipass calls, background slices)
//! that compile its regions in order within the contract's compile budget, single segments
//! a caller enters (lazy) and hot segments past the budget, and publication into the slot
//! table. Everything here runs under the contract's compile lock.

use super::{CallerPolicy, Contract, JitState};
use crate::compiler::{CompileError, Compiler};
use crate::policy::{
    self, thread_cpu_nanos, CallBudget, BACKGROUND_SLICE, CONTRACT_COMPILE_BUDGET_NANOS,
};
use crate::{background, stats};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::{Arc, TryLockError};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Caller,
    Background,
}

impl Contract {
    /// Whether a segment of `segments` is hot (see [`policy::HOT_WORK`]).
    fn is_hot(&self, segments: &[usize]) -> bool {
        segments
            .iter()
            .any(|&s| self.entries[s].load(Relaxed) >= self.hot_after[s])
    }

    /// Whether compiling `segments`, estimated at `estimate` nanoseconds, fits the contract's
    /// compile budget, or they are hot. Marks the budget spent when it does not fit.
    fn affordable(&self, segments: &[usize], estimate: u64) -> bool {
        let spent = self.counters.compile_nanos.load(Relaxed);
        if !self.budget_spent.load(Relaxed)
            && spent.saturating_add(estimate) <= CONTRACT_COMPILE_BUDGET_NANOS
        {
            return true;
        }
        self.budget_spent.store(true, Relaxed);
        self.is_hot(segments)
    }

    /// Counts `took` nanoseconds of compile CPU time against this contract.
    fn charge_compile(&self, took: u64) {
        self.counters.compile_nanos.fetch_add(took, Relaxed);
        stats::COMPILE_NANOS.fetch_add(took, Relaxed);
    }

    /// One debug event per compiled function (`DTVM_LOG=debug` in the CLI): what was compiled,
    /// its sizes and its compile time.
    fn log_compiled(
        &self,
        segments: &[usize],
        result: &Result<(cranelift_module::FuncId, usize), CompileError>,
        took_nanos: u64,
        who: Who,
    ) {
        if let Ok((_, code_bytes)) = result {
            tracing::debug!(
                segments = ?segments,
                bytecode_bytes = segments.iter().map(|&s| self.segments.bytes(s)).sum::<usize>(),
                code_bytes,
                compile_us = took_nanos / 1000,
                by = ?who,
                "dtvm-jit: compiled"
            );
        }
    }

    /// The region of segment `s` (an index into `regions`).
    fn region_of(&self, s: usize) -> usize {
        (self.place[s] >> policy::LOCAL_BITS) as usize
    }

    /// Estimated compile time of `segments`, in nanoseconds.
    fn estimate(&self, segments: &[usize]) -> u64 {
        policy::estimate(&self.segments, segments)
    }

    /// Segments callers asked the background compilers for are waiting.
    pub(crate) fn has_requests(&self) -> bool {
        !self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Hands segment `s` to the background compilers, first in line.
    fn request(self: &Arc<Self>, s: usize) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(s);
        background::enqueue(self);
    }

    /// Multipass: compiles every region not compiled yet, until `deadline`. A contract too big
    /// for one call's budget is finished by the next calls (and the background compiler);
    /// meanwhile its uncompiled segments resolve lazily.
    pub(crate) fn compile_all(self: &Arc<Self>, budget: &CallBudget) {
        if !self.up_front_done.load(Acquire) {
            self.compile_rest(budget.deadline());
        }
    }

    // Out of line, as everything that compiles: the compiler's large locals must not sit in the
    // frame of `execute`, which stays on the native stack across nested calls.
    #[inline(never)]
    fn compile_rest(self: &Arc<Self>, deadline: Instant) {
        // The lock holder is compiling this contract: another caller, or the background
        // compiler, which gives way at its next region boundary when a caller waits (a region
        // takes milliseconds). The wait ends with the call's budget at the latest.
        self.callers_waiting.fetch_add(1, Relaxed);
        let state = loop {
            match self.jit.try_lock() {
                Ok(g) => break Some(g),
                Err(TryLockError::Poisoned(e)) => break Some(e.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => break None,
                Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_micros(50)),
            }
        };
        self.callers_waiting.fetch_sub(1, Relaxed);
        self.callers_waiting.fetch_sub(1, Relaxed);
        let Some(mut state) = state else {
            return;
        };
        if !self.up_front_done.load(Relaxed) {
            if self.compile_regions(&mut state, Some(deadline), Who::Caller) {
                self.up_front_done.store(true, Release);
            } else {
                drop(state);
                tracing::debug!("dtvm-jit: compile budget exhausted, next calls go on");
                background::enqueue(self);
            }
        }
    }

    fn ensure_compiler<'s>(&self, state: &'s mut JitState) -> Option<&'s mut Compiler> {
        if state.compiler.is_none() && !state.broken {
            match self.new_compiler() {
                Ok(c) => state.compiler = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "dtvm-jit: no compiler, contract runs interpreted");
                    state.broken = true;
                }
            }
        }
        if state.broken {
            return None;
        }
        state.compiler.as_mut()
    }

    /// Compiles the regions not done yet, stopping at `deadline`. Returns whether all are done.
    fn compile_regions(&self, state: &mut JitState, deadline: Option<Instant>, who: Who) -> bool {
        self.compile_regions_in(state, 0..self.regions.len(), deadline, who)
    }

    /// [`Contract::compile_regions`] for the regions `which` (indices, ascending).
    #[inline(never)]
    fn compile_regions_in(
        &self,
        state: &mut JitState,
        which: impl IntoIterator<Item = usize>,
        deadline: Option<Instant>,
        who: Who,
    ) -> bool {
        let mut defined = Vec::new();
        let mut finished = true;
        for r in which {
            let region = &self.regions[r];
            if self.region_done[r].load(Relaxed) {
                continue;
            }
            if who == Who::Background && self.callers_waiting.load(Relaxed) > 0 {
                finished = false;
                break;
            }
            let weight = policy::region_weight(&self.segments, region);
            let estimate = self.estimate(region);
            if !self.affordable(region, estimate) {
                // Deferred: compiled once hot (see `resolve`), not by whole-contract passes.
                continue;
            }
            let now = Instant::now();
            if let Some(deadline) = deadline {
                let estimate = Duration::from_nanos(estimate);
                if now >= deadline || (!defined.is_empty() && now + estimate > deadline) {
                    finished = false;
                    break;
                }
            }
            let Some(compiler) = self.ensure_compiler(state) else {
                region.iter().for_each(|&s| self.refuse(s));
                self.mark_done(r);
                continue;
            };
            let cpu = thread_cpu_nanos();
            let compiled = compiler.define(
                &self.analysis,
                &self.segments,
                region,
                Some(r as u32),
                &self.tables(),
            );
            let took = thread_cpu_nanos().saturating_sub(cpu);
            self.charge_compile(took);
            self.log_compiled(region, &compiled, took, who);
            policy::observe(took, weight);
            if matches!(compiled, Err(CompileError::Panicked)) {
                state.broken = true;
            }
            match compiled {
                Ok((id, size)) => defined.push((region.to_vec(), id, size)),
                Err(e) => {
                    // Its segments stay with whatever they have (the resolver compiles them
                    // one by one, or they already run single-segment code).
                    tracing::warn!(region = ?region, error = %e, "dtvm-jit: region not compiled");
                }
            }
            self.mark_done(r);
            if who == Who::Background {
                // Published region by region: calls use each one as soon as it is ready, however
                // long the rest takes a low-priority thread (a fresh page per region is the
                // price).
                self.publish(state, std::mem::take(&mut defined), who);
            }
        }
        self.publish(state, defined, who);
        finished
    }

    /// Region `r` needs no more compiling (under the compile lock).
    fn mark_done(&self, r: usize) {
        self.region_done[r].store(true, Relaxed);
    }

    /// Makes the defined regions executable and points their segments' slots at them.
    fn publish(
        &self,
        state: &mut JitState,
        defined: Vec<(Vec<usize>, cranelift_module::FuncId, usize)>,
        who: Who,
    ) {
        if defined.is_empty() {
            return;
        }
        let compiler = state.compiler.as_mut().expect("defined implies a compiler");
        if let Err(e) = compiler.finalize() {
            tracing::warn!(error = %e, "dtvm-jit: finalize failed, segments run interpreted");
            for (segments, _, _) in defined {
                segments.into_iter().for_each(|s| self.refuse(s));
            }
            return;
        }
        let c = &self.counters;
        for (segments, id, size) in defined {
            let address = compiler.address(id);
            for s in segments {
                let old = self.slots[s].swap(address, AcqRel);
                if old == self.stubs.resolve || old == self.stubs.interpret {
                    c.compiled_bytes.fetch_add(self.segments.bytes(s), Relaxed);
                }
                if old == self.stubs.resolve {
                    c.compiled.fetch_add(1, Relaxed);
                    if who == Who::Background {
                        c.compiled_in_background.fetch_add(1, Relaxed);
                    }
                } else if old == self.stubs.interpret {
                    c.compiled.fetch_add(1, Relaxed);
                    c.fallbacks.fetch_sub(1, Relaxed);
                }
            }
            c.code_bytes.fetch_add(size, Relaxed);
            c.functions.fetch_add(1, Relaxed);
            stats::FUNCTIONS_COMPILED.fetch_add(1, Relaxed);
            crate::code_cache::charge(super::FUNCTION_BYTES as isize);
        }
    }

    /// Points segment `s` at the interpreter, unless it has code already.
    fn refuse(&self, s: usize) {
        let swapped = self.slots[s].compare_exchange(
            self.stubs.resolve,
            self.stubs.interpret,
            AcqRel,
            Relaxed,
        );
        if swapped.is_ok() {
            self.counters.fallbacks.fetch_add(1, Relaxed);
        }
    }

    /// A caller entered an uncompiled segment; returns the address to continue with.
    ///
    /// Without background compilers the caller compiles the segment (unless another thread
    /// holds the compile lock or the call's compile budget is spent: then it interprets this
    /// time). With them (the default), the first entry hands the segment to them, to compile
    /// before anything else, and the caller interprets it until it is published, so a cold call
    /// costs what the interpreter costs; a segment that gets hot (see [`policy::HOT_WORK`])
    /// meanwhile is compiled by the caller after all, unless `policy` says callers never
    /// compile (tiered): then it is handed to the background compilers again. Once the
    /// contract's compile budget is spent, only hot segments are compiled, in every case.
    #[inline(never)]
    pub(super) fn resolve(
        self: &Arc<Self>,
        s: usize,
        budget: &CallBudget,
        policy: CallerPolicy,
    ) -> usize {
        // Counted without read-modify-write (racing threads may lose a count, which only
        // delays the hot threshold): this runs at every entry of an interpreted segment.
        let entries = self.entries[s].load(Relaxed);
        self.entries[s].store(entries.saturating_add(1), Relaxed);
        let hot = entries + 1 >= self.hot_after[s];
        let spent = self.budget_spent.load(Relaxed);
        let background = background::enabled();
        if !background || entries == 0 {
            self.counters.resolver_entries.fetch_add(1, Relaxed);
        }
        if background && (entries == 0 && !spent || entries + 1 == self.hot_after[s]) {
            // The background compiler does it first; a hot one also in case this caller
            // cannot (its call's budget is spent, or the compile lock is taken).
            self.request(s);
        }
        if policy == CallerPolicy::Never || !hot && (background || spent) {
            return self.stubs.interpret;
        }
        let deadline = budget.deadline();
        if Instant::now() >= deadline {
            return self.stubs.interpret;
        }
        let mut state = match self.jit.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return self.stubs.interpret,
        };
        if hot {
            // Its whole region (a few milliseconds), which the whole-contract pass would
            // otherwise compile again after this segment alone.
            let region = self.region_of(s);
            self.compile_regions_in(&mut state, [region], Some(deadline), Who::Caller);
        }
        self.compile_segment(&mut state, s, Who::Caller);
        match self.slots[s].load(Acquire) {
            // Not compiled (publication failed without refusing, or over budget): interpret
            // this time.
            a if a == self.stubs.resolve => self.stubs.interpret,
            a => a,
        }
    }

    /// Compiles segment `s` alone, unless it has code (or a refusal) already.
    #[inline(never)]
    fn compile_segment(&self, state: &mut JitState, s: usize, who: Who) {
        if self.slots[s].load(Acquire) != self.stubs.resolve {
            return;
        }
        if !self.affordable(&[s], self.estimate(&[s])) {
            // Left to run interpreted until hot.
            return;
        }
        let tables = self.tables();
        let cpu = thread_cpu_nanos();
        let compiled = self
            .ensure_compiler(state)
            .map(|compiler| compiler.define(&self.analysis, &self.segments, &[s], None, &tables));
        let took = thread_cpu_nanos().saturating_sub(cpu);
        self.charge_compile(took);
        if let Some(result) = &compiled {
            self.log_compiled(&[s], result, took, who);
        }
        let defined = match compiled {
            Some(Ok((id, size))) => Some((vec![s], id, size)),
            None => {
                self.refuse(s);
                None
            }
            Some(Err(e)) => {
                if matches!(e, CompileError::Panicked) {
                    state.broken = true;
                }
                tracing::warn!(segment = s, error = %e, "dtvm-jit: segment runs interpreted");
                self.refuse(s);
                None
            }
        };
        self.publish(state, defined.into_iter().collect(), who);
    }

    /// Background slice: compiles the segments callers asked for, then (unless the contract is
    /// compiled on demand) regions for a while. `false` when none are left.
    pub(crate) fn compile_in_background(&self) -> bool {
        if self.callers_waiting.load(Relaxed) > 0 {
            // A caller compiles this contract itself: come back later.
            std::thread::sleep(Duration::from_millis(1));
            return true;
        }
        let mut state = self.lock();
        let requested =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        // Whole regions rather than single segments: the whole-contract pass would compile
        // them again otherwise. A segment whose region is done yet has no code (the region
        // failed) gets compiled alone.
        let mut regions: Vec<usize> = requested.iter().map(|&s| self.region_of(s)).collect();
        regions.sort_unstable();
        regions.dedup();
        self.compile_regions_in(&mut state, regions, None, Who::Background);
        let mut later = Vec::new();
        for s in requested {
            let region = self.region_of(s);
            if self.region_done[region].load(Relaxed) {
                self.compile_segment(&mut state, s, Who::Background);
            } else if self.budget_spent.load(Relaxed) && !self.is_hot(&self.regions[region]) {
                // Deferred: asked again when hot.
            } else {
                // Its region was left for a waiting caller: ask again next slice.
                later.push(s);
            }
        }
        if !later.is_empty() {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(later);
        }
        if self.on_demand.load(Relaxed) {
            // Tiered: only what calls ran is compiled; done unless some was left over.
            return self.has_requests();
        }
        let deadline = Instant::now() + BACKGROUND_SLICE;
        let finished = self.compile_regions(&mut state, Some(deadline), Who::Background);
        if finished {
            self.up_front_done.store(true, Release);
        }
        !finished
    }
}
