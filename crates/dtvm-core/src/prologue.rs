//! What every frame of a code has done before it runs anything past its prologue: the
//! straight-line instructions from pc 0 up to the first one that can jump or end the frame.
//!
//! Execution starts at pc 0 and goes through the prologue in order, so any instruction at a pc
//! past it runs only after the whole prologue ran once, in the same frame; and memory never
//! shrinks within a frame. Accesses of the prologue at constant offsets therefore leave a size
//! that all code past it may take for granted. Solidity's prologue stores the free memory
//! pointer (`PUSH1 0x80 PUSH1 0x40 MSTORE`), so every later `MLOAD 0x40`, and the scratch words
//! at 0 and 32 it hashes mapping keys in, lie inside 96 bytes known to exist.
//!
//! Code *inside* the prologue is excluded even when it is a JUMPDEST: its first entry is the
//! fall-through from pc 0, before the rest of the prologue ran.

use crate::gas::num_words;
use crate::opcode::{
    Flow, DUP1, DUP16, MLOAD, MSTORE, MSTORE8, OPCODES, PUSH0, PUSH32, SWAP1, SWAP16,
};
use crate::{Revision, STACK_LIMIT};

/// The most prologue instructions looked at: a real prologue is a handful, and code past the
/// last one looked at is still past every access counted.
const MAX_SCAN: usize = 1024;

/// Memory every frame has once execution is at or past [`MemoryFloor::from_pc`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryFloor {
    /// The first pc past the instructions scanned.
    pub from_pc: usize,
    /// Bytes of memory (a multiple of 32) that exist whenever an instruction at `from_pc` or
    /// beyond runs.
    pub bytes: u64,
}

impl MemoryFloor {
    /// The bytes known to exist when code starting at `pc` runs.
    pub fn at(&self, pc: usize) -> u64 {
        if pc >= self.from_pc {
            self.bytes
        } else {
            0
        }
    }
}

