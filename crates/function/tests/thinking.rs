//! Thinking models through the handler (issue 21): what is sent (no sampling fields, the route's
//! thinking and effort, the answer budget plus the thinking reservation), what never leaves the
//! function (reasoning text), a budget used up by thinking, a cut answer, and a repair that passes
//! the earlier reasoning back. Bedrock and S3 are mocked at the SDK edge by `aws-smithy-mocks`.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime::operation::converse::{ConverseInput, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, Message, ReasoningContentBlock, ReasoningTextBlock, StopReason,
    TokenUsage,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::Document;
use codegen_contract::env;
use codegen_function::Config;
use common::{fixture, run};

const OPUS_55: &str = "global.anthropic.claude-opus-5-5";
const REASONING: &str = "SECRET-REASONING: the user wants ```python\nimport os\n```";
const SIGNATURE: &str = "sig-opus-5-5-1";
const CODE_REPLY: &str =
    "```python\ndef is_palindrome(s: str) -> bool:\n    return s == s[::-1]\n```";
const BROKEN_REPLY: &str =
    "```python\ndef is_palindrome(s: str) -> bool:\n    return s == s[::-1\n```";

/// Opus 5.5 on the synchronous route with effort low and 2,048 thinking tokens, as the stack
/// would set it.
fn opus_config(repair: &str) -> Config {
    common::config(&[
        (env::MODEL_ID, OPUS_55),
        (env::REPAIR, repair),
        (env::SYNC_EFFORT, "low"),
        (env::SYNC_THINKING_TOKENS, "2048"),
        (env::JOBS_EFFORT, "high"),
        (env::JOBS_THINKING_TOKENS, "16000"),
    ])
}

fn reasoning_block() -> ContentBlock {
    ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
        ReasoningTextBlock::builder()
            .text(REASONING)
            .signature(SIGNATURE)
            .build()
            .expect("reasoning"),
    ))
}

/// A Converse answer as a thinking model gives it: a reasoning block, then `text` (if any).
fn thinking_output(text: Option<&str>, stop: StopReason, output_tokens: i32) -> ConverseOutput {
    let mut content = vec![reasoning_block()];
    content.extend(text.map(|t| ContentBlock::Text(t.to_owned())));
    ConverseOutput::builder()
        .output(aws_sdk_bedrockruntime::types::ConverseOutput::Message(
            Message::builder()
                .role(ConversationRole::Assistant)
                .set_content(Some(content))
                .build()
                .expect("message"),
        ))
        .stop_reason(stop)
        .usage(
            TokenUsage::builder()
                .input_tokens(120)
                .output_tokens(output_tokens)
                .total_tokens(120 + output_tokens)
                .build()
                .expect("usage"),
        )
        .build()
        .expect("output")
}

type Inputs = Arc<Mutex<Vec<ConverseInput>>>;

/// A Converse mock answering `replies` in order and keeping every real input.
fn recording(replies: Vec<(Option<&'static str>, StopReason, i32)>, seen: Inputs) -> Rule {
    mock!(aws_sdk_bedrockruntime::Client::converse).then_compute_output(move |input| {
        let mut seen = seen.lock().expect("lock");
        seen.push(input.clone());
        let i = (seen.len() - 1).min(replies.len() - 1);
        let (text, stop, tokens) = &replies[i];
        thinking_output(*text, stop.clone(), *tokens)
    })
}

fn field<'a>(doc: &'a Document, key: &str) -> Option<&'a Document> {
    match doc {
        Document::Object(map) => map.get(key),
        _ => None,
    }
}

