//! dtvm-jit
