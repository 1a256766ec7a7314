//! A Bedrock Runtime test double that behaves like the real service for the one API the function
//! uses (Converse), reached by the function through the SDK's own service-specific endpoint
//! variable (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, set by an emulator stage's `bedrock_endpoint`), so
//! ministack's Lambda sends Bedrock calls here and everything else to ministack.
//!
//! What makes it worth having: it is at least as strict as Bedrock. It refuses what Bedrock
//! refuses, with Bedrock's error shapes (status, `x-amzn-ErrorType`, `{"message": ...}`):
//! - a model id Bedrock would not serve: unknown, retired, a base id that needs an inference
//!   profile, a profile the model has not got ("The provided model identifier is invalid.",
//!   "Invocation of model ID ... with on-demand throughput isn't supported ...");
//! - sampling parameters the model's class rejects, by the catalogue's documented rules
//!   (`codegen_contract::models`), and values out of range;
//! - `maxTokens` above the model's output limit ("The maximum tokens you requested exceeds the
//!   model limit of N ...");
//! - unknown `additionalModelRequestFields` keys, and `thinking` / `output_config` values the
//!   model refuses: `thinking.type` `disabled` on the models that always think, any thinking
//!   setting on models without adaptive thinking, manual `enabled` thinking on the adaptive-only
//!   models (Bedrock "Adaptive thinking", quoting the 400's message), an effort the catalogue row
//!   does not list, an effort above `high` with thinking off ("When extended thinking is
//!   disabled, the effort level is capped at high", Converse `OutputConfig`);
//! - a Legacy model for an account flagged new (`Behaviour::new_account`: "Access denied. This
//!   Model is marked by provider as Legacy and you have not been actively using the model in the
//!   last 30 days ...", a ResourceNotFoundException, as reported in awslabs/llmeter#35), and a
//!   model that needs the data-retention mode `provider_data_share` for an account without it
//!   ("data retention mode 'default' is not available for this model", Bedrock "Data
//!   retention");
//! - a reasoning block passed back with a signature the double did not give for that model
//!   (the 5.5 models bind thinking blocks to the model and conversation that produced them);
//! - a conversation that does not alternate user and assistant turns, or does not end with the
//!   user ("A conversation must alternate between user and assistant roles...", Bedrock's
//!   ValidationException as reported in langchain-ai/langchain-aws#130 and
//!   microsoft/semantic-kernel#10281), and empty turns.
//!
//! A model that thinks on the request answers like the 5.x models on Bedrock: a `reasoningContent`
//! block (empty text, as with the default `display: omitted`, and a signature) before the text,
//! thinking tokens by effort counted toward `maxTokens` (so a small budget cuts the answer, or
//! leaves no text at all), and `usage.outputTokens` that includes them (Converse reports no
//! separate figure). The thinking amounts per effort are the double's own ([`thinking_tokens`]);
//! no published figure exists.
//!
//! It paces its answer like a model: time to first token plus output tokens at a rate (Converse is
//! not streamed, so the whole answer arrives at the end), and it can answer realistic replies
//! (prose around a fenced block, several blocks, a reply cut at `max_tokens`, a refusal) or inject
//! errors (429 throttling, 503, 529 overloaded). Models the catalogue does not know are refused
//! unless the test allows them, and then get the strictest rules (no sampling parameter at all).
//!
//! A hand-written HTTP/1.1 server on tokio (keep-alive, `Content-Length` bodies: what the SDK
//! sends), listening on 127.0.0.1 only, stopped on drop.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use codegen_contract::models::{
    self, Effort, Lifecycle, ModelSpec, Prerequisite, SamplingRule, ThinkingClass,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How fast the double "generates".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Time before the first token.
    pub first_token: Duration,
    /// Output tokens per second after that.
    pub tokens_per_second: f64,
}

impl Pacing {
    /// Instant answers, for tests about what is sent rather than how long it takes.
    pub const INSTANT: Self = Self {
        first_token: Duration::ZERO,
        tokens_per_second: f64::INFINITY,
    };
    /// Roughly what a current Claude Sonnet does on Bedrock: about 1.8 s to the first token and 50
    /// output tokens per second (third-party measurements put Sonnet 4.x at 40-120 tokens/s; no
    /// official figure is published, so the slower end is used).
    pub const SONNET: Self = Self {
        first_token: Duration::from_millis(1800),
        tokens_per_second: 50.0,
    };

    /// How long an answer of `tokens` output tokens takes.
    pub fn duration(&self, tokens: u32) -> Duration {
        let generate = if self.tokens_per_second.is_finite() && self.tokens_per_second > 0.0 {
            Duration::from_secs_f64(f64::from(tokens) / self.tokens_per_second)
        } else {
            Duration::ZERO
        };
        self.first_token + generate
    }
}

