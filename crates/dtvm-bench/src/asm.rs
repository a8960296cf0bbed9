//! A tiny EVM assembler for the synthetic benchmark contracts: opcodes, pushes and labels
//! resolved as fixed-width PUSH2 operands (all synthetic contracts fit in 64 KiB).

pub const STOP: u8 = 0x00;
pub const ADD: u8 = 0x01;
pub const MUL: u8 = 0x02;
pub const SUB: u8 = 0x03;
pub const DIV: u8 = 0x04;
pub const ADDMOD: u8 = 0x08;
pub const MULMOD: u8 = 0x09;
pub const EXP: u8 = 0x0a;
pub const GT: u8 = 0x11;
pub const ISZERO: u8 = 0x15;
pub const XOR: u8 = 0x18;
pub const KECCAK256: u8 = 0x20;
pub const ADDRESS: u8 = 0x30;
pub const CALLDATALOAD: u8 = 0x35;
pub const POP: u8 = 0x50;
pub const MLOAD: u8 = 0x51;
pub const MSTORE: u8 = 0x52;
pub const JUMP: u8 = 0x56;
pub const JUMPI: u8 = 0x57;
pub const GAS: u8 = 0x5a;
pub const JUMPDEST: u8 = 0x5b;
pub const PUSH1: u8 = 0x60;
pub const DUP1: u8 = 0x80;
pub const DUP2: u8 = 0x81;
pub const DUP3: u8 = 0x82;
pub const DUP4: u8 = 0x83;
pub const SWAP1: u8 = 0x90;
pub const SWAP2: u8 = 0x91;
pub const SWAP3: u8 = 0x92;
pub const CALL: u8 = 0xf1;
pub const RETURN: u8 = 0xf3;
pub const REVERT: u8 = 0xfd;
pub const INVALID: u8 = 0xfe;

/// A forward or backward code position, bound once with [`Asm::bind`].
#[derive(Clone, Copy, Debug)]
pub struct Label(usize);

#[derive(Default)]
pub struct Asm {
    code: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn op(&mut self, op: u8) -> &mut Self {
        self.code.push(op);
        self
    }

    pub fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    /// The shortest PUSH of a big-endian value (at least PUSH1: PUSH0 is Shanghai-only and the
    /// synthetic contracts must also run at Istanbul).
    pub fn push(&mut self, be: &[u8]) -> &mut Self {
        let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
        let bytes = if first == be.len() {
            &[0u8][..]
        } else {
            &be[first..]
        };
        assert!(bytes.len() <= 32, "push of more than 32 bytes");
        self.code.push(PUSH1 + bytes.len() as u8 - 1);
        self.code.extend_from_slice(bytes);
        self
    }

    /// A PUSH of exactly `be.len()` bytes, so a value's cost and size do not depend on its
    /// leading zeros.
    pub fn push_n(&mut self, be: &[u8]) -> &mut Self {
        assert!((1..=32).contains(&be.len()));
        self.code.push(PUSH1 + be.len() as u8 - 1);
        self.code.extend_from_slice(be);
        self
    }

    pub fn push_u64(&mut self, v: u64) -> &mut Self {
        self.push(&v.to_be_bytes())
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` here and emits the JUMPDEST it needs.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.code.len());
        self.op(JUMPDEST)
    }

    /// PUSH2 of the label's position, patched in `finish`.
    pub fn push_label(&mut self, label: Label) -> &mut Self {
        self.code.push(PUSH1 + 1);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    pub fn jumpi(&mut self, label: Label) -> &mut Self {
        self.push_label(label).op(JUMPI)
    }

    /// Pads with `byte` up to `len` bytes of code.
    pub fn pad_to(&mut self, len: usize, byte: u8) -> &mut Self {
        assert!(
            self.code.len() <= len,
            "code already longer than the pad target"
        );
        self.code.resize(len, byte);
        self
    }

    /// `MSTORE(0, top); RETURN(0, 32)`.
    pub fn return_top_word(&mut self) -> &mut Self {
        self.push_u64(0)
            .op(MSTORE)
            .push_u64(32)
            .push_u64(0)
            .op(RETURN)
    }

    pub fn finish(mut self) -> Vec<u8> {
        for &(at, label) in &self.fixups {
            let pos = self.labels[label.0].expect("label used but never bound");
            let pos = u16::try_from(pos).expect("label beyond 64 KiB");
            self.code[at..at + 2].copy_from_slice(&pos.to_be_bytes());
        }
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_to_their_jumpdest() {
        let mut a = Asm::new();
        let l = a.label();
        a.push_label(l).op(JUMP).op(STOP).bind(l).op(STOP);
        let code = a.finish();
        // PUSH2 0x0005 JUMP STOP JUMPDEST STOP
        assert_eq!(code, vec![0x61, 0x00, 0x05, JUMP, STOP, JUMPDEST, STOP]);
    }

    #[test]
    fn push_is_minimal_but_never_push0() {
        let mut a = Asm::new();
        a.push_u64(0).push_u64(0x1234).push(&[0, 0, 7]);
        assert_eq!(a.finish(), vec![0x60, 0, 0x61, 0x12, 0x34, 0x60, 7]);
    }
}
