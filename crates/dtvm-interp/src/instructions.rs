//! Instruction bodies that are too large to inline in the dispatch loop: environment and state
//! access, memory copies, logs, calls, creates. Each operates on the [`Frame`]'s stack and gas, and
//! is the single definition of its EVM rule: the JIT calls these same functions.
//!
//! Stack access is unchecked: engines call these only inside a basic block whose stack bounds were
//! checked on entry ([`Frame::begin_block`]), so the items an instruction pops exist and the items
//! it pushes fit.

use crate::{Frame, Status};
use ::evmc_vm::sys::*;
use ::evmc_vm::{Address, Bytes32};
use dtvm_core::gas::{self, *};
use dtvm_core::{opcode as op, *};

pub type OpResult = Result<(), Status>;

impl Frame<'_, '_> {
    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(self.stack_height() > 0);
        // SAFETY: the block's stack bounds were checked on entry (see module docs).
        unsafe {
            self.sp = self.sp.sub(1);
            *self.sp
        }
    }

    #[inline(always)]
    pub fn push(&mut self, value: U256) {
        debug_assert!(self.stack_height() < STACK_LIMIT);
        // SAFETY: as for `pop`.
        unsafe {
            *self.sp = value;
            self.sp = self.sp.add(1);
        }
    }

    #[inline(always)]
    pub fn top(&mut self) -> &mut U256 {
        debug_assert!(self.stack_height() > 0);
        // SAFETY: as for `pop`.
        unsafe { &mut *self.sp.sub(1) }
    }

    fn address_access_cost(&mut self, address: &Address) -> OpResult {
        if self.rev >= BERLIN && self.host.access_account(address) == EVMC_ACCESS_COLD {
            self.charge(ADDITIONAL_COLD_ACCOUNT_ACCESS_COST)?;
        }
        Ok(())
    }

    fn check_not_static(&self) -> OpResult {
        if self.msg.is_static() {
            Err(EVMC_STATIC_MODE_VIOLATION)
        } else {
            Ok(())
        }
    }
}

#[inline]
pub fn to_address(v: U256) -> Address {
    let bytes = v.to_be_bytes::<32>();
    let mut a = Address::default();
    a.bytes.copy_from_slice(&bytes[12..]);
    a
}

#[inline]
pub fn address_to_u256(a: &Address) -> U256 {
    let mut bytes = [0u8; 32];
    bytes[12..].copy_from_slice(&a.bytes);
    U256::from_be_bytes(bytes)
}

#[inline]
pub fn bytes32_to_u256(b: &Bytes32) -> U256 {
    U256::from_be_bytes(b.bytes)
}

#[inline]
pub fn u256_to_bytes32(v: U256) -> Bytes32 {
    Bytes32 {
        bytes: v.to_be_bytes::<32>(),
    }
}

/// Saturating conversion used for offsets into call data, code and return data.
#[inline]
pub fn saturating_usize(v: U256) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Copies `src[offset..]` into `dst`, filling what is past the end of `src` with zeros.
#[inline]
fn copy_padded(dst: &mut [u8], src: &[u8], offset: usize) {
    let available = src.len().saturating_sub(offset);
    let n = available.min(dst.len());
    if n > 0 {
        dst[..n].copy_from_slice(&src[offset..offset + n]);
    }
    dst[n..].fill(0);
}

pub fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::Hasher;
    let mut k = tiny_keccak::Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Arithmetic that is not a single ruint call.

const SIGN_BIT: usize = 255;

#[inline]
fn is_negative(v: &U256) -> bool {
    v.bit(SIGN_BIT)
}

#[inline]
fn abs(v: U256) -> U256 {
    if is_negative(&v) {
        v.wrapping_neg()
    } else {
        v
    }
}

#[inline]
pub fn div(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    match small_division(&a, &b) {
        Some((q, _)) => U256::from(q),
        None if a < b => U256::ZERO,
        None if b.is_power_of_two() => a >> b.trailing_zeros(),
        None => match wide_division(&a, &b) {
            Some((q, _)) => U256::from(q),
            None => a.div_rem(b).0,
        },
    }
}

