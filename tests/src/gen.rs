//! Random EVM programs that mostly run a while before they stop: every generated item leaves
//! the stack as it found it, jumps go to real JUMPDESTs (forward branches, bounded loops,
//! computed jump tables), and data flows between items through a scratch area of memory,
//! storage and calldata. A few items are deliberately wrong (junk bytes, bad jumps, huge memory
//! offsets, calls with more value than the balance) so failure paths are reached too, but
//! rarely enough that most programs get deep.
//!
//! Memory layout used by the programs: 0x000..0x100 results (8 words, also what RETURN returns
//! most often), 0x100..0x1e0 call arguments, 0x1e0 the last created address, 0x400.. initcode.
use crate::rng::Entropy;
use crate::world::*;
use ::evmc_vm::sys::*;
use ::evmc_vm::Revision;
use revm::primitives::U256;

/// Opcode bytes: dtvm-core's list, plus the PUSH2 the assembler's labels use.
pub mod op {
    pub use dtvm_core::opcode::*;
    /// PUSH2, the push of a 2-byte label.
    pub const PUSH2: u8 = PUSH1 + 1;
}

/// The revisions the differential test draws from: all that revm implements (Constantinople
/// is the one it lacks: it folds it into Petersburg, without EIP-1283).
pub const REVISIONS: [Revision; 14] = [
    EVMC_FRONTIER,
    EVMC_HOMESTEAD,
    EVMC_TANGERINE_WHISTLE,
    EVMC_SPURIOUS_DRAGON,
    EVMC_BYZANTIUM,
    EVMC_PETERSBURG,
    EVMC_ISTANBUL,
    EVMC_BERLIN,
    EVMC_LONDON,
    EVMC_PARIS,
    EVMC_SHANGHAI,
    EVMC_CANCUN,
    EVMC_PRAGUE,
    EVMC_OSAKA,
];

/// A tiny assembler: minimal PUSHes and forward/backward labels patched at the end.
#[derive(Default)]
pub struct Asm {
    /// The bytecode so far, with label pushes not yet patched.
    pub code: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize)>,
}

impl Asm {
    /// Appends the opcode byte `op`.
    pub fn op(&mut self, op: u8) -> &mut Self {
        self.code.push(op);
        self
    }

    /// Appends the shortest PUSH of `v` (PUSH1 for zero).
    pub fn push(&mut self, v: U256) -> &mut Self {
        let bytes = v.to_be_bytes::<32>();
        let skip = bytes.iter().take_while(|&&b| b == 0).count().min(31);
        let n = 32 - skip;
        self.code.push(op::PUSH1 + n as u8 - 1);
        self.code.extend_from_slice(&bytes[skip..]);
        self
    }

    /// [`push`](Self::push) of a `u64`.
    pub fn push_u64(&mut self, v: u64) -> &mut Self {
        self.push(U256::from(v))
    }

    /// A new label, to be placed later with [`place`](Self::place) or
    /// [`jumpdest`](Self::jumpdest).
    pub fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    /// Places `label` here without a JUMPDEST (for data offsets).
    pub fn place(&mut self, label: usize) {
        self.labels[label] = Some(self.code.len());
    }

    /// Places `label` here as a jump destination.
    pub fn jumpdest(&mut self, label: usize) {
        self.place(label);
        self.op(op::JUMPDEST);
    }

    /// Appends a PUSH2 of `label`'s position, patched by [`finish`](Self::finish).
    pub fn push_label(&mut self, label: usize) -> &mut Self {
        self.code.push(op::PUSH2);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    /// The bytecode with every label push patched; panics if a pushed label was never placed.
    pub fn finish(mut self) -> Vec<u8> {
        for (at, label) in self.fixups {
            let target = self.labels[label].expect("label placed") as u16;
            self.code[at..at + 2].copy_from_slice(&target.to_be_bytes());
        }
        self.code
    }
}

const RESULTS: u64 = 0x000;
const ARGS: u64 = 0x100;
const CREATED: u64 = 0x1e0;
const INITCODE: u64 = 0x400;

struct Gen<'e, E: Entropy> {
    e: &'e mut E,
    rev: Revision,
    asm: Asm,
    /// Nesting of control structures, to bound program size and run time.
    nesting: u32,
    /// Items left for this program.
    budget: u32,
    /// Whether CREATE items may appear (not inside initcode, to bound recursion).
    allow_create: bool,
}

