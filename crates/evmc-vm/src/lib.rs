//! Safe wrappers over the raw EVMC ABI 12 types of `evmc-sys`.
//!
//! * [`ExecutionMessage`]: read-only view of an `evmc_message` handed to the VM.
//! * [`ExecutionContext`]: the host's function table plus its context pointer; every host call
//!   the VM makes goes through it.
//! * [`ExecutionResult`]: an owned result; converting it into an `evmc_result` hands the output
//!   buffer to the C side together with a release function that frees it exactly once.
//! * [`Host`] + [`host_interface`]: the other direction, for Rust hosts (the state-test host,
//!   benches, unit tests) that drive a VM through the real C function table.
//! * [`storage_status`]: the EIP-2200 status a host returns from `set_storage`.
//! * [`status_name`]: how tools print a status code.
//!
//! All `unsafe` needed to cross the C boundary lives in this crate and `evmc-sys`.

pub use evmc_sys as sys;
mod status;
mod storage;
pub use status::status_name;
use std::marker::PhantomData;
pub use storage::storage_status;
use sys::*;

/// A 20-byte account address.
pub type Address = evmc_address;
/// A 32-byte word: storage keys and values, hashes, and 256-bit integers in big-endian order.
pub type Bytes32 = evmc_bytes32;
/// How an execution ended: success, revert, or one of the failure kinds (`EVMC_OUT_OF_GAS`, ...).
pub type StatusCode = evmc_status_code;
/// The hard fork whose rules apply, from `EVMC_FRONTIER` upwards.
pub type Revision = evmc_revision;
/// What an SSTORE did to a slot, classified by original, current and new value as EIP-2200
/// (Istanbul) and EIP-3529 (London) define it; the VM derives the gas cost and refund from it.
pub type StorageStatus = evmc_storage_status;
/// Whether an account or storage slot was already accessed in the transaction (warm) or not
/// (cold), the EIP-2929 distinction that decides the access cost.
pub type AccessStatus = evmc_access_status;

/// Builds a slice from a C pointer/length pair, accepting NULL for empty input.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` readable bytes that outlive `'a`.
pub unsafe fn slice_from_raw<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller guarantees `len` readable bytes at `ptr` for `'a`; NULL and empty
        // input returned above.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Read-only view of the message a host passes to `execute`. Transparent: it is the message's
/// address, which dtvm's compiled code reads the input fields through.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct ExecutionMessage<'a> {
    raw: &'a evmc_message,
}

