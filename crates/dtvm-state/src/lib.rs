//! dtvm-state
