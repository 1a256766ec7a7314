//! `codegen-function`: the code-generation Lambda behind `PUT /code-generation`.
//!
//! API Gateway v2 request -> validation ([`request`]) -> prompt ([`prompt`]) -> Bedrock Converse
//! ([`model`], with sampling parameters each model accepts, [`sampling`]) -> code extraction
//! ([`extract`]) -> S3 ([`storage`]) -> JSON response ([`response`]). [`handler`] composes them;
//! [`clients`] builds the SDK clients and [`config`] reads the environment. Only `handler`,
//! `model`, `storage` and `clients` touch IO.

pub mod clients;
pub mod config;
pub mod error;
pub mod extract;
pub mod handler;
pub mod language;
pub mod model;
pub mod prompt;
pub mod request;
pub mod response;
pub mod sampling;
pub mod storage;

pub use config::Config;
pub use error::ApiError;
pub use handler::{Clock, Deps, handle};
pub use response::BUILD_LABEL;

#[cfg(test)]
mod request_tests;

#[cfg(test)]
mod proptests;