#[inline]
pub fn rem(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    match small_division(&a, &b) {
        Some((_, r)) => U256::from(r),
        None if a < b => a,
        None if b.is_power_of_two() => a & !(U256::MAX << b.trailing_zeros()),
        None => match wide_division(&a, &b) {
            Some((_, r)) => U256::from(r),
            None => a.div_rem(b).1,
        },
    }
}

/// Contracts mostly divide small numbers (fixed-point scaling) or by powers of two (shifts
/// written as `x / 2**n` before EIP-145): one machine division or a shift for those.
/// Quotient and remainder when both fit in 64 bits (`b != 0`).
#[inline(always)]
fn small_division(a: &U256, b: &U256) -> Option<(u64, u64)> {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    (x[1] | x[2] | x[3] | y[1] | y[2] | y[3] == 0).then(|| (x[0] / y[0], x[0] % y[0]))
}

/// Quotient and remainder when both fit in 128 bits (`b != 0`): fixed-point code divides
/// products of two scaled numbers (snailtracer's SDIVs), too wide for 64 bits, and the
/// machine's 128-bit division beats the general 256-bit one.
#[inline(always)]
fn wide_division(a: &U256, b: &U256) -> Option<(u128, u128)> {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    (x[2] | x[3] | y[2] | y[3] == 0).then(|| {
        let x = x[0] as u128 | (x[1] as u128) << 64;
        let y = y[0] as u128 | (y[1] as u128) << 64;
        (x / y, x % y)
    })
}

pub fn sdiv(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = div(abs(a), abs(b));
    if is_negative(&a) != is_negative(&b) {
        q.wrapping_neg()
    } else {
        q
    }
}

pub fn smod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = rem(abs(a), abs(b));
    if is_negative(&a) {
        r.wrapping_neg()
    } else {
        r
    }
}

/// ADDMOD (zero for a zero modulus).
#[inline]
pub fn addmod(a: U256, b: U256, m: U256) -> U256 {
    let mut r = U256::ZERO;
    crate::modular::addmod(&a, &b, &m, &mut r);
    r
}

/// MULMOD (zero for a zero modulus).
#[inline]
pub fn mulmod(a: U256, b: U256, m: U256) -> U256 {
    let mut r = U256::ZERO;
    crate::modular::mulmod(&a, &b, &m, &mut r);
    r
}

#[inline]
pub fn slt(a: U256, b: U256) -> bool {
    match (is_negative(&a), is_negative(&b)) {
        (true, false) => true,
        (false, true) => false,
        _ => a < b,
    }
}

pub fn signextend(b: U256, x: U256) -> U256 {
    if b >= U256::from(31) {
        return x;
    }
    // Limb-wise and branch-free: sign-extend inside the limb holding the sign bit, keep the
    // limbs below it, fill the limbs above it with the sign.
    let bit = b.as_limbs()[0] as usize * 8 + 7;
    let (sign_limb, shift) = (bit / 64, 63 - bit % 64);
    let limbs = x.as_limbs();
    let extended = ((limbs[sign_limb] << shift) as i64) >> shift;
    let fill = (extended >> 63) as u64;
    let mut out = [0u64; 4];
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i < sign_limb {
            limbs[i]
        } else if i == sign_limb {
            extended as u64
        } else {
            fill
        };
    }
    U256::from_limbs(out)
}

#[inline]
pub fn byte(i: U256, x: U256) -> U256 {
    if i >= U256::from(32) {
        return U256::ZERO;
    }
    U256::from(x.byte(31 - i.as_limbs()[0] as usize))
}

#[inline]
pub fn shl(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x << (shift.as_limbs()[0] as usize)
    }
}

#[inline]
pub fn shr(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x >> (shift.as_limbs()[0] as usize)
    }
}

