//! The hostile-input table for `PUT /code-generation`, shared with the function crate's handler
//! tests: the one copy lives in the dev-only crate `codegen-test-cases`
//! (`crates/test-cases/src/hostile.rs`) and is re-exported here, so the suites name it
//! `e2e_tests::hostile`. Pure data: no IO.

pub use codegen_test_cases::hostile::*;
