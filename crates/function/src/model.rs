//! Code generation with Amazon Bedrock through the Converse API (IO): the request (sampling,
//! thinking and effort in the model's own fields, the conversation) and the reply. The
//! classification of Bedrock failures is [`errors`] (pure).

use std::collections::HashMap;

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, StopReason, SystemContentBlock,
};
use aws_smithy_types::{Document, Number};
use codegen_contract::Usage;
use tracing::Instrument;

use crate::prompt::Prompt;
use crate::sampling::Plan;

mod errors;

pub use errors::*;

/// A model reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The text content of the reply (text blocks joined by newlines). Reasoning blocks never
    /// reach it: only `text` blocks are read.
    pub text: String,
    /// The reply's reasoning blocks, verbatim, in order: passed back unmodified when the
    /// conversation continues (a repair), never shown, stored or logged.
    pub reasoning: Vec<ContentBlock>,
    /// Token usage.
    pub usage: Usage,
    /// Why the model stopped.
    pub stop_reason: StopReason,
}

/// The additional model request fields for a plan: `top_k` when it is sent, and the thinking
/// setting and effort in the model's own request-body form (`crate::thinking` says why there):
/// `{"top_k": N, "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}`.
pub fn additional_fields(plan: &Plan) -> Option<Document> {
    let mut fields = HashMap::new();
    if let Some(k) = plan.top_k {
        fields.insert(
            "top_k".to_owned(),
            Document::Number(Number::PosInt(u64::from(k))),
        );
    }
    if let Some(t) = plan.thinking {
        fields.insert(
            "thinking".to_owned(),
            Document::Object(HashMap::from([(
                "type".to_owned(),
                Document::String(t.as_str().to_owned()),
            )])),
        );
    }
    if let Some(e) = plan.effort {
        fields.insert(
            "output_config".to_owned(),
            Document::Object(HashMap::from([(
                "effort".to_owned(),
                Document::String(e.as_str().to_owned()),
            )])),
        );
    }
    (!fields.is_empty()).then_some(Document::Object(fields))
}

/// Splits a reply's content blocks into its text (text blocks joined by newlines) and its
/// reasoning blocks (kept verbatim for a follow-up turn). Anything else (a tool use, which the
/// function never asks for) is dropped.
pub fn split_reply(content: Vec<ContentBlock>) -> (String, Vec<ContentBlock>) {
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    for block in content {
        match block {
            ContentBlock::Text(t) => texts.push(t),
            b @ ContentBlock::ReasoningContent(_) => reasoning.push(b),
            _ => {}
        }
    }
    (texts.join("\n"), reasoning)
}

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The caller's side (the prompt, a follow-up).
    User,
    /// The model's earlier answer.
    Assistant,
}

/// One turn of a conversation sent to Converse.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// An assistant turn's reasoning blocks, sent before its text exactly as Bedrock returned
    /// them: "If you pass a reasoning block back to the API in a multi-turn conversation, include
    /// the text and its signature unmodified"
    /// (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ReasoningTextBlock.html>,
    /// checked 2026-12-07). Anthropic's models ignore earlier turns' thinking outside tool use
    /// ("The Anthropic API automatically ignores thinking blocks from previous turns",
    /// <https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html>),
    /// but the 5.5 models bind thinking blocks to the conversation that produced them, so an
    /// edited or re-ordered block is an error: they go back untouched or not at all.
    pub reasoning: Vec<ContentBlock>,
}

impl Turn {
    /// A turn of plain text.
    pub fn text(speaker: Speaker, text: impl Into<String>) -> Self {
        Self {
            speaker,
            text: text.into(),
            reasoning: Vec::new(),
        }
    }
}

/// Calls Converse with `prompt` and the planned sampling parameters.
pub async fn generate(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    prompt: &Prompt,
    plan: &Plan,
) -> Result<Generation, ModelError> {
    let turns = [Turn::text(Speaker::User, prompt.user.clone())];
    converse(client, model_id, &prompt.system, &turns, plan).await
}

