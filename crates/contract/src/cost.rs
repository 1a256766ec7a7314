//! What a model call cost, in integer micro-dollars, from Bedrock's own token counts and the
//! catalogue's dated prices ([`crate::models::prices`]). Pure arithmetic: no IO.
//!
//! A call's cost is one exact integer sum, `Σ tokens × rate` in micro-dollars per million tokens
//! (u128, so it cannot overflow), rounded up once to whole micro-dollars: a sum of answers never
//! drifts, and never under-counts what was billed by more than one micro-dollar per call.

use serde::{Deserialize, Serialize};

use crate::Usage;
use crate::models::{self, GLOBAL_PREFIX, Prices};

/// One million: prices are per million tokens.
const PER_MTOK: u128 = 1_000_000;

/// The rates applied to an answer, in micro-dollars per million tokens (the regional premium
/// and a long-prompt tier already included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    /// Input tokens.
    pub input: u64,
    /// Output tokens (thinking included: it is billed as output).
    pub output: u64,
    /// Cache writes.
    pub cache_write: u64,
    /// Cache reads.
    pub cache_read: u64,
}

/// Which of a model's prices applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// A `global.` inference profile: the list price.
    Global,
    /// A geographic profile (`us.`, `eu.`, ...) or the base id: the list price plus the
    /// regional premium where the model has one.
    Regional,
}

/// What an answer cost (`cost` in every success body and job result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// USD with six decimals (`"0.011550"`), written from `micro_usd` (exact).
    pub usd: String,
    /// USD 10^-6, rounded up per model call.
    pub micro_usd: u64,
    /// The token counts it was computed from, as Bedrock reported them (every call of the
    /// answer, a repair included).
    pub tokens: Usage,
    /// The rates applied, per million tokens.
    pub rates_micro_usd_per_mtok: Rates,
    /// Global or regional price.
    pub endpoint: Endpoint,
    /// When the prices were read (`YYYY-MM-DD`).
    pub prices_as_of: String,
    /// Where they come from.
    pub price_source: String,
}

impl Cost {
    /// The cost of two calls of one answer together (rates, date and source of the first).
    pub fn plus(&self, other: &Cost) -> Cost {
        let micro_usd = self.micro_usd.saturating_add(other.micro_usd);
        Cost {
            usd: format_usd(micro_usd),
            micro_usd,
            tokens: self.tokens.plus(other.tokens),
            ..self.clone()
        }
    }
}

/// Which endpoint a model id is billed as.
pub fn endpoint_of(model_id: &str) -> Endpoint {
    if models::resolve(model_id).prefix == Some(GLOBAL_PREFIX) {
        Endpoint::Global
    } else {
        Endpoint::Regional
    }
}

/// The rates of `prices` for an endpoint and a prompt of `prompt_tokens`.
pub fn rates(prices: &Prices, endpoint: Endpoint, prompt_tokens: u64) -> Rates {
    let (mut num, mut den) = (1_u64, 1_u64);
    if endpoint == Endpoint::Regional && prices.regional_premium {
        (num, den) = (11, 10);
    }
    if let Some(tier) = prices.long_prompt
        && prompt_tokens > u64::from(tier.over_tokens)
    {
        num *= tier.factor;
    }
    // Every published rate is a multiple of 10 micro-dollars per MTok, so 11/10 stays exact; a
    // rate that is not is rounded up.
    let scale = |rate: u64| (rate * num).div_ceil(den);
    Rates {
        input: scale(prices.input),
        output: scale(prices.output),
        cache_write: scale(prices.cache_write),
        cache_read: scale(prices.cache_read),
    }
}

/// The cost of one model call of `model_id` with `usage`; `None` when the catalogue has no
/// price for the model.
pub fn of_call(model_id: &str, usage: Usage) -> Option<Cost> {
    let prices = models::resolve(model_id).spec?.prices()?;
    Some(of_call_with(prices, endpoint_of(model_id), usage))
}

/// [`of_call`] with the prices given.
pub fn of_call_with(prices: &Prices, endpoint: Endpoint, usage: Usage) -> Cost {
    let prompt = u64::from(usage.input_tokens)
        + u64::from(usage.cache_read_input_tokens)
        + u64::from(usage.cache_write_input_tokens);
    let r = rates(prices, endpoint, prompt);
    let micro_per_mtok = u128::from(usage.input_tokens) * u128::from(r.input)
        + u128::from(usage.output_tokens) * u128::from(r.output)
        + u128::from(usage.cache_write_input_tokens) * u128::from(r.cache_write)
        + u128::from(usage.cache_read_input_tokens) * u128::from(r.cache_read);
    let micro_usd = u64::try_from(micro_per_mtok.div_ceil(PER_MTOK)).unwrap_or(u64::MAX);
    Cost {
        usd: format_usd(micro_usd),
        micro_usd,
        tokens: usage,
        rates_micro_usd_per_mtok: r,
        endpoint,
        prices_as_of: prices.as_of.to_owned(),
        price_source: prices.source.to_owned(),
    }
}

