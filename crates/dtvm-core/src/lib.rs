//! dtvm-core