impl<'a> ExecutionMessage<'a> {
    /// Wraps the message `execute` received.
    ///
    /// # Safety
    /// `raw.input_data`/`input_size` and `raw.code`/`code_size` must describe readable memory
    /// (or be NULL/0) for `'a`, as the EVMC contract of `execute` promises.
    pub unsafe fn new(raw: &'a evmc_message) -> Self {
        Self { raw }
    }
    /// The C message itself, e.g. as the base of a nested call's message.
    pub fn raw(&self) -> &'a evmc_message {
        self.raw
    }
    /// CALL (also for STATICCALL, see [`is_static`](Self::is_static)), DELEGATECALL, CALLCODE,
    /// CREATE, CREATE2 or EOFCREATE.
    pub fn kind(&self) -> evmc_call_kind {
        self.raw.kind
    }
    /// The raw `evmc_flags` bits; [`is_static`](Self::is_static) reads the one that matters.
    pub fn flags(&self) -> u32 {
        self.raw.flags
    }
    /// Whether the frame runs under STATICCALL (EIP-214): any state modification fails it.
    pub fn is_static(&self) -> bool {
        self.raw.flags & EVMC_STATIC != 0
    }
    /// The call depth: 0 for the transaction's outermost frame. A call or create from depth
    /// 1024 fails without running.
    pub fn depth(&self) -> i32 {
        self.raw.depth
    }
    /// The gas the frame starts with.
    pub fn gas(&self) -> i64 {
        self.raw.gas
    }
    /// The account whose storage and balance the frame acts on (ADDRESS). For DELEGATECALL and
    /// CALLCODE that is the calling account, not the one whose code runs.
    pub fn recipient(&self) -> &'a Address {
        &self.raw.recipient
    }
    /// The caller (CALLER); for DELEGATECALL the caller of the delegating frame.
    pub fn sender(&self) -> &'a Address {
        &self.raw.sender
    }
    /// The call data (CALLDATALOAD, CALLDATASIZE, CALLDATACOPY); empty for NULL input.
    pub fn input(&self) -> &'a [u8] {
        // SAFETY: `new`'s caller promised `input_data` is NULL/0 or `input_size` bytes readable
        // for `'a`; `slice_from_raw` maps NULL to the empty slice.
        unsafe { slice_from_raw(self.raw.input_data, self.raw.input_size) }
    }
    /// The wei transferred with the message (CALLVALUE), big-endian.
    pub fn value(&self) -> &'a Bytes32 {
        &self.raw.value
    }
    /// The salt of a CREATE2 message (EIP-1014); meaningless for other kinds.
    pub fn create2_salt(&self) -> &'a Bytes32 {
        &self.raw.create2_salt
    }
    /// The account whose code runs; differs from [`recipient`](Self::recipient) for
    /// DELEGATECALL and CALLCODE.
    pub fn code_address(&self) -> &'a Address {
        &self.raw.code_address
    }
    /// Code carried by the message itself (EOFCREATE-style messages); empty when the host
    /// resolves the code and passes it to `execute` separately, which is every message today.
    pub fn code(&self) -> &'a [u8] {
        // SAFETY: `new`'s caller promised `code` is NULL/0 or `code_size` bytes readable for
        // `'a`; `slice_from_raw` maps NULL to the empty slice.
        unsafe { slice_from_raw(self.raw.code, self.raw.code_size) }
    }
}

/// An owned execution result, the Rust side of `evmc_result`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionResult {
    /// How the execution ended: `EVMC_SUCCESS`, `EVMC_REVERT` (state changes undone, gas left
    /// and output kept) or a failure kind.
    pub status_code: StatusCode,
    /// Gas not consumed, returned to the caller.
    pub gas_left: i64,
    /// The refund counter the frame accumulated (SSTORE refunds, EIP-3529 caps it per transaction).
    pub gas_refund: i64,
    /// RETURN or REVERT data; for a successful create, the deployed code.
    pub output: Vec<u8>,
    /// The account a successful CREATE or CREATE2 made, which the host sets; `None` (zero in C)
    /// when there is none.
    pub create_address: Option<Address>,
}

unsafe extern "C" fn release_boxed_output(result: *const evmc_result) {
    // SAFETY: only installed by `ExecutionResult::into_raw`, whose output buffer came from
    // `Box<[u8]>::into_raw` with exactly `output_size` bytes; EVMC calls release at most once.
    unsafe {
        let r = &*result;
        if !r.output_data.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(r.output_data as *mut u8, r.output_size);
            drop(Box::from_raw(slice));
        }
    }
}

impl ExecutionResult {
    /// A result with no create address.
    pub fn new(status_code: StatusCode, gas_left: i64, gas_refund: i64, output: Vec<u8>) -> Self {
        Self {
            status_code,
            gas_left,
            gas_refund,
            output,
            create_address: None,
        }
    }

    /// A failure: no output, no gas left, no refund.
    pub fn failure(status_code: StatusCode) -> Self {
        Self::new(status_code, 0, 0, Vec::new())
    }

    /// Whether the status is `EVMC_SUCCESS`.
    pub fn success(&self) -> bool {
        self.status_code == EVMC_SUCCESS
    }

    /// Hands the result to C. The output buffer is freed by the result's `release` function.
    pub fn into_raw(self) -> evmc_result {
        let output_size = self.output.len();
        let (output_data, release): (*const u8, evmc_release_result_fn) = if output_size == 0 {
            (std::ptr::null(), None)
        } else {
            let boxed: Box<[u8]> = self.output.into_boxed_slice();
            (
                Box::into_raw(boxed) as *const u8,
                Some(release_boxed_output),
            )
        };
        evmc_result {
            status_code: self.status_code,
            gas_left: self.gas_left,
            gas_refund: self.gas_refund,
            output_data,
            output_size,
            release,
            create_address: self.create_address.unwrap_or_default(),
            padding: [0; 4],
        }
    }

