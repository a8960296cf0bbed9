//! A tiny EVM assembler for the synthetic benchmark contracts: opcodes, pushes and labels
//! resolved as fixed-width PUSH2 operands (all synthetic contracts fit in 64 KiB).

pub(crate) use dtvm_core::opcode::*;
pub(crate) const DUP2: u8 = DUP1 + 1;
pub(crate) const DUP3: u8 = DUP1 + 2;
pub(crate) const DUP4: u8 = DUP1 + 3;
pub(crate) const SWAP2: u8 = SWAP1 + 1;
pub(crate) const SWAP3: u8 = SWAP1 + 2;

/// A forward or backward code position, bound once with [`Asm::bind`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label(usize);

#[derive(Default)]
pub(crate) struct Asm {
    code: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.code.len()
    }

    pub(crate) fn op(&mut self, op: u8) -> &mut Self {
        self.code.push(op);
        self
    }

    pub(crate) fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    /// The shortest PUSH of a big-endian value (at least PUSH1: PUSH0 is Shanghai-only and the
    /// synthetic contracts must also run at Istanbul).
    pub(crate) fn push(&mut self, be: &[u8]) -> &mut Self {
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
    pub(crate) fn push_n(&mut self, be: &[u8]) -> &mut Self {
        assert!((1..=32).contains(&be.len()));
        self.code.push(PUSH1 + be.len() as u8 - 1);
        self.code.extend_from_slice(be);
        self
    }

    pub(crate) fn push_u64(&mut self, v: u64) -> &mut Self {
        self.push(&v.to_be_bytes())
    }

    pub(crate) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` here and emits the JUMPDEST it needs.
    pub(crate) fn bind(&mut self, label: Label) -> &mut Self {
        assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.code.len());
        self.op(JUMPDEST)
    }

    /// PUSH2 of the label's position, patched in `finish`.
    pub(crate) fn push_label(&mut self, label: Label) -> &mut Self {
        self.code.push(PUSH1 + 1);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    pub(crate) fn jumpi(&mut self, label: Label) -> &mut Self {
        self.push_label(label).op(JUMPI)
    }

    /// Pads with `byte` up to `len` bytes of code.
    pub(crate) fn pad_to(&mut self, len: usize, byte: u8) -> &mut Self {
        assert!(
            self.code.len() <= len,
            "code already longer than the pad target"
        );
        self.code.resize(len, byte);
        self
    }

    /// `MSTORE(0, top); RETURN(0, 32)`.
    pub(crate) fn return_top_word(&mut self) -> &mut Self {
        self.push_u64(0)
            .op(MSTORE)
            .push_u64(32)
            .push_u64(0)
            .op(RETURN)
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
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