#[tokio::test]
async fn a_thinking_model_gets_the_route_effort_and_no_sampling_and_reasoning_stays_inside() {
    let seen = Inputs::default();
    let converse = recording(
        vec![(Some(CODE_REPLY), StopReason::EndTurn, 900)],
        seen.clone(),
    );
    let out = run(
        converse,
        fixture("put-code-generation.json"),
        &opus_config("off"),
    )
    .await;
    let ok = out.answer.ok();
    let input = seen.lock().expect("lock")[0].clone();
    // The exact request: no sampling field, no thinking field (adaptive is Opus 5.5's only mode
    // and the default), the synchronous route's effort, and the answer budget plus the
    // reservation.
    let inference = input.inference_config().expect("inference config");
    assert_eq!(
        (inference.temperature(), inference.top_p()),
        (None, None),
        "{inference:?}"
    );
    assert_eq!(inference.max_tokens(), Some(2048 + 2048));
    let extra = input
        .additional_model_request_fields()
        .expect("additional fields");
    assert_eq!(field(extra, "top_k"), None);
    assert_eq!(field(extra, "thinking"), None);
    assert_eq!(
        field(extra, "output_config").and_then(|c| field(c, "effort")),
        Some(&Document::String("low".to_owned()))
    );
    // What the caller sees: the code, what was sent, and Bedrock's own usage (no thinking figure:
    // Converse reports none).
    assert_eq!(
        ok.code,
        "def is_palindrome(s: str) -> bool:\n    return s == s[::-1]\n"
    );
    assert_eq!(ok.sampling.effort.as_deref(), Some("low"));
    assert_eq!(ok.sampling.thinking_tokens, Some(2048));
    assert_eq!(ok.sampling.max_tokens, 4096);
    assert_eq!(ok.usage.output_tokens, 900);
    assert!(out.answer.json["usage"].get("thinking_tokens").is_none());
    // Reasoning never reaches the response, nor the stored object.
    assert!(!out.answer.json.to_string().contains("SECRET-REASONING"));
    let stored = out.stored();
    assert!(!String::from_utf8_lossy(&stored.body).contains("SECRET"));
    assert!(stored.metadata.values().all(|v| !v.contains("SECRET")));
    assert_eq!(stored.meta("truncated"), None);
}

#[tokio::test]
async fn thinking_that_uses_the_whole_budget_is_an_error_and_nothing_is_stored() {
    let seen = Inputs::default();
    let converse = recording(vec![(None, StopReason::MaxTokens, 4096)], seen);
    let out = run(
        converse,
        fixture("put-code-generation.json"),
        &opus_config("once"),
    )
    .await;
    let err = out.answer.err(502, "thinking_exhausted");
    assert!(
        err.error.message.contains("thinking.sync.thinking_tokens")
            && err.error.message.contains("effort"),
        "{}",
        err.error.message
    );
    assert!(out.stored_keys().is_empty(), "nothing is stored");
    assert_eq!(out.converse.num_calls(), 1, "no repair of nothing");
}

#[tokio::test]
async fn a_cut_answer_is_kept_with_a_warning_and_metadata() {
    let cut = "```python\ndef is_palindrome(s: str) -> bool:\n    return s ==";
    let converse = recording(
        vec![(Some(cut), StopReason::MaxTokens, 4096)],
        Inputs::default(),
    );
    let out = run(
        converse,
        fixture("put-code-generation.json"),
        &opus_config("off"),
    )
    .await;
    let ok = out.answer.ok();
    assert!(
        ok.warnings
            .iter()
            .any(|w| w.contains("max_tokens (4096, of which 2048 reserved for thinking")),
        "{:?}",
        ok.warnings
    );
    assert_eq!(out.stored().meta("truncated"), Some("max-tokens"));
}

#[tokio::test]
async fn the_repair_passes_the_earlier_reasoning_back_unmodified() {
    let seen = Inputs::default();
    let converse = recording(
        vec![
            (Some(BROKEN_REPLY), StopReason::EndTurn, 700),
            (Some(CODE_REPLY), StopReason::EndTurn, 650),
        ],
        seen.clone(),
    );
    let out = run(
        converse,
        fixture("put-code-generation.json"),
        &opus_config("once"),
    )
    .await;
    let ok = out.answer.ok();
    let repair = ok.repair.expect("repair report");
    assert!(repair.attempted && repair.applied, "{repair:?}");
    let inputs = seen.lock().expect("lock").clone();
    assert_eq!(inputs.len(), 2);
    let follow_up = &inputs[1];
    let assistant = &follow_up.messages()[1];
    assert_eq!(assistant.role(), &ConversationRole::Assistant);
    // The reasoning block first, exactly as Bedrock returned it (text and signature), then text.
    assert_eq!(assistant.content().first(), Some(&reasoning_block()));
    assert_eq!(
        assistant.content().get(1),
        Some(&ContentBlock::Text(BROKEN_REPLY.to_owned()))
    );
    // The follow-up has the same effort and budget as the first call.
    assert_eq!(
        follow_up.inference_config().and_then(|c| c.max_tokens()),
        Some(4096)
    );
    assert_eq!(ok.usage.output_tokens, 700 + 650);
}

#[tokio::test]
async fn the_worker_reads_the_jobs_route() {
    let mut vars = vec![(env::ROLE, "worker")];
    vars.extend([
        (env::MODEL_ID, OPUS_55),
        (env::SYNC_EFFORT, "low"),
        (env::JOBS_EFFORT, "high"),
        (env::JOBS_THINKING_TOKENS, "16000"),
    ]);
    let config = common::config(&vars);
    assert_eq!(
        config.thinking.effort,
        Some(codegen_contract::models::Effort::High)
    );
    assert_eq!(config.thinking.thinking_tokens, 16_000);
}
