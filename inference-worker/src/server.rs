//! The OpenAI-compatible HTTP API (axum).
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v1/completions`, `POST /v1/chat/completions` | generation; `stream: true` streams SSE chunks |
//! | `GET /v1/models` | the base model and every adapter in the store |
//! | `GET /v1/adapters`, `POST /v1/adapters` (`{"path"}` import) | the store |
//! | `POST /v1/adapters/{id}/load|unload|pin|unpin` | tiers |
//! | `GET /health`, `GET /metrics` | liveness, Prometheus |
//!
//! `model` is the base (its name, its hash or `base`) or an adapter id. A request may instead
//! mix adapters: `"adapters": [{"id": .., "weight": ..}]` (computed as one adapter of
//! concatenated rank). Every response carries `usage` and a `provena` record — request id,
//! base and adapter hashes, token counts — that an operator turns into an on-chain receipt.
//!
//! Errors use OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`): malformed
//! JSON → 400; unknown model or adapter → 404; a field out of its domain or a prompt over the
//! context → 422 naming the field; a refused (corrupt) adapter → 422; queue full → 429.

use crate::{
    engine::{EngineHandle, Event, FinishReason, Job, Sampling},
    error::Error,
    lora::LoraWeights,
    metrics::Metrics,
    model::Model,
    store::{is_adapter_id, AdapterStore},
};
use axum::{
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{header, StatusCode},
    response::{
        sse::{Event as SseEvent, Sse},
        IntoResponse, Response,
    },
    routing::{get, post},
    Json, Router,
};
use futures::{Stream, StreamExt};
use provena_attribution::ModelTokenizer;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{json, Value};
use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::sync::mpsc::unbounded_channel;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// Shared state of the handlers.
pub struct AppState {
    pub model: Arc<Model>,
    pub tokenizer: Arc<ModelTokenizer>,
    pub store: Arc<AdapterStore>,
    pub engine: EngineHandle,
    pub metrics: Arc<Metrics>,
    pub template: ChatTemplate,
    pub started: Instant,
    pub counter: AtomicU64,
    /// The suffix-array index of the datanet snapshot answers are attributed to, if any.
    pub attribution: Option<Arc<provena_attribution::Index>>,
    /// The datanet whose passages `rag` requests retrieve from, if any.
    pub rag: Option<RagSource>,
}

/// A datanet snapshot served for retrieval.
pub struct RagSource {
    /// The datanet id requests name.
    pub datanet: String,
    pub retriever: provena_attribution::rag::Retriever,
}

#[derive(Deserialize, Debug)]
struct RagRequest {
    /// The datanet id (a number or a string).
    datanet: Value,
    top_k: Option<usize>,
}

/// The router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/v1/adapters", get(list_adapters).post(import_adapter))
        .route("/v1/adapters/{id}", get(adapter_status))
        .route("/v1/adapters/{id}/{action}", post(adapter_action))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", None, "no such route")
        })
        .with_state(state)
}

/// An error response in OpenAI's shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    param: Option<String>,
    message: String,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        param: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self { status, kind, param, message: message.into() }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::NotFound { what: "datanet", .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", Some("rag.datanet".into()), message)
            }
            Error::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", Some("model".into()), message)
            }
            Error::Invalid { param, .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                Some(param),
                message,
            ),
            Error::Overloaded { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", None, message)
            }
            Error::AdapterRefused { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "adapter_refused",
                Some("model".into()),
                message,
            ),
            Error::Io { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error", None, message)
            }
            Error::EngineStopped => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", None, message)
            }
            Error::Model(_) | Error::Tensor(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.status.as_u16(),
        }});
        (self.status, Json(body)).into_response()
    }
}

/// Parses a JSON body: 400 for bad JSON, 422 naming the field for a wrong shape.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    parse_value(&parse_json(body)?)
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", None, format!("malformed JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Deserializes `value` (unknown fields ignored), naming the field that does not fit.
fn parse_value<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let param = (path != ".").then(|| path.clone());
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            param,
            format!("{path}: {}", e.inner()),
        )
    })
}

