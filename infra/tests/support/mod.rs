//! Helpers shared by the infra crate's integration tests (`template/`, `bootstrap.rs`). Pure: they
//! work on templates as CloudFormation reads them (`Template::to_json_value()`) and on the stage
//! files compiled into the test binary; no IO.
//!
//! - [`assertions`]: CDK-style assertions (`resource_count_is`, `has_resource_properties`, ...);
//! - [`lookups`]: generic finders in any CloudFormation template (a role's policy statements, a
//!   route and its integration, `Ref`/`Fn::GetAtt` targets) and JSON accessors;
//! - [`iam_eval`]: a strict IAM policy evaluator for what the emulator does not enforce;
//! - [`stages`]: the committed stage files, parsed, and variants derived from `dev.yaml`.
//!
//! What a test expects of this stack (permission sets, counts, logical ids) stays in the test file.
//!
//! Every file in `infra/tests/` is compiled as its own crate, with this module in it, and the
//! dead-code lint looks at one crate at a time: a helper only one test file calls would warn in the
//! other. So every helper here is either called by both test files (the stage loaders) or exercised
//! by a unit test in its own module (which runs in both crates); give a new helper one too, rather
//! than an `allow(dead_code)`.

pub mod assertions;
pub mod iam_eval;
pub mod lookups;
pub mod stages;
