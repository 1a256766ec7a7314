//! The hostile-input table for `PUT /code-generation`, shared with the function crate's handler
//! tests: the one copy lives in `crates/function/tests/common/hostile_cases.rs` (the function crate
//! cannot depend on this crate) and is included here unchanged. Pure data: no IO.

#[path = "../../crates/function/tests/common/hostile_cases.rs"]
mod table;

pub use table::*;
