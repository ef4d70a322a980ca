//! The API's request and response types and its error, in OpenAI's shapes.

use crate::{engine::FinishReason, error::Error};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize, Debug, Clone)]
pub(crate) struct RagRequest {
    /// The datanet id (a number or a string).
    pub(crate) datanet: Value,
    pub(crate) top_k: Option<usize>,
}

/// An error response in OpenAI's shape.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) param: Option<String>,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(
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
            Error::Overloaded { .. } | Error::JobsFull { .. } => {
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

/// A string or a list of strings (`stop`, `prompt`).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
pub(crate) struct AdapterRef {
    pub(crate) id: String,
    pub(crate) weight: f32,
}

/// `stream_options`.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct StreamOptions {
    /// Every chunk carries `"usage": null`, the last one the totals.
    #[serde(default)]
    pub(crate) include_usage: bool,
}

/// Fields shared by both generation endpoints.
#[derive(Deserialize, Debug)]
pub(crate) struct Common {
    pub(crate) model: String,
    pub(crate) max_tokens: Option<u64>,
    pub(crate) max_completion_tokens: Option<u64>,
    pub(crate) temperature: Option<f32>,
    pub(crate) top_p: Option<f32>,
    pub(crate) seed: Option<u64>,
    pub(crate) stop: Option<OneOrMany>,
    #[serde(default)]
    pub(crate) stream: bool,
    pub(crate) n: Option<u32>,
    pub(crate) adapters: Option<Vec<AdapterRef>>,
    /// vLLM's extension: generate exactly `max_tokens` tokens.
    #[serde(default)]
    pub(crate) ignore_eos: bool,
    /// Retrieval-augmented generation over a served datanet (chat only).
    pub(crate) rag: Option<RagRequest>,
    /// Chat: `true` reports each token's log-probability; completions: the number of
    /// alternatives to report (0–5).
    pub(crate) logprobs: Option<serde_json::Value>,
    /// Chat: alternatives per token (0–20), with `logprobs: true`.
    pub(crate) top_logprobs: Option<u32>,
    pub(crate) presence_penalty: Option<f32>,
    pub(crate) frequency_penalty: Option<f32>,
    /// vLLM's extension (HF's repetition penalty over prompt and completion).
    pub(crate) repetition_penalty: Option<f32>,
    /// Token id (as a string) → bias in [-100, 100].
    pub(crate) logit_bias: Option<std::collections::BTreeMap<String, f32>>,
    /// vLLM's extension: prefix-cached K/V is shared only between requests with the same salt
    /// (1 to 256 characters).
    pub(crate) cache_salt: Option<String>,
    /// vLLM's extension: token ids that end the generation.
    pub(crate) stop_token_ids: Option<Vec<u32>>,
    pub(crate) stream_options: Option<StreamOptions>,
    /// OpenAI parameters the worker does not serve yet: each is refused (422) unless it has
    /// its no-op value, so that none is silently ignored (see `validate::refuse_unserved`).
    pub(crate) tools: Option<serde_json::Value>,
    pub(crate) tool_choice: Option<serde_json::Value>,
    pub(crate) best_of: Option<serde_json::Value>,
    pub(crate) echo: Option<serde_json::Value>,
    pub(crate) suffix: Option<serde_json::Value>,
}

// `Common` is read from the same body separately rather than `#[serde(flatten)]`ed in: a
// flattened struct loses the field path of an error.
#[derive(Deserialize, Debug)]
pub(crate) struct CompletionRequest {
    pub(crate) prompt: OneOrMany,
}

#[derive(Deserialize, Debug)]
pub(crate) struct ChatRequest {
    pub(crate) messages: Vec<ChatMessage>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct ChatMessage {
    pub(crate) role: String,
    pub(crate) content: MessageContent,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub(crate) enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Deserialize, Debug)]
pub(crate) struct ContentPart {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) text: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Completion,
    Chat,
}

#[derive(Serialize, Clone)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: usize,
    pub(crate) completion_tokens: usize,
    pub(crate) total_tokens: usize,
}

/// The receipt-ready record of a request.
#[derive(Serialize, Clone)]
pub(crate) struct Record {
    pub(crate) request_id: String,
    pub(crate) base_model: String,
    pub(crate) adapters: Vec<Value>,
    pub(crate) prompt_tokens: usize,
    pub(crate) completion_tokens: usize,
    /// Contribution weights and the evidence hash, when the worker has an attribution index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attribution: Option<Value>,
    /// The passages retrieved for a `rag` request, each marked used or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) citations: Vec<Value>,
    /// Parts per million per contribution for the passages the answer used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) rag_credit: Vec<Value>,
    /// What the answer's receipt carries: contribution weights summing to 1,000,000 (span and
    /// RAG credit merged; see `receipt_attribution`) and the evidence hash.
    pub(crate) receipt: Value,
    /// For a paid request: the voucher's request id, the fee charged and the receipt's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) settlement: Option<Value>,
}

/// What a response gets from its job: the engine's events, with the record made at the end.
pub(crate) enum Outcome {
    /// New text of choice `index`.
    Text { index: usize, text: String },
    /// A generated token's log-probabilities (asked for), before the text it completes.
    Logprobs { index: usize, entry: super::logprobs::Entry },
    /// Choice `index` ended.
    Choice { index: usize, reason: FinishReason },
    /// Every choice ended: the totals and the record.
    Done { usage: Usage, record: Box<Record> },
    /// The job failed.
    Failed(String),
}

pub(crate) struct Meta {
    pub(crate) created: u64,
    pub(crate) model: String,
    pub(crate) kind: Kind,
    /// `stream_options.include_usage`: every chunk has `"usage": null`, the last the totals.
    pub(crate) include_usage: bool,
    /// Chunks carry the log-probabilities of their tokens.
    pub(crate) logprobs: bool,
}
