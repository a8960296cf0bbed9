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
//!
//! All `unsafe` needed to cross the C boundary lives in this crate and `evmc-sys`.

pub use evmc_sys as sys;
mod storage;
use std::marker::PhantomData;
pub use storage::storage_status;
use sys::*;

pub type Address = evmc_address;
pub type Bytes32 = evmc_bytes32;
pub type StatusCode = evmc_status_code;
pub type Revision = evmc_revision;
pub type StorageStatus = evmc_storage_status;
pub type AccessStatus = evmc_access_status;

/// Builds a slice from a C pointer/length pair, accepting NULL for empty input.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` readable bytes that outlive `'a`.
pub unsafe fn slice_from_raw<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller; NULL and empty were handled above.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Read-only view of the message a host passes to `execute`.
#[derive(Clone, Copy)]
pub struct ExecutionMessage<'a> {
    raw: &'a evmc_message,
}

impl<'a> ExecutionMessage<'a> {
    /// # Safety
    /// `raw.input_data`/`input_size` and `raw.code`/`code_size` must describe readable memory
    /// (or be NULL/0) for `'a`, as the EVMC contract of `execute` promises.
    pub unsafe fn new(raw: &'a evmc_message) -> Self {
        Self { raw }
    }
    pub fn raw(&self) -> &'a evmc_message {
        self.raw
    }
    pub fn kind(&self) -> evmc_call_kind {
        self.raw.kind
    }
    pub fn flags(&self) -> u32 {
        self.raw.flags
    }
    pub fn is_static(&self) -> bool {
        self.raw.flags & EVMC_STATIC != 0
    }
    pub fn depth(&self) -> i32 {
        self.raw.depth
    }
    pub fn gas(&self) -> i64 {
        self.raw.gas
    }
    pub fn recipient(&self) -> &'a Address {
        &self.raw.recipient
    }
    pub fn sender(&self) -> &'a Address {
        &self.raw.sender
    }
    pub fn input(&self) -> &'a [u8] {
        // SAFETY: promised by the constructor's contract.
        unsafe { slice_from_raw(self.raw.input_data, self.raw.input_size) }
    }
    pub fn value(&self) -> &'a Bytes32 {
        &self.raw.value
    }
    pub fn create2_salt(&self) -> &'a Bytes32 {
        &self.raw.create2_salt
    }
    pub fn code_address(&self) -> &'a Address {
        &self.raw.code_address
    }
    pub fn code(&self) -> &'a [u8] {
        // SAFETY: promised by the constructor's contract.
        unsafe { slice_from_raw(self.raw.code, self.raw.code_size) }
    }
}

