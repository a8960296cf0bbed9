//! The V3 callback router: a small contract assembled here, because `UniswapV3Pool::mint` and
//! `swap` call back into `msg.sender`, which must pay what it owes from inside that callback.
//!
//! Behaviour (the whole program is [`runtime`]):
//! * `uniswapV3MintCallback(uint256,uint256,bytes)` and
//!   `uniswapV3SwapCallback(int256,int256,bytes)`: for each of the two amounts that is positive as
//!   a signed word, `token_i.transfer(msg.sender, amount_i)`; reverts if a transfer call fails.
//!   The tokens come from the callback's `data`, which the scenario sets to
//!   `abi.encode(token0, token1)`. The pool encodes `(x, y, bytes)` with the standard head, so the
//!   data sits at fixed calldata offsets: length at 100, `token0` at 132, `token1` at 164.
//! * any other calldata: `target ++ payload`, a 32-byte word holding the target address and the
//!   call to forward; the router CALLs `target` with `payload` and all its gas, and returns or
//!   reverts with the target's return data. A transaction to the router with
//!   `word(pool) ++ pool.mint(...)` therefore makes the router the pool's `msg.sender`.
//!
//! The router holds the tokens it pays with (the scenario funds it). Labels are resolved by the
//! builder below as PUSH2 operands.
use crate::abi::selector;

mod op {
    pub(super) const STOP: u8 = 0x00;
    pub(super) const SUB: u8 = 0x03;
    pub(super) const SGT: u8 = 0x13;
    pub(super) const EQ: u8 = 0x14;
    pub(super) const ISZERO: u8 = 0x15;
    pub(super) const OR: u8 = 0x17;
    pub(super) const SHL: u8 = 0x1b;
    pub(super) const SHR: u8 = 0x1c;
    pub(super) const CALLER: u8 = 0x33;
    pub(super) const CALLDATALOAD: u8 = 0x35;
    pub(super) const CALLDATASIZE: u8 = 0x36;
    pub(super) const CALLDATACOPY: u8 = 0x37;
    pub(super) const CODECOPY: u8 = 0x39;
    pub(super) const RETURNDATASIZE: u8 = 0x3d;
    pub(super) const RETURNDATACOPY: u8 = 0x3e;
    pub(super) const POP: u8 = 0x50;
    pub(super) const MSTORE: u8 = 0x52;
    pub(super) const JUMPI: u8 = 0x57;
    pub(super) const GAS: u8 = 0x5a;
    pub(super) const JUMPDEST: u8 = 0x5b;
    pub(super) const PUSH1: u8 = 0x60;
    pub(super) const PUSH2: u8 = 0x61;
    pub(super) const DUP1: u8 = 0x80;
    pub(super) const DUP2: u8 = 0x81;
    pub(super) const DUP3: u8 = 0x82;
    pub(super) const SWAP1: u8 = 0x90;
    pub(super) const CALL: u8 = 0xf1;
    pub(super) const RETURN: u8 = 0xf3;
    pub(super) const REVERT: u8 = 0xfd;
}
use op::*;

/// Bytecode with forward labels, each a JUMPDEST whose offset is patched into PUSH2 operands.
#[derive(Default)]
struct Builder {
    code: Vec<u8>,
    labels: Vec<Option<u16>>,
    fixups: Vec<(usize, usize)>,
}

