//! `codegen-function`: the code-generation Lambda behind `PUT /code-generation` and the jobs
//! routes. One binary; `CODEGEN_ROLE` says which part a function instance serves.
//!
//! The [`pipeline`]: prompt ([`prompt`]) -> Bedrock Converse ([`model`], with the sampling
//! parameters each model accepts, [`sampling`]) -> code extraction ([`extract`]) -> S3
//! ([`storage`]). Its front doors: [`handler`] (API Gateway v2 events: validation in [`request`],
//! `PUT /code-generation` inside the request, the jobs routes in [`jobs_api`]) and [`worker`]
//! (the jobs queue). [`jobs`] keeps job records; [`response`] shapes JSON answers; [`clients`]
//! builds the SDK clients and [`config`] reads the environment; [`deps`] is what every entry point
//! borrows. [`budget`] keeps each caller's daily budget and job slots in DynamoDB. Only
//! `handler`, `jobs`, `jobs_api`, `worker`, `pipeline` (with its one [`repair`]), `model`,
//! `storage`, `budget` and `clients` touch IO.

pub mod budget;
pub mod clients;
pub mod config;
pub mod deps;
pub mod error;
pub mod extract;
pub mod handler;
pub mod jobs;
pub mod jobs_api;
pub mod language;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod prompt;
pub mod repair;
pub mod request;
pub mod response;
pub mod sampling;
pub mod storage;
pub mod syntax;
pub mod thinking;
pub mod trace;
pub mod worker;

pub use config::Config;
pub use deps::{Clock, Deps};
pub use error::ApiError;
pub use handler::handle;
pub use response::BUILD_LABEL;

#[cfg(test)]
mod request_tests;

#[cfg(test)]
mod proptests;