/// The revision that introduced `op`, for the opcodes the generator emits that came after
/// Frontier.
fn introduced(o: u8) -> Revision {
    match o {
        op::CLZ => EVMC_OSAKA,
        op::TLOAD | op::TSTORE | op::MCOPY | op::BLOBHASH | 0x4a => EVMC_CANCUN,
        op::PUSH0 => EVMC_SHANGHAI,
        0x48 => EVMC_LONDON,          // BASEFEE
        0x46 | 0x47 => EVMC_ISTANBUL, // CHAINID, SELFBALANCE
        0x1b..=0x1d | op::CREATE2 | op::EXTCODEHASH => EVMC_CONSTANTINOPLE,
        op::REVERT | op::RETURNDATASIZE | op::RETURNDATACOPY | op::STATICCALL => EVMC_BYZANTIUM,
        op::DELEGATECALL => EVMC_HOMESTEAD,
        _ => EVMC_FRONTIER,
    }
}

impl<E: Entropy> Gen<'_, E> {
    /// Picks from `ops`, preferring opcodes defined at the target revision: a program that
    /// hits an undefined opcode stops there, so they are kept rare (2%) rather than excluded.
    fn pick_op(&mut self, ops: &[u8]) -> u8 {
        let mut o = *self.e.pick(ops);
        for _ in 0..8 {
            if introduced(o) <= self.rev || self.e.chance(2) {
                break;
            }
            o = *self.e.pick(ops);
        }
        o
    }

    fn interesting(&mut self) -> U256 {
        let one = U256::from(1);
        match self.e.below(20) {
            0 => U256::ZERO,
            1 => one,
            2 => U256::from(2),
            3 => U256::from(*self.e.pick(&[3u64, 7, 8, 16, 31, 32, 33, 63, 64, 255, 256])),
            4 => U256::from(u64::MAX),
            5 => one << 255,
            6 => (one << 255) - one,
            7 => U256::MAX,
            8 => U256::MAX - one,
            9 => one << *self.e.pick(&[8usize, 16, 32, 64, 128, 160, 192, 248]),
            10 => U256::from_be_bytes::<32>(self.e.bytes(32).try_into().unwrap()),
            _ => U256::from(self.e.below(1 << 16)),
        }
    }

    fn mem_offset(&mut self) -> U256 {
        match self.e.below(100) {
            0..70 => U256::from(self.e.below(256)),
            70..90 => U256::from(self.e.below(4096)),
            90..97 => U256::from(self.e.below(0x10000)),
            _ => *self.e.pick(&[
                U256::from(1u64 << 32),
                U256::from(u64::MAX),
                U256::from(1) << 255,
                U256::MAX,
            ]),
        }
    }

    fn mem_len(&mut self) -> U256 {
        match self.e.below(100) {
            0..60 => U256::from(self.e.below(65)),
            60..85 => U256::from(self.e.below(513)),
            85..96 => U256::from(self.e.below(8193)),
            _ => *self
                .e
                .pick(&[U256::from(1u64 << 32), U256::from(u64::MAX), U256::MAX]),
        }
    }

    fn address(&mut self) {
        match self.e.below(12) {
            0..4 => {
                let c = *self.e.pick(&CONTRACTS);
                self.push_addr(c)
            }
            4 => {
                self.asm.op(op::ADDRESS);
            }
            5 => {
                // Precompiles, including the Osaka P256 one at 0x100.
                let p = *self
                    .e
                    .pick(&[1u32, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 0x100]);
                self.push_addr(address(p))
            }
            6 if self.rev >= EVMC_PRAGUE && self.e.chance(50) => self.push_addr(DELEGATED),
            6 => self.push_addr(EOA),
            7 => self.push_addr(SENDER),
            8 => self.push_addr(COINBASE),
            9 => {
                self.asm.push_u64(CREATED).op(op::MLOAD);
            }
            10 => {
                let v = self.interesting();
                self.asm.push(v);
            }
            _ => {
                let a = 0xdead_0000 + self.e.below(4) as u32;
                self.push_addr(address(a))
            }
        }
    }

    fn push_addr(&mut self, a: ::evmc_vm::Address) {
        self.asm.push(U256::from_be_slice(&a.bytes));
    }

    /// Pushes exactly one value.
    fn value(&mut self) {
        match self.e.below(16) {
            0..7 => {
                let v = self.interesting();
                self.asm.push(v);
            }
            7..9 => {
                let slot = RESULTS + 32 * self.e.below(8);
                self.asm.push_u64(slot).op(op::MLOAD);
            }
            9..11 => {
                let off = *self.e.pick(&[0u64, 4, 32, 36, 64]);
                self.asm.push_u64(off).op(op::CALLDATALOAD);
            }
            11 => {
                let k = self.e.below(8);
                self.asm.push_u64(k).op(op::SLOAD);
            }
            12 => self.address(),
            _ => self.env(),
        }
    }

    /// Pushes one environment value.
    fn env(&mut self) {
        // ADDRESS..GASPRICE minus those with inputs, block info, SELFBALANCE, BASEFEE,
        // BLOBBASEFEE, PC, MSIZE, GAS, PUSH0.
        const NULLARY: [u8; 21] = [
            0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a, 0x3d, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
            0x47, 0x48, 0x4a, 0x58, 0x59, 0x5a, 0x5f,
        ];
        match self.e.below(4) {
            0 => {
                self.address();
                let o = self.pick_op(&[op::BALANCE, op::EXTCODESIZE, op::EXTCODEHASH]);
                self.asm.op(o);
            }
            1 => {
                if self.e.chance(70) {
                    // Around the edges of the 256-block window.
                    let back = *self.e.pick(&[0u64, 1, 2, 255, 256, 257, 1000]);
                    self.asm.push_u64(block::NUMBER - back).op(op::BLOCKHASH);
                } else {
                    let i = self.e.below(3);
                    let o = self.pick_op(&[op::BLOBHASH, op::BLOCKHASH]);
                    self.asm.push_u64(i).op(o);
                }
            }
            _ => {
                let o = self.pick_op(&NULLARY);
                self.asm.op(o);
            }
        }
    }

    /// Consumes the value on top of the stack.
    fn sink(&mut self) {
        match self.e.below(10) {
            0..6 => {
                let slot = RESULTS + 32 * self.e.below(8);
                self.asm.push_u64(slot).op(op::MSTORE);
            }
            6..8 => {
                let k = self.e.below(8);
                self.asm.push_u64(k).op(op::SSTORE);
            }
            8 => {
                let k = self.e.below(4);
                let o = self.pick_op(&[op::TSTORE, op::SSTORE]);
                self.asm.push_u64(k).op(o);
            }
            _ => {
                self.asm.op(op::POP);
            }
        }
    }

    fn item(&mut self) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let control = self.nesting < 3;
        match self.e.below(100) {
            0..25 => self.arith(),
            25..35 => self.memory(),
            35..43 => self.storage(),
            43..50 => {
                self.env();
                self.sink();
            }
            50..54 => self.keccak(),
            54..58 => self.log(),
            58..68 => self.call(),
            68..72 if self.allow_create => self.create(),
            72..78 if control => self.branch(),
            78..83 if control => self.r#loop(),
            83..86 if control => self.jump_table(),
            86..89 => self.returndata(),
            89 => self.junk(),
            90 if self.e.chance(30) => self.bad_jump(),
            _ => self.arith(),
        }
    }

    fn items(&mut self, n: u64) {
        for _ in 0..n {
            self.item();
        }
    }

    fn arith(&mut self) {
        // (opcode, inputs)
        const OPS: [(u8, u8); 26] = [
            (0x01, 2),
            (0x02, 2),
            (0x03, 2),
            (0x04, 2),
            (0x05, 2),
            (0x06, 2),
            (0x07, 2),
            (0x08, 3),
            (0x09, 3),
            (0x0a, 2),
            (0x0b, 2),
            (0x10, 2),
            (0x11, 2),
            (0x12, 2),
            (0x13, 2),
            (0x14, 2),
            (0x15, 1),
            (0x16, 2),
            (0x17, 2),
            (0x18, 2),
            (0x19, 1),
            (0x1a, 2),
            (0x1b, 2),
            (0x1c, 2),
            (0x1d, 2),
            (op::CLZ, 1),
        ];
        let mut pick = *self.e.pick(&OPS);
        for _ in 0..8 {
            if introduced(pick.0) <= self.rev || self.e.chance(2) {
                break;
            }
            pick = *self.e.pick(&OPS);
        }
        let (o, n) = pick;
        for _ in 0..n {
            self.value();
        }
        self.asm.op(o);
        self.sink();
    }

    fn memory(&mut self) {
        match self.e.below(8) {
            0 | 1 => {
                self.value();
                let off = self.mem_offset();
                self.asm.push(off).op(op::MSTORE);
            }
            2 => {
                self.value();
                let off = self.mem_offset();
                self.asm.push(off).op(op::MSTORE8);
            }
            3 => {
                let off = self.mem_offset();
                self.asm.push(off).op(op::MLOAD);
                self.sink();
            }
            4 | 5 => {
                // MCOPY / CALLDATACOPY / CODECOPY(dst, src, len): len, src, dst pushed.
                let len = self.mem_len();
                let src = self.mem_offset();
                let dst = self.mem_offset();
                self.asm.push(len).push(src).push(dst);
                let o = self.pick_op(&[op::MCOPY, op::CALLDATACOPY, op::CODECOPY]);
                self.asm.op(o);
            }
            6 => {
                let len = self.mem_len();
                let src = self.mem_offset();
                let dst = self.mem_offset();
                self.asm.push(len).push(src).push(dst);
                self.address();
                self.asm.op(op::EXTCODECOPY);
            }
            _ => {
                self.asm.op(op::MSIZE);
                self.sink();
            }
        }
    }

    fn storage(&mut self) {
        let k = self.e.below(8);
        match self.e.below(6) {
            0..3 => {
                // Values that make SSTORE walk through EIP-2200's cases: set, reset, clear.
                if self.e.chance(40) {
                    self.asm.push_u64(*self.e.pick(&[0u64, 1, 2]));
                } else {
                    self.value();
                }
                self.asm.push_u64(k).op(op::SSTORE);
            }
            3 => {
                self.asm.push_u64(k).op(op::SLOAD);
                self.sink();
            }
            4 => {
                self.value();
                let o = self.pick_op(&[op::TSTORE, op::SSTORE]);
                self.asm.push_u64(k % 4).op(o);
            }
            _ => {
                let o = self.pick_op(&[op::TLOAD, op::SLOAD]);
                self.asm.push_u64(k % 4).op(o);
                self.sink();
            }
        }
    }

    fn keccak(&mut self) {
        let len = self.mem_len();
        let off = self.mem_offset();
        self.asm.push(len).push(off).op(op::KECCAK256);
        self.sink();
    }

    fn log(&mut self) {
        let topics = self.e.below(5) as u8;
        for _ in 0..topics {
            self.value();
        }
        let len = if self.e.chance(80) {
            U256::from(self.e.below(96))
        } else {
            self.mem_len()
        };
        let off = U256::from(self.e.below(256));
        self.asm.push(len).push(off).op(op::LOG0 + topics);
    }

    fn call(&mut self) {
        let o = self.pick_op(&[
            op::CALL,
            op::CALL,
            op::CALLCODE,
            op::DELEGATECALL,
            op::STATICCALL,
        ]);
        // Arguments: a selector-like word in the argument area, so callees branch on it.
        if self.e.chance(50) {
            self.value();
            self.asm.push_u64(ARGS).op(op::MSTORE);
        }
        let ret_len = self.e.below(65);
        let ret_off = RESULTS + self.e.below(224);
        let args_len = if self.e.chance(90) {
            U256::from(self.e.below(97))
        } else {
            self.mem_len()
        };
        self.asm
            .push_u64(ret_len)
            .push_u64(ret_off)
            .push(args_len)
            .push_u64(ARGS);
        if matches!(o, op::CALL | op::CALLCODE) {
            match self.e.below(10) {
                0..6 => self.asm.push_u64(0),
                6..9 => self.asm.push_u64(1 + self.e.below(1000)),
                _ => self.asm.push(U256::from(u128::MAX)),
            };
        }
        self.address();
        // Forwarding everything (GAS, or more than there is) is kept to a fifth: a callee that
        // fails burns what it got, and a caller left with 1/64 rarely gets further.
        match self.e.below(20) {
            0..3 => self.asm.op(op::GAS),
            3 => self.asm.push(U256::MAX),
            4..14 => self.asm.push_u64(self.e.below(30_000)),
            _ => self
                .asm
                .push_u64(*self.e.pick(&[0u64, 2300, 5000, 100_000, 1_000_000])),
        };
        self.asm.op(o);
        self.sink();
    }

    fn create(&mut self) {
        let init = initcode(self.e, self.rev);
        for (i, chunk) in init.chunks(32).enumerate() {
            let mut w = [0u8; 32];
            w[..chunk.len()].copy_from_slice(chunk);
            self.asm
                .push(U256::from_be_bytes(w))
                .push_u64(INITCODE + 32 * i as u64)
                .op(op::MSTORE);
        }
        let create2 = self.e.chance(50) && self.pick_op(&[op::CREATE2, op::CREATE]) == op::CREATE2;
        if create2 {
            let salt = self.e.below(3);
            self.asm.push_u64(salt);
        }
        let value = match self.e.below(10) {
            0..7 => U256::ZERO,
            7..9 => U256::from(1 + self.e.below(100)),
            _ => U256::from(u128::MAX),
        };
        self.asm
            .push_u64(init.len() as u64)
            .push_u64(INITCODE)
            .push(value)
            .op(if create2 { op::CREATE2 } else { op::CREATE });
        self.asm.push_u64(CREATED).op(op::MSTORE);
    }

    /// `if (v) { items }`
    fn branch(&mut self) {
        let skip = self.asm.label();
        self.value();
        if self.e.chance(50) {
            self.asm.op(op::ISZERO);
        }
        self.asm.push_label(skip).op(op::JUMPI);
        self.nesting += 1;
        let n = 1 + self.e.below(4);
        self.items(n);
        if self.e.chance(10) {
            self.terminator();
        }
        self.nesting -= 1;
        self.asm.jumpdest(skip);
    }

    /// A counted loop; the counter lives on the stack under the (stack-neutral) body.
    fn r#loop(&mut self) {
        if self.e.chance(30) {
            // Count from calldata: 1..=8 iterations, different per caller.
            let off = *self.e.pick(&[0u64, 4, 32]);
            self.asm
                .push_u64(off)
                .op(op::CALLDATALOAD)
                .push_u64(7)
                .op(op::AND)
                .push_u64(1)
                .op(op::ADD);
        } else {
            self.asm.push_u64(1 + self.e.below(8));
        }
        let top = self.asm.label();
        self.asm.jumpdest(top);
        self.nesting += 1;
        let n = 1 + self.e.below(3);
        self.items(n);
        self.nesting -= 1;
        self.asm
            .push_u64(1)
            .op(op::SWAP1)
            .op(op::SUB)
            .op(op::DUP1)
            .push_label(top)
            .op(op::JUMPI)
            .op(op::POP);
    }

    /// A computed jump through a table of 5-byte entries `JUMPDEST PUSH2 case JUMP`.
    fn jump_table(&mut self) {
        let k = 1u64 << (1 + self.e.below(3)); // 2, 4 or 8 cases
        let table = self.asm.label();
        let end = self.asm.label();
        let cases: Vec<usize> = (0..k).map(|_| self.asm.label()).collect();
        self.value();
        self.asm
            .push_u64(k - 1)
            .op(op::AND)
            .push_u64(5)
            .op(op::MUL)
            .push_label(table)
            .op(op::ADD)
            .op(op::JUMP);
        self.asm.place(table);
        for &c in &cases {
            self.asm.op(op::JUMPDEST).push_label(c).op(op::JUMP);
        }
        self.nesting += 1;
        for &c in &cases {
            self.asm.jumpdest(c);
            let n = self.e.below(3);
            self.items(n);
            self.asm.push_label(end).op(op::JUMP);
        }
        self.nesting -= 1;
        self.asm.jumpdest(end);
    }

    fn returndata(&mut self) {
        if self.pick_op(&[op::RETURNDATASIZE, op::MSIZE]) == op::MSIZE {
            return self.arith();
        }
        if self.e.chance(50) {
            self.asm.op(op::RETURNDATASIZE);
            self.sink();
        } else {
            // Usually in bounds (size from RETURNDATASIZE), sometimes past the end: a failure.
            if self.e.chance(80) {
                self.asm.op(op::RETURNDATASIZE);
            } else {
                self.asm.push_u64(self.e.below(64));
            }
            let src = if self.e.chance(80) {
                0
            } else {
                self.e.below(8)
            };
            let dst = RESULTS + self.e.below(224);
            self.asm.push_u64(src).push_u64(dst).op(op::RETURNDATACOPY);
        }
    }

    fn junk(&mut self) {
        if self.asm.code.is_empty() {
            return;
        }
        let n = 1 + self.e.below(3) as usize;
        let b = self.e.bytes(n);
        self.asm.code.extend_from_slice(&b);
    }

    fn bad_jump(&mut self) {
        let target = self.e.below(self.asm.code.len() as u64 + 8);
        self.asm.push_u64(target);
        if self.e.chance(50) {
            self.asm.op(op::JUMP);
        } else {
            self.value();
            self.asm.op(op::SWAP1).op(op::JUMPI);
        }
    }

    fn terminator(&mut self) {
        match self.e.below(100) {
            0..40 => {
                let len = if self.e.chance(90) {
                    U256::from(self.e.below(257))
                } else {
                    self.mem_len()
                };
                let off = if self.e.chance(80) {
                    U256::ZERO
                } else {
                    self.mem_offset()
                };
                let o = if self.e.chance(80) {
                    op::RETURN
                } else {
                    self.pick_op(&[op::REVERT, op::RETURN])
                };
                self.asm.push(len).push(off).op(o);
            }
            40..55 => {
                self.asm.op(op::STOP);
            }
            55..62 => {
                self.asm.op(op::INVALID);
            }
            62..72 => {
                self.address();
                self.asm.op(op::SELFDESTRUCT);
            }
            _ => {} // fall off the end
        }
    }
}