pub fn sar(shift: U256, x: U256) -> U256 {
    let negative = is_negative(&x);
    if shift >= U256::from(256) {
        return if negative { U256::MAX } else { U256::ZERO };
    }
    let s = shift.as_limbs()[0] as usize;
    if negative {
        !((!x) >> s)
    } else {
        x >> s
    }
}

#[inline]
pub fn clz(x: U256) -> U256 {
    U256::from(x.leading_zeros())
}

/// EXP: charges the per-byte cost of the exponent, then computes.
pub fn exp(f: &mut Frame) -> OpResult {
    let base = f.pop();
    let exponent = *f.top();
    let bytes = exponent.byte_len() as i64;
    f.charge(bytes * exp_byte_cost(f.rev))?;
    *f.top() = base.pow(exponent);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hashing, environment and state.

pub fn keccak(f: &mut Frame) -> OpResult {
    let offset = f.pop();
    let size = f.pop();
    let hash = match f.memory_region(offset, size)? {
        Some((o, s)) => {
            f.charge(num_words(s as u64) as i64 * KECCAK_WORD_COST)?;
            keccak256(f.memory.slice(o, s))
        }
        None => keccak256(&[]),
    };
    f.push(U256::from_be_bytes(hash));
    Ok(())
}

pub fn balance(f: &mut Frame) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = bytes32_to_u256(&f.host.get_balance(&address));
    Ok(())
}

pub fn calldataload(f: &mut Frame) {
    let offset = saturating_usize(*f.top());
    let mut word = [0u8; 32];
    copy_padded(&mut word, f.msg.input(), offset);
    *f.top() = U256::from_be_bytes(word);
}

/// The data a *COPY instruction reads from.
#[derive(Clone, Copy)]
pub enum CopySource {
    CallData,
    Code,
}

/// CALLDATACOPY / CODECOPY.
pub fn data_copy(f: &mut Frame, source: CopySource) -> OpResult {
    let mem_offset = f.pop();
    let data_offset = saturating_usize(f.pop());
    let size = f.pop();
    if let Some((o, s)) = f.memory_region(mem_offset, size)? {
        f.charge(copy_cost(s as u64))?;
        let src = match source {
            CopySource::CallData => f.msg.input(),
            CopySource::Code => f.analysis.code(),
        };
        copy_padded(f.memory.slice_mut(o, s), src, data_offset);
    }
    Ok(())
}

pub fn extcodesize(f: &mut Frame) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = U256::from(f.host.get_code_size(&address));
    Ok(())
}

pub fn extcodecopy(f: &mut Frame) -> OpResult {
    let address = to_address(f.pop());
    let mem_offset = f.pop();
    let code_offset = saturating_usize(f.pop());
    let size = f.pop();
    let region = f.memory_region(mem_offset, size)?;
    if let Some((_, s)) = region {
        f.charge(copy_cost(s as u64))?;
    }
    f.address_access_cost(&address)?;
    if let Some((o, s)) = region {
        let buffer = f.memory.slice_mut(o, s);
        let copied = f.host.copy_code(&address, code_offset, buffer);
        buffer[copied..].fill(0);
    }
    Ok(())
}

pub fn extcodehash(f: &mut Frame) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = bytes32_to_u256(&f.host.get_code_hash(&address));
    Ok(())
}

pub fn returndatacopy(f: &mut Frame) -> OpResult {
    let mem_offset = f.pop();
    let data_offset = f.pop();
    let size = f.pop();
    let region = f.memory_region(mem_offset, size)?;
    let len = f.return_data.len();
    let Ok(src) = usize::try_from(data_offset) else {
        return Err(EVMC_INVALID_MEMORY_ACCESS);
    };
    if src > len {
        return Err(EVMC_INVALID_MEMORY_ACCESS);
    }
    if let Some((o, s)) = region {
        if s > len - src {
            return Err(EVMC_INVALID_MEMORY_ACCESS);
        }
        f.charge(copy_cost(s as u64))?;
        f.memory
            .slice_mut(o, s)
            .copy_from_slice(&f.return_data[src..src + s]);
    }
    Ok(())
}

