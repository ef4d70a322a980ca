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
mod auth;
mod chat_template;
mod fine_tuning;
mod logprobs;
mod receipt;
mod sse;
mod types;
mod validate;
mod web;

pub use auth::Access;
pub use chat_template::{ChatTemplate, TemplateMeta};
pub use types::ApiError;

use crate::{
    chain::{
        voucher::{SignedVoucher, VOUCHER_HEADER},
        Admission, AdmitError, ReceiptAttribution, Settlement,
    },
    engine::{EngineHandle, Event, FinishReason, Job},
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
    http::{HeaderMap, StatusCode},
    response::{sse::Sse, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use provena_attribution::ModelTokenizer;
use receipt::{attribute, attribution_json, citations, receipt_attribution};
use serde_json::{json, Value};
use sse::sse_stream;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use types::{
    ChatRequest, Common, CompletionRequest, Kind, MessageContent, Meta, Outcome, RagRequest,
    Record, Usage,
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
    /// The datanet that index covers: the pool's part of an attribution is paid to its reward
    /// pool (otherwise shared among the named contributions).
    pub attribution_datanet: Option<u32>,
    /// The datanet whose passages `rag` requests retrieve from, if any.
    pub rag: Option<RagSource>,
    /// Paid requests: vouchers checked, receipts recorded and settled on chain (see
    /// [`crate::chain`]); `None` serves every request unpaid.
    pub settlement: Option<Arc<Settlement>>,
    /// Who may call what (keys, the import root).
    pub access: Access,
    /// Compiles `response_format` grammars.
    pub grammars: Arc<crate::engine::Grammars>,
    /// Permits for CPU-bound request work on the blocking pool (see [`AppState::blocking`]).
    pub cpu: Arc<tokio::sync::Semaphore>,
    /// How long a stream may be idle before the server sends an SSE comment.
    pub sse_keep_alive: std::time::Duration,
    /// Fine-tuning jobs (`/v1/fine_tuning/jobs`); `None`: disabled.
    pub fine_tuning: Option<Arc<crate::train::jobs::Jobs>>,
    /// The chain node (`--chain-rpc`): fine-tuning jobs over datanet snapshots read it.
    pub chain: Option<Arc<crate::chain::rpc::Node>>,
}

/// A datanet snapshot served for retrieval.
pub struct RagSource {
    /// The datanet id requests name.
    pub datanet: String,
    pub retriever: provena_attribution::rag::Retriever,
    /// The on-chain (datanet, snapshot version) the passages come from, if known.
    pub snapshot: Option<(u32, u32)>,
}

/// The router; with `web_root`, paths no route takes are the web app's files ([`web`]).
pub fn router(state: Arc<AppState>, web_root: Option<&std::path::Path>) -> Router {
    use axum::middleware::from_fn_with_state;
    let api = Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route_layer(from_fn_with_state(state.clone(), auth::require_api_key));
    let admin = Router::new()
        .route("/v1/adapters", get(list_adapters).post(import_adapter))
        .route("/v1/adapters/{id}", get(adapter_status))
        .route("/v1/adapters/{id}/{action}", post(adapter_action))
        .route("/v1/fine_tuning/jobs", get(fine_tuning::list_jobs).post(fine_tuning::create_job))
        .route("/v1/fine_tuning/jobs/{id}", get(fine_tuning::get_job))
        .route("/v1/fine_tuning/jobs/{id}/events", get(fine_tuning::job_events))
        .route("/v1/fine_tuning/jobs/{id}/cancel", post(fine_tuning::cancel_job))
        .route_layer(from_fn_with_state(state.clone(), auth::require_admin_key));
    let routes = Router::new()
        .merge(api)
        .merge(admin)
        .route("/health", get(health))
        .route("/metrics", get(metrics));
    let routes = match web_root {
        Some(root) => web::with_web_app(routes, root),
        None => routes.fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", None, "no such route")
        }),
    };
    routes
        .layer(from_fn_with_state(state.clone(), count_responses))
        .layer(axum::middleware::from_fn(trace_request))
        .with_state(state)
}

/// Runs each request inside a span (method, path, a per-process sequence number) that the
/// engine's events for it join, and logs its status and latency.
async fn trace_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let started = Instant::now();
    let span = tracing::info_span!(
        "http",
        seq = SEQ.fetch_add(1, Ordering::Relaxed),
        method = %request.method(),
        path = %request.uri().path(),
    );
    async move {
        let response = next.run(request).await;
        tracing::info!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "answered"
        );
        response
    }
    .instrument(span)
    .await
}