/// What the model "says".
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A sentence, a fenced block of code in the request's language of about `tokens` output
    /// tokens, and a closing sentence. Cut (unclosed fence, `max_tokens` stop reason) when
    /// `tokens` exceeds the request's maxTokens.
    Code {
        /// Output tokens of the whole reply.
        tokens: u32,
    },
    /// Prose, then two fenced blocks (the first one is the answer).
    SeveralBlocks,
    /// Claude declining (`stopReason: refusal`).
    Refusal,
    /// Code with a syntax error (an unclosed parenthesis) in a conversation's first turn; valid
    /// code when the conversation is a follow-up (three turns or more) that names the errors.
    BrokenThenFixed,
    /// Code with a syntax error, whatever the turn.
    AlwaysBroken,
}

/// An error answer, as Bedrock sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// HTTP status.
    pub status: u16,
    /// Exception name for `x-amzn-ErrorType` (none: Anthropic's unmodeled 529).
    pub error_type: Option<&'static str>,
    /// The body's message.
    pub message: String,
}

impl Fault {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            error_type: Some("ValidationException"),
            message: message.into(),
        }
    }

    /// 429 ThrottlingException.
    pub fn throttling() -> Self {
        Self {
            status: 429,
            error_type: Some("ThrottlingException"),
            message: "Too many requests, please wait before trying again.".into(),
        }
    }

    /// 503 ServiceUnavailableException.
    pub fn unavailable() -> Self {
        Self {
            status: 503,
            error_type: Some("ServiceUnavailableException"),
            message: "Too many connections, please wait before trying again.".into(),
        }
    }

    /// Anthropic's `overloaded_error`, HTTP 529, which Bedrock does not model.
    pub fn overloaded() -> Self {
        Self {
            status: 529,
            error_type: None,
            message: "Overloaded".into(),
        }
    }
}

/// What the double is told to do.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Pacing of successful answers.
    pub pacing: Pacing,
    /// The reply.
    pub reply: Reply,
    /// Errors answered before any reply, one per request, in order.
    pub faults: VecDeque<Fault>,
    /// Serve model ids the catalogue does not know (with the strictest rules) instead of
    /// refusing them as an unknown id.
    pub allow_unknown_models: bool,
    /// The region the double pretends to be (profiles are checked against it).
    pub region: String,
    /// The account has not used any model recently: Legacy models are refused to it.
    pub new_account: bool,
    /// The account's data-retention mode is `provider_data_share` (Fable and Mythos need it).
    pub provider_data_share: bool,
    /// Thinking tokens the model spends, instead of the double's amount for the effort.
    pub thinking_tokens: Option<u32>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            pacing: Pacing::INSTANT,
            reply: Reply::Code { tokens: 60 },
            faults: VecDeque::new(),
            allow_unknown_models: false,
            region: "us-east-1".into(),
            new_account: false,
            provider_data_share: false,
            thinking_tokens: None,
        }
    }
}

/// One request the double answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The model id from the path (URL-decoded).
    pub model_id: String,
    /// The request body.
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// The error message answered, if any.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    behaviour: Behaviour,
    seen: Vec<Seen>,
    received: usize,
}

/// A running double.
pub struct BedrockDouble {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl BedrockDouble {
    /// Starts the double on a free loopback port, on the current tokio runtime.
    pub async fn start(behaviour: Behaviour) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("no free loopback port for the Bedrock double")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State {
            behaviour,
            seen: Vec::new(),
            received: 0,
        }));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
        });
        Ok(Self {
            endpoint,
            state,
            server,
        })
    }

    /// Changes what the double does from the next request on.
    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        if let Ok(mut s) = self.state.lock() {
            change(&mut s.behaviour);
        }
    }

    /// How many requests arrived so far, answered or still being paced.
    pub fn received(&self) -> usize {
        self.state.lock().map(|s| s.received).unwrap_or_default()
    }

    /// Every request answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .lock()
            .map(|s| s.seen.clone())
            .unwrap_or_default()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.seen.clear();
        }
    }
}

