//! Hashing, the execution environment and account state read through the host.

use super::*;

/// KECCAK256: hashes a memory region, charging its expansion and 6 gas per word.
pub fn keccak(f: &mut Frame<'_, '_>) -> OpResult {
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

/// BALANCE: the balance of an address, charging the cold access (EIP-2929).
pub fn balance(f: &mut Frame<'_, '_>) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = bytes32_to_u256(&f.host.get_balance(&address));
    Ok(())
}

/// CALLDATALOAD: the 32 bytes of input at the offset, zero-padded past its end.
pub fn calldataload(f: &mut Frame<'_, '_>) {
    let offset = saturating_usize(*f.top());
    *f.top() = calldata_word(f.msg.input(), offset);
}

/// The 32 bytes of `input` at `offset`, zero-padded past its end (CALLDATALOAD's word).
pub fn calldata_word(input: &[u8], offset: usize) -> U256 {
    let mut word = [0u8; 32];
    copy_padded(&mut word, input, offset);
    U256::from_be_bytes(word)
}

/// The data a *COPY instruction reads from.
#[derive(Clone, Copy)]
pub enum CopySource {
    /// CALLDATACOPY: the message's input.
    CallData,
    /// CODECOPY: the running code.
    Code,
}

/// CALLDATACOPY / CODECOPY.
pub fn data_copy(f: &mut Frame<'_, '_>, source: CopySource) -> OpResult {
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

/// EXTCODESIZE: the code size of an address, charging the cold access (EIP-2929).
pub fn extcodesize(f: &mut Frame<'_, '_>) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = U256::from(f.host.get_code_size(&address));
    Ok(())
}

/// EXTCODECOPY: copies an account's code into memory, zero-padded past its end; charges the
/// expansion, the copied words and the cold access (EIP-2929).
pub fn extcodecopy(f: &mut Frame<'_, '_>) -> OpResult {
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

/// EXTCODEHASH (EIP-1052): the code hash, zero for a non-existent or empty account; charges the
/// cold access (EIP-2929).
pub fn extcodehash(f: &mut Frame<'_, '_>) -> OpResult {
    let address = to_address(*f.top());
    f.address_access_cost(&address)?;
    *f.top() = bytes32_to_u256(&f.host.get_code_hash(&address));
    Ok(())
}

/// RETURNDATACOPY (EIP-211): copies from the last call's output. Unlike the other copies there is
/// no zero-padding: reading past the end fails the frame.
pub fn returndatacopy(f: &mut Frame<'_, '_>) -> OpResult {
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

/// BLOCKHASH: the hash of one of the 256 blocks before the current one; zero for any other
/// number.
pub fn blockhash(f: &mut Frame<'_, '_>) {
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
pub fn tx_value(f: &mut Frame<'_, '_>, opcode: u8) -> U256 {
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

/// SELFBALANCE (EIP-1884): the balance of the running account, with no access charge.
pub fn selfbalance(f: &mut Frame<'_, '_>) {
    let me = *f.msg.recipient();
    let balance = bytes32_to_u256(&f.host.get_balance(&me));
    f.push(balance);
}

/// BLOBHASH (EIP-4844): the transaction's blob versioned hash at the index; zero past the end.
pub fn blobhash(f: &mut Frame<'_, '_>) {
    let index = saturating_usize(*f.top());
    *f.top() = f
        .host
        .blob_hash(index)
        .map(|h| bytes32_to_u256(&h))
        .unwrap_or_default();
}