/// A string or a list of strings (`stop`, `prompt`).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
struct AdapterRef {
    id: String,
    weight: f32,
}

/// Fields shared by both generation endpoints.
#[derive(Deserialize, Debug)]
struct Common {
    model: String,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    seed: Option<u64>,
    stop: Option<OneOrMany>,
    #[serde(default)]
    stream: bool,
    n: Option<u32>,
    adapters: Option<Vec<AdapterRef>>,
    /// vLLM's extension: generate exactly `max_tokens` tokens.
    #[serde(default)]
    ignore_eos: bool,
    /// Retrieval-augmented generation over a served datanet (chat only).
    rag: Option<RagRequest>,
}

// `Common` is read from the same body separately rather than `#[serde(flatten)]`ed in: a
// flattened struct loses the field path of an error.
#[derive(Deserialize, Debug)]
struct CompletionRequest {
    prompt: OneOrMany,
}

#[derive(Deserialize, Debug)]
struct ChatRequest {
    messages: Vec<ChatMessage>,
}

#[derive(Deserialize, Debug)]
struct ChatMessage {
    role: String,
    content: MessageContent,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Deserialize, Debug)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

/// The chat template of the base model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen2).
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    Llama3,
}

impl ChatTemplate {
    /// Picks the template from a GGUF's `tokenizer.chat_template` or a `tokenizer_config.json`.
    pub fn detect(template: Option<&str>) -> Self {
        match template {
            Some(t) if t.contains("<|start_header_id|>") => ChatTemplate::Llama3,
            _ => ChatTemplate::ChatMl,
        }
    }

    fn render(self, messages: &[(String, String)]) -> String {
        let mut out = String::new();
        match self {
            ChatTemplate::ChatMl => {
                for (role, content) in messages {
                    out.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
                }
                out.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Llama3 => {
                out.push_str("<|begin_of_text|>");
                for (role, content) in messages {
                    out.push_str(&format!(
                        "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>"
                    ));
                }
                out.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
        }
        out
    }
}

/// The model a request runs on, resolved.
struct Resolved {
    label: String,
    lora: Option<Arc<LoraWeights>>,
    adapters: Vec<(String, f32)>,
}

impl AppState {
    fn is_base(&self, model: &str) -> bool {
        model == "base" || model == self.model.source.name || model == self.model.source.hash
    }

    async fn resolve(self: &Arc<Self>, common: &Common) -> Result<Resolved, ApiError> {
        let mut parts: Vec<(String, f32)> = Vec::new();
        if let Some(list) = &common.adapters {
            if list.is_empty() {
                return Err(Error::invalid("adapters", "must list at least one adapter").into());
            }
            if list.len() > 8 {
                return Err(Error::invalid("adapters", "at most 8 adapters can be mixed").into());
            }
            if !self.is_base(&common.model) {
                return Err(
                    Error::invalid("model", "with `adapters`, model must name the base").into()
                );
            }
            for (i, a) in list.iter().enumerate() {
                if !a.weight.is_finite() || a.weight.abs() > 16.0 {
                    return Err(Error::invalid(
                        format!("adapters[{i}].weight"),
                        "must be finite, |weight| ≤ 16",
                    )
                    .into());
                }
                if parts.iter().any(|(id, _)| *id == a.id) {
                    return Err(Error::invalid(format!("adapters[{i}].id"), "listed twice").into());
                }
                parts.push((a.id.clone(), a.weight));
            }
        } else if !self.is_base(&common.model) {
            if !is_adapter_id(&common.model) {
                return Err(Error::NotFound { what: "model", id: common.model.clone() }.into());
            }
            parts.push((common.model.clone(), 1.0));
        }
        if parts.is_empty() {
            return Ok(Resolved { label: "base".into(), lora: None, adapters: Vec::new() });
        }
        for (id, _) in &parts {
            if !is_adapter_id(id) || !self.store.contains(id) {
                return Err(Error::NotFound { what: "adapter", id: id.clone() }.into());
            }
        }
        let state = self.clone();
        let ids = parts.clone();
        let lora = tokio::task::spawn_blocking(move || -> Result<Arc<LoraWeights>, Error> {
            let loaded: Vec<(Arc<LoraWeights>, f32)> = ids
                .iter()
                .map(|(id, w)| Ok((state.store.get(id)?, *w)))
                .collect::<Result<_, Error>>()?;
            match loaded.as_slice() {
                [(one, w)] if *w == 1.0 => Ok(one.clone()),
                _ => {
                    let refs: Vec<(&LoraWeights, f32)> =
                        loaded.iter().map(|(l, w)| (l.as_ref(), *w)).collect();
                    Ok(Arc::new(LoraWeights::mix(&refs)?))
                }
            }
        })
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
        })??;
        let label = if parts.len() == 1 {
            parts.iter().map(|p| p.0.clone()).collect()
        } else {
            "mixture".into()
        };
        Ok(Resolved { label, lora: Some(lora), adapters: parts })
    }

