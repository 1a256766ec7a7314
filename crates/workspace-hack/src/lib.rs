//! Feature unification for `cargo xtask` (see this crate's Cargo.toml). No code: depending on it
//! is the whole point.
