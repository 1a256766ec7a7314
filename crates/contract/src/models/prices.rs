//! On-demand prices of every catalogue model, per token class, each row dated and citing its page.
//! Pure data; the arithmetic is in [`crate::cost`].
//!
//! Units: micro-dollars (USD 10^-6) per million tokens, so every published price is an integer
//! (Claude 3 Haiku's $0.25 / MTok is 250_000) and a request's cost is an exact integer sum before
//! one rounding (see [`crate::cost`]).
//!
//! Where the prices come from (checked 2026-12-07):
//! - AWS's "Amazon Bedrock pricing" page, <https://aws.amazon.com/bedrock/pricing/>: "For
//!   text-generation models, you are charged for every input token processed and every output
//!   token generated", cross-region inference has "no additional charge" and "the price is
//!   calculated basis the region you made the request in (source region)". The page's per-model
//!   Anthropic table could not be read from here (it is rendered by script), so the rates below
//!   are Anthropic's list prices, <https://platform.claude.com/docs/en/about-claude/pricing> and
//!   each model's overview page, which are the rates of Bedrock's global endpoints.
//! - Regional premium: "Global cross-Region inference for Anthropic's Claude Sonnet 4.5 offers
//!   approximately 10% savings on both input and output token pricing compared to geographic
//!   cross-Region inference"
//!   (<https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>),
//!   and Anthropic's Bedrock page: from Claude Sonnet 4.5 and all later models, regional (and
//!   geographic) endpoints carry a 10% premium over global ones
//!   (<https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock>). Rows with
//!   `regional_premium` are priced 11/10 of the list when called through a geographic profile
//!   (`us.`, `eu.`, ...) or the base id; AWS's wording is "approximately", so the preflight's
//!   numbers and the bill (docs/cost.md) are what to reconcile against.
//! - Thinking: thinking tokens are billed as output tokens and Converse's `outputTokens` already
//!   includes them (Anthropic "Context windows": thinking tokens "are billed as output tokens",
//!   <https://docs.anthropic.com/en/docs/build-with-claude/context-windows>; Bedrock TokenUsage,
//!   <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html>), so no
//!   model has a separate thinking rate.
//! - Cache writes are the 5-minute rate (1.25x input; the function sends no cache point, so both
//!   cache figures are 0 today; they are priced in case Bedrock reports any).

use super::Prices;

/// The date every row below was read.
pub const PRICES_AS_OF: &str = "2026-12-07";

const PRICING: &str = "https://platform.claude.com/docs/en/about-claude/pricing";

/// USD per MTok as micro-dollars per MTok: `usd(3, 0)` is $3.00, `usd(0, 250_000)` is $0.25.
const fn usd(dollars: u64, micro: u64) -> u64 {
    dollars * 1_000_000 + micro
}

const fn row(
    input: u64,
    output: u64,
    cache_write: u64,
    cache_read: u64,
    regional_premium: bool,
    source: &'static str,
) -> Prices {
    Prices {
        input,
        output,
        cache_write,
        cache_read,
        regional_premium,
        long_prompt: None,
        as_of: PRICES_AS_OF,
        source,
    }
}

/// Opus 4.5 through Opus 5: $5 / $25, cache write $6.25, cache read $0.50.
const OPUS_5_25: Prices = row(
    usd(5, 0),
    usd(25, 0),
    usd(6, 250_000),
    usd(0, 500_000),
    true,
    PRICING,
);