    fn request_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nanos = self.started.elapsed().as_nanos();
        let seed = format!("{}:{n}:{nanos}:{}", std::process::id(), self.model.source.hash);
        let h = hex::encode(provena_primitives::content_hash(seed.as_bytes()));
        format!("{prefix}-{}", h.get(..24).unwrap_or(&h))
    }
}

/// A request after validation: what the engine and the response need.
struct Valid {
    prompt: Vec<u32>,
    max_tokens: usize,
    sampling: Sampling,
    stop: Vec<String>,
    stream: bool,
    model: String,
}

fn validate(
    state: &AppState,
    common: &Common,
    prompt: &str,
    prompt_param: &str,
) -> Result<Valid, ApiError> {
    if let Some(n) = common.n {
        if n != 1 {
            return Err(Error::invalid("n", "only n = 1 is supported").into());
        }
    }
    let temperature = common.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(Error::invalid("temperature", "must be between 0 and 2").into());
    }
    let top_p = common.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(Error::invalid("top_p", "must be in (0, 1]").into());
    }
    let stop = common.stop.clone().map(OneOrMany::into_vec).unwrap_or_default();
    if stop.len() > 4 || stop.iter().any(|s| s.is_empty() || s.len() > 64) {
        return Err(
            Error::invalid("stop", "at most 4 non-empty stop sequences of ≤ 64 bytes").into()
        );
    }
    let context = state.model.config.context;
    let tokens =
        state.tokenizer.encode(prompt).map_err(|e| Error::invalid(prompt_param, e.to_string()))?;
    if tokens.is_empty() {
        return Err(Error::invalid(prompt_param, "the prompt is empty").into());
    }
    if tokens.len() >= context {
        return Err(Error::invalid(
            prompt_param,
            format!("the prompt is {} tokens; the model's context is {context}", tokens.len()),
        )
        .into());
    }
    let room = context.saturating_sub(tokens.len());
    let max_tokens =
        common.max_completion_tokens.or(common.max_tokens).unwrap_or(256.min(room as u64));
    let max_tokens = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    if max_tokens == 0 {
        return Err(Error::invalid("max_tokens", "must be at least 1").into());
    }
    if max_tokens > room {
        return Err(Error::invalid(
            "max_tokens",
            format!(
                "{} prompt tokens + {max_tokens} exceed the context of {context}",
                tokens.len()
            ),
        )
        .into());
    }
    Ok(Valid {
        prompt: tokens,
        max_tokens,
        sampling: Sampling { temperature, top_p, seed: common.seed },
        stop,
        stream: common.stream,
        model: common.model.clone(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Completion,
    Chat,
}

async fn completions(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let req: CompletionRequest = parse_value(&value)?;
    let common: Common = parse_value(&value)?;
    let prompts = req.prompt.into_vec();
    let [prompt] = prompts.as_slice() else {
        return Err(Error::invalid("prompt", "exactly one prompt per request").into());
    };
    if common.rag.is_some() {
        return Err(Error::invalid("rag", "retrieval is supported on /v1/chat/completions").into());
    }
    let valid = validate(&state, &common, prompt, "prompt")?;
    run(state, &common, valid, Kind::Completion, Vec::new()).await
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let req: ChatRequest = parse_value(&value)?;
    let common: Common = parse_value(&value)?;
    if req.messages.is_empty() {
        return Err(Error::invalid("messages", "at least one message").into());
    }
    let mut turns = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        if !matches!(m.role.as_str(), "system" | "user" | "assistant" | "developer") {
            return Err(Error::invalid(
                format!("messages[{i}].role"),
                format!("unknown role {:?}", m.role),
            )
            .into());
        }
        let text = match &m.content {
            MessageContent::Text(t) => t.clone(),
            MessageContent::Parts(parts) => {
                let mut s = String::new();
                for (j, p) in parts.iter().enumerate() {
                    match (p.kind.as_str(), &p.text) {
                        ("text", Some(t)) => s.push_str(t),
                        _ => {
                            return Err(Error::invalid(
                                format!("messages[{i}].content[{j}]"),
                                "only text parts are supported",
                            )
                            .into())
                        }
                    }
                }
                s
            }
        };
        let role = if m.role == "developer" { "system".to_string() } else { m.role.clone() };
        turns.push((role, text));
    }
    let hits = match &common.rag {
        Some(rag) => retrieve(&state, rag, &mut turns)?,
        None => Vec::new(),
    };
    let prompt = state.template.render(&turns);
    let valid = validate(&state, &common, &prompt, "messages")?;
    run(state, &common, valid, Kind::Chat, hits).await
}

/// Retrieves passages for the last user turn and puts them in a system turn first.
fn retrieve(
    state: &AppState,
    rag: &RagRequest,
    turns: &mut Vec<(String, String)>,
) -> Result<Vec<provena_attribution::rag::Hit>, ApiError> {
    let datanet = match &rag.datanet {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let source = state
        .rag
        .as_ref()
        .filter(|s| s.datanet == datanet)
        .ok_or_else(|| Error::NotFound { what: "datanet", id: datanet.clone() })?;
    let top_k = rag.top_k.unwrap_or(3);
    if !(1..=16).contains(&top_k) {
        return Err(Error::invalid("rag.top_k", "must be between 1 and 16").into());
    }
    let query = turns
        .iter()
        .rev()
        .find(|(role, _)| role == "user")
        .map(|(_, text)| text.clone())
        .ok_or_else(|| Error::invalid("messages", "retrieval needs a user message"))?;
    let hits = source.retriever.search(&query, top_k).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
    })?;
    if !hits.is_empty() {
        let mut context = String::from("Answer using these passages:\n");
        for (i, h) in hits.iter().enumerate() {
            context.push_str(&format!("[{}] {}\n", i.saturating_add(1), h.text));
        }
        turns.insert(0, ("system".to_string(), context));
    }
    Ok(hits)
}

