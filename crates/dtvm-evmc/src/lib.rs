//! dtvm-evmc
