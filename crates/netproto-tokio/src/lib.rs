//! netproto's tokio driver (being written).
