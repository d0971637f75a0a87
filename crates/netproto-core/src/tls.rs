//! TLS pump (being written).
