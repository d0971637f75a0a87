//! Endpoint (being written).
