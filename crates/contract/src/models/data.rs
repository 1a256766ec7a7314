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

use super::{
    ALL_EFFORTS, Effort, Lifecycle, ModelSpec, Prerequisite, ProfileRoutes, SamplingRule,
    ThinkingClass,
};

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

/// Bedrock's "Adaptive thinking" page: which models take `thinking: {"type": "adaptive"}`, and
/// which only take it ("Manual extended thinking ... and disabled thinking ... are not supported
/// on these models and will return a 400 error. Use thinking.type: \"adaptive\" with
/// output_config.effort to control thinking behavior."), checked 2026-12-07.
const ADAPTIVE_THINKING: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html";

/// The effort levels every model that takes an effort accepts; used where the model's own page
/// lists no levels, so nothing it may refuse is ever sent.
const LOW_TO_HIGH: &[Effort] = &[Effort::Low, Effort::Medium, Effort::High];

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
        thinking: ThinkingClass::None,
        efforts: &[],
        default_effort: None,
        context_window: 200_000,
        prerequisites: &[],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html",
    },
    ModelSpec {
        name: "Claude Opus 4.1",
        base_id: "anthropic.claude-opus-4-1-20250805-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 32_000,
        streaming: true,
        lifecycle: Lifecycle::Legacy {
            // The page this row cites gives the end of life, not the day it became Legacy.
            since: None,
            end_of_life: "2027-01-08",
        },
        on_demand: false,
        profiles: &[US_4X],
        thinking: ThinkingClass::None,
        efforts: &[],
        default_effort: None,
        context_window: 200_000,
        prerequisites: &[],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html",
    },
    ModelSpec {
        name: "Claude Sonnet 4.5",
        base_id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
        sampling: SamplingRule::TemperatureXorTopP,
        max_output_tokens: 64_000,
        streaming: true,
        // Legacy on Bedrock from 2026-10-08, end of life 2027-04-08: the dates issue 21 quotes from
        // one AWS source (the "Model lifecycle (Legacy)" table, which applies to models launched
        // before 2026-09-07, <https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html>).
        // The table itself could not be read here (checked 2026-12-07); the deployer's preflight
        // reads the real state (`GetFoundationModel` `modelLifecycle`) before a deploy to AWS.
        lifecycle: Lifecycle::Legacy {
            since: Some("2026-10-08"),
            end_of_life: "2027-04-08",
        },
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        thinking: ThinkingClass::None,
        efforts: &[],
        default_effort: None,
        context_window: 200_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::None,
        efforts: &[],
        default_effort: None,
        context_window: 200_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::None,
        efforts: LOW_TO_HIGH,
        default_effort: Some(Effort::High),
        context_window: 200_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::Optional,
        efforts: LOW_TO_HIGH,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::Optional,
        efforts: LOW_TO_HIGH,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::Optional,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
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
        thinking: ThinkingClass::Optional,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://platform.claude.com/docs/en/about-claude/models/overview",
    },
    // The Claude 5 generation (checked 2026-12-07). Every row: sampling fixed (non-default
    // temperature, top_p or top_k is a 400), 128K output tokens, 1M context, thinking counted
    // toward max_tokens ("max_tokens remains a hard limit on total output, thinking plus response
    // text", <https://platform.claude.com/docs/en/models/opus-5/migration-guide>), reachable only
    // through inference profiles. The profile prefixes are the ones AWS's model cards and the
    // "Supported Regions and models for inference profiles" page list as far as they could be
    // read here; the US destinations reuse the 4.x table (see the module docs) and the deployer's
    // preflight compares them with `GetInferenceProfile` before a deploy to AWS. Where a card is
    // silent on turning thinking off, the row says `AlwaysOn`, so nothing undocumented is sent;
    // where it is silent on effort levels, only low/medium/high (which every effort model takes).
    ModelSpec {
        name: "Claude Opus 5",
        base_id: "anthropic.claude-opus-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        // "thinking on by default"; "thinking: {type: disabled}" accepted at effort high or below;
        // "the full effort ladder, low, medium, high, xhigh, and max"; "Start from the default,
        // high".
        thinking: ThinkingClass::OnByDefault,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://platform.claude.com/docs/en/about-claude/models/whats-new-opus-5",
    },
    ModelSpec {
        name: "Claude Opus 5.5",
        base_id: "anthropic.claude-opus-5-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // Launched 2026-09-22, EOL no sooner than 2027-09-22, 6-month Legacy period.
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // "adaptive thinking is always on and cannot be disabled; effort level configurable —
        // low, medium, high, xhigh, max; default: medium".
        thinking: ThinkingClass::AlwaysOn,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::Medium),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-5-5.html",
    },
    ModelSpec {
        name: "Claude Sonnet 5",
        base_id: "anthropic.claude-sonnet-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // Released 2026-06-30. Anthropic calls it Legacy on its own platform (Sonnet 5.5 is its
        // current Sonnet); Bedrock sets its own lifecycle, and no Bedrock Legacy date was found.
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        // "adaptive thinking on by default; manual extended thinking returns 400; non-default
        // temperature, top_p, top_k return 400"; default effort high. Whether `disabled` is
        // accepted is not stated: treated as always on.
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://platform.claude.com/docs/en/models/sonnet-5/overview",
    },
    ModelSpec {
        name: "Claude Sonnet 5.5",
        base_id: "anthropic.claude-sonnet-5-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // Released 2026-09-28.
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // Thinking on by default and `disabled` rejected (its lowest setting is `between_tools`,
        // which the function does not use); effort low..max, default high
        // (<https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5>).
        thinking: ThinkingClass::AlwaysOn,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://platform.claude.com/docs/en/models/sonnet-5-5/overview",
    },
    ModelSpec {
        name: "Claude Haiku 5.5",
        base_id: "anthropic.claude-haiku-5-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // Launched 2026-10-07, EOL no sooner than 2027-10-07, 6-month Legacy period.
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // "adaptive thinking is on by default and can be turned off; effort level configurable —
        // low, medium, high, xhigh, max; default: medium; effort capped at high when thinking is
        // disabled".
        thinking: ThinkingClass::OnByDefault,
        efforts: ALL_EFFORTS,
        default_effort: Some(Effort::Medium),
        context_window: 1_000_000,
        prerequisites: &[],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-5-5.html",
    },
    ModelSpec {
        name: "Claude Fable 5",
        base_id: "anthropic.claude-fable-5",
        // "temperature must be 1.0 or unset; top_p must be ≥ 0.99 and < 1.0, or unset; top_k is
        // not supported".
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // Launched 2026-06-09; Active on its Bedrock card (Anthropic calls it Legacy on its own
        // platform, Fable 5.1 being current there).
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, EU_4X, GLOBAL],
        // "adaptive thinking is always on and cannot be disabled; the effort level is
        // configurable" (no levels or default listed on the card).
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: None,
        context_window: 1_000_000,
        prerequisites: &[Prerequisite::DataRetention],
        source: "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-fable-5.html",
    },
    ModelSpec {
        name: "Claude Fable 5.1",
        base_id: "anthropic.claude-fable-5-1",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        // On Bedrock since 2026-09-01.
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // Anthropic's comparison table: "Adaptive (always on)", default effort high; listed on
        // Bedrock's "Adaptive thinking" page among the adaptive-only models.
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: Some(Effort::High),
        context_window: 1_000_000,
        prerequisites: &[Prerequisite::DataRetention],
        source: "https://platform.claude.com/docs/en/models/opus-5-5/overview",
    },
    ModelSpec {
        name: "Claude Fable 5.2",
        base_id: "anthropic.claude-fable-5-2",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // No AWS or Anthropic page for it could be read here: the id and "the same capabilities
        // as claude-fable-5-1" come from a third-party SDK's release notes (the source below).
        // Every fact not taken from there is the strictest of Fable 5.1's.
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: None,
        context_window: 1_000_000,
        prerequisites: &[Prerequisite::DataRetention],
        source: "https://github.com/vercel/ai/releases/tag/@ai-sdk%2Famazon-bedrock@3.0.145",
    },
    ModelSpec {
        name: "Claude Mythos 5",
        base_id: "anthropic.claude-mythos-5",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        // Adaptive thinking only ("disabled thinking ... not supported on these models and will
        // return a 400 error"); "the same specifications and pricing as Claude Fable 5"; gated.
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: None,
        context_window: 1_000_000,
        prerequisites: &[Prerequisite::DataRetention, Prerequisite::GatedAccess],
        source: ADAPTIVE_THINKING,
    },
    ModelSpec {
        name: "Claude Mythos 5.1",
        base_id: "anthropic.claude-mythos-5-1",
        sampling: SamplingRule::Fixed,
        max_output_tokens: 128_000,
        streaming: true,
        lifecycle: Lifecycle::Active,
        on_demand: false,
        profiles: &[US_4X, GLOBAL],
        thinking: ThinkingClass::AlwaysOn,
        efforts: LOW_TO_HIGH,
        default_effort: None,
        context_window: 1_000_000,
        prerequisites: &[Prerequisite::DataRetention, Prerequisite::GatedAccess],
        source: ADAPTIVE_THINKING,
    },
];
