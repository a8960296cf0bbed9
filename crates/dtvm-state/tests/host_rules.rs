//! Host rules that are easy to get wrong, each checked end to end: a transaction runs through
//! `validate` + `transition`, and every frame runs in dtvm through its EVMC C entry points.
use dtvm_state::crypto::{address_from_secret_key, authorization_hash, create_address};
use dtvm_state::state::{AccountData, WorldState};
use dtvm_state::transaction::{
    finalize_block, transition, validate, Authorization, BlockEnv, Receipt, Transaction, TxType,
};
use dtvm_state::{Address, Bytes, B256, U256};
use evmc_vm::{sys, Revision, Vm};

fn vm() -> Vm {
    // SAFETY: a fresh VM owned by the returned wrapper.
    unsafe { Vm::from_raw(dtvm::create()) }
}

const SENDER: Address = Address::repeat_byte(0x5e);
const COINBASE: Address = Address::repeat_byte(0xcb);

fn account(balance: u64, code: &[u8]) -> AccountData {
    AccountData::new(
        0,
        U256::from(balance),
        Bytes::copy_from_slice(code),
        Default::default(),
    )
}

fn block(base_fee: u64) -> BlockEnv {
    BlockEnv {
        number: 1,
        timestamp: 1000,
        gas_limit: 30_000_000,
        coinbase: COINBASE,
        base_fee: U256::from(base_fee),
        chain_id: U256::from(1),
        ..Default::default()
    }
}

fn call_tx(to: Address, gas_price: u64) -> Transaction {
    Transaction {
        tx_type: TxType::Legacy,
        sender: SENDER,
        to: Some(to),
        gas_limit: 100_000,
        max_fee_per_gas: U256::from(gas_price),
        max_priority_fee_per_gas: U256::from(gas_price),
        ..Default::default()
    }
}

/// Runs a valid transaction and applies the zero block reward, as the state-test runner does.
fn run(pre: &WorldState, block: &BlockEnv, tx: &Transaction, rev: Revision) -> Receipt {
    let gas = validate(pre, block, tx, rev).expect("transaction must be valid");
    let mut r = transition(pre, block, tx, rev, &vm(), gas);
    assert!(r.host_errors.is_empty(), "{:?}", r.host_errors);
    finalize_block(&mut r.post, &block.coinbase, rev);
    r
}

fn balance(s: &WorldState, a: &Address) -> U256 {
    s.get(a).map(|a| a.balance).unwrap_or_default()
}

#[test]
fn fees_go_to_coinbase_at_the_gas_price_before_london_and_the_tip_after() {
    let to = Address::repeat_byte(0x70);
    let mut pre = WorldState::default();
    pre.accounts.insert(SENDER, account(10_000_000, &[]));
    let mut tx = call_tx(to, 10);
    tx.value = U256::from(5);
    for (rev, per_gas_to_coinbase) in [(sys::EVMC_BERLIN, 10u64), (sys::EVMC_LONDON, 3)] {
        let r = run(&pre, &block(7), &tx, rev);
        assert_eq!(r.status, sys::EVMC_SUCCESS);
        assert_eq!(r.gas_used, 21_000);
        // The sender pays the full gas price either way; from London the base fee is burnt.
        assert_eq!(
            balance(&r.post, &SENDER),
            U256::from(10_000_000 - 5 - 21_000 * 10)
        );
        assert_eq!(balance(&r.post, &to), U256::from(5));
        assert_eq!(
            balance(&r.post, &COINBASE),
            U256::from(21_000 * per_gas_to_coinbase)
        );
        assert_eq!(r.post.get(&SENDER).unwrap().nonce, 1);
    }
}

#[test]
fn create_collision_consumes_all_gas_and_keeps_the_existing_account() {
    let target = create_address(&SENDER, 0);
    // EIP-7610: storage alone (no nonce, no code) makes the address taken.
    let mut occupied = account(0, &[]);
    occupied.storage.insert(B256::ZERO, B256::with_last_byte(1));
    let mut pre = WorldState::default();
    pre.accounts.insert(SENDER, account(10_000_000, &[]));
    pre.accounts.insert(target, occupied.clone());
    let mut tx = call_tx(Address::ZERO, 1);
    tx.to = None;
    // Initcode deploying the one-byte code 0x01: MSTORE8(0, 1); RETURN(0, 1).
    tx.data = Bytes::from_static(&[0x60, 0x01, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3]);
    let r = run(&pre, &block(0), &tx, sys::EVMC_CANCUN);
    assert_eq!(r.status, sys::EVMC_FAILURE);
    assert_eq!(r.gas_used, tx.gas_limit as i64);
    assert_eq!(r.post.get(&target), Some(&occupied));
    assert_eq!(r.post.get(&SENDER).unwrap().nonce, 1);

    // Without the collision the same transaction deploys the code at nonce 1 (EIP-161).
    pre.accounts.remove(&target);
    let r = run(&pre, &block(0), &tx, sys::EVMC_CANCUN);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    let created = r.post.get(&target).expect("deployed");
    assert_eq!((created.nonce, created.code.as_ref()), (1, &[1u8][..]));
}