/// Calls Converse with a conversation (user first, alternating, user last: what Converse
/// requires) and the planned sampling parameters.
pub async fn converse(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    system: &str,
    turns: &[Turn],
    plan: &Plan,
) -> Result<Generation, ModelError> {
    let messages = turns
        .iter()
        .map(|turn| {
            Message::builder()
                .role(match turn.speaker {
                    Speaker::User => ConversationRole::User,
                    Speaker::Assistant => ConversationRole::Assistant,
                })
                .set_content(Some(
                    turn.reasoning
                        .iter()
                        .cloned()
                        .chain([ContentBlock::Text(turn.text.clone())])
                        .collect(),
                ))
                .build()
                .map_err(|e| ModelError::Internal(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut inference = InferenceConfiguration::builder()
        .max_tokens(i32::try_from(plan.max_tokens).unwrap_or(i32::MAX));
    // The SDK takes f32; the values are within 0..=1, so narrowing only rounds.
    #[allow(clippy::cast_possible_truncation)]
    if let Some(t) = plan.temperature {
        inference = inference.temperature(t as f32);
    }
    #[allow(clippy::cast_possible_truncation)]
    if let Some(p) = plan.top_p {
        inference = inference.top_p(p as f32);
    }
    let output = client
        .converse()
        .model_id(model_id)
        .system(SystemContentBlock::Text(system.to_owned()))
        .set_messages(Some(messages))
        .inference_config(inference.build())
        .set_additional_model_request_fields(additional_fields(plan))
        .send()
        .instrument(crate::aws_call_span!("BedrockRuntime", "Converse"))
        .await
        .map_err(|e| classify(&e))?;

    let content = output
        .output()
        .and_then(|o| o.as_message().ok())
        .map(|m| m.content().to_vec())
        .unwrap_or_default();
    let (text, reasoning) = split_reply(content);
    // Converse's TokenUsage has input, output and total tokens (and cache figures) but no count of
    // thinking tokens (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html>,
    // checked 2026-12-07): `output_tokens` includes the thinking, and no separate figure is
    // reported, nor estimated from the reasoning text (which is empty or summarised by default).
    let usage = output
        .usage()
        .map(|u| {
            let input = u32::try_from(u.input_tokens()).unwrap_or(0);
            let out = u32::try_from(u.output_tokens()).unwrap_or(0);
            // The cache figures are absent unless the request set a cache point (the function
            // sets none); they are kept so that `cost` prices whatever Bedrock reports.
            let cache = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            Usage {
                input_tokens: input,
                output_tokens: out,
                total_tokens: u32::try_from(u.total_tokens())
                    .unwrap_or(0)
                    .max(input.saturating_add(out)),
                cache_read_input_tokens: cache(u.cache_read_input_tokens()),
                cache_write_input_tokens: cache(u.cache_write_input_tokens()),
            }
        })
        .unwrap_or_default();
    Ok(Generation {
        text,
        reasoning,
        usage,
        stop_reason: output.stop_reason().clone(),
    })
}

/// Whether the model declined to answer: Claude's `refusal` stop reason (Claude 4.5 and later;
/// the SDK has no variant for it yet, so it arrives as an unknown value), or a content filter or
/// guardrail that stopped it.
/// <https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons>
pub fn is_refusal(stop: &StopReason) -> bool {
    matches!(
        stop,
        StopReason::ContentFiltered | StopReason::GuardrailIntervened
    ) || stop.as_str() == "refusal"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_and_effort_go_into_additional_fields() {
        let plan = Plan {
            rule: Some(codegen_contract::models::SamplingRule::Fixed),
            temperature: None,
            top_p: None,
            top_k: None,
            max_tokens: 4096,
            thinking: Some(codegen_contract::models::ThinkingSetting::Adaptive),
            effort: Some(codegen_contract::models::Effort::Low),
            thinking_tokens: 2048,
            thinks: true,
            warnings: vec![],
            dropped: vec![],
        };
        let Some(Document::Object(map)) = additional_fields(&plan) else {
            panic!("expected an object")
        };
        assert_eq!(map.len(), 2, "{map:?}");
        assert_eq!(
            map.get("thinking"),
            Some(&Document::Object(HashMap::from([(
                "type".to_owned(),
                Document::String("adaptive".to_owned())
            )])))
        );
        assert_eq!(
            map.get("output_config"),
            Some(&Document::Object(HashMap::from([(
                "effort".to_owned(),
                Document::String("low".to_owned())
            )])))
        );
        // Nothing to send: no field at all (not an empty object).
        let nothing = Plan {
            thinking: None,
            effort: None,
            ..plan
        };
        assert_eq!(additional_fields(&nothing), None);
    }

    #[test]
    fn reasoning_never_reaches_the_text_and_is_kept_verbatim() {
        use aws_sdk_bedrockruntime::types::{ReasoningContentBlock, ReasoningTextBlock};
        let reasoning = ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock::builder()
                .text("secret plan: ```python\nprint('not the answer')\n```")
                .signature("sig-1")
                .build()
                .expect("block"),
        ));
        let (text, kept) = split_reply(vec![
            reasoning.clone(),
            ContentBlock::Text("```python\nprint(1)\n```".to_owned()),
        ]);
        assert_eq!(text, "```python\nprint(1)\n```");
        assert!(!text.contains("secret"));
        assert_eq!(kept, vec![reasoning]);
    }

    #[test]
    fn top_k_goes_into_additional_fields() {
        let plan = Plan {
            rule: None,
            temperature: Some(0.1),
            top_p: None,
            top_k: Some(250),
            max_tokens: 10,
            thinking: None,
            effort: None,
            thinking_tokens: 0,
            thinks: false,
            warnings: vec![],
            dropped: vec![],
        };
        let doc = additional_fields(&plan).expect("present");
        let Document::Object(map) = doc else {
            panic!("expected object")
        };
        assert_eq!(
            map.get("top_k"),
            Some(&Document::Number(Number::PosInt(250)))
        );
        assert_eq!(map.len(), 1);
        assert_eq!(
            additional_fields(&Plan {
                top_k: None,
                ..plan
            }),
            None
        );
    }
}