pub fn blockhash(f: &mut Frame) {
    let number = *f.top();
    let current = f.host.tx_context().block_number;
    let lower = current.saturating_sub(256).max(0);
    let hash = match i64::try_from(number) {
        Ok(n) if n >= lower && n < current => bytes32_to_u256(&f.host.get_block_hash(n)),
        _ => U256::ZERO,
    };
    *f.top() = hash;
}

/// Block and transaction values that come from the transaction context.
pub fn tx_value(f: &mut Frame, opcode: u8) -> U256 {
    let tx = f.host.tx_context();
    match opcode {
        op::ORIGIN => address_to_u256(&tx.tx_origin),
        op::GASPRICE => bytes32_to_u256(&tx.tx_gas_price),
        op::COINBASE => address_to_u256(&tx.block_coinbase),
        op::TIMESTAMP => U256::from(tx.block_timestamp as u64),
        op::NUMBER => U256::from(tx.block_number as u64),
        op::PREVRANDAO => bytes32_to_u256(&tx.block_prev_randao),
        op::GASLIMIT => U256::from(tx.block_gas_limit as u64),
        op::CHAINID => bytes32_to_u256(&tx.chain_id),
        op::BASEFEE => bytes32_to_u256(&tx.block_base_fee),
        op::BLOBBASEFEE => bytes32_to_u256(&tx.blob_base_fee),
        _ => unreachable!("not a transaction-context opcode: {opcode:#x}"),
    }
}

pub fn selfbalance(f: &mut Frame) {
    let me = *f.msg.recipient();
    let balance = bytes32_to_u256(&f.host.get_balance(&me));
    f.push(balance);
}