    /// Takes ownership of a C result: copies the output, then releases the C result.
    ///
    /// # Safety
    /// `raw` must be a valid result that nobody else will release.
    pub unsafe fn from_raw(raw: evmc_result) -> Self {
        // SAFETY: the caller guarantees the output buffer is valid until release.
        let output = unsafe { slice_from_raw(raw.output_data, raw.output_size) }.to_vec();
        if let Some(release) = raw.release {
            // SAFETY: the caller gave up ownership of `raw`, so nobody else releases it; this is
            // its only release, and the output was copied out above.
            unsafe { release(&raw) };
        }
        Self {
            status_code: raw.status_code,
            gas_left: raw.gas_left,
            gas_refund: raw.gas_refund,
            output,
            create_address: Some(raw.create_address),
        }
    }
}

/// The host a VM talks to during one `execute`: the C function table and its context pointer.
pub struct ExecutionContext<'a> {
    host: &'a evmc_host_interface,
    context: *mut evmc_host_context,
    tx_context: Option<evmc_tx_context>,
    _marker: PhantomData<&'a mut evmc_host_context>,
}

macro_rules! host_fn {
    ($self:ident . $name:ident) => {
        // A host that leaves a function NULL breaks the EVMC contract; fail loudly (the C entry
        // point catches panics and reports EVMC_INTERNAL_ERROR) rather than jump to address 0.
        $self.host.$name.expect(concat!(
            "EVMC host function `",
            stringify!($name),
            "` is NULL"
        ))
    };
}

impl<'a> ExecutionContext<'a> {
    /// Wraps the host table and context pointer `execute` received.
    ///
    /// # Safety
    /// `host` must hold valid function pointers for the duration of `'a` and `context` must be
    /// the pointer the host expects to get back in them.
    pub unsafe fn new(host: &'a evmc_host_interface, context: *mut evmc_host_context) -> Self {
        Self {
            host,
            context,
            tx_context: None,
            _marker: PhantomData,
        }
    }

