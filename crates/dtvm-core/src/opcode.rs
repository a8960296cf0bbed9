//! Opcode numbers and their static traits (name, stack inputs/outputs, immediate size, first
//! revision). Gas lives in [`crate::gas`] because it changes across revisions.
#![allow(missing_docs)]

use crate::Revision;

macro_rules! opcodes {
    ($($name:ident = $val:expr),* $(,)?) => { $(pub const $name: u8 = $val;)* };
}

opcodes! {
    STOP = 0x00, ADD = 0x01, MUL = 0x02, SUB = 0x03, DIV = 0x04, SDIV = 0x05, MOD = 0x06, SMOD = 0x07,
    ADDMOD = 0x08, MULMOD = 0x09, EXP = 0x0a, SIGNEXTEND = 0x0b,
    LT = 0x10, GT = 0x11, SLT = 0x12, SGT = 0x13, EQ = 0x14, ISZERO = 0x15, AND = 0x16, OR = 0x17,
    XOR = 0x18, NOT = 0x19, BYTE = 0x1a, SHL = 0x1b, SHR = 0x1c, SAR = 0x1d, CLZ = 0x1e,
    KECCAK256 = 0x20,
    ADDRESS = 0x30, BALANCE = 0x31, ORIGIN = 0x32, CALLER = 0x33, CALLVALUE = 0x34, CALLDATALOAD = 0x35,
    CALLDATASIZE = 0x36, CALLDATACOPY = 0x37, CODESIZE = 0x38, CODECOPY = 0x39, GASPRICE = 0x3a,
    EXTCODESIZE = 0x3b, EXTCODECOPY = 0x3c, RETURNDATASIZE = 0x3d, RETURNDATACOPY = 0x3e, EXTCODEHASH = 0x3f,
    BLOCKHASH = 0x40, COINBASE = 0x41, TIMESTAMP = 0x42, NUMBER = 0x43, PREVRANDAO = 0x44, GASLIMIT = 0x45,
    CHAINID = 0x46, SELFBALANCE = 0x47, BASEFEE = 0x48, BLOBHASH = 0x49, BLOBBASEFEE = 0x4a,
    POP = 0x50, MLOAD = 0x51, MSTORE = 0x52, MSTORE8 = 0x53, SLOAD = 0x54, SSTORE = 0x55, JUMP = 0x56,
    JUMPI = 0x57, PC = 0x58, MSIZE = 0x59, GAS = 0x5a, JUMPDEST = 0x5b, TLOAD = 0x5c, TSTORE = 0x5d,
    MCOPY = 0x5e, PUSH0 = 0x5f, PUSH1 = 0x60, PUSH32 = 0x7f, DUP1 = 0x80, DUP16 = 0x8f, SWAP1 = 0x90,
    SWAP16 = 0x9f, LOG0 = 0xa0, LOG4 = 0xa4,
    CREATE = 0xf0, CALL = 0xf1, CALLCODE = 0xf2, RETURN = 0xf3, DELEGATECALL = 0xf4, CREATE2 = 0xf5,
    STATICCALL = 0xfa, REVERT = 0xfd, INVALID = 0xfe, SELFDESTRUCT = 0xff,
}

/// How an instruction affects control flow, as the block analysis needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Execution continues at the next instruction.
    Next,
    /// The instruction ends the frame or jumps: the next instruction is reachable only as a
    /// JUMPDEST (JUMPI falls through into a new block).
    Terminates,
    /// The instruction observes the gas left (GAS, calls, creates, SSTORE's EIP-2200 sentry), so
    /// every static cost before it must be charged first: it ends its block.
    ObservesGas,
}

#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    pub name: &'static str,
    /// Items the instruction needs on the stack.
    pub stack_in: u8,
    /// Items it leaves (in place of the inputs).
    pub stack_out: u8,
    /// Bytes of immediate data (PUSH1..PUSH32).
    pub immediate: u8,
    /// First revision where the instruction is defined; `None` = never defined.
    pub since: Option<Revision>,
    pub flow: Flow,
}

impl OpInfo {
    pub const fn defined_in(&self, rev: Revision) -> bool {
        match self.since {
            Some(since) => rev >= since,
            None => false,
        }
    }

    /// Whether the instruction ends its basic block at `rev` (the next instruction starts
    /// another): it is undefined there, or it does not simply go on to the next instruction.
    pub fn ends_block(&self, rev: Revision) -> bool {
        !self.defined_in(rev) || !matches!(self.flow, Flow::Next)
    }
}

const UNDEFINED: OpInfo = OpInfo {
    name: "UNDEFINED",
    stack_in: 0,
    stack_out: 0,
    immediate: 0,
    since: None,
    flow: Flow::Terminates,
};

const fn op(name: &'static str, stack_in: u8, stack_out: u8, since: Revision) -> OpInfo {
    OpInfo {
        name,
        stack_in,
        stack_out,
        immediate: 0,
        since: Some(since),
        flow: Flow::Next,
    }
}

