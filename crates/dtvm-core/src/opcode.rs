//! The opcode list: every EVM instruction defined once, with its static traits (byte, stack
//! inputs/outputs, base gas, first revision, control flow) and how engines implement it.
//!
//! [`for_each_opcode!`] hands the whole list to a callback macro. dtvm-core builds the opcode
//! constants and [`OPCODES`] from it; the interpreter generates its dispatch `match`, and the JIT
//! its helper table, constant folding and every predicate it lowers by (pure, gas-free,
//! gas-using, control). Changing an instruction's semantics changes its entry here and its body
//! in `dtvm_runtime::instructions`, nothing else.
//!
//! Gas repricings after an instruction's first revision are in [`crate::gas`].

use crate::Revision;

/// Calls `$callback! { entries }` with the opcode list, one entry per defined opcode:
///
/// ```text
/// NAME 0xBYTE stack_in stack_out base_gas SINCE_REVISION Flow => kind(arguments);
/// ```
///
/// `base_gas` is the static cost at `SINCE_REVISION`; `Flow` a [`Flow`] variant. The *kind* says
/// how an engine implements the instruction; its type follows from the kind, so what an engine
/// may skip (storing the gas around a call, checking a status) follows from the type:
///
/// * `pure(|a| e)`, `pure(|a, b| e)`: a word function (`U256`s in, a `U256` out), inlined where
///   the interpreter dispatches; `a` is the top of the stack. Arity = `stack_in`.
/// * `pure_call(|a, b| e)`: as `pure`, for a body that stays out of line (its result comes back
///   through memory: the interpreter copies it to the stack limb by limb).
/// * `pure_into(|a, b, m, r| e)`: a three-operand word function writing its result to
///   `r: &mut U256` (in place on the interpreter's stack).
/// * `frame(|f| e)`: `e: OpResult` on `f: &mut Frame`; pops and pushes on the frame's stack, may
///   charge gas and fail.
/// * `plain(|f| e)`: `e: ()` on `f: &mut Frame`; works on the frame's stack, neither reads nor
///   charges gas, cannot fail.
/// * `value(|f| e)`: `e: U256` computed from the frame (not its stack), pushed; no gas, no failure.
/// * `code(|c| e)`: `e: U256` computed from the `CodeAnalysis` alone, pushed (the JIT folds it).
/// * `exit(STATUS, |f| e)`: as `frame`, then the frame ends with `STATUS`.
/// * control, each engine's own: `stop`, `invalid`, `jump`, `jumpi`, `jumpdest`, `pc`, `gas`,
///   `pop`, `push(n)`, `dup(n)`, `swap(n)`.
///
/// Paths in the bodies resolve where the callback expands: `ins` must name
/// `dtvm_runtime::instructions`, and `EVMC_*` the `evmc_vm::sys` statuses.
#[macro_export]
macro_rules! for_each_opcode {
    ($callback:ident) => {
        $callback! {
            // NAME        BYTE  IN OUT  GAS SINCE          FLOW           KIND
            STOP           0x00  0  0     0 FRONTIER       Terminates  => stop;
            ADD            0x01  2  1     3 FRONTIER       Next        => pure(|a, b| a.wrapping_add(b));
            MUL            0x02  2  1     5 FRONTIER       Next        => pure(|a, b| a.wrapping_mul(b));
            SUB            0x03  2  1     3 FRONTIER       Next        => pure(|a, b| a.wrapping_sub(b));
            DIV            0x04  2  1     5 FRONTIER       Next        => pure_call(|a, b| ins::div(a, b));
            SDIV           0x05  2  1     5 FRONTIER       Next        => pure_call(|a, b| ins::sdiv(a, b));
            MOD            0x06  2  1     5 FRONTIER       Next        => pure_call(|a, b| ins::rem(a, b));
            SMOD           0x07  2  1     5 FRONTIER       Next        => pure_call(|a, b| ins::smod(a, b));
            ADDMOD         0x08  3  1     8 FRONTIER       Next        => pure_into(|a, b, m, r| ins::addmod(&a, &b, &m, r));
            MULMOD         0x09  3  1     8 FRONTIER       Next        => pure_into(|a, b, m, r| ins::mulmod(&a, &b, &m, r));
            EXP            0x0a  2  1    10 FRONTIER       Next        => frame(|f| ins::exp(f));
            SIGNEXTEND     0x0b  2  1     5 FRONTIER       Next        => pure_call(|a, b| ins::signextend(a, b));
            LT             0x10  2  1     3 FRONTIER       Next        => pure(|a, b| ins::word(a < b));
            GT             0x11  2  1     3 FRONTIER       Next        => pure(|a, b| ins::word(a > b));
            SLT            0x12  2  1     3 FRONTIER       Next        => pure(|a, b| ins::word(ins::slt(a, b)));
            SGT            0x13  2  1     3 FRONTIER       Next        => pure(|a, b| ins::word(ins::slt(b, a)));
            EQ             0x14  2  1     3 FRONTIER       Next        => pure(|a, b| ins::word(a == b));
            ISZERO         0x15  1  1     3 FRONTIER       Next        => pure(|a| ins::word(a.is_zero()));
            AND            0x16  2  1     3 FRONTIER       Next        => pure(|a, b| a & b);
            OR             0x17  2  1     3 FRONTIER       Next        => pure(|a, b| a | b);
            XOR            0x18  2  1     3 FRONTIER       Next        => pure(|a, b| a ^ b);
            NOT            0x19  1  1     3 FRONTIER       Next        => pure(|a| !a);
            BYTE           0x1a  2  1     3 FRONTIER       Next        => pure(|a, b| ins::byte(a, b));
            SHL            0x1b  2  1     3 CONSTANTINOPLE Next        => pure(|a, b| ins::shl(a, b));
            SHR            0x1c  2  1     3 CONSTANTINOPLE Next        => pure(|a, b| ins::shr(a, b));
            SAR            0x1d  2  1     3 CONSTANTINOPLE Next        => pure_call(|a, b| ins::sar(a, b));
            CLZ            0x1e  1  1     5 OSAKA          Next        => pure(|a| ins::clz(a));
            KECCAK256      0x20  2  1    30 FRONTIER       Next        => frame(|f| ins::keccak(f));
            ADDRESS        0x30  0  1     2 FRONTIER       Next        => value(|f| ins::address_to_u256(f.msg.recipient()));
            BALANCE        0x31  1  1    20 FRONTIER       Next        => frame(|f| ins::balance(f));
            ORIGIN         0x32  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::ORIGIN));
            CALLER         0x33  0  1     2 FRONTIER       Next        => value(|f| ins::address_to_u256(f.msg.sender()));
            CALLVALUE      0x34  0  1     2 FRONTIER       Next        => value(|f| ins::bytes32_to_u256(f.msg.value()));
            CALLDATALOAD   0x35  1  1     3 FRONTIER       Next        => plain(|f| ins::calldataload(f));
            CALLDATASIZE   0x36  0  1     2 FRONTIER       Next        => value(|f| $crate::U256::from(f.msg.input().len()));
            CALLDATACOPY   0x37  3  0     3 FRONTIER       Next        => frame(|f| ins::data_copy(f, ins::CopySource::CallData));
            CODESIZE       0x38  0  1     2 FRONTIER       Next        => code(|c| $crate::U256::from(c.code_len()));
            CODECOPY       0x39  3  0     3 FRONTIER       Next        => frame(|f| ins::data_copy(f, ins::CopySource::Code));
            GASPRICE       0x3a  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::GASPRICE));
            EXTCODESIZE    0x3b  1  1    20 FRONTIER       Next        => frame(|f| ins::extcodesize(f));
            EXTCODECOPY    0x3c  4  0    20 FRONTIER       Next        => frame(|f| ins::extcodecopy(f));
            RETURNDATASIZE 0x3d  0  1     2 BYZANTIUM      Next        => value(|f| $crate::U256::from(f.return_data.len()));
            RETURNDATACOPY 0x3e  3  0     3 BYZANTIUM      Next        => frame(|f| ins::returndatacopy(f));
            EXTCODEHASH    0x3f  1  1   400 CONSTANTINOPLE Next        => frame(|f| ins::extcodehash(f));
            BLOCKHASH      0x40  1  1    20 FRONTIER       Next        => plain(|f| ins::blockhash(f));
            COINBASE       0x41  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::COINBASE));
            TIMESTAMP      0x42  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::TIMESTAMP));
            NUMBER         0x43  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::NUMBER));
            PREVRANDAO     0x44  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::PREVRANDAO));
            GASLIMIT       0x45  0  1     2 FRONTIER       Next        => value(|f| ins::tx_value(f, $crate::opcode::GASLIMIT));
            CHAINID        0x46  0  1     2 ISTANBUL       Next        => value(|f| ins::tx_value(f, $crate::opcode::CHAINID));
            SELFBALANCE    0x47  0  1     5 ISTANBUL       Next        => plain(|f| ins::selfbalance(f));
            BASEFEE        0x48  0  1     2 LONDON         Next        => value(|f| ins::tx_value(f, $crate::opcode::BASEFEE));
            BLOBHASH       0x49  1  1     3 CANCUN         Next        => plain(|f| ins::blobhash(f));
            BLOBBASEFEE    0x4a  0  1     2 CANCUN         Next        => value(|f| ins::tx_value(f, $crate::opcode::BLOBBASEFEE));
            POP            0x50  1  0     2 FRONTIER       Next        => pop;
            MLOAD          0x51  1  1     3 FRONTIER       Next        => frame(|f| ins::mload(f));
            MSTORE         0x52  2  0     3 FRONTIER       Next        => frame(|f| ins::mstore(f));
            MSTORE8        0x53  2  0     3 FRONTIER       Next        => frame(|f| ins::mstore8(f));
            SLOAD          0x54  1  1    50 FRONTIER       Next        => frame(|f| ins::sload(f));
            SSTORE         0x55  2  0     0 FRONTIER       ObservesGas => frame(|f| ins::sstore(f));
            JUMP           0x56  1  0     8 FRONTIER       Terminates  => jump;
            JUMPI          0x57  2  0    10 FRONTIER       Terminates  => jumpi;
            PC             0x58  0  1     2 FRONTIER       Next        => pc;
            MSIZE          0x59  0  1     2 FRONTIER       Next        => value(|f| $crate::U256::from(f.memory.len()));
            GAS            0x5a  0  1     2 FRONTIER       ObservesGas => gas;
            JUMPDEST       0x5b  0  0     1 FRONTIER       Next        => jumpdest;
            TLOAD          0x5c  1  1   100 CANCUN         Next        => plain(|f| ins::tload(f));
            TSTORE         0x5d  2  0   100 CANCUN         Next        => frame(|f| ins::tstore(f));
            MCOPY          0x5e  3  0     3 CANCUN         Next        => frame(|f| ins::mcopy(f));
            PUSH0          0x5f  0  1     2 SHANGHAI       Next        => push(0);
            PUSH1          0x60  0  1     3 FRONTIER       Next        => push(1);
            PUSH2          0x61  0  1     3 FRONTIER       Next        => push(2);
            PUSH3          0x62  0  1     3 FRONTIER       Next        => push(3);
            PUSH4          0x63  0  1     3 FRONTIER       Next        => push(4);
            PUSH5          0x64  0  1     3 FRONTIER       Next        => push(5);
            PUSH6          0x65  0  1     3 FRONTIER       Next        => push(6);
            PUSH7          0x66  0  1     3 FRONTIER       Next        => push(7);
            PUSH8          0x67  0  1     3 FRONTIER       Next        => push(8);
            PUSH9          0x68  0  1     3 FRONTIER       Next        => push(9);
            PUSH10         0x69  0  1     3 FRONTIER       Next        => push(10);
            PUSH11         0x6a  0  1     3 FRONTIER       Next        => push(11);
            PUSH12         0x6b  0  1     3 FRONTIER       Next        => push(12);
            PUSH13         0x6c  0  1     3 FRONTIER       Next        => push(13);
            PUSH14         0x6d  0  1     3 FRONTIER       Next        => push(14);
            PUSH15         0x6e  0  1     3 FRONTIER       Next        => push(15);
            PUSH16         0x6f  0  1     3 FRONTIER       Next        => push(16);
            PUSH17         0x70  0  1     3 FRONTIER       Next        => push(17);
            PUSH18         0x71  0  1     3 FRONTIER       Next        => push(18);
            PUSH19         0x72  0  1     3 FRONTIER       Next        => push(19);
            PUSH20         0x73  0  1     3 FRONTIER       Next        => push(20);
            PUSH21         0x74  0  1     3 FRONTIER       Next        => push(21);
            PUSH22         0x75  0  1     3 FRONTIER       Next        => push(22);
            PUSH23         0x76  0  1     3 FRONTIER       Next        => push(23);
            PUSH24         0x77  0  1     3 FRONTIER       Next        => push(24);
            PUSH25         0x78  0  1     3 FRONTIER       Next        => push(25);
            PUSH26         0x79  0  1     3 FRONTIER       Next        => push(26);
            PUSH27         0x7a  0  1     3 FRONTIER       Next        => push(27);
            PUSH28         0x7b  0  1     3 FRONTIER       Next        => push(28);
            PUSH29         0x7c  0  1     3 FRONTIER       Next        => push(29);
            PUSH30         0x7d  0  1     3 FRONTIER       Next        => push(30);
            PUSH31         0x7e  0  1     3 FRONTIER       Next        => push(31);
            PUSH32         0x7f  0  1     3 FRONTIER       Next        => push(32);
            DUP1           0x80  1  2     3 FRONTIER       Next        => dup(1);
            DUP2           0x81  2  3     3 FRONTIER       Next        => dup(2);
            DUP3           0x82  3  4     3 FRONTIER       Next        => dup(3);
            DUP4           0x83  4  5     3 FRONTIER       Next        => dup(4);
            DUP5           0x84  5  6     3 FRONTIER       Next        => dup(5);
            DUP6           0x85  6  7     3 FRONTIER       Next        => dup(6);
            DUP7           0x86  7  8     3 FRONTIER       Next        => dup(7);
            DUP8           0x87  8  9     3 FRONTIER       Next        => dup(8);
            DUP9           0x88  9 10     3 FRONTIER       Next        => dup(9);
            DUP10          0x89 10 11     3 FRONTIER       Next        => dup(10);
            DUP11          0x8a 11 12     3 FRONTIER       Next        => dup(11);
            DUP12          0x8b 12 13     3 FRONTIER       Next        => dup(12);
            DUP13          0x8c 13 14     3 FRONTIER       Next        => dup(13);
            DUP14          0x8d 14 15     3 FRONTIER       Next        => dup(14);
            DUP15          0x8e 15 16     3 FRONTIER       Next        => dup(15);
            DUP16          0x8f 16 17     3 FRONTIER       Next        => dup(16);
            SWAP1          0x90  2  2     3 FRONTIER       Next        => swap(1);
            SWAP2          0x91  3  3     3 FRONTIER       Next        => swap(2);
            SWAP3          0x92  4  4     3 FRONTIER       Next        => swap(3);
            SWAP4          0x93  5  5     3 FRONTIER       Next        => swap(4);
            SWAP5          0x94  6  6     3 FRONTIER       Next        => swap(5);
            SWAP6          0x95  7  7     3 FRONTIER       Next        => swap(6);
            SWAP7          0x96  8  8     3 FRONTIER       Next        => swap(7);
            SWAP8          0x97  9  9     3 FRONTIER       Next        => swap(8);
            SWAP9          0x98 10 10     3 FRONTIER       Next        => swap(9);
            SWAP10         0x99 11 11     3 FRONTIER       Next        => swap(10);
            SWAP11         0x9a 12 12     3 FRONTIER       Next        => swap(11);
            SWAP12         0x9b 13 13     3 FRONTIER       Next        => swap(12);
            SWAP13         0x9c 14 14     3 FRONTIER       Next        => swap(13);
            SWAP14         0x9d 15 15     3 FRONTIER       Next        => swap(14);
            SWAP15         0x9e 16 16     3 FRONTIER       Next        => swap(15);
            SWAP16         0x9f 17 17     3 FRONTIER       Next        => swap(16);
            LOG0           0xa0  2  0   375 FRONTIER       Next        => frame(|f| ins::log(f, 0));
            LOG1           0xa1  3  0   750 FRONTIER       Next        => frame(|f| ins::log(f, 1));
            LOG2           0xa2  4  0  1125 FRONTIER       Next        => frame(|f| ins::log(f, 2));
            LOG3           0xa3  5  0  1500 FRONTIER       Next        => frame(|f| ins::log(f, 3));
            LOG4           0xa4  6  0  1875 FRONTIER       Next        => frame(|f| ins::log(f, 4));
            CREATE         0xf0  3  1 32000 FRONTIER       ObservesGas => frame(|f| ins::create(f, $crate::opcode::CREATE));
            CALL           0xf1  7  1    40 FRONTIER       ObservesGas => frame(|f| ins::call(f, $crate::opcode::CALL));
            CALLCODE       0xf2  7  1    40 FRONTIER       ObservesGas => frame(|f| ins::call(f, $crate::opcode::CALLCODE));
            RETURN         0xf3  2  0     0 FRONTIER       Terminates  => exit(EVMC_SUCCESS, |f| ins::set_output(f));
            DELEGATECALL   0xf4  6  1    40 HOMESTEAD      ObservesGas => frame(|f| ins::call(f, $crate::opcode::DELEGATECALL));
            CREATE2        0xf5  4  1 32000 CONSTANTINOPLE ObservesGas => frame(|f| ins::create(f, $crate::opcode::CREATE2));
            STATICCALL     0xfa  6  1    40 BYZANTIUM      ObservesGas => frame(|f| ins::call(f, $crate::opcode::STATICCALL));
            REVERT         0xfd  2  0     0 BYZANTIUM      Terminates  => exit(EVMC_REVERT, |f| ins::set_output(f));
            INVALID        0xfe  0  0     0 FRONTIER       Terminates  => invalid;
            SELFDESTRUCT   0xff  1  0     0 FRONTIER       Terminates  => exit(EVMC_SUCCESS, |f| ins::selfdestruct(f));
        }
    };
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

