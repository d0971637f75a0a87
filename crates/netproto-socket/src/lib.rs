//! Socket options (being written).