/// Citations of the retrieved passages (which ones the answer used) and the used passages'
/// credit per contribution.
fn citations(
    state: &AppState,
    hits: &[provena_attribution::rag::Hit],
    answer: &[u32],
) -> (Vec<Value>, Vec<Value>) {
    let mut used_hits = Vec::new();
    let cited = hits
        .iter()
        .map(|h| {
            let used = provena_attribution::rag::used(&state.tokenizer, &h.text, answer).unwrap_or(false);
            if used {
                used_hits.push(h);
            }
            json!({"contribution": h.contribution, "passage": h.passage, "score": h.score, "used": used})
        })
        .collect();
    let credit = provena_attribution::rag::credit(&used_hits)
        .into_iter()
        .map(|(c, ppm)| json!({"contribution": c, "ppm": ppm}))
        .collect();
    (cited, credit)
}

#[derive(Serialize, Clone)]
struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

/// The receipt-ready record of a request.
#[derive(Serialize, Clone)]
struct Record {
    request_id: String,
    base_model: String,
    adapters: Vec<Value>,
    prompt_tokens: usize,
    completion_tokens: usize,
    /// Contribution weights and the evidence hash, when the worker has an attribution index.
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<Value>,
    /// The passages retrieved for a `rag` request, each marked used or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    citations: Vec<Value>,
    /// Parts per million per contribution for the passages the answer used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rag_credit: Vec<Value>,
}