/// Counts every response by status class, refusals by the auth layers and the fallback
/// included.
async fn count_responses(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let class = match response.status().as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    state.metrics.responses.with_label_values(&[class]).inc();
    response
}

/// The model a request runs on, resolved.
struct Resolved {
    label: String,
    lora: Option<Arc<LoraWeights>>,
    adapters: Vec<(String, f32)>,
}

impl AppState {
    /// Runs CPU-bound request work (tokenizing, retrieval, attribution) on the blocking pool,
    /// at most [`AppState::cpu`]'s permits at a time, so that it never stalls the async
    /// threads that serve every connection, at background priority so that it never takes a
    /// core from the engine ([`crate::os`]).
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let internal =
            |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e);
        let permit = self.cpu.clone().acquire_owned().await.map_err(|e| internal(e.to_string()))?;
        let state = self.clone();
        crate::os::spawn_background(move || {
            let out = work(&state);
            drop(permit);
            out
        })
        .await
        .map_err(|e| internal(e.to_string()))
    }

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
        let lora = crate::os::spawn_background(move || -> Result<Arc<LoraWeights>, Error> {
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
    headers: HeaderMap,
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
    let prompt = prompt.clone();
    let tokens = state
        .blocking(move |state| {
            let tokens = state.template.encode_raw(&state.tokenizer, &prompt)?;
            Ok::<_, ApiError>(tokens)
        })
        .await??;
    let mut valid = validate(&state, &common, tokens, "prompt")?;
    valid.format = response_format(&body)?;
    let paid = admit(&state, &headers, &value, &common, &valid).await?;
    run(state, &common, valid, Kind::Completion, Vec::new(), paid).await
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
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
    let rag = common.rag.clone();
    let (hits, tokens) = state
        .blocking(move |state| {
            let hits = match &rag {
                Some(rag) => retrieve(state, rag, &mut turns)?,
                None => Vec::new(),
            };
            let tokens = state.template.encode(&state.tokenizer, &turns)?;
            Ok::<_, ApiError>((hits, tokens))
        })
        .await??;
    let mut valid = validate(&state, &common, tokens, "messages")?;
    valid.format = response_format(&body)?;
    let paid = admit(&state, &headers, &value, &common, &valid).await?;
    run(state, &common, valid, Kind::Chat, hits, paid).await
}

/// `response_format` (`{"type": "text" | "json_object" | "json_schema", "json_schema":
/// {"schema": ..}}`: the output is constrained to valid JSON, of the schema), its members in the
/// order the client wrote them (a schema's properties are generated in its order).
fn response_format(body: &Bytes) -> Result<Option<crate::engine::Ordered>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Format {
        response_format: Option<crate::engine::Ordered>,
    }
    serde_json::from_slice::<Format>(body)
        .map(|f| f.response_format)
        .map_err(|e| Error::invalid("response_format", e.to_string()).into())
}

/// Checks a request's voucher when the worker settles on chain (before any inference).
async fn admit(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: &Value,
    common: &Common,
    valid: &Valid,
) -> Result<Option<Admission>, ApiError> {
    let Some(settlement) = &state.settlement else { return Ok(None) };
    let header = headers.get(VOUCHER_HEADER).map(|h| h.as_bytes());
    let refused = |e: AdmitError| {
        let e = match e {
            AdmitError::Refused(r) => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                r.code(),
                Some("provena.voucher".into()),
                r.to_string(),
            ),
            AdmitError::Chain(c) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                None,
                c.to_string(),
            ),
        };
        state.metrics.rejected.with_label_values(&[e.kind]).inc();
        e
    };
    let voucher = SignedVoucher::from_request(header, body).map_err(|r| refused(r.into()))?;
    let served = match (&common.adapters, state.is_base(&common.model)) {
        (Some(_), _) => None,
        (None, true) => Some(state.model.source.hash.as_str()),
        (None, false) => Some(common.model.as_str()),
    };
    let tokens =
        u64::try_from(valid.prompt.len().saturating_add(valid.max_tokens.saturating_mul(valid.n)))
            .unwrap_or(u64::MAX);
    settlement.admit(voucher, served, tokens).await.map_err(refused)
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