/// Initcode that runs a few items and deploys a small runtime (sometimes one that breaks a
/// deployment rule: 0xEF prefix, over EIP-170's size, or a revert).
fn initcode<E: Entropy>(e: &mut E, rev: Revision) -> Vec<u8> {
    let budget = 1 + e.below(6) as u32;
    let runtime = {
        let mut g = Gen {
            e: &mut *e,
            rev,
            asm: Asm::default(),
            nesting: 1,
            budget,
            allow_create: false,
        };
        let n = 1 + g.e.below(4);
        g.items(n);
        g.terminator();
        let mut code = g.asm.finish();
        if g.e.chance(5) {
            code.insert(0, 0xef);
        }
        code
    };
    let mut g = Gen {
        e,
        rev,
        asm: Asm::default(),
        nesting: 2,
        budget: 3,
        allow_create: false,
    };
    let n = g.e.below(3);
    g.items(n);
    let data = g.asm.label();
    let size = if g.e.chance(3) {
        24_577 // over EIP-170
    } else {
        runtime.len() as u64
    };
    g.asm
        .push_u64(runtime.len() as u64)
        .push_label(data)
        .push_u64(0)
        .op(op::CODECOPY);
    let o = if g.e.chance(90) {
        op::RETURN
    } else {
        g.pick_op(&[op::REVERT, op::RETURN])
    };
    g.asm.push_u64(size).push_u64(0).op(o);
    g.asm.place(data);
    let mut code = g.asm.finish();
    code.extend_from_slice(&runtime);
    code
}

