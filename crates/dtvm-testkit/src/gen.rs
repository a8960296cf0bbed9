//! Program generator for the engines' differential tests (interpreter against JIT modes on the
//! [`MockHost`](crate::MockHost)): random bytes, and structured programs that mostly keep the
//! stack valid so execution gets deep (jumps to real JUMPDESTs, counted loops, memory growth,
//! storage, logs, calls and creates into a second generated program); plus [`bomb`], code built
//! to be expensive to compile. Every choice is drawn from an [`Entropy`], so a seed of
//! [`SplitMix64`](crate::rng::SplitMix64) names one program.

use crate::rng::Entropy;
use dtvm_core::opcode::*;
use dtvm_core::Revision;

/// Words that exercise edge cases of 256-bit arithmetic.
fn interesting_word(r: &mut impl Entropy) -> Vec<u8> {
    match r.below(10) {
        0 => vec![0],
        1 => vec![1],
        2 => vec![0xff; 32],
        3 => {
            let mut v = vec![0u8; 32];
            v[0] = 0x80;
            v
        }
        4 => vec![r.below(256) as u8],
        5 => {
            let mut v = vec![0xff; 32];
            v[31] = 0xfe;
            v
        }
        6 => (0..r.below(32) + 1).map(|_| r.next_u64() as u8).collect(),
        7 => vec![r.below(300) as u8, r.below(256) as u8],
        8 => {
            let mut v = vec![0u8; 9];
            v[0] = 1; // 2^64
            v
        }
        _ => vec![*r.pick(&[31u8, 32, 63, 64, 65, 127, 128, 191, 192, 255])],
    }
}

struct Program {
    code: Vec<u8>,
    rev: Revision,
    /// Positions of 2-byte jump-target placeholders (after a PUSH2).
    targets: Vec<usize>,
    jumpdests: Vec<usize>,
    /// Approximate stack height, to keep most instructions fed.
    height: i32,
}

impl Program {
    fn new(rev: Revision) -> Self {
        Self {
            rev,
            code: Vec::new(),
            targets: Vec::new(),
            jumpdests: Vec::new(),
            height: 0,
        }
    }

    fn op(&mut self, op: u8) {
        // Instructions undefined at the revision end the program; keep a few of them.
        if !OPCODES[op as usize].defined_in(self.rev) && !self.code.len().is_multiple_of(16) {
            return;
        }
        self.code.push(op);
        let info = &OPCODES[op as usize];
        self.height += info.stack_out as i32 - info.stack_in as i32;
        self.height = self.height.max(0);
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        let bytes = if bytes.is_empty() { &[0u8][..] } else { bytes };
        let n = bytes.len().min(32);
        self.code.push(PUSH1 + n as u8 - 1);
        self.code.extend_from_slice(&bytes[..n]);
        self.height += 1;
    }

    fn push_u64(&mut self, v: u64) {
        let bytes = v.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
        self.push_bytes(&bytes[first..]);
    }

    fn push_word(&mut self, r: &mut impl Entropy) {
        if r.chance(if self.rev >= dtvm_core::SHANGHAI {
            10
        } else {
            1
        }) {
            self.code.push(PUSH0); // undefined before Shanghai: a valid test of that too
            self.height += 1;
        } else {
            let w = interesting_word(r);
            self.push_bytes(&w);
        }
    }

    fn jumpdest(&mut self) {
        self.jumpdests.push(self.code.len());
        self.code.push(JUMPDEST);
    }

    fn push_target(&mut self) {
        self.code.push(PUSH1 + 1);
        self.targets.push(self.code.len());
        self.code.extend_from_slice(&[0, 0]);
        self.height += 1;
    }

    /// Feeds `n` operands when the tracked height is short (sometimes not, for underflows).
    fn feed(&mut self, r: &mut impl Entropy, n: i32) {
        if r.chance(3) {
            return;
        }
        while self.height < n {
            self.push_word(r);
        }
    }

    fn small(&mut self, r: &mut impl Entropy, max: u64) {
        self.push_u64(r.below(max));
    }