const fn with_flow(mut info: OpInfo, flow: Flow) -> OpInfo {
    info.flow = flow;
    info
}

const PUSH_NAMES: [&str; 32] = [
    "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9", "PUSH10",
    "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18", "PUSH19",
    "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27", "PUSH28",
    "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP_NAMES: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP_NAMES: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];
const LOG_NAMES: [&str; 5] = ["LOG0", "LOG1", "LOG2", "LOG3", "LOG4"];

/// The opcode table, indexed by opcode byte.
pub static OPCODES: [OpInfo; 256] = build_table();

const fn build_table() -> [OpInfo; 256] {
    use crate::{
        BYZANTIUM as BYZ, CANCUN, CONSTANTINOPLE as CON, FRONTIER as F, HOMESTEAD, ISTANBUL,
        LONDON, OSAKA, SHANGHAI,
    };
    let mut t = [UNDEFINED; 256];
    t[STOP as usize] = with_flow(op("STOP", 0, 0, F), Flow::Terminates);
    t[ADD as usize] = op("ADD", 2, 1, F);
    t[MUL as usize] = op("MUL", 2, 1, F);
    t[SUB as usize] = op("SUB", 2, 1, F);
    t[DIV as usize] = op("DIV", 2, 1, F);
    t[SDIV as usize] = op("SDIV", 2, 1, F);
    t[MOD as usize] = op("MOD", 2, 1, F);
    t[SMOD as usize] = op("SMOD", 2, 1, F);
    t[ADDMOD as usize] = op("ADDMOD", 3, 1, F);
    t[MULMOD as usize] = op("MULMOD", 3, 1, F);
    t[EXP as usize] = op("EXP", 2, 1, F);
    t[SIGNEXTEND as usize] = op("SIGNEXTEND", 2, 1, F);
    t[LT as usize] = op("LT", 2, 1, F);
    t[GT as usize] = op("GT", 2, 1, F);
    t[SLT as usize] = op("SLT", 2, 1, F);
    t[SGT as usize] = op("SGT", 2, 1, F);
    t[EQ as usize] = op("EQ", 2, 1, F);
    t[ISZERO as usize] = op("ISZERO", 1, 1, F);
    t[AND as usize] = op("AND", 2, 1, F);
    t[OR as usize] = op("OR", 2, 1, F);
    t[XOR as usize] = op("XOR", 2, 1, F);
    t[NOT as usize] = op("NOT", 1, 1, F);
    t[BYTE as usize] = op("BYTE", 2, 1, F);
    t[SHL as usize] = op("SHL", 2, 1, CON);
    t[SHR as usize] = op("SHR", 2, 1, CON);
    t[SAR as usize] = op("SAR", 2, 1, CON);
    t[CLZ as usize] = op("CLZ", 1, 1, OSAKA);
    t[KECCAK256 as usize] = op("KECCAK256", 2, 1, F);
    t[ADDRESS as usize] = op("ADDRESS", 0, 1, F);
    t[BALANCE as usize] = op("BALANCE", 1, 1, F);
    t[ORIGIN as usize] = op("ORIGIN", 0, 1, F);
    t[CALLER as usize] = op("CALLER", 0, 1, F);
    t[CALLVALUE as usize] = op("CALLVALUE", 0, 1, F);
    t[CALLDATALOAD as usize] = op("CALLDATALOAD", 1, 1, F);
    t[CALLDATASIZE as usize] = op("CALLDATASIZE", 0, 1, F);
    t[CALLDATACOPY as usize] = op("CALLDATACOPY", 3, 0, F);
    t[CODESIZE as usize] = op("CODESIZE", 0, 1, F);
    t[CODECOPY as usize] = op("CODECOPY", 3, 0, F);
    t[GASPRICE as usize] = op("GASPRICE", 0, 1, F);
    t[EXTCODESIZE as usize] = op("EXTCODESIZE", 1, 1, F);
    t[EXTCODECOPY as usize] = op("EXTCODECOPY", 4, 0, F);
    t[RETURNDATASIZE as usize] = op("RETURNDATASIZE", 0, 1, BYZ);
    t[RETURNDATACOPY as usize] = op("RETURNDATACOPY", 3, 0, BYZ);
    t[EXTCODEHASH as usize] = op("EXTCODEHASH", 1, 1, CON);
    t[BLOCKHASH as usize] = op("BLOCKHASH", 1, 1, F);
    t[COINBASE as usize] = op("COINBASE", 0, 1, F);
    t[TIMESTAMP as usize] = op("TIMESTAMP", 0, 1, F);
    t[NUMBER as usize] = op("NUMBER", 0, 1, F);
    t[PREVRANDAO as usize] = op("PREVRANDAO", 0, 1, F);
    t[GASLIMIT as usize] = op("GASLIMIT", 0, 1, F);
    t[CHAINID as usize] = op("CHAINID", 0, 1, ISTANBUL);
    t[SELFBALANCE as usize] = op("SELFBALANCE", 0, 1, ISTANBUL);
    t[BASEFEE as usize] = op("BASEFEE", 0, 1, LONDON);
    t[BLOBHASH as usize] = op("BLOBHASH", 1, 1, CANCUN);
    t[BLOBBASEFEE as usize] = op("BLOBBASEFEE", 0, 1, CANCUN);
    t[POP as usize] = op("POP", 1, 0, F);
    t[MLOAD as usize] = op("MLOAD", 1, 1, F);
    t[MSTORE as usize] = op("MSTORE", 2, 0, F);
    t[MSTORE8 as usize] = op("MSTORE8", 2, 0, F);
    t[SLOAD as usize] = op("SLOAD", 1, 1, F);
    t[SSTORE as usize] = with_flow(op("SSTORE", 2, 0, F), Flow::ObservesGas);
    t[JUMP as usize] = with_flow(op("JUMP", 1, 0, F), Flow::Terminates);
    t[JUMPI as usize] = with_flow(op("JUMPI", 2, 0, F), Flow::Terminates);
    t[PC as usize] = op("PC", 0, 1, F);
    t[MSIZE as usize] = op("MSIZE", 0, 1, F);
    t[GAS as usize] = with_flow(op("GAS", 0, 1, F), Flow::ObservesGas);
    t[JUMPDEST as usize] = op("JUMPDEST", 0, 0, F);
    t[TLOAD as usize] = op("TLOAD", 1, 1, CANCUN);
    t[TSTORE as usize] = op("TSTORE", 2, 0, CANCUN);
    t[MCOPY as usize] = op("MCOPY", 3, 0, CANCUN);
    t[PUSH0 as usize] = op("PUSH0", 0, 1, SHANGHAI);
    let mut i = 0;
    while i < 32 {
        let mut info = op(PUSH_NAMES[i], 0, 1, F);
        info.immediate = (i + 1) as u8;
        t[PUSH1 as usize + i] = info;
        i += 1;
    }
    i = 0;
    while i < 16 {
        t[DUP1 as usize + i] = op(DUP_NAMES[i], (i + 1) as u8, (i + 2) as u8, F);
        t[SWAP1 as usize + i] = op(SWAP_NAMES[i], (i + 2) as u8, (i + 2) as u8, F);
        i += 1;
    }
    i = 0;
    while i < 5 {
        t[LOG0 as usize + i] = op(LOG_NAMES[i], (i + 2) as u8, 0, F);
        i += 1;
    }
    t[CREATE as usize] = with_flow(op("CREATE", 3, 1, F), Flow::ObservesGas);
    t[CALL as usize] = with_flow(op("CALL", 7, 1, F), Flow::ObservesGas);
    t[CALLCODE as usize] = with_flow(op("CALLCODE", 7, 1, F), Flow::ObservesGas);
    t[RETURN as usize] = with_flow(op("RETURN", 2, 0, F), Flow::Terminates);
    t[DELEGATECALL as usize] = with_flow(op("DELEGATECALL", 6, 1, HOMESTEAD), Flow::ObservesGas);
    t[CREATE2 as usize] = with_flow(op("CREATE2", 4, 1, CON), Flow::ObservesGas);
    t[STATICCALL as usize] = with_flow(op("STATICCALL", 6, 1, BYZ), Flow::ObservesGas);
    t[REVERT as usize] = with_flow(op("REVERT", 2, 0, BYZ), Flow::Terminates);
    t[INVALID as usize] = with_flow(op("INVALID", 0, 0, F), Flow::Terminates);
    t[SELFDESTRUCT as usize] = with_flow(op("SELFDESTRUCT", 1, 0, F), Flow::Terminates);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_dup_swap_traits() {
        assert_eq!(OPCODES[PUSH32 as usize].immediate, 32);
        assert_eq!(OPCODES[PUSH32 as usize].name, "PUSH32");
        assert_eq!(OPCODES[DUP16 as usize].stack_in, 16);
        assert_eq!(OPCODES[DUP16 as usize].stack_out, 17);
        assert_eq!(OPCODES[SWAP16 as usize].stack_in, 17);
        assert_eq!(OPCODES[LOG4 as usize].stack_in, 6);
    }

    #[test]
    fn revision_gating() {
        assert!(!OPCODES[PUSH0 as usize].defined_in(crate::PARIS));
        assert!(OPCODES[PUSH0 as usize].defined_in(crate::SHANGHAI));
        assert!(!OPCODES[CLZ as usize].defined_in(crate::PRAGUE));
        assert!(OPCODES[CLZ as usize].defined_in(crate::OSAKA));
        assert!(!OPCODES[0x0c].defined_in(crate::MAX_REVISION));
        assert!(!OPCODES[DELEGATECALL as usize].defined_in(crate::FRONTIER));
    }
}