/// The static traits of one opcode.
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    /// The mnemonic.
    pub name: &'static str,
    /// Items the instruction needs on the stack.
    pub stack_in: u8,
    /// Items it leaves (in place of the inputs).
    pub stack_out: u8,
    /// Bytes of immediate data (PUSH1..PUSH32).
    pub immediate: u8,
    /// Static gas at the revision that introduced it (see [`crate::gas`] for later repricings).
    pub base_gas: u16,
    /// First revision where the instruction is defined; `None` = never defined.
    pub since: Option<Revision>,
    /// Its effect on control flow.
    pub flow: Flow,
    /// Whether it can fail, or charge gas beyond its static cost, once its block's checks have
    /// passed (kinds `frame` and `exit`). Such an instruction ends a run of blocks
    /// (`crate::analysis`): what it does may depend on the gas left.
    pub fallible: bool,
}

impl OpInfo {
    /// Whether the instruction exists at `rev`.
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
    base_gas: 0,
    since: None,
    flow: Flow::Terminates,
    fallible: true,
};

/// The immediate bytes a kind reads after its opcode.
macro_rules! immediate {
    (push($n:literal)) => {
        $n
    };
    ($($kind:tt)*) => {
        0
    };
}

/// Whether a kind's body can fail (returns a status) once its block's checks passed.
macro_rules! fallible {
    (frame($($body:tt)*)) => {
        true
    };
    (exit($($body:tt)*)) => {
        true
    };
    ($($kind:tt)*) => {
        false
    };
}

