//! The rows of the model catalogue. Each row names the page it comes from; where AWS publishes a
//! fact only in a model card that could not be read in full here, the row says so, and the
//! deployer's preflight compares the row with what Bedrock itself answers (`GetInferenceProfile`,
//! `GetFoundationModel`) before a deploy to real AWS.
//!
//! Sampling rules:
//! - "Claude Sonnet 4.5 and Claude Haiku 4.5 support specifying either the temperature or top_p
//!   parameter, but not both. This does not apply to any older models."
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html>
//!   The same 400 ("`temperature` and `top_p` cannot both be specified for this model. Please use
//!   only one.") is what Anthropic's migration guides document for Opus 4.1, 4.5, 4.6 and Sonnet 4.6
//!   <https://platform.claude.com/docs/en/about-claude/models/migrating-to-claude-4>.
//! - Opus 4.7 and later: "`temperature`, `top_p`, `top_k` are removed — sending any of them
//!   returns 400" ("`temperature` is deprecated for this model.")
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-4-7.html>
//!   (section "parameters change"), <https://platform.claude.com/docs/en/about-claude/models/whats-new-claude-4-7>.
//!
//! Geographic routes: AWS documents the destinations per source region on each model card. The
//! US rows below carry the one table AWS prints in full, for Claude Sonnet 4.5 from us-east-1
//! (us-east-1, us-east-2, us-west-2;
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html>),
//! and the Claude 3 Haiku example (from us-east-2: us-east-1, us-east-2, us-west-2; from us-west-2:
//! us-east-1, us-west-2; <https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html>).
//! Source regions not listed here are rejected by the stage validation rather than guessed.
//! Global profiles route to any commercial region; their grant uses the region-less ARN
//! (<https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>).

use super::{Lifecycle, ModelSpec, ProfileRoutes, SamplingRule};

const US_EAST_1: &str = "us-east-1";
const US_EAST_2: &str = "us-east-2";
const US_WEST_2: &str = "us-west-2";

/// US geographic profile of the Claude 4.x models: the destinations AWS documents for Sonnet 4.5
/// called from us-east-1, for every US source region that is itself a destination.
const US_4X: ProfileRoutes = ProfileRoutes {
    prefix: "us",
    routes: &[
        (US_EAST_1, &[US_EAST_1, US_EAST_2, US_WEST_2]),
        (US_EAST_2, &[US_EAST_1, US_EAST_2, US_WEST_2]),
        (US_WEST_2, &[US_EAST_1, US_EAST_2, US_WEST_2]),
    ],
};

/// EU geographic profile: eu-central-1, eu-north-1, eu-west-1 and eu-west-3.
const EU_4X: ProfileRoutes = ProfileRoutes {
    prefix: "eu",
    routes: &[
        ("eu-central-1", EU_DESTINATIONS),
        ("eu-north-1", EU_DESTINATIONS),
        ("eu-west-1", EU_DESTINATIONS),
        ("eu-west-3", EU_DESTINATIONS),
    ],
};
const EU_DESTINATIONS: &[&str] = &["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"];

/// Global profile: source regions the catalogue accepts (the destinations are every commercial
/// region; only the source region's regional ARN and the region-less ARN appear in the grant).
const GLOBAL: ProfileRoutes = ProfileRoutes {
    prefix: super::GLOBAL_PREFIX,
    routes: &[
        (US_EAST_1, &[]),
        (US_EAST_2, &[]),
        (US_WEST_2, &[]),
        ("eu-central-1", &[]),
        ("eu-west-1", &[]),
        ("ap-northeast-1", &[]),
    ],
};

const MESSAGES_REQUEST: &str = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html";

/// Every model the service knows, oldest first.
pub const CATALOGUE: &[ModelSpec] = &[
    ModelSpec {
        name: "Claude 3 Haiku",
        base_id: "anthropic.claude-3-haiku-20240307-v1:0",
        sampling: SamplingRule::Any,
        // "The maximum tokens you requested exceeds the model limit of 4096."
        max_output_tokens: 4096,
        streaming: true,
        lifecycle: Lifecycle::Retired {
            since: "2026-09-10",
        },
        on_demand: true,
        profiles: &[ProfileRoutes {
            prefix: "us",
            routes: &[
                (US_EAST_2, &[US_EAST_1, US_EAST_2, US_WEST_2]),
                (US_WEST_2, &[US_EAST_1, US_WEST_2]),
            ],
        }],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html",
    },
    ModelSpec {
        name: "Claude Opus 4.1",
        base_id: "anthropic.claude-opus-4-1-20250805-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 32_000,
        streaming: true,
        lifecycle: Lifecycle::Legacy {
            end_of_life: "2027-01-08",
        },
        on_demand: false,
        profiles: &[US_4X],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html",
    },
    ModelSpec {
        name: "Claude Sonnet 4.5",
        base_id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 64_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: MESSAGES_REQUEST,
    },
    ModelSpec {
        name: "Claude Haiku 4.5",
        base_id: "anthropic.claude-haiku-4-5-20251001-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 64_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html",
    },
    ModelSpec {
        name: "Claude Opus 4.5",
        base_id: "anthropic.claude-opus-4-5-20251101-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 64_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: "https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy",
    },
    ModelSpec {
        name: "Claude Opus 4.6",
        // The last Bedrock id with the `-v1` suffix, and without `:0`.
        base_id: "anthropic.claude-opus-4-6-v1",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: "https://platform.claude.com/docs/en/about-claude/models/model-ids-and-versions",
    },
    ModelSpec {
        name: "Claude Sonnet 4.6",
        base_id: "anthropic.claude-sonnet-4-6",
        sampling: SamplingRule::TemperatureXorTopP,
        // Published figures disagree (64K in most model tables, 128K in one Anthropic overview);
        // the lower one is kept, so no request the model could refuse is ever let through.
        max_output_tokens: 64_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: "https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy",
    },
    ModelSpec {
        name: "Claude Opus 4.7",
        base_id: "anthropic.claude-opus-4-7",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-4-7.html",
    },
    ModelSpec {
        name: "Claude Opus 4.8",
        base_id: "anthropic.claude-opus-4-8",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[EU_4X, GLOBAL],
        source: "https://platform.claude.com/docs/en/about-claude/models/overview",
    },
];
