//! MLOAD, MSTORE, MSTORE8, MCOPY: memory access with expansion charged per the Yellow Paper.

use super::*;

/// The offset of a `size`-byte access when it ends below the memory limit.
#[inline(always)]
fn small_offset(offset: &U256, size: u64) -> Result<u64, Status> {
    let l = offset.as_limbs();
    if l[1] | l[2] | l[3] != 0 || l[0] > MAX_MEMORY_SIZE - size {
        return Err(EVMC_OUT_OF_GAS);
    }
    Ok(l[0])
}

/// MLOAD: the word at a memory offset, charging the expansion.
#[inline]
pub fn mload(f: &mut Frame<'_, '_>) -> OpResult {
    let o = small_offset(f.top(), 32)?;
    f.memory.expand(&mut f.gas_left, o, 32)?;
    let word: [u8; 32] = f.memory.slice(o as usize, 32).try_into().expect("32 bytes");
    *f.top() = U256::from_be_bytes(word);
    Ok(())
}

/// MLOAD's and MSTORE's expansion without the access, for compiled code that reads or writes
/// the word itself: makes the word at `offset` addressable, charging the expansion. An offset of
/// 2^64 or more may be passed as `u64::MAX`, which fails alike (out of gas).
#[inline]
pub fn expand_word(f: &mut Frame<'_, '_>, offset: u64) -> OpResult {
    let o = small_offset(&U256::from(offset), 32)?;
    f.memory.expand(&mut f.gas_left, o, 32)
}

/// MSTORE: writes a word at a memory offset, charging the expansion.
#[inline]
pub fn mstore(f: &mut Frame<'_, '_>) -> OpResult {
    let o = small_offset(&f.pop(), 32)?;
    let value = f.pop();
    f.memory.expand(&mut f.gas_left, o, 32)?;
    f.memory
        .slice_mut(o as usize, 32)
        .copy_from_slice(&value.to_be_bytes::<32>());
    Ok(())
}

/// MSTORE8: writes the low byte of a word at a memory offset, charging the expansion.
#[inline]
pub fn mstore8(f: &mut Frame<'_, '_>) -> OpResult {
    let o = small_offset(&f.pop(), 1)?;
    let value = f.pop();
    f.memory.expand(&mut f.gas_left, o, 1)?;
    f.memory.slice_mut(o as usize, 1)[0] = value.byte(0);
    Ok(())
}

/// MCOPY (EIP-5656): copies a memory region to another, which may overlap; charges the expansion
/// for both and the copied words.
pub fn mcopy(f: &mut Frame<'_, '_>) -> OpResult {
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
