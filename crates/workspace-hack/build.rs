//! Empty: it exists so that the `[build-dependencies]` of this crate (host-side feature
//! unification, see Cargo.toml) are part of the build graph.

fn main() {}