impl Drop for BedrockDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let Ok(Some(request)) = read_request(&mut reader).await else {
            return;
        };
        let (status, error_type, body) = answer(&request, &state).await;
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-amzn-requestid: double-{}\r\n",
            reason(status),
            body.len(),
            std::process::id()
        );
        if let Some(t) = error_type {
            head.push_str(&format!(
                "x-amzn-errortype: {t}:http://internal.amazon.com/coral/com.amazon.bedrock/\r\n"
            ));
        }
        head.push_str("\r\n");
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> anyhow::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().context("bad content-length")?;
        }
    }
    anyhow::ensure!(length <= 10 * 1024 * 1024, "body too large");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Some(Request { method, path, body }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// `/model/{modelId}/converse`, modelId percent-decoded.
fn model_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/model/")?;
    let encoded = rest.strip_suffix("/converse")?;
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn answer(
    request: &Request,
    state: &Arc<Mutex<State>>,
) -> (u16, Option<&'static str>, String) {
    let model_id = model_from_path(&request.path).unwrap_or_default();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let (behaviour, fault) = {
        let Ok(mut s) = state.lock() else {
            return (
                500,
                Some("InternalServerException"),
                r#"{"message":"poisoned"}"#.into(),
            );
        };
        s.received += 1;
        let fault = s.behaviour.faults.pop_front();
        (s.behaviour.clone(), fault)
    };
    let outcome = if request.method != "POST" || model_id.is_empty() {
        Err(Fault {
            status: 404,
            error_type: Some("UnknownOperationException"),
            message: format!(
                "{} {} is not an operation of this double",
                request.method, request.path
            ),
        })
    } else if let Some(fault) = fault {
        Err(fault)
    } else {
        validate(&model_id, &body, &behaviour)
    };
    let result = match outcome {
        Ok(limits) => {
            let thinking = limits.thinking.map(|e| {
                behaviour
                    .thinking_tokens
                    .unwrap_or_else(|| thinking_tokens(e))
            });
            let reply = reply(
                &behaviour.reply,
                &body,
                limits.max_tokens,
                thinking.map(|t| (t, signature(&model_id))),
            );
            tokio::time::sleep(behaviour.pacing.duration(reply.output_tokens)).await;
            (200, None, reply.json.to_string())
        }
        Err(f) => (
            f.status,
            f.error_type,
            json!({ "message": f.message }).to_string(),
        ),
    };
    if let Ok(mut s) = state.lock() {
        s.seen.push(Seen {
            model_id,
            body,
            status: result.0,
            error: (result.0 != 200).then(|| result.2.clone()),
        });
    }
    result
}

struct Limits {
    max_tokens: u32,
    /// The effort the model thinks at on this request (`None`: it does not think).
    thinking: Option<Effort>,
}

/// The double's own thinking amounts per effort (output tokens). No figure is published; these
/// only need to grow with the effort and to exceed a small budget at the high end.
pub fn thinking_tokens(effort: Effort) -> u32 {
    match effort {
        Effort::Low => 300,
        Effort::Medium => 1_200,
        Effort::High => 4_000,
        Effort::XHigh => 8_000,
        Effort::Max => 16_000,
    }
}

/// The signature the double gives a reasoning block of `model_id`'s base model, and checks when
/// one comes back.
pub fn signature(model_id: &str) -> String {
    format!("double-signature:{}", models::resolve(model_id).base_id)
}

/// What the request asks of thinking, checked against the model: the effort it thinks at, or
/// `None` when it does not think. `spec` `None`: a model the catalogue does not know, which is
/// sent nothing about thinking by a correct caller.
fn check_thinking(
    spec: Option<&ModelSpec>,
    thinking: Option<&Value>,
    output_config: Option<&Value>,
    max_tokens: u32,
) -> Result<Option<Effort>, Fault> {
    const ADAPTIVE_ONLY: &str = "is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.";
    let class = spec.map_or(ThinkingClass::None, |s| s.thinking);
    let kind = match thinking {
        None => None,
        Some(t) => {
            let obj = t
                .as_object()
                .ok_or_else(|| Fault::validation("thinking: Input should be an object"))?;
            if let Some(k) = obj
                .keys()
                .find(|k| !["type", "budget_tokens", "display"].contains(&k.as_str()))
            {
                return Err(Fault::validation(format!(
                    "thinking.{k}: Extra inputs are not permitted"
                )));
            }
            Some(
                obj.get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Fault::validation("thinking.type: Field required"))?,
            )
        }
    };
    let thinks = match kind {
        None => class.thinks_by_default(),
        Some("adaptive") if class.takes_adaptive() => true,
        Some("disabled") if class.takes_disabled() => false,
        Some(k @ ("disabled" | "enabled")) if class.thinks_by_default() => {
            return Err(Fault::validation(format!(
                "\"thinking.type.{k}\" {ADAPTIVE_ONLY}"
            )));
        }
        Some("enabled") if class == ThinkingClass::Optional => {
            // Deprecated on Opus 4.6 and Sonnet 4.6 but accepted, with a budget below maxTokens.
            let budget = thinking
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    Fault::validation("thinking.enabled.budget_tokens: Field required")
                })?;
            if budget < 1024 || budget >= u64::from(max_tokens) {
                return Err(Fault::validation(
                    "`max_tokens` must be greater than `thinking.budget_tokens`, which must be at least 1024",
                ));
            }
            true
        }
        Some(k) => {
            return Err(Fault::validation(format!(
                "thinking.type: `{k}` is not supported for this model"
            )));
        }
    };
    let effort = match output_config {
        None => None,
        Some(c) => {
            let obj = c
                .as_object()
                .ok_or_else(|| Fault::validation("output_config: Input should be an object"))?;
            if let Some(k) = obj.keys().find(|k| k.as_str() != "effort") {
                return Err(Fault::validation(format!(
                    "output_config.{k}: Extra inputs are not permitted"
                )));
            }
            let word = obj
                .get("effort")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let effort = Effort::parse(word)
                .filter(|e| spec.is_some_and(|s| s.takes_effort(*e)))
                .ok_or_else(|| {
                    Fault::validation(format!(
                        "output_config.effort: `{word}` is not supported for this model"
                    ))
                })?;
            if !thinks && effort > Effort::High {
                return Err(Fault::validation(
                    "output_config.effort: when thinking is disabled, the effort level is capped at high",
                ));
            }
            Some(effort)
        }
    };
    Ok(thinks.then(|| {
        effort
            .or_else(|| spec.and_then(|s| s.default_effort))
            .unwrap_or(Effort::High)
    }))
}