    /// Whether `address` exists; from Spurious Dragon on, whether it is non-empty (EIP-161). CALL
    /// and SELFDESTRUCT charge the new-account cost when it does not.
    pub fn account_exists(&mut self, address: &Address) -> bool {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` is a live
        // reference the host reads during the call.
        unsafe { host_fn!(self.account_exists)(self.context, address) }
    }
    /// The current value of storage slot `key` of `address` (SLOAD).
    pub fn get_storage(&mut self, address: &Address, key: &Bytes32) -> Bytes32 {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` and `key`
        // are live references the host reads during the call.
        unsafe { host_fn!(self.get_storage)(self.context, address, key) }
    }
    /// Writes storage slot `key` of `address` (SSTORE) and reports which EIP-2200 case the write
    /// was, from which the VM computes gas and refund.
    pub fn set_storage(
        &mut self,
        address: &Address,
        key: &Bytes32,
        value: &Bytes32,
    ) -> StorageStatus {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address`, `key` and
        // `value` are live references the host reads during the call.
        unsafe { host_fn!(self.set_storage)(self.context, address, key, value) }
    }
    /// The balance of `address` in wei, big-endian (BALANCE, SELFBALANCE).
    pub fn get_balance(&mut self, address: &Address) -> Bytes32 {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` is a live
        // reference the host reads during the call.
        unsafe { host_fn!(self.get_balance)(self.context, address) }
    }
    /// The code size of `address` in bytes (EXTCODESIZE).
    pub fn get_code_size(&mut self, address: &Address) -> usize {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` is a live
        // reference the host reads during the call.
        unsafe { host_fn!(self.get_code_size)(self.context, address) }
    }
    /// The keccak-256 of the code of `address`, zero for a non-existent or empty account
    /// (EXTCODEHASH, EIP-1052 and EIP-161).
    pub fn get_code_hash(&mut self, address: &Address) -> Bytes32 {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` is a live
        // reference the host reads during the call.
        unsafe { host_fn!(self.get_code_hash)(self.context, address) }
    }
    /// Copies code of `address` from `offset` into `buffer` (EXTCODECOPY); returns the number of
    /// bytes copied, at most `buffer.len()` even if the host claims more.
    pub fn copy_code(&mut self, address: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; the host writes at
        // most `buffer.len()` bytes into the exclusively borrowed `buffer`.
        let n = unsafe {
            host_fn!(self.copy_code)(
                self.context,
                address,
                offset,
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        };
        n.min(buffer.len())
    }
    /// Registers the SELFDESTRUCT of `address` in favour of `beneficiary`; true the first time
    /// the account is destructed in the transaction (the pre-London refund applies only then).
    pub fn selfdestruct(&mut self, address: &Address, beneficiary: &Address) -> bool {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` and
        // `beneficiary` are live references the host reads during the call.
        unsafe { host_fn!(self.selfdestruct)(self.context, address, beneficiary) }
    }
    /// Runs a nested call or create. The message's pointers must stay valid during the call.
    pub fn call(&mut self, msg: &evmc_message) -> ExecutionResult {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; the caller of this
        // method keeps `msg`'s pointers valid; the host hands back an owned result that nobody
        // else releases, as `from_raw` requires.
        unsafe {
            let raw = host_fn!(self.call)(self.context, msg);
            ExecutionResult::from_raw(raw)
        }
    }
    /// The transaction context, fetched from the host once per execution.
    pub fn tx_context(&mut self) -> &evmc_tx_context {
        if self.tx_context.is_none() {
            // SAFETY: `new`'s caller promised a valid table and context for `'a`; the call takes
            // no other pointer.
            let tx = unsafe { host_fn!(self.get_tx_context)(self.context) };
            self.tx_context = Some(tx);
        }
        self.tx_context.as_ref().expect("tx context was just set")
    }
    /// Blob hash `index` of the transaction (EIP-4844), if there is one.
    pub fn blob_hash(&mut self, index: usize) -> Option<Bytes32> {
        let tx = *self.tx_context();
        if index >= tx.blob_hashes_count || tx.blob_hashes.is_null() {
            return None;
        }
        // SAFETY: EVMC makes `blob_hashes` point to `blob_hashes_count` entries that stay valid
        // for the whole execution; `index` is below the count and the pointer is not NULL.
        Some(unsafe { *tx.blob_hashes.add(index) })
    }
    /// The hash of block `number` (BLOCKHASH); the VM checks the 256-block window first.
    pub fn get_block_hash(&mut self, number: i64) -> Bytes32 {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; the only argument is
        // passed by value.
        unsafe { host_fn!(self.get_block_hash)(self.context, number) }
    }
    /// Appends a log record of `address` (LOG0..LOG4); `topics` has at most four entries.
    pub fn emit_log(&mut self, address: &Address, data: &[u8], topics: &[Bytes32]) {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address`, `data`
        // and `topics` are live borrows and each pointer is passed with its own length.
        unsafe {
            host_fn!(self.emit_log)(
                self.context,
                address,
                data.as_ptr(),
                data.len(),
                topics.as_ptr(),
                topics.len(),
            )
        }
    }
    /// Marks `address` warm and reports whether it already was (EIP-2929).
    pub fn access_account(&mut self, address: &Address) -> AccessStatus {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` is a live
        // reference the host reads during the call.
        unsafe { host_fn!(self.access_account)(self.context, address) }
    }
    /// Marks slot `key` of `address` warm and reports whether it already was (EIP-2929).
    pub fn access_storage(&mut self, address: &Address, key: &Bytes32) -> AccessStatus {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` and `key`
        // are live references the host reads during the call.
        unsafe { host_fn!(self.access_storage)(self.context, address, key) }
    }
    /// The transient storage slot `key` of `address` (TLOAD, EIP-1153).
    pub fn get_transient_storage(&mut self, address: &Address, key: &Bytes32) -> Bytes32 {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address` and `key`
        // are live references the host reads during the call.
        unsafe { host_fn!(self.get_transient_storage)(self.context, address, key) }
    }
    /// Writes transient storage slot `key` of `address` (TSTORE, EIP-1153).
    pub fn set_transient_storage(&mut self, address: &Address, key: &Bytes32, value: &Bytes32) {
        // SAFETY: `new`'s caller promised a valid table and context for `'a`; `address`, `key` and
        // `value` are live references the host reads during the call.
        unsafe { host_fn!(self.set_transient_storage)(self.context, address, key, value) }
    }
}