/// An owned execution result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionResult {
    pub status_code: StatusCode,
    pub gas_left: i64,
    pub gas_refund: i64,
    pub output: Vec<u8>,
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
            // SAFETY: released exactly once, here, as the caller gave up ownership.
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

    pub fn account_exists(&mut self, address: &Address) -> bool {
        // SAFETY: valid per constructor contract; arguments are live references.
        unsafe { host_fn!(self.account_exists)(self.context, address) }
    }
    pub fn get_storage(&mut self, address: &Address, key: &Bytes32) -> Bytes32 {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_storage)(self.context, address, key) }
    }
    pub fn set_storage(
        &mut self,
        address: &Address,
        key: &Bytes32,
        value: &Bytes32,
    ) -> StorageStatus {
        // SAFETY: as above.
        unsafe { host_fn!(self.set_storage)(self.context, address, key, value) }
    }
    pub fn get_balance(&mut self, address: &Address) -> Bytes32 {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_balance)(self.context, address) }
    }
    pub fn get_code_size(&mut self, address: &Address) -> usize {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_code_size)(self.context, address) }
    }
    pub fn get_code_hash(&mut self, address: &Address) -> Bytes32 {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_code_hash)(self.context, address) }
    }
    /// Copies code of `address` from `offset` into `buffer`; returns the number of bytes copied.
    pub fn copy_code(&mut self, address: &Address, offset: usize, buffer: &mut [u8]) -> usize {
        // SAFETY: the buffer is a live mutable slice of the given length.
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
    pub fn selfdestruct(&mut self, address: &Address, beneficiary: &Address) -> bool {
        // SAFETY: as above.
        unsafe { host_fn!(self.selfdestruct)(self.context, address, beneficiary) }
    }
    /// Runs a nested call or create. The message's pointers must stay valid during the call.
    pub fn call(&mut self, msg: &evmc_message) -> ExecutionResult {
        // SAFETY: the host returns an owned result which we release exactly once.
        unsafe {
            let raw = host_fn!(self.call)(self.context, msg);
            ExecutionResult::from_raw(raw)
        }
    }
    /// The transaction context, fetched from the host once per execution.
    pub fn tx_context(&mut self) -> &evmc_tx_context {
        if self.tx_context.is_none() {
            // SAFETY: as above.
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
        // SAFETY: the host promises `blob_hashes_count` readable entries.
        Some(unsafe { *tx.blob_hashes.add(index) })
    }
    pub fn get_block_hash(&mut self, number: i64) -> Bytes32 {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_block_hash)(self.context, number) }
    }
    pub fn emit_log(&mut self, address: &Address, data: &[u8], topics: &[Bytes32]) {
        // SAFETY: slices are live for the call.
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
    pub fn access_account(&mut self, address: &Address) -> AccessStatus {
        // SAFETY: as above.
        unsafe { host_fn!(self.access_account)(self.context, address) }
    }
    pub fn access_storage(&mut self, address: &Address, key: &Bytes32) -> AccessStatus {
        // SAFETY: as above.
        unsafe { host_fn!(self.access_storage)(self.context, address, key) }
    }
    pub fn get_transient_storage(&mut self, address: &Address, key: &Bytes32) -> Bytes32 {
        // SAFETY: as above.
        unsafe { host_fn!(self.get_transient_storage)(self.context, address, key) }
    }
    pub fn set_transient_storage(&mut self, address: &Address, key: &Bytes32, value: &Bytes32) {
        // SAFETY: as above.
        unsafe { host_fn!(self.set_transient_storage)(self.context, address, key, value) }
    }
}

/// A host written in Rust. Methods take `&self`: a nested `call` re-enters the host through the
/// same context pointer while the outer call is still running, so implementations keep their
/// mutable state in cells and must not hold a borrow across the VM call they make in `call`.
pub trait Host {
    fn account_exists(&self, address: &Address) -> bool;
    fn get_storage(&self, address: &Address, key: &Bytes32) -> Bytes32;
    fn set_storage(&self, address: &Address, key: &Bytes32, value: &Bytes32) -> StorageStatus;
    fn get_balance(&self, address: &Address) -> Bytes32;
    fn get_code_size(&self, address: &Address) -> usize;
    fn get_code_hash(&self, address: &Address) -> Bytes32;
    fn copy_code(&self, address: &Address, offset: usize, buffer: &mut [u8]) -> usize;
    fn selfdestruct(&self, address: &Address, beneficiary: &Address) -> bool;
    fn call(&self, msg: &evmc_message) -> ExecutionResult;
    fn get_tx_context(&self) -> evmc_tx_context;
    fn get_block_hash(&self, number: i64) -> Bytes32;
    fn emit_log(&self, address: &Address, data: &[u8], topics: &[Bytes32]);
    fn access_account(&self, address: &Address) -> AccessStatus;
    fn access_storage(&self, address: &Address, key: &Bytes32) -> AccessStatus;
    fn get_transient_storage(&self, address: &Address, key: &Bytes32) -> Bytes32;
    fn set_transient_storage(&self, address: &Address, key: &Bytes32, value: &Bytes32);
}

mod trampolines {
    //! `extern "C"` entry points that forward the C host table to a [`Host`] implementation.
    //! The context pointer is the `*const H` given to [`host_context`](super::host_context).
    use super::*;

    // SAFETY (for every function here): the VM passes back the context pointer we built from a
    // live `&H` in `host_context`, and valid pointers for every argument, per the EVMC contract.
    unsafe fn host<'a, H>(ctx: *mut evmc_host_context) -> &'a H {
        unsafe { &*(ctx as *const H) }
    }