/// Bedrock's checks, in the order it applies them: the model id, the request shape, the model's
/// sampling rules, the output limit.
fn validate(model_id: &str, body: &Value, behaviour: &Behaviour) -> Result<Limits, Fault> {
    const INVALID_ID: &str = "The provided model identifier is invalid.";
    let resolved = models::resolve(model_id);
    let spec = resolved.spec;
    let (rule, limit) = match resolved.spec {
        Some(spec) => {
            if matches!(spec.lifecycle, Lifecycle::Retired { .. }) {
                return Err(Fault::validation(INVALID_ID));
            }
            if matches!(spec.lifecycle, Lifecycle::Legacy { .. }) && behaviour.new_account {
                return Err(Fault {
                    status: 404,
                    error_type: Some("ResourceNotFoundException"),
                    message: "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days. Please upgrade to an active model on Amazon Bedrock".into(),
                });
            }
            if spec.prerequisites.contains(&Prerequisite::DataRetention)
                && !behaviour.provider_data_share
            {
                return Err(Fault::validation(
                    "data retention mode 'default' is not available for this model",
                ));
            }
            match resolved.prefix {
                None if !spec.on_demand => {
                    return Err(Fault::validation(format!(
                        "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."
                    )));
                }
                None => {}
                Some(_) => {
                    let serves_here = resolved
                        .profile()
                        .is_some_and(|p| p.destinations(&behaviour.region).is_some());
                    if !serves_here {
                        return Err(Fault::validation(INVALID_ID));
                    }
                }
            }
            (Some(spec.sampling), spec.max_output_tokens)
        }
        None if behaviour.allow_unknown_models => (None, 4096),
        None => return Err(Fault::validation(INVALID_ID)),
    };

    let messages = body["messages"].as_array().filter(|m| !m.is_empty());
    let Some(messages) = messages else {
        return Err(Fault::validation(
            "messages: at least one message is required",
        ));
    };
    if messages[0]["role"] != "user" {
        return Err(Fault::validation(
            "A conversation must start with a user message.",
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if m["role"] != expected || messages.len() % 2 == 0 {
            return Err(Fault::validation(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            ));
        }
        let blocks = m["content"].as_array().filter(|c| !c.is_empty());
        // An assistant turn may start with the reasoning blocks of the answer it repeats; they
        // must come back as given (the signature the double gave for this model).
        let reasoning = if expected == "assistant" {
            blocks.map_or(0, |b| {
                b.iter()
                    .take_while(|b| b.get("reasoningContent").is_some())
                    .count()
            })
        } else {
            0
        };
        for block in blocks.into_iter().flatten().take(reasoning) {
            let given = block["reasoningContent"]["reasoningText"]["signature"].as_str();
            if given != Some(signature(model_id).as_str()) {
                return Err(Fault::validation(format!(
                    "messages.{i}.content: Invalid `signature` in `thinking` block"
                )));
            }
        }
        let non_empty = blocks.is_some_and(|blocks| {
            blocks.len() > reasoning
                && blocks
                    .iter()
                    .skip(reasoning)
                    .all(|b| b["text"].as_str().is_some_and(|t| !t.trim().is_empty()))
        });
        if !non_empty {
            // Anthropic's wording for an empty text block (quoted in crates/function/tests/handler.rs).
            return Err(Fault::validation(format!(
                "messages.{i}: text content blocks must be non-empty"
            )));
        }
    }
    let config = &body["inferenceConfig"];
    let temperature = config.get("temperature").and_then(Value::as_f64);
    let top_p = config.get("topP").and_then(Value::as_f64);
    let max_tokens = match config.get("maxTokens") {
        None => limit.min(4096),
        Some(v) => {
            let n = v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                Fault::validation("maxTokens: must be a whole number of at least 1")
            })?;
            u32::try_from(n).unwrap_or(u32::MAX)
        }
    };
    let extra = body
        .get("additionalModelRequestFields")
        .and_then(Value::as_object);
    let mut top_k = None;
    let mut thinking = None;
    let mut output_config = None;
    for (key, value) in extra.into_iter().flatten() {
        match key.as_str() {
            "top_k" => {
                top_k =
                    Some(value.as_u64().ok_or_else(|| {
                        Fault::validation("top_k: Input should be a valid integer")
                    })?);
            }
            "thinking" => thinking = Some(value),
            "output_config" => output_config = Some(value),
            _ => {
                return Err(Fault::validation(format!(
                    "Malformed input request: extraneous key [{key}] is not permitted, please reformat your input and try again."
                )));
            }
        }
    }
    if temperature.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
        return Err(Fault::validation("temperature: range: 0..1"));
    }
    if top_p.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(Fault::validation("top_p: range: 0..1"));
    }
    if top_k.is_some_and(|k| k > 500) {
        return Err(Fault::validation("top_k: range: 0..500"));
    }
    match rule {
        Some(SamplingRule::Any) => {}
        Some(SamplingRule::TemperatureXorTopP) => {
            if temperature.is_some() && top_p.is_some() {
                return Err(Fault::validation(
                    "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
                ));
            }
        }
        // Fixed sampling; an unknown model gets the same, strictest treatment: it may reject any
        // of them, so a double that accepted them would hide a function that sends them.
        Some(SamplingRule::Fixed) | None => {
            let unknown = rule.is_none();
            if temperature.is_some_and(|t| unknown || t != 1.0) {
                return Err(Fault::validation(
                    "`temperature` is deprecated for this model.",
                ));
            }
            if top_p.is_some_and(|p| unknown || p < 0.99) {
                return Err(Fault::validation("`top_p` is deprecated for this model."));
            }
            if top_k.is_some() {
                return Err(Fault::validation("`top_k` is deprecated for this model."));
            }
        }
    }
    if max_tokens > limit {
        return Err(Fault::validation(format!(
            "The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}."
        )));
    }
    let thinking = check_thinking(spec, thinking, output_config, max_tokens)?;
    // "temperature may only be set to 1 when thinking is enabled or in adaptive mode"; top_k is
    // refused with thinking, top_p allowed only from 0.95 (Anthropic's extended thinking feature
    // compatibility).
    if thinking.is_some()
        && (temperature.is_some_and(|t| t != 1.0)
            || top_k.is_some()
            || top_p.is_some_and(|p| p < 0.95))
    {
        return Err(Fault::validation(
            "temperature may only be set to 1 when thinking is enabled or in adaptive mode; top_k is not supported with thinking",
        ));
    }
    Ok(Limits {
        max_tokens,
        thinking,
    })
}

