//! dtvm-interp