async fn run(
    state: Arc<AppState>,
    common: &Common,
    valid: Valid,
    kind: Kind,
    hits: Vec<provena_attribution::rag::Hit>,
    paid: Option<Admission>,
) -> Result<Response, ApiError> {
    let resolved = state.resolve(common).await?;
    let constraint = match valid.format.clone() {
        None => None,
        Some(format) => {
            state.blocking(move |state| state.grammars.compile(&format)).await??.map(Box::new)
        }
    };
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
        stop_tokens: valid.stop_tokens.clone(),
        logprobs: valid.logprobs,
        constraint,
        n: valid.n,
        span: tracing::Span::current(),
        ignore_eos: common.ignore_eos,
        cache_salt: common.cache_salt.clone(),
        events: tx,
        arrived: Instant::now(),
    })?;
    state.metrics.requests.with_label_values(&[resolved.label.as_str()]).inc();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let prompt_ids = valid.prompt.clone();
    let adapters: Vec<Value> =
        resolved.adapters.iter().map(|(a, w)| json!({"id": a, "weight": w})).collect();
    let record = move |prompt_tokens: usize,
                       completion_tokens: usize,
                       tokens: &[u32],
                       state: &AppState|
          -> (Record, ReceiptAttribution) {
        let (cited, rag_credit) = if tokens.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            citations(state, &hits, tokens)
        };
        let attribution =
            if tokens.is_empty() { None } else { attribute(state, &prompt_ids, tokens) };
        let receipt =
            receipt_attribution(attribution.as_ref(), &rag_credit, state.attribution_datanet);
        let rec = Record {
            request_id: id.clone(),
            base_model: state.model.source.hash.clone(),
            adapters: adapters.clone(),
            prompt_tokens,
            completion_tokens,
            attribution: attribution.as_ref().map(attribution_json),
            citations: cited,
            rag_credit: rag_credit
                .iter()
                .map(|(c, ppm)| json!({"contribution": c, "ppm": ppm}))
                .collect(),
            receipt: json!({
                "weights": receipt.weights.iter().map(|(c, ppm)| json!({"contribution": c, "ppm": ppm})).collect::<Vec<_>>(),
                "pool": receipt.pool.map(|(d, ppm)| json!({"datanet": d, "ppm": ppm})),
                "evidence_hash": format!("{:?}", receipt.evidence_hash),
            }),
            settlement: None,
        };
        (rec, receipt)
    };
    let endpoint = if kind == Kind::Chat { "chat" } else { "completion" };
    let rx = finish(state.clone(), rx, record, paid, (endpoint, Instant::now()), valid.n);
    let meta = Meta {
        created,
        model: valid.model.clone(),
        kind,
        include_usage: valid.include_usage,
        logprobs: valid.logprobs.is_some(),
    };
    if valid.stream {
        let stream = sse_stream(rx, meta, request_id);
        // A comment every interval while nothing else is sent (queued, or a long prefill), so
        // that proxies and clients do not drop an idle stream.
        let keep_alive =
            axum::response::sse::KeepAlive::new().interval(state.sse_keep_alive).text("keep-alive");
        return Ok(Sse::new(stream).keep_alive(keep_alive).into_response());
    }
    let mut rx = rx;
    let n = valid.n.max(1);
    let mut texts = vec![String::new(); n];
    let mut entries: Vec<Vec<logprobs::Entry>> = vec![Vec::new(); n];
    let mut reasons: Vec<Option<FinishReason>> = vec![None; n];
    loop {
        match rx.recv().await {
            Some(Outcome::Text { index, text }) => {
                if let Some(t) = texts.get_mut(index) {
                    t.push_str(&text);
                }
            }
            Some(Outcome::Logprobs { index, entry }) => {
                if let Some(e) = entries.get_mut(index) {
                    e.push(entry);
                }
            }
            Some(Outcome::Choice { index, reason }) => {
                if let Some(r) = reasons.get_mut(index) {
                    *r = Some(reason);
                }
            }
            Some(Outcome::Done { usage, record: rec }) => {
                let choices: Vec<Value> = texts
                    .iter()
                    .zip(&entries)
                    .zip(&reasons)
                    .enumerate()
                    .map(|(index, ((text, entries), reason))| {
                        let logprobs = if meta.logprobs {
                            logprobs::json(kind, entries, 0)
                        } else {
                            Value::Null
                        };
                        match kind {
                            Kind::Completion => {
                                json!({"index": index, "text": text, "finish_reason": reason, "logprobs": logprobs})
                            }
                            Kind::Chat => {
                                json!({"index": index, "message": {"role": "assistant", "content": text}, "finish_reason": reason, "logprobs": logprobs})
                            }
                        }
                    })
                    .collect();
                let body = json!({
                    "id": rec.request_id,
                    "object": if kind == Kind::Chat { "chat.completion" } else { "text_completion" },
                    "created": meta.created,
                    "model": meta.model,
                    "choices": choices,
                    "usage": usage,
                    "provena": rec,
                });
                return Ok(Json(body).into_response());
            }
            Some(Outcome::Failed(e)) => return Err(Error::Model(e).into()),
            None => return Err(Error::EngineStopped.into()),
        }
    }
}

