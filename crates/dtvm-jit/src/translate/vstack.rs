//! The virtual stack: per stack slot relative to the stack pointer materialised in `sp`, whether
//! the item is a compile-time constant, an SSA value (4 little-endian u64 limbs, ruint's layout),
//! or only in the frame's memory. Invariant: an item not in `slots` is in the frame's memory;
//! a `dirty` one is not yet.

use super::*;

/// Stack items the virtual stack keeps in SSA values at most (see [`Lower::limit_cache`]).
pub(super) const MAX_CACHED: usize = 16;
/// Constant stack items the virtual stack keeps at most (see [`Lower::limit_cache`]).
pub(super) const MAX_CONSTS: usize = 48;

/// A stack word known at compile time.
#[derive(Clone, Copy)]
pub(super) enum Word {
    Const(U256),
    Ssa([Value; 4]),
}

/// A cached stack item: `idx` is relative to the materialised stack pointer (`sp` variable).
#[derive(Clone, Copy)]
pub(super) struct Slot {
    pub(super) idx: i32,
    pub(super) word: Word,
    /// The frame's memory does not hold this value yet.
    pub(super) dirty: bool,
}

/// The virtual stack: the real stack pointer is `sp + off` items.
#[derive(Clone, Default)]
pub(super) struct VStack {
    pub(super) off: i32,
    pub(super) slots: Vec<Slot>,
}

impl Lower<'_, '_> {
    pub(super) fn find(&self, idx: i32) -> Option<usize> {
        self.vs.slots.iter().position(|s| s.idx == idx)
    }

    pub(super) fn load_word(&mut self, idx: i32) -> [Value; 4] {
        let sp = self.sp;
        std::array::from_fn(|limb| {
            self.b
                .ins()
                .load(I64, FLAGS, sp, idx * WORD + 8 * limb as i32)
        })
    }

    pub(super) fn materialize(&mut self, w: Word) -> [Value; 4] {
        match w {
            Word::Ssa(l) => l,
            Word::Const(c) => {
                let limbs = *c.as_limbs();
                std::array::from_fn(|i| {
                    if limbs[i] == 0 {
                        self.zero()
                    } else {
                        self.b.ins().iconst(I64, limbs[i] as i64)
                    }
                })
            }
        }
    }

    pub(super) fn pop(&mut self) -> Word {
        self.vs.off -= 1;
        let idx = self.vs.off;
        match self.find(idx) {
            Some(p) => self.vs.slots.swap_remove(p).word,
            None => Word::Ssa(self.load_word(idx)),
        }
    }

    /// The item `n` places from the top (1 = top), cached for later reads.
    pub(super) fn peek(&mut self, n: i32) -> Word {
        let idx = self.vs.off - n;
        match self.find(idx) {
            Some(p) => self.vs.slots[p].word,
            None => {
                let word = Word::Ssa(self.load_word(idx));
                self.vs.slots.push(Slot {
                    idx,
                    word,
                    dirty: false,
                });
                self.limit_cache(idx);
                word
            }
        }
    }

    pub(super) fn set(&mut self, idx: i32, word: Word) {
        let slot = Slot {
            idx,
            word,
            dirty: true,
        };
        match self.find(idx) {
            Some(p) => self.vs.slots[p] = slot,
            None => {
                self.vs.slots.push(slot);
                self.limit_cache(idx);
            }
        }
    }

    /// Keeps at most [`MAX_CACHED`] items in SSA: beyond that the deepest one (other than
    /// `keep`) goes to the frame's stack. Long straight-line code would otherwise keep hundreds
    /// of words live at once, which makes register allocation superlinear (a 2,000-instruction
    /// segment took 15 us per instruction) and only spills them anyway. Constants hold no
    /// register (a use materialises its own), so they stay known unless there are more than
    /// [`MAX_CONSTS`] of them: constants pushed early and used throughout (masks, rotation
    /// amounts, deep in the stack of a long hash function) keep folding into the code.
    pub(super) fn limit_cache(&mut self, keep: i32) {
        let ssa = |s: &Slot| matches!(s.word, Word::Ssa(_));
        let n_ssa = self.vs.slots.iter().filter(|s| ssa(s)).count();
        let over_ssa = n_ssa > MAX_CACHED;
        if !over_ssa && self.vs.slots.len() - n_ssa <= MAX_CONSTS {
            return;
        }
        let Some(p) = (0..self.vs.slots.len())
            .filter(|&p| self.vs.slots[p].idx != keep && ssa(&self.vs.slots[p]) == over_ssa)
            .min_by_key(|&p| self.vs.slots[p].idx)
        else {
            return;
        };
        let s = self.vs.slots.swap_remove(p);
        if s.dirty {
            let limbs = self.materialize(s.word);
            for (k, limb) in limbs.into_iter().enumerate() {
                self.b
                    .ins()
                    .store(FLAGS, limb, self.sp, s.idx * WORD + 8 * k as i32);
            }
        }
    }

    pub(super) fn push(&mut self, word: Word) {
        let idx = self.vs.off;
        self.set(idx, word);
        self.vs.off += 1;
    }

    pub(super) fn swap(&mut self, n: i32) {
        let top = self.peek(1);
        let other = self.peek(n + 1);
        let off = self.vs.off;
        self.set(off - 1, other);
        self.set(off - 1 - n, top);
    }

    /// Writes the dirty items with `lo <= idx < hi` to the frame's stack.
    pub(super) fn flush_range(&mut self, lo: i32, hi: i32) {
        for i in 0..self.vs.slots.len() {
            let s = self.vs.slots[i];
            if s.dirty && s.idx >= lo && s.idx < hi {
                let limbs = self.materialize(s.word);
                let sp = self.sp;
                for (k, limb) in limbs.into_iter().enumerate() {
                    self.b
                        .ins()
                        .store(FLAGS, limb, sp, s.idx * WORD + 8 * k as i32);
                }
                self.vs.slots[i].dirty = false;
            }
        }
    }

    /// Writes every live dirty item; forgets items above the top.
    pub(super) fn flush_all(&mut self) {
        let off = self.vs.off;
        self.vs.slots.retain(|s| s.idx < off);
        self.flush_range(i32::MIN, off);
    }

    /// Flushes the virtual stack and returns the real stack pointer.
    pub(super) fn settle(&mut self) -> Value {
        self.flush_all();
        self.sp_at_top()
    }

    /// The real stack pointer for the virtual top: `sp` itself when they agree.
    pub(super) fn sp_at_top(&mut self) -> Value {
        match self.vs.off {
            0 => self.sp,
            off => self.b.ins().iadd_imm_s(self.sp, (off * WORD) as i64),
        }
    }
}