struct Generated {
    json: Value,
    output_tokens: u32,
}

/// About four characters per token, as for English text and code.
const CHARS_PER_TOKEN: usize = 4;

/// The reply to `body`. `thinking`: the thinking tokens spent and the signature of the reasoning
/// block, when the model thinks; they count toward `max_tokens` before the text does.
fn reply(
    reply: &Reply,
    body: &Value,
    max_tokens: u32,
    thinking: Option<(u32, String)>,
) -> Generated {
    let prompt = body["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    let input_tokens = u32::try_from(prompt.len() / CHARS_PER_TOKEN + 20).unwrap_or(u32::MAX);
    let fence = fence_for(prompt);
    let turns = body["messages"].as_array().map_or(0, Vec::len);
    let follow_up = turns >= 3
        && body["messages"][turns - 1]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("does not parse"));
    let (text, wanted, stop) = match reply {
        Reply::BrokenThenFixed if follow_up => (
            format!(
                "Here is the corrected code:\n\n```{fence}\n{}\n{}\n```\n",
                code_lines(fence, 3),
                fixed_line(fence)
            ),
            60,
            "end_turn",
        ),
        Reply::BrokenThenFixed | Reply::AlwaysBroken => (
            format!(
                "Here is the implementation:\n\n```{fence}\n{}\n{}\n```\n",
                code_lines(fence, 3),
                broken_line(fence)
            ),
            60,
            "end_turn",
        ),
        Reply::Refusal => ("I can't help with that request.".to_owned(), 8, "refusal"),
        Reply::SeveralBlocks => (
            format!(
                "Here is the implementation:\n\n```{fence}\n{}\n```\n\nAnd a usage example:\n\n```{fence}\n{}\n```\n",
                code_lines(fence, 4),
                code_lines(fence, 1)
            ),
            90,
            "end_turn",
        ),
        Reply::Code { tokens } => {
            let body_tokens = tokens.saturating_sub(20).max(1);
            let lines = usize::try_from(body_tokens).unwrap_or(1) * CHARS_PER_TOKEN / 20 + 1;
            (
                format!(
                    "Here is the implementation:\n\n```{fence}\n{}\n```\n\nIt handles the empty case.",
                    code_lines(fence, lines)
                ),
                *tokens,
                "end_turn",
            )
        }
    };
    let thought = thinking.as_ref().map_or(0, |(t, _)| (*t).min(max_tokens));
    let budget = max_tokens - thought;
    let (text, answer_tokens, stop) = if wanted > budget {
        // Cut where the budget ends: the fence stays open, as a real truncated reply's does.
        let keep = usize::try_from(budget).unwrap_or(usize::MAX) * CHARS_PER_TOKEN;
        let cut: String = text.chars().take(keep).collect();
        (cut, budget, "max_tokens")
    } else {
        (text, wanted, stop)
    };
    let output_tokens = thought + answer_tokens;
    let mut content = Vec::new();
    if let Some((_, signature)) = &thinking {
        content.push(json!({ "reasoningContent": { "reasoningText": { "text": "", "signature": signature } } }));
    }
    if !text.is_empty() {
        content.push(json!({ "text": text }));
    }
    Generated {
        output_tokens,
        json: json!({
            "output": { "message": { "role": "assistant", "content": content } },
            "stopReason": stop,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens
            },
            "metrics": { "latencyMs": 0 }
        }),
    }
}

/// The fence tag for the language the prompt asks for (the function's prompt names it).
fn fence_for(prompt: &str) -> &'static str {
    let p = prompt.to_ascii_lowercase();
    if p.contains("rust") {
        "rust"
    } else if p.contains("typescript") {
        "typescript"
    } else if p.contains("go ") || p.contains("golang") {
        "go"
    } else {
        "python"
    }
}