    fn finish(mut self, r: &mut impl Entropy) -> Vec<u8> {
        for &at in &self.targets {
            let dest = if !self.jumpdests.is_empty() && !r.chance(3) {
                *r.pick(&self.jumpdests)
            } else {
                r.below(self.code.len() as u64 + 2) as usize
            };
            self.code[at..at + 2].copy_from_slice(&(dest as u16).to_be_bytes());
        }
        self.code
    }
}

const PURE_OPS: &[u8] = &[
    ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND, LT, GT, SLT, SGT, EQ,
    ISZERO, AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR, CLZ,
];

const ENV_OPS: &[u8] = &[
    ADDRESS,
    BALANCE,
    ORIGIN,
    CALLER,
    CALLVALUE,
    CALLDATALOAD,
    CALLDATASIZE,
    CODESIZE,
    GASPRICE,
    EXTCODESIZE,
    RETURNDATASIZE,
    EXTCODEHASH,
    BLOCKHASH,
    COINBASE,
    TIMESTAMP,
    NUMBER,
    PREVRANDAO,
    GASLIMIT,
    CHAINID,
    SELFBALANCE,
    BASEFEE,
    BLOBHASH,
    BLOBBASEFEE,
    PC,
    MSIZE,
    GAS,
];

/// Code of a callee that returns, reverts or stores depending on its input.
fn emit_piece(p: &mut Program, r: &mut impl Entropy, allow_calls: bool) {
    match r.below(if allow_calls { 22 } else { 19 }) {
        0 | 1 => {
            let op = *r.pick(PURE_OPS);
            let n = OPCODES[op as usize].stack_in as i32;
            for _ in 0..n {
                if r.chance(70) {
                    p.push_word(r);
                }
            }
            p.feed(r, n);
            p.op(op);
        }
        2 => {
            // Shifts and BYTE with constant amounts, the JIT's inline forms.
            p.feed(r, 1);
            p.push_u64(*r.pick(&[0, 1, 7, 8, 63, 64, 65, 128, 191, 200, 255, 256, 300]));
            p.op(*r.pick(&[SHL, SHR, SAR, BYTE]));
        }
        3 => {
            let n = r.below(16) as u8 + 1;
            p.feed(r, n as i32);
            p.op(DUP1 + n - 1);
        }
        4 => {
            let n = r.below(16) as u8 + 1;
            p.feed(r, n as i32 + 1);
            p.op(SWAP1 + n - 1);
        }
        5 => {
            if p.height > 0 {
                p.op(POP);
            }
        }
        6 => p.jumpdest(),
        7 => {
            // Forward or backward jump, conditional or not.
            if r.chance(50) {
                if r.chance(50) {
                    p.push_word(r);
                } else {
                    p.feed(r, 1);
                }
                p.push_target();
                p.op(JUMPI);
            } else {
                p.push_target();
                p.op(JUMP);
            }
        }
        8 => {
            // Counted loop: counter on the stack, body balanced.
            p.small(r, 6);
            let start = p.code.len();
            p.jumpdest();
            for _ in 0..r.below(4) {
                match r.below(3) {
                    0 => {
                        p.op(DUP1);
                        p.small(r, 128);
                        p.op(MSTORE);
                    }
                    1 => {
                        p.op(DUP1);
                        p.op(GAS);
                        p.op(*r.pick(&[ADD, XOR, LT]));
                        p.op(POP);
                    }
                    _ => {
                        p.op(DUP1);
                        p.op(DUP1);
                        p.op(*r.pick(PURE_OPS));
                        p.op(POP);
                    }
                }
            }
            p.push_u64(1);
            p.op(SWAP1);
            p.op(SUB);
            p.op(DUP1);
            p.code.push(PUSH1 + 1);
            p.code.extend_from_slice(&(start as u16).to_be_bytes());
            p.height += 1;
            p.op(JUMPI);
            p.op(POP);
        }
        9 => {
            // Memory: mostly small offsets, sometimes large (expansion cost, out of gas).
            let op = *r.pick(&[MSTORE, MSTORE8, MLOAD, MCOPY, KECCAK256]);
            let n = OPCODES[op as usize].stack_in as i32;
            for i in 0..n {
                if r.chance(85) {
                    let max = if i == 0 && r.chance(10) { 1 << 20 } else { 200 };
                    p.small(r, max);
                } else {
                    p.push_word(r);
                }
            }
            p.op(op);
        }
        10 => {
            let op = *r.pick(&[SSTORE, SLOAD, TSTORE, TLOAD]);
            if matches!(op, SSTORE | TSTORE) {
                p.push_word(r);
            }
            p.small(r, 4);
            p.op(op);
        }
        11 => {
            let op = *r.pick(ENV_OPS);
            p.feed(r, OPCODES[op as usize].stack_in as i32);
            p.op(op);
        }
        12 => {
            let op = *r.pick(&[CALLDATACOPY, CODECOPY, RETURNDATACOPY, EXTCODECOPY]);
            p.small(r, 40);
            p.small(r, 40);
            p.small(r, 100);
            if op == EXTCODECOPY {
                p.small(r, 5);
            }
            p.op(op);
        }
        13 => {
            let topics = r.below(5) as u8;
            for _ in 0..topics {
                p.push_word(r);
            }
            p.small(r, 64);
            p.small(r, 64);
            p.op(LOG0 + topics);
        }
        14 => {
            // Anything at all, fed.
            let op = r.below(256) as u8;
            let info = &OPCODES[op as usize];
            p.feed(r, info.stack_in as i32);
            if (PUSH1..=PUSH32).contains(&op) {
                let n = (op - PUSH1 + 1) as usize;
                p.code.push(op);
                for _ in 0..n {
                    p.code.push(r.next_u64() as u8);
                }
                p.height += 1;
            } else if op == JUMPDEST {
                p.jumpdest();
            } else {
                p.op(op);
            }
        }
        15 => {
            for _ in 0..r.below(6) + 1 {
                p.push_word(r);
            }
        }
        16 => {
            // ISZERO/EQ/LT chains feeding a JUMPI, the usual compiler output.
            p.feed(r, 2);
            p.op(*r.pick(&[EQ, LT, GT, SLT, SGT]));
            if r.chance(50) {
                p.op(ISZERO);
            }
            p.push_target();
            p.op(JUMPI);
        }
        17 => {
            p.feed(r, 2);
            p.op(*r.pick(&[ADD, SUB, AND, OR, XOR]));
        }
        18 => {
            p.op(GAS);
            if r.chance(50) {
                p.op(POP);
            }
        }
        19 | 20 => {
            // CALL family into addr(3) (the second program) or an empty account.
            let op = *r.pick(&[CALL, CALLCODE, DELEGATECALL, STATICCALL]);
            p.small(r, 64); // out size
            p.small(r, 64); // out offset
            p.small(r, 64); // in size
            p.small(r, 64); // in offset
            if matches!(op, CALL | CALLCODE) {
                p.small(r, 3); // value
            }
            p.small(r, 6); // address
            if r.chance(50) {
                p.op(GAS);
            } else {
                p.small(r, 100_000);
            }
            p.op(op);
        }
        _ => {
            // CREATE / CREATE2 of a tiny init code written to memory first.
            let init: u64 = *r.pick(&[0x60_00_60_00_f3, 0x60_01_60_00_fd, 0x60_ff_60_00_52, 0xfe]);
            p.push_u64(init);
            p.push_u64(0);
            p.op(MSTORE);
            let op = *r.pick(&[CREATE, CREATE2]);
            if op == CREATE2 {
                p.push_word(r);
            }
            p.small(r, 8); // size
            p.push_u64(27); // offset (the low bytes of the word)
            p.small(r, 2); // value
            p.op(op);
        }
    }
}

