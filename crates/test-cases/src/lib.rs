//! Test data shared between test targets that cannot share a module: the hostile-input table for
//! `PUT /code-generation` ([`hostile`]), which the function's handler test and the end-to-end
//! suites both run, and the API Gateway v2 event a request becomes ([`apigw`]), which the
//! function's unit tests (in `src/`) and its integration tests (in `tests/`) both build.
//!
//! A dev-only crate: a dev-dependency of `codegen-function` and a dependency of the test-only
//! `e2e-tests`, never part of the Lambda or the deployer. Pure: no IO, and no dependency beyond
//! the contract crate (the error codes and route the cases are written in) and `serde_json`.

pub mod apigw;
pub mod hostile;