/// A host written in Rust. Methods take `&self`: a nested `call` re-enters the host through the
/// same context pointer while the outer call is still running, so implementations keep their
/// mutable state in cells and must not hold a borrow across the VM call they make in `call`.
pub trait Host {
    /// Whether `address` exists; from Spurious Dragon on, whether it is non-empty (EIP-161).
    fn account_exists(&self, address: &Address) -> bool;
    /// The current value of storage slot `key` of `address`; zero if never written.
    fn get_storage(&self, address: &Address, key: &Bytes32) -> Bytes32;
    /// Writes storage slot `key` of `address` and classifies the write by original, current and
    /// new value (EIP-2200, with EIP-3529's refunds from London).
    fn set_storage(&self, address: &Address, key: &Bytes32, value: &Bytes32) -> StorageStatus;
    /// The balance of `address` in wei, big-endian.
    fn get_balance(&self, address: &Address) -> Bytes32;
    /// The code size of `address` in bytes.
    fn get_code_size(&self, address: &Address) -> usize;
    /// The keccak-256 of the code of `address`; zero for an account that does not exist or is
    /// empty (EIP-1052, EIP-161).
    fn get_code_hash(&self, address: &Address) -> Bytes32;
    /// Copies code of `address` from `offset` into `buffer`, returning how many bytes it wrote
    /// (fewer than `buffer.len()` past the end of the code; the VM zero-fills the rest).
    fn copy_code(&self, address: &Address, offset: usize, buffer: &mut [u8]) -> usize;
    /// Moves the balance of `address` to `beneficiary` and marks `address` destructed (from
    /// Cancun only if created in the same transaction, EIP-6780). Returns true the first time
    /// `address` is destructed in the transaction.
    fn selfdestruct(&self, address: &Address, beneficiary: &Address) -> bool;
    /// Runs a nested call or create: transfers value, executes the callee (with the VM, or a
    /// precompile) and reverts the callee's state changes unless it succeeds.
    fn call(&self, msg: &evmc_message) -> ExecutionResult;
    /// The block and transaction values (ORIGIN, GASPRICE, COINBASE, NUMBER, ...). Its pointers
    /// (the EIP-4844 blob hashes) must stay valid while the VM runs.
    fn get_tx_context(&self) -> evmc_tx_context;
    /// The hash of block `number`; the VM only asks for the 256 blocks before the current one.
    fn get_block_hash(&self, number: i64) -> Bytes32;
    /// Records a log of `address` with `data` and up to four `topics`; dropped if the frame or
    /// one of its callers reverts.
    fn emit_log(&self, address: &Address, data: &[u8], topics: &[Bytes32]);
    /// Adds `address` to the accessed set and reports whether it was there before (EIP-2929).
    fn access_account(&self, address: &Address) -> AccessStatus;
    /// Adds slot `key` of `address` to the accessed set and reports whether it was there before
    /// (EIP-2929).
    fn access_storage(&self, address: &Address, key: &Bytes32) -> AccessStatus;
    /// Transient slot `key` of `address`: storage that is cleared at the end of the transaction
    /// (EIP-1153).
    fn get_transient_storage(&self, address: &Address, key: &Bytes32) -> Bytes32;
    /// Writes transient slot `key` of `address`; reverted with the frame like storage (EIP-1153).
    fn set_transient_storage(&self, address: &Address, key: &Bytes32, value: &Bytes32);
}