/// The answer's attribution against the worker's index: contribution weights (ppm, top 16),
/// the datanet pool's part and the evidence hash, what the operator's receipt carries.
fn attribute(state: &AppState, prompt: &[u32], answer: &[u32]) -> Option<Value> {
    let index = state.attribution.as_ref()?;
    match provena_attribution::attribute(
        index,
        prompt,
        answer,
        &provena_attribution::Params::default(),
    ) {
        Ok(a) => Some(json!({
            "weights": a.weights.iter().map(|(c, ppm)| json!({"contribution": c, "ppm": ppm})).collect::<Vec<_>>(),
            "pool_ppm": a.pool_ppm,
            "evidence_hash": a.evidence_hash,
            "spans": a.spans.len(),
        })),
        Err(e) => Some(json!({"error": e.to_string()})),
    }
}

async fn run(
    state: Arc<AppState>,
    common: &Common,
    valid: Valid,
    kind: Kind,
    hits: Vec<provena_attribution::rag::Hit>,
) -> Result<Response, ApiError> {
    let resolved = state.resolve(common).await?;
    let (tx, rx) = unbounded_channel();
    let id = state.request_id(if kind == Kind::Chat { "chatcmpl" } else { "cmpl" });
    let request_id = id.clone();
    state.engine.submit(Job {
        label: resolved.label.clone(),
        prompt: valid.prompt.clone(),
        lora: resolved.lora.clone(),
        max_tokens: valid.max_tokens,
        sampling: valid.sampling.clone(),
        stop: valid.stop.clone(),
        ignore_eos: common.ignore_eos,
        events: tx,
        arrived: Instant::now(),
    })?;
    state.metrics.requests.with_label_values(&[resolved.label.as_str()]).inc();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let prompt_ids = valid.prompt.clone();
    let record =
        move |prompt_tokens: usize, completion_tokens: usize, tokens: &[u32], state: &AppState| {
            let (cited, rag_credit) = if tokens.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                citations(state, &hits, tokens)
            };
            Record {
                request_id: id.clone(),
                base_model: state.model.source.hash.clone(),
                adapters: resolved
                    .adapters
                    .iter()
                    .map(|(a, w)| json!({"id": a, "weight": w}))
                    .collect(),
                prompt_tokens,
                completion_tokens,
                attribution: if tokens.is_empty() {
                    None
                } else {
                    attribute(state, &prompt_ids, tokens)
                },
                citations: cited,
                rag_credit,
            }
        };
    let meta = Meta { created, model: valid.model.clone(), kind };
    if valid.stream {
        let stream = sse_stream(state, rx, meta, request_id, record);
        return Ok(Sse::new(stream).into_response());
    }
    let mut rx = rx;
    let mut text = String::new();
    loop {
        match rx.recv().await {
            Some(Event::Text(t)) => text.push_str(&t),
            Some(Event::Done { reason, prompt_tokens, completion_tokens, tokens }) => {
                let rec = record(prompt_tokens, completion_tokens, &tokens, &state);
                let usage = Usage {
                    prompt_tokens,
                    completion_tokens,
                    total_tokens: prompt_tokens.saturating_add(completion_tokens),
                };
                let choice = match kind {
                    Kind::Completion => {
                        json!({"index": 0, "text": text, "finish_reason": reason, "logprobs": null})
                    }
                    Kind::Chat => {
                        json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason, "logprobs": null})
                    }
                };
                let body = json!({
                    "id": rec.request_id,
                    "object": if kind == Kind::Chat { "chat.completion" } else { "text_completion" },
                    "created": meta.created,
                    "model": meta.model,
                    "choices": [choice],
                    "usage": usage,
                    "provena": rec,
                });
                return Ok(Json(body).into_response());
            }
            Some(Event::Failed(e)) => return Err(Error::Model(e).into()),
            None => return Err(Error::EngineStopped.into()),
        }
    }
}

struct Meta {
    created: u64,
    model: String,
    kind: Kind,
}