    pub unsafe extern "C" fn account_exists<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> bool {
        unsafe { host::<H>(c).account_exists(&*a) }
    }
    pub unsafe extern "C" fn get_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> Bytes32 {
        unsafe { host::<H>(c).get_storage(&*a, &*k) }
    }
    pub unsafe extern "C" fn set_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
        v: *const Bytes32,
    ) -> StorageStatus {
        unsafe { host::<H>(c).set_storage(&*a, &*k, &*v) }
    }
    pub unsafe extern "C" fn get_balance<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> Bytes32 {
        unsafe { host::<H>(c).get_balance(&*a) }
    }
    pub unsafe extern "C" fn get_code_size<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> usize {
        unsafe { host::<H>(c).get_code_size(&*a) }
    }
    pub unsafe extern "C" fn get_code_hash<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> Bytes32 {
        unsafe { host::<H>(c).get_code_hash(&*a) }
    }
    pub unsafe extern "C" fn copy_code<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        offset: usize,
        data: *mut u8,
        size: usize,
    ) -> usize {
        unsafe {
            let buf: &mut [u8] = if data.is_null() || size == 0 {
                &mut []
            } else {
                std::slice::from_raw_parts_mut(data, size)
            };
            host::<H>(c).copy_code(&*a, offset, buf)
        }
    }
    pub unsafe extern "C" fn selfdestruct<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        b: *const Address,
    ) -> bool {
        unsafe { host::<H>(c).selfdestruct(&*a, &*b) }
    }
    pub unsafe extern "C" fn call<H: Host>(
        c: *mut evmc_host_context,
        msg: *const evmc_message,
    ) -> evmc_result {
        unsafe { host::<H>(c).call(&*msg).into_raw() }
    }
    pub unsafe extern "C" fn get_tx_context<H: Host>(c: *mut evmc_host_context) -> evmc_tx_context {
        unsafe { host::<H>(c).get_tx_context() }
    }
    pub unsafe extern "C" fn get_block_hash<H: Host>(c: *mut evmc_host_context, n: i64) -> Bytes32 {
        unsafe { host::<H>(c).get_block_hash(n) }
    }
    pub unsafe extern "C" fn emit_log<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        data: *const u8,
        size: usize,
        topics: *const Bytes32,
        count: usize,
    ) {
        unsafe {
            let topics: &[Bytes32] = if topics.is_null() || count == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(topics, count)
            };
            host::<H>(c).emit_log(&*a, slice_from_raw(data, size), topics)
        }
    }
    pub unsafe extern "C" fn access_account<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
    ) -> AccessStatus {
        unsafe { host::<H>(c).access_account(&*a) }
    }
    pub unsafe extern "C" fn access_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> AccessStatus {
        unsafe { host::<H>(c).access_storage(&*a, &*k) }
    }
    pub unsafe extern "C" fn get_transient_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
    ) -> Bytes32 {
        unsafe { host::<H>(c).get_transient_storage(&*a, &*k) }
    }
    pub unsafe extern "C" fn set_transient_storage<H: Host>(
        c: *mut evmc_host_context,
        a: *const Address,
        k: *const Bytes32,
        v: *const Bytes32,
    ) {
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

// SAFETY: EVMC VMs must accept `execute` from several threads at once (dtvm does); a VM that does
// not is the host's problem, as in C.
unsafe impl Send for Vm {}
unsafe impl Sync for Vm {}

impl Vm {
    /// # Safety
    /// `raw` must come from an `evmc_create_*` function and not be destroyed elsewhere.
    pub unsafe fn from_raw(raw: *mut evmc_vm) -> Self {
        Self { raw }
    }
    pub fn raw(&self) -> *mut evmc_vm {
        self.raw
    }
    pub fn abi_version(&self) -> i32 {
        // SAFETY: `raw` is a live VM.
        unsafe { (*self.raw).abi_version }
    }
    /// Sets an option; returns the raw `evmc_set_option_result`.
    pub fn set_option(&self, name: &str, value: &str) -> evmc_set_option_result {
        let (Ok(name), Ok(value)) = (std::ffi::CString::new(name), std::ffi::CString::new(value))
        else {
            return EVMC_SET_OPTION_INVALID_VALUE;
        };
        // SAFETY: `raw` is live and the strings are NUL-terminated for the call.
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
        // SAFETY: table, context, message and code all outlive the call; the VM returns an owned
        // result which `from_raw` releases once.
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
        // SAFETY: we own the VM; destroy is called once.
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