impl Builder {
    fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    /// PUSHn of the shortest width that holds `bytes` (1 to 32 bytes).
    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        assert!((1..=32).contains(&bytes.len()), "PUSH1..PUSH32");
        self.code.push(PUSH1 + bytes.len() as u8 - 1);
        self.code.extend_from_slice(bytes);
        self
    }

    fn push_u8(&mut self, v: u8) -> &mut Self {
        self.push(&[v])
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn push_label(&mut self, label: usize) -> &mut Self {
        self.code.push(PUSH2);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    fn bind(&mut self, label: usize) -> &mut Self {
        let at = u16::try_from(self.code.len()).expect("router fits in 64 KiB");
        self.labels[label] = Some(at);
        self.code.push(JUMPDEST);
        self
    }

    fn finish(mut self) -> Vec<u8> {
        for (at, label) in self.fixups {
            let target = self.labels[label].expect("every label is bound");
            self.code[at..at + 2].copy_from_slice(&target.to_be_bytes());
        }
        self.code
    }
}

/// The mint callback the pool calls on `msg.sender` (`IUniswapV3MintCallback`).
pub const MINT_CALLBACK: &str = "uniswapV3MintCallback(uint256,uint256,bytes)";
/// The swap callback the pool calls on `msg.sender` (`IUniswapV3SwapCallback`).
pub const SWAP_CALLBACK: &str = "uniswapV3SwapCallback(int256,int256,bytes)";
const TRANSFER: &str = "transfer(address,uint256)";

/// Calldata offset of `token0` in a callback (`token1` follows): selector, two amounts, the
/// `bytes` offset word and its length word.
const TOKEN0_AT: u8 = 4 + 4 * 32;

/// The router's runtime code.
pub fn runtime() -> Vec<u8> {
    let mut b = Builder::default();
    let callback = b.label();
    let forward_ok = b.label();
    let fail = b.label();

    // Dispatch on the selector: either callback goes to `callback`, anything else is forwarded.
    b.push_u8(0).ops(&[CALLDATALOAD]).push_u8(224).ops(&[SHR]);
    b.ops(&[DUP1]).push(&selector(MINT_CALLBACK)).ops(&[EQ]);
    b.ops(&[SWAP1])
        .push(&selector(SWAP_CALLBACK))
        .ops(&[EQ, OR]);
    b.push_label(callback).ops(&[JUMPI]);

    // Forward: memory[0..len] = calldata[32..]; CALL(gas, target, 0, 0, len, 0, 0).
    b.push_u8(32).ops(&[CALLDATASIZE, SUB]); // len
    b.ops(&[DUP1]).push_u8(32).push_u8(0).ops(&[CALLDATACOPY]);
    b.push_u8(0).push_u8(0).ops(&[DUP3]).push_u8(0).push_u8(0);
    b.push_u8(0).ops(&[CALLDATALOAD, GAS, CALL]); // len, ok
    b.ops(&[RETURNDATASIZE])
        .push_u8(0)
        .push_u8(0)
        .ops(&[RETURNDATACOPY]);
    b.push_label(forward_ok).ops(&[JUMPI]);
    b.ops(&[RETURNDATASIZE]).push_u8(0).ops(&[REVERT]);
    b.bind(forward_ok);
    b.ops(&[RETURNDATASIZE]).push_u8(0).ops(&[RETURN]);

    // Callback: pay each positive amount with token_i.transfer(caller, amount_i).
    b.bind(callback);
    for i in 0..2u8 {
        let skip = b.label();
        b.push_u8(4 + 32 * i).ops(&[CALLDATALOAD]); // amount
        b.push_u8(0).ops(&[DUP2, SGT, ISZERO]);
        b.push_label(skip).ops(&[JUMPI]);
        b.push(&selector(TRANSFER)).push_u8(224).ops(&[SHL]);
        b.push_u8(0).ops(&[MSTORE]);
        b.ops(&[CALLER]).push_u8(4).ops(&[MSTORE]);
        b.ops(&[DUP1]).push_u8(36).ops(&[MSTORE]);
        b.push_u8(32).push_u8(0).push_u8(68).push_u8(0).push_u8(0);
        b.push_u8(TOKEN0_AT + 32 * i)
            .ops(&[CALLDATALOAD, GAS, CALL]); // amount, ok
        b.ops(&[ISZERO]).push_label(fail).ops(&[JUMPI]);
        b.bind(skip);
        b.ops(&[POP]);
    }
    b.ops(&[STOP]);
    b.bind(fail);
    b.push_u8(0).ops(&[DUP1, REVERT]);
    b.finish()
}

/// Init code that deploys `runtime` unchanged: CODECOPY the bytes after this 12-byte prefix
/// to memory 0 and RETURN them.
pub fn initcode(runtime: &[u8]) -> Vec<u8> {
    const PREFIX: u8 = 12;
    let len = u16::try_from(runtime.len()).expect("runtime fits in 64 KiB");
    let mut b = Builder::default();
    b.push(&len.to_be_bytes())
        .ops(&[DUP1])
        .push_u8(PREFIX)
        .push_u8(0);
    b.ops(&[CODECOPY]).push_u8(0).ops(&[RETURN]);
    let mut code = b.finish();
    assert_eq!(code.len(), usize::from(PREFIX));
    code.extend_from_slice(runtime);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_target_is_a_jumpdest() {
        let code = runtime();
        let mut i = 0;
        let mut targets = Vec::new();
        while i < code.len() {
            let op = code[i];
            if op == PUSH2 && matches!(code.get(i + 3), Some(&0x57)) {
                targets.push(usize::from(u16::from_be_bytes([code[i + 1], code[i + 2]])));
            }
            i += 1 + if (PUSH1..=0x7f).contains(&op) {
                usize::from(op - PUSH1 + 1)
            } else {
                0
            };
        }
        assert_eq!(
            targets.len(),
            6,
            "dispatch, forward result, two skips, two fails"
        );
        for t in targets {
            assert_eq!(code[t], JUMPDEST, "target {t}");
        }
    }
}