fn sse_stream(
    state: Arc<AppState>,
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    meta: Meta,
    id: String,
    record: impl Fn(usize, usize, &[u32], &AppState) -> Record + Send + 'static,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let object = if meta.kind == Kind::Chat { "chat.completion.chunk" } else { "text_completion" };
    let mut first = true;
    let chunk = move |choices: Value, extra: Option<(Usage, Record)>| -> SseEvent {
        let mut v = json!({"id": id, "object": object, "created": meta.created, "model": meta.model, "choices": choices});
        if let (Some((usage, rec)), Some(map)) = (extra, v.as_object_mut()) {
            map.insert("usage".into(), json!(usage));
            map.insert("provena".into(), json!(rec));
        }
        SseEvent::default().data(v.to_string())
    };
    let kind = meta.kind;
    UnboundedReceiverStream::new(rx)
        .flat_map(move |event| {
            let out: Vec<SseEvent> = match event {
                Event::Text(t) => {
                    let delta = match kind {
                        Kind::Chat if first => json!([{"index": 0, "delta": {"role": "assistant", "content": t}, "finish_reason": null}]),
                        Kind::Chat => json!([{"index": 0, "delta": {"content": t}, "finish_reason": null}]),
                        Kind::Completion => json!([{"index": 0, "text": t, "finish_reason": null, "logprobs": null}]),
                    };
                    first = false;
                    vec![chunk(delta, None)]
                }
                Event::Done { reason, prompt_tokens, completion_tokens, tokens } => {
                    let end = finish_choice(kind, reason);
                    let usage = Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens.saturating_add(completion_tokens) };
                    vec![
                        chunk(end, None),
                        chunk(json!([]), Some((usage, record(prompt_tokens, completion_tokens, &tokens, &state)))),
                        SseEvent::default().data("[DONE]"),
                    ]
                }
                Event::Failed(e) => vec![SseEvent::default()
                    .data(json!({"error": {"message": e, "type": "internal_error", "param": null, "code": 500}}).to_string())],
            };
            futures::stream::iter(out.into_iter().map(Ok))
        })
}

fn finish_choice(kind: Kind, reason: FinishReason) -> Value {
    match kind {
        Kind::Chat => json!([{"index": 0, "delta": {}, "finish_reason": reason}]),
        Kind::Completion => {
            json!([{"index": 0, "text": "", "finish_reason": reason, "logprobs": null}])
        }
    }
}

async fn models(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let mut data = vec![json!({
        "id": state.model.source.name,
        "object": "model",
        "owned_by": "provena",
        "hash": state.model.source.hash,
        "context_length": state.model.config.context,
    })];
    for a in state.store.list()? {
        data.push(json!({"id": a.id, "object": "model", "owned_by": "provena", "parent": state.model.source.name, "tier": a.tier}));
    }
    Ok(Json(json!({"object": "list", "data": data})))
}

async fn list_adapters(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"object": "list", "data": state.store.list()?})))
}

#[derive(Deserialize)]
struct ImportRequest {
    path: String,
}

async fn import_adapter(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ImportRequest = parse_body(&body)?;
    let store = state.store.clone();
    let status = tokio::task::spawn_blocking(move || {
        let id = store.import(std::path::Path::new(&req.path))?;
        store.status(&id)
    })
    .await
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
    })??;
    Ok((StatusCode::CREATED, Json(json!(status))).into_response())
}

async fn adapter_status(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.status(&id)?)))
}

async fn adapter_action(
    State(state): State<Arc<AppState>>,
    UrlPath((id, action)): UrlPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    if !is_adapter_id(&id) || !state.store.contains(&id) {
        return Err(Error::NotFound { what: "adapter", id }.into());
    }
    let store = state.store.clone();
    let status = tokio::task::spawn_blocking(move || match action.as_str() {
        "load" => store.load(&id, false),
        "pin" => store.load(&id, true),
        "unpin" => store.unpin(&id),
        "unload" => store.unload(&id),
        other => Err(Error::NotFound { what: "action", id: other.to_string() }),
    })
    .await
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
    })??;
    Ok(Json(json!(status)))
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "model": state.model.source.name,
        "base_hash": state.model.source.hash,
        "queued": state.engine.queued(),
        "uptime_s": state.started.elapsed().as_secs(),
    }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
