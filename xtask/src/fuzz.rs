//! `cargo xtask fuzz` (being written).

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the fuzz task is not built yet".to_owned())
}