/// The operands of a pure kind, to check against the entry's `stack_in`.
macro_rules! pure_arity {
    (pure(|$a:ident| $e:expr)) => {
        Some(1u8)
    };
    (pure(|$a:ident, $b:ident| $e:expr)) => {
        Some(2u8)
    };
    (pure_call(|$a:ident, $b:ident| $e:expr)) => {
        Some(2u8)
    };
    (pure_into(|$a:ident, $b:ident, $m:ident, $r:ident| $e:expr)) => {
        Some(3u8)
    };
    ($($kind:tt)*) => {
        None::<u8>
    };
}

macro_rules! define_opcodes {
    ($($name:ident $byte:literal $in:literal $out:literal $gas:literal $since:ident $flow:ident
        => $kind:ident $(($($args:tt)*))?;)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`: ", stringify!($kind), ".")]
            pub const $name: u8 = $byte;
        )*

        /// The opcode table, indexed by opcode byte.
        pub static OPCODES: [OpInfo; 256] = {
            let mut t = [UNDEFINED; 256];
            $(
                assert!(t[$byte].since.is_none(), "an opcode listed twice");
                if let Some(arity) = pure_arity!($kind $(($($args)*))?) {
                    assert!(arity == $in, "a pure body's operands differ from its stack inputs");
                }
                t[$byte] = OpInfo {
                    name: stringify!($name),
                    stack_in: $in,
                    stack_out: $out,
                    immediate: immediate!($kind $(($($args)*))?),
                    base_gas: $gas,
                    since: Some(crate::$since),
                    flow: Flow::$flow,
                    fallible: fallible!($kind $(($($args)*))?),
                };
            )*
            t
        };
    };
}

for_each_opcode!(define_opcodes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_dup_swap_traits() {
        assert_eq!(OPCODES[PUSH32 as usize].immediate, 32);
        assert_eq!(OPCODES[PUSH32 as usize].name, "PUSH32");
        assert_eq!(OPCODES[PUSH0 as usize].immediate, 0);
        assert_eq!(OPCODES[DUP16 as usize].stack_in, 16);
        assert_eq!(OPCODES[DUP16 as usize].stack_out, 17);
        assert_eq!(OPCODES[SWAP16 as usize].stack_in, 17);
        assert_eq!(OPCODES[LOG4 as usize].stack_in, 6);
        assert_eq!((LOG1, LOG2, LOG3), (0xa1, 0xa2, 0xa3));
    }

    #[test]
    fn names_and_bytes_follow_the_families() {
        for n in 1..=32u8 {
            let info = &OPCODES[(PUSH0 + n) as usize];
            assert_eq!(info.name, format!("PUSH{n}"));
            assert_eq!(info.immediate, n);
        }
        for n in 1..=16u8 {
            assert_eq!(OPCODES[(DUP1 + n - 1) as usize].name, format!("DUP{n}"));
            assert_eq!(OPCODES[(SWAP1 + n - 1) as usize].name, format!("SWAP{n}"));
        }
        let defined = OPCODES.iter().filter(|i| i.since.is_some()).count();
        assert_eq!(defined, 150);
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
