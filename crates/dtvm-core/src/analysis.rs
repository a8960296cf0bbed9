//! Bytecode analysis, done once per (code, revision) and shared by every engine and thread:
//! jump destinations, basic blocks with their static gas and stack bounds, JUMPDEST segments.
//!
//! A basic block starts at pc 0, at every JUMPDEST, and after every instruction whose
//! [`Flow`](crate::opcode::Flow) is not `Next`. Engines charge a block's static gas and check its
//! stack bounds once, on entry. This is exact: a block that would fail part-way fails the frame
//! either way (all gas consumed), and instructions that observe the gas left end their block, so
//! they see exactly the gas a per-instruction charge would leave.

use crate::gas::static_gas_table;
use crate::opcode::{JUMPDEST, OPCODES, PUSH1, PUSH32};
use crate::{Revision, STACK_LIMIT};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Byte that replaces, in the executable copy of the code, every opcode undefined at the
/// analysed revision; it is undefined in every revision, so engines need no revision check per
/// instruction.
pub const UNDEFINED_MARK: u8 = 0x0c;

/// Padding after the code: a PUSH32 at the very end reads zeros, then execution meets STOP.
pub const CODE_PADDING: usize = 33;

/// Static requirements of the basic block starting at a pc.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlockInfo {
    /// Sum of the static gas of the block's instructions.
    pub gas: u32,
    /// Minimum stack height needed on entry.
    pub stack_req: u16,
    /// Maximum growth of the stack height over the entry height (clamped to STACK_LIMIT + 1).
    pub stack_max_growth: u16,
}

/// The analysis of one code at one revision.
pub struct CodeAnalysis {
    /// The revision the analysis is valid for: it decides which opcodes are defined and the
    /// static gas of each block.
    pub rev: Revision,
    /// The original code (kept to verify cache hits byte for byte).
    code: Box<[u8]>,
    /// Code as executed: undefined opcodes replaced by [`UNDEFINED_MARK`], then [`CODE_PADDING`]
    /// zero bytes.
    exec_code: Box<[u8]>,
    jumpdest_bits: Box<[u64]>,
    /// Indexed by pc; meaningful only where a block starts.
    blocks: Box<[BlockInfo]>,
    /// Start pcs of the JUMPDEST segments: 0, then every valid JUMPDEST.
    segment_starts: Box<[u32]>,
}

impl CodeAnalysis {
    /// Analyses `code` at `rev`: the executable copy, the valid JUMPDESTs, the requirements of
    /// every basic block and the JUMPDEST segment starts.
    pub fn new(code: &[u8], rev: Revision) -> Self {
        let len = code.len();
        let gas = static_gas_table(rev);
        let mut exec_code = Vec::with_capacity(len + CODE_PADDING);
        exec_code.extend_from_slice(code);
        exec_code.resize(len + CODE_PADDING, 0);
        let mut jumpdest_bits = vec![0u64; len.div_ceil(64)];
        let mut blocks = vec![BlockInfo::default(); len + CODE_PADDING];
        let mut segment_starts = vec![0u32];

        let mut block = BlockBuilder::new(0);
        let mut pc = 0;
        while pc < len {
            let op = code[pc];
            if op == JUMPDEST {
                jumpdest_bits[pc / 64] |= 1 << (pc % 64);
                if pc != 0 {
                    segment_starts.push(pc as u32);
                }
                if pc != block.start {
                    block.finish(&mut blocks);
                    block = BlockBuilder::new(pc);
                }
            }
            let info = &OPCODES[op as usize];
            let defined = info.defined_in(rev);
            if !defined {
                exec_code[pc] = UNDEFINED_MARK;
            } else {
                block.add(gas[op as usize], info.stack_in, info.stack_out);
            }
            pc += 1 + if (PUSH1..=PUSH32).contains(&op) {
                info.immediate as usize
            } else {
                0
            };
            if info.ends_block(rev) {
                block.finish(&mut blocks);
                block = BlockBuilder::new(pc.min(len));
            }
        }
        block.finish(&mut blocks);

        Self {
            rev,
            code: code.into(),
            exec_code: exec_code.into_boxed_slice(),
            jumpdest_bits: jumpdest_bits.into_boxed_slice(),
            blocks: blocks.into_boxed_slice(),
            segment_starts: segment_starts.into_boxed_slice(),
        }
    }