#[test]
fn selfdestruct_erases_only_accounts_created_in_the_transaction_from_cancun() {
    let contract = Address::repeat_byte(0xc0);
    let beneficiary = Address::repeat_byte(0xbe);
    // PUSH20 beneficiary; SELFDESTRUCT
    let mut code = vec![0x73];
    code.extend_from_slice(beneficiary.as_slice());
    code.push(0xff);
    let mut pre = WorldState::default();
    pre.accounts.insert(SENDER, account(10_000_000, &[]));
    pre.accounts.insert(contract, account(100, &code));
    let tx = call_tx(contract, 0);

    let r = run(&pre, &block(0), &tx, sys::EVMC_SHANGHAI);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    assert!(r.post.get(&contract).is_none());
    assert_eq!(balance(&r.post, &beneficiary), U256::from(100));

    // EIP-6780: the pre-existing contract stays, only its balance moves.
    let r = run(&pre, &block(0), &tx, sys::EVMC_CANCUN);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    let kept = r.post.get(&contract).expect("kept");
    assert_eq!((kept.balance, kept.code.as_ref()), (U256::ZERO, &code[..]));
    assert_eq!(balance(&r.post, &beneficiary), U256::from(100));
}

#[test]
fn a_failed_call_to_ripemd160_still_touches_it_from_spurious_dragon() {
    let ripemd = Address::with_last_byte(3);
    let caller = Address::repeat_byte(0xca);
    // CALL(gas 0, 0x03, value 0, no args, no return): the precompile runs out of gas.
    let code = [
        0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x03, 0x60, 0x00, 0xf1,
        0x00,
    ];
    let mut pre = WorldState::default();
    pre.accounts.insert(SENDER, account(10_000_000, &[]));
    pre.accounts.insert(caller, account(0, &code));
    pre.accounts.insert(ripemd, account(0, &[]));
    let tx = call_tx(caller, 0);
    // The revert of the failed frame would undo the touch; the mainnet quirk keeps it, so the
    // empty account is erased (EIP-161). Before Spurious Dragon nothing is erased.
    let r = run(&pre, &block(0), &tx, sys::EVMC_BYZANTIUM);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    assert!(r.post.get(&ripemd).is_none());
    let r = run(&pre, &block(0), &tx, sys::EVMC_TANGERINE_WHISTLE);
    assert!(r.post.get(&ripemd).is_some());
    // Another precompile's touch is undone with the frame: it stays.
    let sha256 = Address::with_last_byte(2);
    let mut code2 = code;
    code2[11] = 0x02;
    pre.accounts.insert(caller, account(0, &code2));
    pre.accounts.insert(sha256, account(0, &[]));
    let r = run(&pre, &block(0), &tx, sys::EVMC_BYZANTIUM);
    assert!(r.post.get(&sha256).is_some());
}

#[test]
fn set_code_authorization_delegates_the_authority_to_code_run_in_its_context() {
    use k256::ecdsa::SigningKey;
    let key = SigningKey::from_slice(&[0x42; 32]).unwrap();
    let authority = address_from_secret_key(&B256::repeat_byte(0x42)).unwrap();
    let delegate = Address::repeat_byte(0xde);
    // SSTORE(0, 1)
    let delegate_code = [0x60, 0x01, 0x60, 0x00, 0x55, 0x00];
    let mut pre = WorldState::default();
    pre.accounts.insert(SENDER, account(10_000_000, &[]));
    pre.accounts.insert(delegate, account(0, &delegate_code));

    let mut auth = Authorization {
        chain_id: U256::from(1),
        address: delegate,
        nonce: 0,
        ..Default::default()
    };
    let hash = authorization_hash(&auth.chain_id, &auth.address, auth.nonce);
    let (sig, recid) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    auth.r = U256::from_be_slice(&sig.r().to_bytes());
    auth.s = U256::from_be_slice(&sig.s().to_bytes());
    auth.y_parity = U256::from(recid.to_byte());
    assert_eq!(auth.recover_authority(), Some(authority));

    let mut tx = call_tx(authority, 1);
    tx.tx_type = TxType::SetCode;
    tx.max_priority_fee_per_gas = U256::ZERO;
    tx.authorizations = vec![(auth.clone(), Some(authority))];
    assert!(validate(&pre, &block(1), &tx, sys::EVMC_CANCUN).is_err());
    let r = run(&pre, &block(1), &tx, sys::EVMC_PRAGUE);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    let a = r.post.get(&authority).expect("authority exists");
    let mut designator = vec![0xef, 0x01, 0x00];
    designator.extend_from_slice(delegate.as_slice());
    assert_eq!(a.code.as_ref(), &designator[..]);
    assert_eq!(a.nonce, 1);
    assert_eq!(a.storage.get(&B256::ZERO), Some(&B256::with_last_byte(1)));
    assert!(r.post.get(&delegate).unwrap().storage.is_empty());

    // A wrong chain id voids the authorization but not the transaction.
    tx.authorizations[0].0.chain_id = U256::from(2);
    let r = run(&pre, &block(1), &tx, sys::EVMC_PRAGUE);
    assert_eq!(r.status, sys::EVMC_SUCCESS);
    assert!(r.post.get(&authority).is_none());
}