/// A line with an unclosed parenthesis in the fence's language: a syntax error on line 4 of the
/// code block [`Reply::BrokenThenFixed`] answers first.
pub fn broken_line(fence: &str) -> &'static str {
    match fence {
        "rust" => "let total = (value_0 + value_1;",
        "typescript" => "const total = (value0 + value1;",
        "go" => "total := (value0 + value1",
        _ => "total = (value_0 + value_1",
    }
}

/// The same line, fixed.
pub fn fixed_line(fence: &str) -> &'static str {
    match fence {
        "rust" => "let total = value_0 + value_1;",
        "typescript" => "const total = value0 + value1;",
        "go" => "total := value0 + value1",
        _ => "total = value_0 + value_1",
    }
}

/// `n` lines of syntactically plain code in the fence's language (about 20 characters each).
fn code_lines(fence: &str, n: usize) -> String {
    (0..n)
        .map(|i| match fence {
            "rust" => format!("let value_{i} = {i};"),
            "typescript" => format!("const value{i} = {i};"),
            "go" => format!("value{i} := {i}"),
            _ => format!("value_{i} = {i}  # step"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: &str, inference: Value, extra: Option<Value>) -> (String, Value) {
        let mut body = json!({
            "messages": [{ "role": "user", "content": [{ "text": "Write python code" }] }],
            "inferenceConfig": inference,
        });
        if let Some(e) = extra {
            body["additionalModelRequestFields"] = e;
        }
        (model.to_owned(), body)
    }

    fn check(model: &str, inference: Value, extra: Option<Value>) -> Result<u32, String> {
        let (m, body) = request(model, inference, extra);
        validate(&m, &body, &Behaviour::default())
            .map(|l| l.max_tokens)
            .map_err(|f| f.message)
    }

    fn check_with(
        model: &str,
        extra: Option<Value>,
        change: impl FnOnce(&mut Behaviour),
    ) -> Result<(u32, Option<Effort>), String> {
        let (m, body) = request(model, json!({"maxTokens": 4096}), extra);
        let mut b = Behaviour::default();
        change(&mut b);
        validate(&m, &body, &b)
            .map(|l| (l.max_tokens, l.thinking))
            .map_err(|f| f.message)
    }

    #[test]
    fn thinking_and_effort_are_checked_like_bedrock() {
        let opus55 = "global.anthropic.claude-opus-5-5";
        // Thinks by default at its own default effort (medium); the route's effort applies.
        assert_eq!(
            check_with(opus55, None, |_| {}),
            Ok((4096, Some(Effort::Medium)))
        );
        assert_eq!(
            check_with(
                opus55,
                Some(json!({"output_config": {"effort": "low"}})),
                |_| {}
            ),
            Ok((4096, Some(Effort::Low)))
        );
        assert_eq!(
            check_with(
                opus55,
                Some(json!({"thinking": {"type": "adaptive"}})),
                |_| {}
            )
            .map(|r| r.1),
            Ok(Some(Effort::Medium))
        );
        // Refused: disabled and manual thinking on an always-thinking model (Bedrock's words),
        // an unknown effort, an unknown key.
        let e = check_with(
            opus55,
            Some(json!({"thinking": {"type": "disabled"}})),
            |_| {},
        )
        .expect_err("always on");
        assert!(
            e.contains("\"thinking.type.disabled\" is not supported"),
            "{e}"
        );
        let e = check_with(
            opus55,
            Some(json!({"thinking": {"type": "enabled", "budget_tokens": 2000}})),
            |_| {},
        )
        .expect_err("adaptive only");
        assert!(e.contains("thinking.type.enabled"), "{e}");
        assert!(
            check_with(
                opus55,
                Some(json!({"output_config": {"effort": "extreme"}})),
                |_| {}
            )
            .is_err()
        );
        assert!(
            check_with(
                opus55,
                Some(json!({"output_config": {"effort": "low", "x": 1}})),
                |_| {}
            )
            .is_err()
        );
        // Opus 5 may turn thinking off, with the effort capped at high.
        let opus5 = "us.anthropic.claude-opus-5";
        assert_eq!(
            check_with(
                opus5,
                Some(json!({"thinking": {"type": "disabled"}})),
                |_| {}
            ),
            Ok((4096, None))
        );
        assert!(
            check_with(
                opus5,
                Some(json!({"thinking": {"type": "disabled"}, "output_config": {"effort": "max"}})),
                |_| {}
            )
            .is_err()
        );
        // Sonnet 4.6 thinks only when asked; Haiku 4.5 takes no adaptive thinking at all.
        let sonnet46 = "us.anthropic.claude-sonnet-4-6";
        assert_eq!(check_with(sonnet46, None, |_| {}), Ok((4096, None)));
        assert_eq!(
            check_with(
                sonnet46,
                Some(json!({"thinking": {"type": "adaptive"}})),
                |_| {}
            ),
            Ok((4096, Some(Effort::High)))
        );
        let (m, body) = request(
            sonnet46,
            json!({"maxTokens": 4096, "temperature": 0.1}),
            Some(json!({"thinking": {"type": "adaptive"}})),
        );
        let e = validate(&m, &body, &Behaviour::default())
            .err()
            .expect("no sampling");
        assert!(
            e.message.contains("temperature may only be set to 1"),
            "{}",
            e.message
        );
        assert!(
            check_with(
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                Some(json!({"thinking": {"type": "adaptive"}})),
                |_| {}
            )
            .is_err()
        );
        // Effort levels the row does not list (Fable 5's card lists none).
        assert!(
            check_with(
                "us.anthropic.claude-fable-5",
                Some(json!({"output_config": {"effort": "max"}})),
                |b| b.provider_data_share = true
            )
            .is_err()
        );
    }

    #[test]
    fn account_refusals_and_output_limits() {
        // Fable needs the data-retention mode; a negative control with it set.
        let e = check_with("us.anthropic.claude-fable-5", None, |_| {}).expect_err("retention");
        assert!(e.contains("data retention mode 'default'"), "{e}");
        assert!(
            check_with("us.anthropic.claude-fable-5", None, |b| b
                .provider_data_share =
                true)
            .is_ok()
        );
        // A Legacy model, for an account flagged new; served to one that has used it.
        let sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        let (m, body) = request(sonnet45, json!({"maxTokens": 100}), None);
        let fault = validate(
            &m,
            &body,
            &Behaviour {
                new_account: true,
                ..Behaviour::default()
            },
        )
        .err()
        .expect("legacy");
        assert_eq!(
            (fault.status, fault.error_type),
            (404, Some("ResourceNotFoundException"))
        );
        assert!(fault.message.contains("marked by provider as Legacy"));
        assert!(check(sonnet45, json!({"maxTokens": 100}), None).is_ok());
        // 128K output on the 5.x models, and not a token more.
        let opus55 = "global.anthropic.claude-opus-5-5";
        assert!(check(opus55, json!({"maxTokens": 128_000}), None).is_ok());
        assert!(check(opus55, json!({"maxTokens": 128_001}), None).is_err());
        // No sampling fields on the 5.x models.
        assert!(check(opus55, json!({"maxTokens": 100, "temperature": 0.1}), None).is_err());
    }

    #[test]
    fn thinking_counts_toward_max_tokens() {
        let body = request("m", json!({}), None).1;
        let sig = signature("global.anthropic.claude-opus-5-5");
        // Room for both: the reasoning block first, then the whole answer.
        let r = reply(
            &Reply::Code { tokens: 200 },
            &body,
            4096,
            Some((300, sig.clone())),
        );
        let content = &r.json["output"]["message"]["content"];
        assert_eq!(
            content[0]["reasoningContent"]["reasoningText"]["signature"],
            sig.as_str()
        );
        assert!(
            content[1]["text"]
                .as_str()
                .is_some_and(|t| t.contains("```python"))
        );
        assert_eq!(
            (r.output_tokens, r.json["stopReason"].as_str()),
            (500, Some("end_turn"))
        );
        // Thinking leaves too little: the answer is cut.
        let r = reply(
            &Reply::Code { tokens: 200 },
            &body,
            400,
            Some((300, sig.clone())),
        );
        assert_eq!(r.json["stopReason"], "max_tokens");
        assert_eq!(r.output_tokens, 400);
        // Thinking takes it all: no text block at all.
        let r = reply(&Reply::Code { tokens: 200 }, &body, 1000, Some((4000, sig)));
        let content = r.json["output"]["message"]["content"]
            .as_array()
            .expect("content");
        assert_eq!(content.len(), 1);
        assert_eq!(
            (r.output_tokens, r.json["stopReason"].as_str()),
            (1000, Some("max_tokens"))
        );
    }

    #[test]
    fn reasoning_comes_back_only_as_given() {
        let opus55 = "global.anthropic.claude-opus-5-5";
        let turns = |sig: &str| {
            json!({
                "messages": [
                    { "role": "user", "content": [{ "text": "Write python code" }] },
                    { "role": "assistant", "content": [
                        { "reasoningContent": { "reasoningText": { "text": "", "signature": sig } } },
                        { "text": "```python\nx = (1\n```" }
                    ] },
                    { "role": "user", "content": [{ "text": "It does not parse" }] }
                ],
                "inferenceConfig": { "maxTokens": 4096 }
            })
        };
        let ok = validate(opus55, &turns(&signature(opus55)), &Behaviour::default());
        assert!(ok.is_ok());
        let other = signature("us.anthropic.claude-sonnet-5-5");
        let bad = validate(opus55, &turns(&other), &Behaviour::default())
            .err()
            .expect("bound to the model");
        assert!(bad.message.contains("signature"), "{}", bad.message);
    }

    #[test]
    fn rejects_what_bedrock_rejects() {
        let sonnet = "us.anthropic.claude-sonnet-4-6";
        assert!(
            check(
                sonnet,
                json!({"maxTokens": 100, "temperature": 0.1}),
                Some(json!({"top_k": 250}))
            )
            .is_ok()
        );
        let both = check(
            sonnet,
            json!({"maxTokens": 100, "temperature": 0.1, "topP": 0.2}),
            None,
        );
        assert!(both.expect_err("xor").contains("cannot both be specified"));
        let opus = "global.anthropic.claude-opus-4-8";
        assert!(check(opus, json!({"maxTokens": 100}), None).is_ok());
        let t = check(opus, json!({"maxTokens": 100, "temperature": 0.1}), None);
        assert!(
            t.expect_err("fixed")
                .contains("`temperature` is deprecated")
        );
        let k = check(opus, json!({"maxTokens": 100}), Some(json!({"top_k": 5})));
        assert!(k.expect_err("fixed").contains("`top_k` is deprecated"));
        let limit = check(
            "us.anthropic.claude-opus-4-1-20250805-v1:0",
            json!({"maxTokens": 40000}),
            None,
        );
        assert!(limit.expect_err("limit").contains("model limit of 32000"));
        for bad in [
            "anthropic.claude-sonnet-4-6",
            "apac.anthropic.claude-sonnet-4-6",
            "us.anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic.claude-mystery",
        ] {
            assert!(
                check(bad, json!({"maxTokens": 100}), None).is_err(),
                "{bad}"
            );
        }
        let extra = check(sonnet, json!({"maxTokens": 100}), Some(json!({"topK": 5})));
        assert!(extra.expect_err("key").contains("extraneous key [topK]"));
    }

    #[test]
    fn conversations_must_alternate_and_end_with_the_user() {
        let turn = |role: &str| json!({ "role": role, "content": [{ "text": "x" }] });
        let body = |messages: Vec<Value>| json!({ "messages": messages, "inferenceConfig": { "maxTokens": 100 } });
        let model = "us.anthropic.claude-sonnet-4-6";
        let behaviour = Behaviour::default();
        let ok = body(vec![turn("user"), turn("assistant"), turn("user")]);
        assert!(validate(model, &ok, &behaviour).is_ok());
        for bad in [
            vec![turn("user"), turn("user")],
            vec![turn("user"), turn("assistant")],
            vec![turn("user"), turn("assistant"), turn("assistant")],
        ] {
            let e = validate(model, &body(bad), &behaviour)
                .err()
                .expect("refused");
            assert!(e.message.contains("must alternate"), "{}", e.message);
        }
        let empty = body(vec![
            json!({ "role": "user", "content": [{ "text": " " }] }),
        ]);
        assert!(validate(model, &empty, &behaviour).is_err());
    }

    #[test]
    fn broken_then_fixed_answers_by_turn() {
        let first = json!({ "messages": [
            { "role": "user", "content": [{ "text": "Write Python 3 code" }] }
        ] });
        let r = reply(&Reply::BrokenThenFixed, &first, 4096, None);
        let text = r.json["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(text.contains(broken_line("python")), "{text}");
        let follow_up = json!({ "messages": [
            { "role": "user", "content": [{ "text": "Write Python 3 code" }] },
            { "role": "assistant", "content": [{ "text": text }] },
            { "role": "user", "content": [{ "text": "The code in your answer does not parse as Python 3." }] }
        ] });
        let r = reply(&Reply::BrokenThenFixed, &follow_up, 4096, None);
        let fixed = r.json["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            fixed.contains(fixed_line("python")) && !fixed.contains(broken_line("python")),
            "{fixed}"
        );
        let r = reply(&Reply::AlwaysBroken, &follow_up, 4096, None);
        let still = r.json["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(still.contains(broken_line("python")), "{still}");
    }

    #[test]
    fn unknown_models_get_the_strictest_rules_when_allowed() {
        let behaviour = Behaviour {
            allow_unknown_models: true,
            ..Behaviour::default()
        };
        let (m, ok) = request("anthropic.claude-mystery", json!({"maxTokens": 100}), None);
        assert!(validate(&m, &ok, &behaviour).is_ok());
        let (m, bad) = request(
            "anthropic.claude-mystery",
            json!({"maxTokens": 100, "temperature": 0.5}),
            None,
        );
        assert!(validate(&m, &bad, &behaviour).is_err());
    }

    #[test]
    fn paths_are_decoded_and_replies_cut_at_max_tokens() {
        assert_eq!(
            model_from_path("/model/us.anthropic.claude-opus-4-6-v1%3A0/converse").as_deref(),
            Some("us.anthropic.claude-opus-4-6-v1:0")
        );
        let (_, body) = request("m", json!({}), None);
        let r = reply(&Reply::Code { tokens: 2048 }, &body, 100, None);
        assert_eq!(r.output_tokens, 100);
        assert_eq!(r.json["stopReason"], "max_tokens");
        let r = reply(&Reply::Code { tokens: 2048 }, &body, 4096, None);
        assert_eq!(r.json["stopReason"], "end_turn");
        let text = r.json["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        let tokens = text.len() / CHARS_PER_TOKEN;
        assert!(
            (1500..2600).contains(&tokens),
            "{tokens} tokens of text for 2048"
        );
        assert_eq!(
            Pacing::SONNET.duration(2048).as_secs(),
            42,
            "1.8 s + 2048 tokens at 50/s"
        );
    }
}