    /// Length of the original code.
    #[inline]
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// The original code.
    #[inline]
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// The executable, padded code (see [`UNDEFINED_MARK`], [`CODE_PADDING`]).
    #[inline]
    pub fn exec_code(&self) -> &[u8] {
        &self.exec_code
    }

    /// Whether `dest` is a valid jump destination (a JUMPDEST opcode, not PUSH data).
    #[inline]
    pub fn is_jumpdest(&self, dest: usize) -> bool {
        dest < self.code.len() && self.jumpdest_bits[dest / 64] & (1 << (dest % 64)) != 0
    }

    /// The block starting at `pc` (a block start; see the module docs).
    #[inline]
    pub fn block(&self, pc: usize) -> BlockInfo {
        self.blocks[pc]
    }

    /// Start pcs of the JUMPDEST segments, ascending: 0 then each JUMPDEST.
    pub fn segment_starts(&self) -> &[u32] {
        &self.segment_starts
    }

    /// Approximate heap bytes held, for cache accounting.
    pub fn heap_size(&self) -> usize {
        self.code.len()
            + self.exec_code.len()
            + self.jumpdest_bits.len() * 8
            + self.blocks.len() * std::mem::size_of::<BlockInfo>()
            + self.segment_starts.len() * 4
    }
}

struct BlockBuilder {
    start: usize,
    gas: u64,
    /// Stack height relative to the entry height.
    height: i32,
    req: i32,
    growth: i32,
}

impl BlockBuilder {
    fn new(start: usize) -> Self {
        Self {
            start,
            gas: 0,
            height: 0,
            req: 0,
            growth: 0,
        }
    }

    fn add(&mut self, gas: u16, stack_in: u8, stack_out: u8) {
        self.gas += gas as u64;
        self.req = self.req.max(stack_in as i32 - self.height);
        self.height += stack_out as i32 - stack_in as i32;
        self.growth = self.growth.max(self.height);
    }

    fn finish(&self, blocks: &mut [BlockInfo]) {
        let limit = STACK_LIMIT as i32 + 1;
        blocks[self.start] = BlockInfo {
            gas: self.gas.min(u32::MAX as u64) as u32,
            stack_req: self.req.min(limit) as u16,
            stack_max_growth: self.growth.min(limit) as u16,
        };
    }
}

/// The fast content hash the per-code caches key on (xxh3-128).
pub fn code_hash(code: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(code)
}

/// Process-wide cache of analyses, keyed by a fast content hash + revision, verified byte for
/// byte on hit (xxh3 is not collision resistant, and a wrong analysis would be a consensus bug).
pub struct AnalysisCache {
    map: RwLock<HashMap<(u128, Revision), Arc<CodeAnalysis>>>,
    bytes: std::sync::atomic::AtomicUsize,
    budget: usize,
}