/// Prices per catalogue base id (`models::CATALOGUE`); a test checks every row has one.
pub const PRICES: &[(&str, Prices)] = &[
    (
        "anthropic.claude-3-haiku-20240307-v1:0",
        row(
            usd(0, 250_000),
            usd(1, 250_000),
            usd(0, 300_000),
            usd(0, 30_000),
            false,
            PRICING,
        ),
    ),
    (
        "anthropic.claude-opus-4-1-20250805-v1:0",
        row(
            usd(15, 0),
            usd(75, 0),
            usd(18, 750_000),
            usd(1, 500_000),
            false,
            PRICING,
        ),
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        row(
            usd(3, 0),
            usd(15, 0),
            usd(3, 750_000),
            usd(0, 300_000),
            true,
            PRICING,
        ),
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        row(
            usd(1, 0),
            usd(5, 0),
            usd(1, 250_000),
            usd(0, 100_000),
            true,
            PRICING,
        ),
    ),
    ("anthropic.claude-opus-4-5-20251101-v1:0", OPUS_5_25),
    ("anthropic.claude-opus-4-6-v1", OPUS_5_25),
    (
        "anthropic.claude-sonnet-4-6",
        row(
            usd(3, 0),
            usd(15, 0),
            usd(3, 750_000),
            usd(0, 300_000),
            true,
            PRICING,
        ),
    ),
    ("anthropic.claude-opus-4-7", OPUS_5_25),
    ("anthropic.claude-opus-4-8", OPUS_5_25),
    ("anthropic.claude-opus-5", OPUS_5_25),
    (
        // Cache reads 0.05x input.
        "anthropic.claude-opus-5-5",
        row(
            usd(4, 0),
            usd(20, 0),
            usd(5, 0),
            usd(0, 200_000),
            true,
            "https://platform.claude.com/docs/en/models/opus-5-5/overview",
        ),
    ),
    (
        "anthropic.claude-sonnet-5",
        row(
            usd(2, 0),
            usd(10, 0),
            usd(2, 500_000),
            usd(0, 200_000),
            true,
            "https://platform.claude.com/docs/en/models/sonnet-5/overview",
        ),
    ),
    (
        // The overview page read here lists cache reads at $0.20; third-party price trackers
        // report a cut to $0.10 from 2026-10-07. The function sends no cache point, so the
        // difference cannot show in its costs; the page is kept as the source.
        "anthropic.claude-sonnet-5-5",
        row(
            usd(2, 0),
            usd(10, 0),
            usd(2, 500_000),
            usd(0, 200_000),
            true,
            "https://platform.claude.com/docs/en/models/sonnet-5-5/overview",
        ),
    ),
    (
        // "From $0.10 / MTok": up to 100K prompt tokens; a longer prompt pays 5x on every token
        // of the request (input $0.50, output $2.50).
        "anthropic.claude-haiku-5-5",
        Prices {
            long_prompt: Some(super::LongPrompt {
                over_tokens: 100_000,
                factor: 5,
            }),
            ..row(
                usd(0, 100_000),
                usd(0, 500_000),
                usd(0, 125_000),
                usd(0, 10_000),
                true,
                "https://platform.claude.com/docs/en/models/haiku-5-5/overview",
            )
        },
    ),
    (
        "anthropic.claude-fable-5",
        row(
            usd(10, 0),
            usd(50, 0),
            usd(12, 500_000),
            usd(1, 0),
            true,
            "https://platform.claude.com/docs/en/models/fable-5/overview",
        ),
    ),
    (
        // Cache reads 0.025x input.
        "anthropic.claude-fable-5-1",
        row(
            usd(10, 0),
            usd(50, 0),
            usd(12, 500_000),
            usd(0, 250_000),
            true,
            "https://platform.claude.com/docs/en/models/fable-5-1/overview",
        ),
    ),
    (
        // Anthropic's own Fable 5.2 row could not be read here (checked 2026-12-07); these are
        // the list prices as model catalogues quote them ($8 / $40, cache read $0.20, cache
        // write $10). Check the AWS pricing page before relying on this row.
        "anthropic.claude-fable-5-2",
        row(
            usd(8, 0),
            usd(40, 0),
            usd(10, 0),
            usd(0, 200_000),
            true,
            "https://platform.claude.com/docs/en/about-claude/pricing",
        ),
    ),
    (
        // Mythos 5 "shares Claude Fable 5's specifications and pricing".
        "anthropic.claude-mythos-5",
        row(
            usd(10, 0),
            usd(50, 0),
            usd(12, 500_000),
            usd(1, 0),
            true,
            "https://platform.claude.com/docs/en/models/fable-5/overview",
        ),
    ),
    (
        "anthropic.claude-mythos-5-1",
        row(
            usd(10, 0),
            usd(50, 0),
            usd(12, 500_000),
            usd(0, 250_000),
            true,
            PRICING,
        ),
    ),
];