mod trampolines {
    //! `extern "C"` entry points that forward the C host table to a [`Host`] implementation.
    //!
    //! The contract of every function here (its `# Safety`), which a VM keeps by following EVMC:
    //! * `c` is the [`host_context`](super::host_context) of an `H` that is still borrowed, i.e.
    //!   the table and the context were made for the same `H`, as [`Vm::execute`] does;
    //! * every pointer argument is valid for the duration of the call: addresses and words point
    //!   to one readable value, `(data, size)` and `(topics, count)` pairs to that many readable
    //!   elements (`copy_code`'s to writable bytes no one else accesses), NULL only with length 0.
    //!
    //! `Address` and `Bytes32` are byte arrays (alignment 1), so any non-NULL pointer is aligned.
    use super::*;

    /// The `H` behind a context pointer.
    ///
    /// # Safety
    /// `ctx` is `host_context(h)` for an `h: &H` that outlives `'a`.
    unsafe fn host<'a, H>(ctx: *mut evmc_host_context) -> &'a H {
        // SAFETY: per the contract, `ctx` is a `&H` cast to a pointer and `h` is still borrowed,
        // so casting back yields a valid shared reference.
        unsafe { &*(ctx as *const H) }
    }

    pub(super) unsafe extern "C" fn account_exists<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> bool {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address.
        unsafe { host::<H>(c).account_exists(&*a) }
    }
    pub(super) unsafe extern "C" fn get_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> Bytes32 {
        // SAFETY: module contract: `c` is a live `H`; `a` and `k` point to a live address and key.
        unsafe { host::<H>(c).get_storage(&*a, &*k) }
    }
    pub(super) unsafe extern "C" fn set_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
        v: *const Bytes32,
    ) -> StorageStatus {
        // SAFETY: module contract: `c` is a live `H`; `a`, `k` and `v` point to a live address, key
        // and value.
        unsafe { host::<H>(c).set_storage(&*a, &*k, &*v) }
    }
    pub(super) unsafe extern "C" fn get_balance<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> Bytes32 {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address.
        unsafe { host::<H>(c).get_balance(&*a) }
    }
    pub(super) unsafe extern "C" fn get_code_size<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> usize {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address.
        unsafe { host::<H>(c).get_code_size(&*a) }
    }
    pub(super) unsafe extern "C" fn get_code_hash<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> Bytes32 {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address.
        unsafe { host::<H>(c).get_code_hash(&*a) }
    }
    pub(super) unsafe extern "C" fn copy_code<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        offset: usize,
        data: *mut u8,
        size: usize,
    ) -> usize {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address and `data` to
        // `size` writable bytes (or is NULL with size 0, which becomes the empty slice).
        unsafe {
            let buf: &mut [u8] = if data.is_null() || size == 0 {
                &mut []
            } else {
                std::slice::from_raw_parts_mut(data, size)
            };
            host::<H>(c).copy_code(&*a, offset, buf)
        }
    }
    pub(super) unsafe extern "C" fn selfdestruct<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        b: *const Address,
    ) -> bool {
        // SAFETY: module contract: `c` is a live `H`; `a` and `b` point to live addresses.
        unsafe { host::<H>(c).selfdestruct(&*a, &*b) }
    }
    pub(super) unsafe extern "C" fn call<H: Host>(
        c: *mut evmc_host_context,
        msg: *const evmc_message,
    ) -> evmc_result {
        // SAFETY: module contract: `c` is a live `H`; `msg` points to a live message; the result is
        // handed to the VM, which releases it.
        unsafe { host::<H>(c).call(&*msg).into_raw() }
    }
    pub(super) unsafe extern "C" fn get_tx_context<H: Host>(
        c: *mut evmc_host_context,
    ) -> evmc_tx_context {
        // SAFETY: module contract: `c` is a live `H`; no other pointer is passed.
        unsafe { host::<H>(c).get_tx_context() }
    }
    pub(super) unsafe extern "C" fn get_block_hash<H: Host>(
        c: *mut evmc_host_context,
        n: i64,
    ) -> Bytes32 {
        // SAFETY: module contract: `c` is a live `H`; no other pointer is passed.
        unsafe { host::<H>(c).get_block_hash(n) }
    }
    pub(super) unsafe extern "C" fn emit_log<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        data: *const u8,
        size: usize,
        topics: *const Bytes32,
        count: usize,
    ) {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address, `data` to
        // `size` bytes and `topics` to `count` words (NULL only for length 0, handled here and by
        // `slice_from_raw`).
        unsafe {
            let topics: &[Bytes32] = if topics.is_null() || count == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(topics, count)
            };
            host::<H>(c).emit_log(&*a, slice_from_raw(data, size), topics)
        }
    }
    pub(super) unsafe extern "C" fn access_account<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> AccessStatus {
        // SAFETY: module contract: `c` is a live `H`; `a` points to a live address.
        unsafe { host::<H>(c).access_account(&*a) }
    }
    pub(super) unsafe extern "C" fn access_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> AccessStatus {
        // SAFETY: module contract: `c` is a live `H`; `a` and `k` point to a live address and key.
        unsafe { host::<H>(c).access_storage(&*a, &*k) }
    }
    pub(super) unsafe extern "C" fn get_transient_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> Bytes32 {
        // SAFETY: module contract: `c` is a live `H`; `a` and `k` point to a live address and key.
        unsafe { host::<H>(c).get_transient_storage(&*a, &*k) }
    }
    pub(super) unsafe extern "C" fn set_transient_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
        v: *const Bytes32,
    ) {
        // SAFETY: module contract: `c` is a live `H`; `a`, `k` and `v` point to a live address, key
        // and value.
        unsafe { host::<H>(c).set_transient_storage(&*a, &*k, &*v) }
    }
}