/// The most one call of `model_id` can cost: `max_input_tokens` of input and `max_output_tokens`
/// of output (thinking included), at the rates that would apply to that prompt.
pub fn upper_bound(model_id: &str, max_input_tokens: u32, max_output_tokens: u32) -> Option<u64> {
    let usage = Usage {
        input_tokens: max_input_tokens,
        output_tokens: max_output_tokens,
        total_tokens: max_input_tokens.saturating_add(max_output_tokens),
        ..Usage::default()
    };
    of_call(model_id, usage).map(|c| c.micro_usd)
}

/// Micro-dollars as a decimal USD string with six places.
pub fn format_usd(micro_usd: u64) -> String {
    format!("{}.{:06}", micro_usd / 1_000_000, micro_usd % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u32, output: u32) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            ..Usage::default()
        }
    }

    // Golden values worked by hand from the list prices (USD per MTok), not with this module's
    // formula: tokens / 1e6 × price, summed, then rounded up to whole micro-dollars.

    #[test]
    fn sonnet_4_6_through_the_us_profile_pays_the_regional_premium() {
        // $3 × 1.1 = $3.30 and $15 × 1.1 = $16.50 per MTok.
        // 1000 × 3.30 / 1e6 = 0.0033; 500 × 16.50 / 1e6 = 0.00825; sum 0.01155 USD.
        let c = of_call("us.anthropic.claude-sonnet-4-6", usage(1000, 500)).expect("priced");
        assert_eq!(c.micro_usd, 11_550);
        assert_eq!(c.usd, "0.011550");
        assert_eq!(c.endpoint, Endpoint::Regional);
        assert_eq!(c.prices_as_of, "2026-12-07");
    }

    #[test]
    fn the_global_profile_pays_the_list_price() {
        // 1000 × 3 / 1e6 = 0.003; 500 × 15 / 1e6 = 0.0075; sum 0.0105 USD.
        let c = of_call("global.anthropic.claude-sonnet-4-6", usage(1000, 500)).expect("priced");
        assert_eq!((c.micro_usd, c.usd.as_str()), (10_500, "0.010500"));
    }

    #[test]
    fn fractions_of_a_micro_dollar_round_up_once() {
        // Claude 3 Haiku, no premium: 1234 × 0.25 = 308.5 µ$; 567 × 1.25 = 708.75 µ$;
        // 1017.25 µ$ → 1018.
        let c =
            of_call("anthropic.claude-3-haiku-20240307-v1:0", usage(1234, 567)).expect("priced");
        assert_eq!(c.micro_usd, 1018);
        // Opus 5.5 on the global profile, 7 in and 3 out: 7 × 4 + 3 × 20 = 88 µ$ exactly.
        let c = of_call("global.anthropic.claude-opus-5-5", usage(7, 3)).expect("priced");
        assert_eq!(c.micro_usd, 88);
    }

    #[test]
    fn a_long_haiku_5_5_prompt_pays_five_times_on_every_token() {
        // 150_000 in: over 100K, so $0.50 and $2.50 per MTok, × 1.1 on the us profile:
        // 150_000 × 0.55 = 82_500 µ$; 2000 × 2.75 = 5_500 µ$; 88_000 µ$.
        let c = of_call("us.anthropic.claude-haiku-5-5", usage(150_000, 2000)).expect("priced");
        assert_eq!(c.micro_usd, 88_000);
        // 1000 in stays on the low tier: 1000 × 0.11 + 2000 × 0.55 = 110 + 1100 = 1210 µ$.
        let c = of_call("us.anthropic.claude-haiku-5-5", usage(1000, 2000)).expect("priced");
        assert_eq!(c.micro_usd, 1210);
    }

    #[test]
    fn cache_tokens_are_priced_at_their_rates() {
        // Sonnet 4.6 global: 100 in × 3 = 300; 200 out × 15 = 3000; 1000 cache read × 0.30 =
        // 300; 400 cache write × 3.75 = 1500; 5100 µ$.
        let u = Usage {
            cache_read_input_tokens: 1000,
            cache_write_input_tokens: 400,
            ..usage(100, 200)
        };
        let c = of_call("global.anthropic.claude-sonnet-4-6", u).expect("priced");
        assert_eq!(c.micro_usd, 5100);
    }

    #[test]
    fn sums_are_exact_and_unknown_models_are_not_priced() {
        let a = of_call("us.anthropic.claude-sonnet-4-6", usage(1000, 500)).expect("priced");
        let b = of_call("us.anthropic.claude-sonnet-4-6", usage(10, 1)).expect("priced");
        // 10 × 3.30 + 1 × 16.50 = 49.5 µ$ → 50.
        assert_eq!(b.micro_usd, 50);
        let sum = a.plus(&b);
        assert_eq!((sum.micro_usd, sum.usd.as_str()), (11_600, "0.011600"));
        assert_eq!(sum.tokens.input_tokens, 1010);
        assert_eq!(of_call("anthropic.claude-mystery-9", usage(1, 1)), None);
        assert_eq!(format_usd(12_345_678), "12.345678");
    }

    #[test]
    fn the_upper_bound_is_the_price_of_the_whole_allowance() {
        // 2000 in × 3.30 + 2048 out × 16.50 = 6600 + 33_792 = 40_392 µ$.
        assert_eq!(
            upper_bound("us.anthropic.claude-sonnet-4-6", 2000, 2048),
            Some(40_392)
        );
    }
}
