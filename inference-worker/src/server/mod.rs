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

mod admin;
mod chat_template;
mod sse;
mod types;
mod validate;

pub use chat_template::ChatTemplate;
pub use types::ApiError;

use crate::{
    engine::{EngineHandle, Event, Job},
    error::Error,
    lora::LoraWeights,
    metrics::Metrics,
    model::Model,
    store::{is_adapter_id, AdapterStore},
};
use admin::{
    adapter_action, adapter_status, health, import_adapter, list_adapters, metrics, models,
};
use axum::{
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{sse::Sse, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use provena_attribution::ModelTokenizer;
use serde_json::{json, Value};
use sse::sse_stream;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::sync::mpsc::unbounded_channel;
use types::{
    ChatRequest, Common, CompletionRequest, Kind, MessageContent, Meta, RagRequest, Record, Usage,
};
use validate::{parse_json, parse_value, validate, Valid};

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