/// One contract's code.
pub fn program<E: Entropy>(e: &mut E, rev: Revision) -> Vec<u8> {
    let budget = 4 + e.below(28) as u32;
    let mut g = Gen {
        e,
        rev,
        asm: Asm::default(),
        nesting: 0,
        budget,
        allow_create: true,
    };
    while g.budget > 0 {
        g.item();
    }
    g.terminator();
    let mut code = g.asm.finish();
    // A 0xEF first byte would be an EIP-7702 designator or undeployable code: never a
    // pre-state contract.
    if code.first() == Some(&0xef) {
        code[0] = op::JUMPDEST;
    }
    code
}

/// A whole scenario: up to four generated contracts (with balances and some pre-set storage),
/// a sender, an EOA, calldata and a gas budget.
pub fn scenario<E: Entropy>(e: &mut E) -> Scenario {
    let rev = *e.pick(&REVISIONS);
    let n = 1 + e.below(4) as usize;
    let mut pre = World::new();
    for &addr in &CONTRACTS[..n] {
        let code = program(e, rev);
        let balance = U256::from(*e.pick(&[0u64, 1, 1000, 1_000_000_000_000_000_000]));
        let mut a = Account::contract(code, balance);
        for _ in 0..e.below(4) {
            let k = U256::from(e.below(8));
            let v = U256::from(1 + e.below(3));
            a.storage.insert(word(k), word(v));
        }
        pre.insert(addr, a);
    }
    pre.insert(
        EOA,
        Account {
            balance: U256::from(10u64.pow(18)),
            nonce: 5,
            ..Account::default()
        },
    );
    if rev >= EVMC_PRAGUE {
        // EIP-7702: calls to it run a contract's code (or none, delegating to an EOA) in its
        // own context; EXTCODE* see the 23 designator bytes.
        let target = if e.chance(80) {
            CONTRACTS[e.below(n as u64) as usize]
        } else {
            EOA
        };
        let mut code = vec![0xef, 0x01, 0x00];
        code.extend_from_slice(&target.bytes);
        let balance = U256::from(*e.pick(&[0u64, 1000]));
        pre.insert(
            DELEGATED,
            Account {
                balance,
                nonce: 1,
                code: code.into(),
                ..Account::default()
            },
        );
    }
    let input_len = e.below(70) as usize;
    let input = e.bytes(input_len);
    let exec_gas = match e.below(10) {
        // From 2000: Prague's calldata floor (EIP-7623) can exceed intrinsic gas by up to 24 gas a byte.
        0 => 2000 + e.below(30_000) as i64,
        1..4 => 100_000,
        4..8 => 1_000_000,
        _ => 3_000_000,
    };
    Scenario {
        rev,
        pre,
        tx: Tx {
            sender: SENDER,
            to: CONTRACTS[0],
            input,
            exec_gas,
        },
    }
}