impl AnalysisCache {
    /// An empty cache that holds analyses of at most `budget_bytes` heap bytes in total; when a
    /// new entry would exceed it, the cache is emptied first.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            bytes: Default::default(),
            budget: budget_bytes,
        }
    }

    /// The analysis of `code` at `rev`, computed at most once per content while cached.
    pub fn get(&self, code: &[u8], rev: Revision) -> Arc<CodeAnalysis> {
        self.get_hashed(code, code_hash(code), rev)
    }

    /// [`get`](Self::get) for a caller that already has `hash == code_hash(code)` (hashing 24 KB
    /// costs a few microseconds, as much as many calls). A wrong hash only misses the cache.
    pub fn get_hashed(&self, code: &[u8], hash: u128, rev: Revision) -> Arc<CodeAnalysis> {
        use std::sync::atomic::Ordering::Relaxed;
        let key = (hash, rev);
        if let Some(a) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            if a.code() == code {
                return a.clone();
            }
        }
        let analysis = Arc::new(CodeAnalysis::new(code, rev));
        let size = analysis.heap_size();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if self.bytes.load(Relaxed) + size > self.budget {
            // Dropping everything is crude but bounded and lock-cheap; running frames keep their
            // Arc, so nothing in use is freed.
            map.clear();
            self.bytes.store(0, Relaxed);
        }
        if size <= self.budget {
            if let Some(old) = map.insert(key, analysis.clone()) {
                self.bytes.fetch_sub(old.heap_size(), Relaxed);
            }
            self.bytes.fetch_add(size, Relaxed);
        }
        analysis
    }

    /// The number of cached analyses.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no analysis is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache the engines share.
pub fn analysis_cache() -> &'static AnalysisCache {
    static CACHE: once_cell::sync::Lazy<AnalysisCache> =
        once_cell::sync::Lazy::new(|| AnalysisCache::new(64 << 20));
    &CACHE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::*;
    use crate::{CANCUN, PARIS};

    #[test]
    fn jumpdests_skip_push_data() {
        // PUSH2 0x5b5b JUMPDEST PUSH1 (truncated)
        let code = [PUSH1 + 1, JUMPDEST, JUMPDEST, JUMPDEST, PUSH1];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert!(!a.is_jumpdest(1));
        assert!(!a.is_jumpdest(2));
        assert!(a.is_jumpdest(3));
        assert!(!a.is_jumpdest(4));
        assert!(!a.is_jumpdest(100));
        assert_eq!(a.segment_starts(), &[0, 3]);
        assert_eq!(a.exec_code().len(), code.len() + CODE_PADDING);
    }

    #[test]
    fn blocks_carry_gas_and_stack_bounds() {
        // PUSH1 1 PUSH1 2 ADD POP JUMPDEST ADD GAS STOP
        let code = [PUSH1, 1, PUSH1, 2, ADD, POP, JUMPDEST, ADD, GAS, STOP];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(
            a.block(0),
            BlockInfo {
                gas: 3 + 3 + 3 + 2,
                stack_req: 0,
                stack_max_growth: 2
            }
        );
        // JUMPDEST ADD GAS: GAS observes gas, so it closes the block.
        assert_eq!(
            a.block(6),
            BlockInfo {
                gas: 1 + 3 + 2,
                stack_req: 2,
                stack_max_growth: 0
            }
        );
        assert_eq!(
            a.block(9),
            BlockInfo {
                gas: 0,
                stack_req: 0,
                stack_max_growth: 0
            }
        );
    }

    #[test]
    fn undefined_opcodes_are_marked_per_revision() {
        let code = [PUSH0, STOP];
        assert_eq!(
            CodeAnalysis::new(&code, PARIS).exec_code()[0],
            UNDEFINED_MARK
        );
        assert_eq!(CodeAnalysis::new(&code, CANCUN).exec_code()[0], PUSH0);
    }

    #[test]
    fn stack_growth_is_clamped() {
        let code = vec![PUSH0; 2000];
        let a = CodeAnalysis::new(&code, CANCUN);
        assert_eq!(a.block(0).stack_max_growth as usize, STACK_LIMIT + 1);
    }

    #[test]
    fn cache_verifies_content() {
        let cache = AnalysisCache::new(1 << 20);
        let a = cache.get(&[PUSH1, 1, STOP], CANCUN);
        let b = cache.get(&[PUSH1, 1, STOP], CANCUN);
        assert!(Arc::ptr_eq(&a, &b));
        let c = cache.get(&[PUSH1, 1, STOP], PARIS);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.len(), 2);
    }
}