pub fn blobhash(f: &mut Frame) {
    let index = saturating_usize(*f.top());
    *f.top() = f
        .host
        .blob_hash(index)
        .map(|h| bytes32_to_u256(&h))
        .unwrap_or_default();
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// The offset of a `size`-byte access when it ends below the memory limit.
#[inline(always)]
fn small_offset(offset: &U256, size: u64) -> Result<u64, Status> {
    let l = offset.as_limbs();
    if l[1] | l[2] | l[3] != 0 || l[0] > MAX_MEMORY_SIZE - size {
        return Err(EVMC_OUT_OF_GAS);
    }
    Ok(l[0])
}

#[inline]
pub fn mload(f: &mut Frame) -> OpResult {
    let o = small_offset(f.top(), 32)?;
    f.memory.expand(&mut f.gas_left, o, 32)?;
    let word: [u8; 32] = f.memory.slice(o as usize, 32).try_into().expect("32 bytes");
    *f.top() = U256::from_be_bytes(word);
    Ok(())
}

#[inline]
pub fn mstore(f: &mut Frame) -> OpResult {
    let o = small_offset(&f.pop(), 32)?;
    let value = f.pop();
    f.memory.expand(&mut f.gas_left, o, 32)?;
    f.memory
        .slice_mut(o as usize, 32)
        .copy_from_slice(&value.to_be_bytes::<32>());
    Ok(())
}

#[inline]
pub fn mstore8(f: &mut Frame) -> OpResult {
    let o = small_offset(&f.pop(), 1)?;
    let value = f.pop();
    f.memory.expand(&mut f.gas_left, o, 1)?;
    f.memory.slice_mut(o as usize, 1)[0] = value.byte(0);
    Ok(())
}

pub fn mcopy(f: &mut Frame) -> OpResult {
    let dst = f.pop();
    let src = f.pop();
    let size = f.pop();
    // Memory cost depends only on the final size, so expanding for each region in turn charges
    // exactly the expansion to the larger end.
    let (Some((s, n)), Some((d, _))) = (f.memory_region(src, size)?, f.memory_region(dst, size)?)
    else {
        return Ok(());
    };
    f.charge(copy_cost(n as u64))?;
    f.memory.copy_within(s, d, n);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Storage.

pub fn sload(f: &mut Frame) -> OpResult {
    let key = u256_to_bytes32(*f.top());
    let me = *f.msg.recipient();
    if f.rev >= BERLIN && f.host.access_storage(&me, &key) == EVMC_ACCESS_COLD {
        f.charge(ADDITIONAL_COLD_SLOAD_COST)?;
    }
    *f.top() = bytes32_to_u256(&f.host.get_storage(&me, &key));
    Ok(())
}

pub fn sstore(f: &mut Frame) -> OpResult {
    f.check_not_static()?;
    if f.rev >= ISTANBUL && f.gas_left <= SSTORE_SENTRY {
        return Err(EVMC_OUT_OF_GAS);
    }
    let key = u256_to_bytes32(f.pop());
    let value = u256_to_bytes32(f.pop());
    let me = *f.msg.recipient();
    let cold = f.rev >= BERLIN && f.host.access_storage(&me, &key) == EVMC_ACCESS_COLD;
    let status = f.host.set_storage(&me, &key, &value);
    let cost = gas::sstore_cost(f.rev, status);
    f.charge(cost.gas + if cold { COLD_SLOAD_COST } else { 0 })?;
    f.gas_refund += cost.refund;
    Ok(())
}

pub fn tload(f: &mut Frame) {
    let key = u256_to_bytes32(*f.top());
    let me = *f.msg.recipient();
    *f.top() = bytes32_to_u256(&f.host.get_transient_storage(&me, &key));
}

pub fn tstore(f: &mut Frame) -> OpResult {
    f.check_not_static()?;
    let key = u256_to_bytes32(f.pop());
    let value = u256_to_bytes32(f.pop());
    let me = *f.msg.recipient();
    f.host.set_transient_storage(&me, &key, &value);
    Ok(())
}

pub fn log(f: &mut Frame, topics: usize) -> OpResult {
    f.check_not_static()?;
    let offset = f.pop();
    let size = f.pop();
    let region = f.memory_region(offset, size)?;
    let mut topic_values = [Bytes32::default(); 4];
    for t in topic_values.iter_mut().take(topics) {
        *t = u256_to_bytes32(f.pop());
    }
    let data: &[u8] = match region {
        Some((o, s)) => {
            f.charge(s as i64 * LOG_DATA_COST)?;
            f.memory.slice(o, s)
        }
        None => &[],
    };
    let me = *f.msg.recipient();
    f.host.emit_log(&me, data, &topic_values[..topics]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Returning.

/// RETURN / REVERT: records the output region.
pub fn set_output(f: &mut Frame) -> OpResult {
    let offset = f.pop();
    let size = f.pop();
    f.output = f.memory_region(offset, size)?.unwrap_or((0, 0));
    Ok(())
}

pub fn selfdestruct(f: &mut Frame) -> OpResult {
    f.check_not_static()?;
    let beneficiary = to_address(f.pop());
    if f.rev >= BERLIN && f.host.access_account(&beneficiary) == EVMC_ACCESS_COLD {
        f.charge(COLD_ACCOUNT_ACCESS_COST)?;
    }
    let me = *f.msg.recipient();
    if f.rev >= TANGERINE_WHISTLE
        && (f.rev == TANGERINE_WHISTLE || !f.host.get_balance(&me).bytes.iter().all(|b| *b == 0))
        && !f.host.account_exists(&beneficiary)
    {
        f.charge(ACCOUNT_CREATION_COST)?;
    }
    if f.host.selfdestruct(&me, &beneficiary) && f.rev < LONDON {
        f.gas_refund += SELFDESTRUCT_REFUND;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Calls and creates.

/// EIP-7702 delegation designator: 0xef0100 followed by the delegate's address.
const DELEGATION_MAGIC: [u8; 3] = [0xef, 0x01, 0x00];

/// The delegate of `address` when its code is a delegation designator.
fn delegate_of(f: &mut Frame, address: &Address) -> Option<Address> {
    let mut designator = [0u8; 23];
    let n = f.host.copy_code(address, 0, &mut designator);
    if n != designator.len() || designator[..3] != DELEGATION_MAGIC {
        return None;
    }
    let mut delegate = Address::default();
    delegate.bytes.copy_from_slice(&designator[3..]);
    Some(delegate)
}

fn value_exceeds_balance(f: &mut Frame, value: &U256) -> bool {
    let me = *f.msg.recipient();
    !value.is_zero() && bytes32_to_u256(&f.host.get_balance(&me)) < *value
}

/// CALL, CALLCODE, DELEGATECALL, STATICCALL.
pub fn call(f: &mut Frame, opcode: u8) -> OpResult {
    let gas_param = f.pop();
    let dst = to_address(f.pop());
    let value = if matches!(opcode, op::CALL | op::CALLCODE) {
        f.pop()
    } else {
        U256::ZERO
    };
    let in_offset = f.pop();
    let in_size = f.pop();
    let out_offset = f.pop();
    let out_size = f.pop();
    f.push(U256::ZERO); // replaced by 1 on success

    f.address_access_cost(&dst)?;
    let mut code_address = dst;
    let mut flags = f.msg.flags() & EVMC_STATIC;
    if f.rev >= PRAGUE {
        if let Some(delegate) = delegate_of(f, &dst) {
            let cost = if f.host.access_account(&delegate) == EVMC_ACCESS_COLD {
                COLD_ACCOUNT_ACCESS_COST
            } else {
                WARM_STORAGE_READ_COST
            };
            f.charge(cost)?;
            code_address = delegate;
            flags |= EVMC_DELEGATED;
        }
    }
    let input = f.memory_region(in_offset, in_size)?;
    let output = f.memory_region(out_offset, out_size)?;

    let has_value = !value.is_zero();
    if opcode == op::CALL && has_value && f.msg.is_static() {
        return Err(EVMC_STATIC_MODE_VIOLATION);
    }
    let mut cost = if has_value { CALL_VALUE_COST } else { 0 };
    if opcode == op::CALL && (has_value || f.rev < SPURIOUS_DRAGON) && !f.host.account_exists(&dst)
    {
        cost += ACCOUNT_CREATION_COST;
    }
    f.charge(cost)?;

    let mut gas = i64::try_from(gas_param).unwrap_or(i64::MAX);
    if f.rev >= TANGERINE_WHISTLE {
        gas = gas.min(f.gas_left - f.gas_left / 64);
    } else if gas > f.gas_left {
        return Err(EVMC_OUT_OF_GAS);
    }
    if has_value {
        gas += CALL_STIPEND;
        f.gas_left += CALL_STIPEND;
    }

    f.return_data.clear();
    if f.msg.depth() >= CALL_DEPTH_LIMIT || (has_value && value_exceeds_balance(f, &value)) {
        // The call does not happen; its gas (and stipend) stays with the caller.
        return Ok(());
    }

    let me = *f.msg.recipient();
    let (kind, recipient, sender, value) = match opcode {
        op::CALL => (EVMC_CALL, dst, me, value),
        op::STATICCALL => {
            flags |= EVMC_STATIC;
            (EVMC_CALL, dst, me, value)
        }
        op::CALLCODE => (EVMC_CALLCODE, me, me, value),
        _ => (
            EVMC_DELEGATECALL,
            me,
            *f.msg.sender(),
            bytes32_to_u256(f.msg.value()),
        ),
    };
    let (input_data, input_size) = match input {
        Some((o, s)) => (f.memory.slice(o, s).as_ptr(), s),
        None => (std::ptr::null(), 0),
    };
    let msg = evmc_message {
        kind,
        flags,
        depth: f.msg.depth() + 1,
        gas,
        recipient,
        sender,
        input_data,
        input_size,
        value: u256_to_bytes32(value),
        create2_salt: Bytes32::default(),
        code_address,
        code: std::ptr::null(),
        code_size: 0,
    };
    let result = f.host.call(&msg);
    // A nested VM failure (dtvm's native stack guard, or the host's own) is not an EVM outcome:
    // it ends this frame too, so it reaches the host's top level instead of passing for a failed
    // call that a host might commit.
    if result.status_code == EVMC_INTERNAL_ERROR {
        return Err(EVMC_INTERNAL_ERROR);
    }
    if let Some((o, s)) = output {
        let n = s.min(result.output.len());
        f.memory
            .slice_mut(o, n)
            .copy_from_slice(&result.output[..n]);
    }
    f.gas_left -= gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    if result.status_code == EVMC_SUCCESS {
        *f.top() = U256::from(1);
    }
    f.return_data = result.output;
    Ok(())
}

/// CREATE, CREATE2.
pub fn create(f: &mut Frame, opcode: u8) -> OpResult {
    f.check_not_static()?;
    let endowment = f.pop();
    let init_offset = f.pop();
    let init_size = f.pop();
    let salt = if opcode == op::CREATE2 {
        f.pop()
    } else {
        U256::ZERO
    };
    f.push(U256::ZERO); // replaced by the address on success

    let init = f.memory_region(init_offset, init_size)?;
    let size = init.map_or(0, |(_, s)| s);
    if f.rev >= SHANGHAI && size > MAX_INITCODE_SIZE {
        return Err(EVMC_OUT_OF_GAS);
    }
    let word_cost = if opcode == op::CREATE2 {
        KECCAK_WORD_COST
    } else {
        0
    } + if f.rev >= SHANGHAI {
        INITCODE_WORD_COST
    } else {
        0
    };
    f.charge(num_words(size as u64) as i64 * word_cost)?;

    f.return_data.clear();
    if f.msg.depth() >= CALL_DEPTH_LIMIT || value_exceeds_balance(f, &endowment) {
        return Ok(());
    }
    let mut gas = f.gas_left;
    if f.rev >= TANGERINE_WHISTLE {
        gas -= gas / 64;
    }
    let (input_data, input_size) = match init {
        Some((o, s)) => (f.memory.slice(o, s).as_ptr(), s),
        None => (std::ptr::null(), 0),
    };
    let msg = evmc_message {
        kind: if opcode == op::CREATE2 {
            EVMC_CREATE2
        } else {
            EVMC_CREATE
        },
        flags: 0,
        depth: f.msg.depth() + 1,
        gas,
        recipient: Address::default(),
        sender: *f.msg.recipient(),
        input_data,
        input_size,
        value: u256_to_bytes32(endowment),
        create2_salt: u256_to_bytes32(salt),
        code_address: Address::default(),
        code: std::ptr::null(),
        code_size: 0,
    };
    let result = f.host.call(&msg);
    // A nested VM failure (dtvm's native stack guard, or the host's own) is not an EVM outcome:
    // it ends this frame too, so it reaches the host's top level instead of passing for a failed
    // call that a host might commit.
    if result.status_code == EVMC_INTERNAL_ERROR {
        return Err(EVMC_INTERNAL_ERROR);
    }
    f.gas_left -= gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    if result.status_code == EVMC_SUCCESS {
        *f.top() = address_to_u256(&result.create_address.unwrap_or_default());
    } else if result.status_code == EVMC_REVERT {
        f.return_data = result.output;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: i64) -> U256 {
        if v < 0 {
            U256::from(v.unsigned_abs()).wrapping_neg()
        } else {
            U256::from(v as u64)
        }
    }

    #[test]
    fn signed_division() {
        assert_eq!(sdiv(n(-7), n(2)), n(-3));
        assert_eq!(sdiv(n(7), n(-2)), n(-3));
        assert_eq!(sdiv(n(-7), n(-2)), n(3));
        let min = U256::from(1) << 255;
        assert_eq!(sdiv(min, n(-1)), min);
        assert_eq!(sdiv(n(5), n(0)), U256::ZERO);
        assert_eq!(smod(n(-7), n(2)), n(-1));
        assert_eq!(smod(n(7), n(-2)), n(1));
        assert_eq!(smod(n(7), n(0)), U256::ZERO);
    }

    #[test]
    fn comparisons_and_shifts() {
        assert!(slt(n(-1), n(0)));
        assert!(!slt(n(0), n(-1)));
        assert!(slt(n(1), n(2)));
        assert_eq!(sar(n(1), n(-4)), n(-2));
        assert_eq!(sar(n(300), n(-4)), U256::MAX);
        assert_eq!(sar(n(300), n(4)), U256::ZERO);
        assert_eq!(shl(n(256), n(1)), U256::ZERO);
        assert_eq!(shr(n(4), n(0x100)), n(0x10));
        assert_eq!(byte(n(31), n(0x1234)), n(0x34));
        assert_eq!(byte(n(32), n(0x1234)), U256::ZERO);
        assert_eq!(clz(U256::ZERO), n(256));
        assert_eq!(clz(U256::from(1)), n(255));
    }

    #[test]
    fn sign_extension() {
        assert_eq!(signextend(n(0), n(0xff)), U256::MAX);
        assert_eq!(signextend(n(0), n(0x7f)), n(0x7f));
        assert_eq!(signextend(n(1), n(0xff_7f)), n(-129));
        assert_eq!(signextend(n(31), n(0xff)), n(0xff));
        assert_eq!(signextend(U256::MAX, n(0xff)), n(0xff));
    }

    #[test]
    fn address_round_trip() {
        let mut a = Address::default();
        a.bytes[0] = 0xaa;
        a.bytes[19] = 0x01;
        assert_eq!(to_address(address_to_u256(&a)), a);
        assert_eq!(to_address(U256::MAX).bytes, [0xff; 20]);
    }

    #[test]
    fn padded_copy() {
        let mut dst = [9u8; 4];
        copy_padded(&mut dst, &[1, 2, 3], 1);
        assert_eq!(dst, [2, 3, 0, 0]);
        copy_padded(&mut dst, &[1, 2, 3], usize::MAX);
        assert_eq!(dst, [0; 4]);
    }

    #[test]
    fn division_fast_paths_agree_with_ruint() {
        let samples = [
            U256::ZERO,
            U256::from(1),
            U256::from(3),
            U256::from(u64::MAX),
            U256::from(u64::MAX) + U256::from(1),
            U256::from(1_000_000u64) << 100,
            U256::MAX,
            U256::MAX - U256::from(5),
            U256::from(1) << 255,
            (U256::from(1) << 255) + U256::from(7),
            U256::from(1) << 64,
            (U256::from(1) << 127) + U256::from(99),
            (U256::from(1) << 128) - U256::from(1),
            U256::from(3) << 70,
            U256::from(1) << 200,
            (U256::from(1) << 200) - U256::from(1),
        ];
        for &a in &samples {
            for &b in &samples {
                let (q, r) = if b.is_zero() {
                    (U256::ZERO, U256::ZERO)
                } else {
                    a.div_rem(b)
                };
                assert_eq!((div(a, b), rem(a, b)), (q, r), "{a} / {b}");
                if !b.is_zero() {
                    let sq = abs(a) / abs(b);
                    let sq = if is_negative(&a) != is_negative(&b) {
                        sq.wrapping_neg()
                    } else {
                        sq
                    };
                    assert_eq!(sdiv(a, b), sq, "{a} sdiv {b}");
                    let sr = abs(a) % abs(b);
                    let sr = if is_negative(&a) {
                        sr.wrapping_neg()
                    } else {
                        sr
                    };
                    assert_eq!(smod(a, b), sr, "{a} smod {b}");
                }
            }
        }
    }
}