/// The C function table that forwards to `H`. Pair it with [`host_context`].
pub fn host_interface<H: Host>() -> evmc_host_interface {
    use trampolines as t;
    evmc_host_interface {
        account_exists: Some(t::account_exists::<H>),
        get_storage: Some(t::get_storage::<H>),
        set_storage: Some(t::set_storage::<H>),
        get_balance: Some(t::get_balance::<H>),
        get_code_size: Some(t::get_code_size::<H>),
        get_code_hash: Some(t::get_code_hash::<H>),
        copy_code: Some(t::copy_code::<H>),
        selfdestruct: Some(t::selfdestruct::<H>),
        call: Some(t::call::<H>),
        get_tx_context: Some(t::get_tx_context::<H>),
        get_block_hash: Some(t::get_block_hash::<H>),
        emit_log: Some(t::emit_log::<H>),
        access_account: Some(t::access_account::<H>),
        access_storage: Some(t::access_storage::<H>),
        get_transient_storage: Some(t::get_transient_storage::<H>),
        set_transient_storage: Some(t::set_transient_storage::<H>),
    }
}

/// The context pointer for a [`Host`]: valid while `host` is borrowed.
pub fn host_context<H: Host>(host: &H) -> *mut evmc_host_context {
    host as *const H as *mut evmc_host_context
}

/// A loaded VM (an `evmc_vm*` from `evmc_create_*`), driven through its C function table.
pub struct Vm {
    raw: *mut evmc_vm,
}

// SAFETY: `Vm` owns the VM exclusively (`from_raw`'s contract) and the VM has no thread
// affinity (also `from_raw`'s contract), so it may be used and destroyed from any thread.
unsafe impl Send for Vm {}
// SAFETY: `&Vm` only reads `abi_version` and calls `execute` and `set_option`, which `from_raw`'s
// caller promised are safe to call concurrently (dtvm's are: its options are atomic and its code
// caches locked).
unsafe impl Sync for Vm {}