/// Follows a job's events to its end, in a task of its own: the response reads what it sends.
/// At the end the record is made (attribution, citations) and, for a paid request, the receipt
/// recorded on disk before the end is sent, so no answer leaves without its receipt. An unpaid
/// job is dropped (the engine stops it) when its client goes away; a paid one runs to its end
/// and is charged.
fn finish(
    state: Arc<AppState>,
    mut events: UnboundedReceiver<Event>,
    record: impl FnOnce(usize, usize, &[u32], &AppState) -> (Record, ReceiptAttribution)
        + Send
        + 'static,
    mut paid: Option<Admission>,
    (endpoint, arrived): (&'static str, Instant),
    n: usize,
) -> UnboundedReceiver<Outcome> {
    let (out, rx) = unbounded_channel();
    tokio::spawn(async move {
        let ended = |reason: &str| {
            state.metrics.finished.with_label_values(&[reason]).inc();
            state
                .metrics
                .request_seconds
                .with_label_values(&[endpoint])
                .observe(arrived.elapsed().as_secs_f64());
        };
        // Choices still running; completion tokens and generated ids of those done.
        let mut open = n.max(1);
        let mut completion = 0usize;
        let mut generated: Vec<u32> = Vec::new();
        while let Some(event) = events.recv().await {
            match event {
                Event::Text { index, text } => {
                    if out.send(Outcome::Text { index, text }).is_err() && paid.is_none() {
                        ended("cancelled");
                        return;
                    }
                }
                Event::Logprobs { index, logprobs: lp } => {
                    let entry = logprobs::Entry::new(&state.tokenizer, &lp);
                    if out.send(Outcome::Logprobs { index, entry }).is_err() && paid.is_none() {
                        ended("cancelled");
                        return;
                    }
                }
                Event::Done { index, reason, prompt_tokens, completion_tokens, tokens } => {
                    ended(match reason {
                        FinishReason::Stop => "stop",
                        FinishReason::Length => "length",
                    });
                    completion = completion.saturating_add(completion_tokens);
                    // The choices' answers are attributed together; an id no index holds
                    // separates them so that no match spans two.
                    if !generated.is_empty() {
                        generated.push(u32::MAX);
                    }
                    generated.extend(tokens);
                    open = open.saturating_sub(1);
                    let _ = out.send(Outcome::Choice { index, reason });
                    if open > 0 {
                        continue;
                    }
                    let (completion_tokens, tokens) = (completion, std::mem::take(&mut generated));
                    let paid = paid.take();
                    let pool = state.clone();
                    let made = pool
                        .blocking(move |state| {
                            let (mut rec, receipt) =
                                record(prompt_tokens, completion_tokens, &tokens, state);
                            let used_rag = !rec.rag_credit.is_empty();
                            if let Some(admission) = paid {
                                let request_id = admission.request_id();
                                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                                // Retrieved passages credited: the receipt names their snapshot.
                                let retrieved_from = state
                                    .rag
                                    .as_ref()
                                    .and_then(|r| r.snapshot)
                                    .filter(|_| used_rag);
                                let fee = admission
                                    .commit(
                                        count(prompt_tokens),
                                        count(completion_tokens),
                                        receipt,
                                        retrieved_from,
                                    )
                                    .map_err(|e| {
                                        format!("the receipt could not be recorded: {e}")
                                    })?;
                                rec.settlement = Some(json!({
                                    "requestId": format!("{request_id:?}"),
                                    "fee": fee.to_string(),
                                    "status": "recorded",
                                }));
                            }
                            Ok::<Record, String>(rec)
                        })
                        .await;
                    let usage = Usage {
                        prompt_tokens,
                        completion_tokens,
                        total_tokens: prompt_tokens.saturating_add(completion_tokens),
                    };
                    let _ = out.send(match made {
                        Ok(Ok(record)) => Outcome::Done { usage, record: Box::new(record) },
                        Ok(Err(e)) => Outcome::Failed(e),
                        Err(e) => Outcome::Failed(e.message),
                    });
                    return;
                }
                Event::Failed(e) => {
                    ended("error");
                    let _ = out.send(Outcome::Failed(e));
                    return;
                }
            }
        }
        ended("error");
        // The engine let go of the job without an end (it died): the client still gets one.
        let _ = out.send(Outcome::Failed("the engine stopped before the request finished".into()));
    });
    rx
}