fn emit_end(p: &mut Program, r: &mut impl Entropy) {
    match r.below(8) {
        0 => p.op(STOP),
        1 | 2 => {
            p.small(r, 96);
            p.small(r, 64);
            p.op(RETURN);
        }
        3 => {
            p.small(r, 96);
            p.small(r, 64);
            p.op(REVERT);
        }
        4 => {
            p.small(r, 5);
            p.op(SELFDESTRUCT);
        }
        5 => p.op(INVALID),
        _ => {} // fall off the end
    }
}

/// One program; `allow_calls` = it may call or create (the callee may not).
pub fn program(r: &mut impl Entropy, rev: Revision, allow_calls: bool) -> Vec<u8> {
    if r.chance(8) {
        // Raw bytes, biased to PUSH1 and JUMPDEST so some jumps land.
        let len = r.below(80) as usize + 1;
        return (0..len)
            .map(|_| match r.below(10) {
                0 => JUMPDEST,
                1 => PUSH1,
                _ => r.next_u64() as u8,
            })
            .collect();
    }
    let mut p = Program::new(rev);
    let pieces = r.below(40) + 1;
    for _ in 0..pieces {
        emit_piece(&mut p, r, allow_calls);
    }
    if r.chance(50) {
        // Store the top so the result is observable, then end.
        p.feed(r, 1);
        p.push_u64(0);
        p.op(MSTORE);
        p.push_u64(32);
        p.push_u64(0);
        p.op(RETURN);
    } else {
        emit_end(&mut p, r);
    }
    p.finish(r)
}