impl Vm {
    /// Takes ownership of a VM; dropping the `Vm` destroys it.
    ///
    /// # Safety
    /// `raw` must come from an `evmc_create_*` function and not be destroyed elsewhere, and the
    /// VM must accept `execute` and `set_option` from several threads at once, since `Vm` is
    /// `Send + Sync`.
    pub unsafe fn from_raw(raw: *mut evmc_vm) -> Self {
        Self { raw }
    }
    /// The C VM, for calls this wrapper does not cover; it stays owned by `self`.
    pub fn raw(&self) -> *mut evmc_vm {
        self.raw
    }
    /// The EVMC ABI version the VM was built for; hosts refuse anything but
    /// [`EVMC_ABI_VERSION`](sys::EVMC_ABI_VERSION).
    pub fn abi_version(&self) -> i32 {
        // SAFETY: `from_raw`'s contract keeps `raw` a live VM until `drop`.
        unsafe { (*self.raw).abi_version }
    }
    /// Sets an option; returns the raw `evmc_set_option_result`.
    pub fn set_option(&self, name: &str, value: &str) -> evmc_set_option_result {
        let (Ok(name), Ok(value)) = (std::ffi::CString::new(name), std::ffi::CString::new(value))
        else {
            return EVMC_SET_OPTION_INVALID_VALUE;
        };
        // SAFETY: `raw` is live (`from_raw`'s contract) and both strings are NUL-terminated
        // `CString`s that outlive the call.
        unsafe {
            match (*self.raw).set_option {
                Some(f) => f(self.raw, name.as_ptr(), value.as_ptr()),
                None => EVMC_SET_OPTION_INVALID_NAME,
            }
        }
    }
    /// Executes `code` for `msg` against a Rust host.
    pub fn execute<H: Host>(
        &self,
        host: &H,
        rev: Revision,
        msg: &evmc_message,
        code: &[u8],
    ) -> ExecutionResult {
        let table = host_interface::<H>();
        // SAFETY: `raw` is live (`from_raw`'s contract); `table` and `host_context(host)` are made
        // for the same `H`, which stays borrowed for the call, as the trampolines require; `msg`
        // and `code` outlive the call; the VM returns an owned result which `from_raw` releases
        // once.
        unsafe {
            let execute = (*self.raw).execute.expect("evmc_vm::execute is NULL");
            let raw = execute(
                self.raw,
                &table,
                host_context(host),
                rev,
                msg,
                code.as_ptr(),
                code.len(),
            );
            ExecutionResult::from_raw(raw)
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: `Vm` owns the VM (`from_raw`'s contract) and `drop` runs once, so the VM is
        // destroyed exactly once and never used afterwards.
        unsafe {
            if let Some(destroy) = (*self.raw).destroy {
                destroy(self.raw);
            }
        }
    }
}

/// An all-zero message, a convenient base to fill in.
pub fn empty_message() -> evmc_message {
    evmc_message {
        kind: EVMC_CALL,
        flags: 0,
        depth: 0,
        gas: 0,
        recipient: Address::default(),
        sender: Address::default(),
        input_data: std::ptr::null(),
        input_size: 0,
        value: Bytes32::default(),
        create2_salt: Bytes32::default(),
        code_address: Address::default(),
        code: std::ptr::null(),
        code_size: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_round_trip_frees_once() {
        let r = ExecutionResult::new(EVMC_REVERT, 7, 3, vec![1, 2, 3]);
        let raw = r.clone().into_raw();
        assert_eq!(raw.output_size, 3);
        assert!(raw.release.is_some());
        // SAFETY: `raw` came from into_raw and is released by from_raw.
        let back = unsafe { ExecutionResult::from_raw(raw) };
        assert_eq!(back.output, r.output);
        assert_eq!(
            (back.status_code, back.gas_left, back.gas_refund),
            (EVMC_REVERT, 7, 3)
        );
    }

    #[test]
    fn empty_output_has_no_release() {
        let raw = ExecutionResult::failure(EVMC_OUT_OF_GAS).into_raw();
        assert!(raw.output_data.is_null());
        assert!(raw.release.is_none());
    }

    #[test]
    fn message_null_input_is_empty() {
        let m = empty_message();
        // SAFETY: NULL/0 pointers are allowed.
        let view = unsafe { ExecutionMessage::new(&m) };
        assert!(view.input().is_empty());
        assert!(view.code().is_empty());
        assert!(!view.is_static());
    }
}
