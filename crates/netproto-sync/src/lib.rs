//! netproto's sync driver (being written).