/// Scans the prologue of `code` at `rev`, tracking which stack items are constants.
pub fn prologue_memory(code: &[u8], rev: Revision) -> MemoryFloor {
    // Stack items from the bottom; a frame starts with an empty stack, so the height is exact.
    // `None`: not a constant below 2^64.
    let mut stack: Vec<Option<u64>> = Vec::new();
    let mut bytes = 0u64;
    let mut pc = 0;
    for _ in 0..MAX_SCAN {
        let Some(&op) = code.get(pc) else { break };
        let info = &OPCODES[op as usize];
        let height = stack.len();
        let next = pc + 1 + info.immediate as usize;
        // An undefined instruction or a stack underflow or overflow fails the frame here, and
        // a PUSH cut by the end of the code is the last instruction: nothing past it runs, so
        // what was counted holds vacuously.
        if !info.defined_in(rev)
            || height < info.stack_in as usize
            || height - info.stack_in as usize + info.stack_out as usize > STACK_LIMIT
            || next > code.len()
        {
            break;
        }
        match op {
            PUSH0..=PUSH32 => {
                let data = &code[pc + 1..next];
                let significant = data.iter().skip_while(|&&b| b == 0).count();
                let value =
                    (significant <= 8).then(|| data.iter().fold(0u64, |v, &b| v << 8 | b as u64));
                stack.push(value);
            }
            DUP1..=DUP16 => stack.push(stack[height - (op - DUP1 + 1) as usize]),
            SWAP1..=SWAP16 => stack.swap(height - 1, height - 2 - (op - SWAP1) as usize),
            _ => {
                if matches!(op, MLOAD | MSTORE | MSTORE8) {
                    let width = if op == MSTORE8 { 1 } else { 32 };
                    // Offsets at 2^32 and beyond run out of gas; nothing past them runs.
                    if let Some(offset) = stack[height - 1].filter(|&o| o < 1 << 32) {
                        bytes = bytes.max(num_words(offset + width) * 32);
                    }
                }
                stack.truncate(height - info.stack_in as usize);
                stack.resize(stack.len() + info.stack_out as usize, None);
            }
        }
        pc = next;
        if info.flow == Flow::Terminates {
            break;
        }
    }
    MemoryFloor { from_pc: pc, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor(code: &[u8]) -> MemoryFloor {
        prologue_memory(code, crate::CANCUN)
    }

    #[test]
    fn solidity_prologue_leaves_96_bytes_past_its_first_jump() {
        // PUSH1 0x80 PUSH1 0x40 MSTORE CALLVALUE DUP1 ISZERO PUSH2 0x0010 JUMPI
        let code = [
            0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x61, 0x00, 0x10, 0x57, 0x00,
        ];
        let f = floor(&code);
        assert_eq!(
            f,
            MemoryFloor {
                from_pc: 12,
                bytes: 96
            }
        );
        assert_eq!(f.at(11), 0);
        assert_eq!(f.at(12), 96);
        assert_eq!(f.at(500), 96);
    }

    #[test]
    fn tracks_dup_swap_and_widths() {
        // PUSH2 0x0100 DUP1 PUSH1 7 SWAP1 MSTORE8 (at 0x100: 0x120 bytes) MLOAD (at 0x100) STOP
        let code = [0x61, 0x01, 0x00, 0x80, 0x60, 0x07, 0x90, 0x53, 0x51, 0x00];
        assert_eq!(
            floor(&code),
            MemoryFloor {
                from_pc: 10,
                bytes: 0x120
            }
        );
        // MSTORE8 at 0x21 alone: 64 bytes.
        assert_eq!(floor(&[0x60, 0x00, 0x60, 0x21, 0x53, 0x00]).bytes, 64);
    }

    #[test]
    fn unknown_huge_and_failing_offsets_count_nothing() {
        // CALLDATASIZE MLOAD: run-time offset.
        assert_eq!(floor(&[0x36, 0x51, 0x00]).bytes, 0);
        // PUSH5 2^32 MLOAD: out of gas.
        assert_eq!(floor(&[0x64, 1, 0, 0, 0, 0, 0x51, 0x00]).bytes, 0);
        // PUSH32 with a high byte set.
        let mut code = vec![0x7f, 1];
        code.extend([0; 31]);
        code.extend([0x51, 0x00]);
        assert_eq!(floor(&code).bytes, 0);
        // Underflow: MSTORE with one item fails the frame where it stands.
        assert_eq!(
            floor(&[0x60, 0x40, 0x52, 0x00]),
            MemoryFloor {
                from_pc: 2,
                bytes: 0
            }
        );
        // PUSH0 before Shanghai is undefined: the scan stops at it.
        let f = prologue_memory(&[0x5f, 0x51], crate::PARIS);
        assert_eq!(
            f,
            MemoryFloor {
                from_pc: 0,
                bytes: 0
            }
        );
        assert_eq!(floor(&[0x5f, 0x51, 0x00]).bytes, 32);
    }

    #[test]
    fn wide_pushes_and_a_push_cut_by_the_code_end() {
        // PUSH32 0x..0040 MLOAD STOP: leading zero bytes do not matter.
        let mut code = vec![0x7f];
        code.extend([0; 31]);
        code.extend([0x40, 0x51, 0x00]);
        assert_eq!(
            floor(&code),
            MemoryFloor {
                from_pc: 35,
                bytes: 96
            }
        );
        // PUSH1 0 MLOAD PUSH2 0x01|end: the cut PUSH ends the scan where it stands.
        assert_eq!(
            floor(&[0x60, 0x00, 0x51, 0x61, 0x01]),
            MemoryFloor {
                from_pc: 3,
                bytes: 32
            }
        );
    }

    #[test]
    fn scan_stops_at_the_first_jump_or_exit() {
        // PUSH1 0 JUMP PUSH1 0 MLOAD: the MLOAD is past the prologue.
        let f = floor(&[0x60, 0x00, 0x56, 0x60, 0x00, 0x51]);
        assert_eq!(
            f,
            MemoryFloor {
                from_pc: 3,
                bytes: 0
            }
        );
        // GAS and CALL end blocks but not the prologue.
        let f = floor(&[0x5a, 0x50, 0x60, 0x00, 0x51, 0x00]);
        assert_eq!(
            f,
            MemoryFloor {
                from_pc: 6,
                bytes: 32
            }
        );
    }
}
