//! netproto's async-std driver (being written).