/// A straight-line program designed to be expensive to compile: `kind` picks the pattern.
pub fn bomb(kind: usize, size: usize) -> Vec<u8> {
    let mut code = Vec::with_capacity(size);
    match kind {
        // Every byte a JUMPDEST: thousands of one-instruction segments.
        0 => code.resize(size, JUMPDEST),
        // PUSH32 chains: the longest immediates.
        1 => {
            while code.len() + 33 <= size {
                code.push(PUSH32);
                code.extend((0..32).map(|i| i as u8 | 0x80));
            }
        }
        // DUP16 / SWAP16 runs over a full-enough stack.
        2 => {
            for _ in 0..16 {
                code.extend([PUSH1, 1]);
            }
            while code.len() < size {
                code.extend([DUP16, SWAP16, POP]);
            }
        }
        // Arithmetic on values loaded from the stack: the most IR per byte.
        3 => {
            for _ in 0..4 {
                code.extend([PUSH1, 7]);
            }
            while code.len() + 5 <= size {
                code.extend([DUP1 + 1, DUP1 + 1, ADD, SWAP1 + 1, POP]);
            }
        }
        // The same arithmetic cut into segments just under the per-segment limit (2048), so only the
        // whole-contract time budget stands between it and a long compile.
        4 => {
            for _ in 0..4 {
                code.extend([PUSH1, 7]);
            }
            let mut ops = 0;
            while code.len() + 6 <= size {
                if ops >= 2000 {
                    code.push(JUMPDEST);
                    ops = 0;
                }
                code.extend([DUP1 + 1, DUP1 + 1, ADD, SWAP1 + 1, POP]);
                ops += 5;
            }
        }
        // Helper calls: MSTOREs of computed values.
        5 => {
            while code.len() + 6 <= size {
                code.extend([GAS, PUSH1, 0x40, MSTORE, CALLDATASIZE, POP]);
            }
        }
        // The same cut into segments of 1,000 instructions, under every per-segment limit.
        6 => {
            let mut ops = 0;
            while code.len() + 7 <= size {
                if ops >= 1000 {
                    code.push(JUMPDEST);
                    ops = 0;
                }
                code.extend([GAS, PUSH1, 0x40, MSTORE, CALLDATASIZE, POP]);
                ops += 5;
            }
        }
        // Two-byte segments, each a helper call: the most segments that are not JUMPDEST runs.
        _ => {
            while code.len() + 2 <= size {
                code.extend([JUMPDEST, CALLER]);
            }
        }
    }
    // End in a fresh segment, so the stack is flushed (live) rather than dropped at STOP.
    code.truncate(size - 2);
    code.extend([JUMPDEST, STOP]);
    code
}
