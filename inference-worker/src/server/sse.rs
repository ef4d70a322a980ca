//! Streaming responses: OpenAI's server-sent-event chunks, then usage and the `provena` record.

use super::{
    logprobs::{self, Entry},
    types::{Kind, Meta, Outcome, Record, Usage},
};
use crate::engine::FinishReason;
use axum::response::sse::Event as SseEvent;
use futures::{Stream, StreamExt};
use serde_json::{json, Value};
use std::convert::Infallible;
use tokio_stream::wrappers::UnboundedReceiverStream;

pub(crate) fn sse_stream(
    rx: tokio::sync::mpsc::UnboundedReceiver<Outcome>,
    meta: Meta,
    id: String,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let object = if meta.kind == Kind::Chat { "chat.completion.chunk" } else { "text_completion" };
    let include_usage = meta.include_usage;
    let mut first = true;
    let chunk = move |choices: Value, extra: Option<(Usage, Record)>| -> SseEvent {
        let mut v = json!({"id": id, "object": object, "created": meta.created, "model": meta.model, "choices": choices});
        if let Some(map) = v.as_object_mut() {
            match extra {
                Some((usage, rec)) => {
                    map.insert("usage".into(), json!(usage));
                    map.insert("provena".into(), json!(rec));
                }
                None if include_usage => {
                    map.insert("usage".into(), Value::Null);
                }
                None => {}
            }
        }
        SseEvent::default().data(v.to_string())
    };
    let kind = meta.kind;
    let with_logprobs = meta.logprobs;
    // Log-probabilities wait for the text their tokens complete; `offset` is the text sent.
    let mut pending: Vec<Entry> = Vec::new();
    let mut offset = 0usize;
    let mut take_logprobs = move |pending: &mut Vec<Entry>, text_len: usize| -> Value {
        if !with_logprobs {
            return Value::Null;
        }
        let v = logprobs::json(kind, pending, offset);
        pending.clear();
        offset = offset.saturating_add(text_len);
        v
    };
    UnboundedReceiverStream::new(rx).flat_map(move |event| {
        let out: Vec<SseEvent> = match event {
            Outcome::Logprobs(e) => {
                pending.push(e);
                Vec::new()
            }
            Outcome::Text(t) => {
                let lp = take_logprobs(&mut pending, t.len());
                let delta = match kind {
                    Kind::Chat if first => json!([{"index": 0, "delta": {"role": "assistant", "content": t}, "logprobs": lp, "finish_reason": null}]),
                    Kind::Chat => json!([{"index": 0, "delta": {"content": t}, "logprobs": lp, "finish_reason": null}]),
                    Kind::Completion => json!([{"index": 0, "text": t, "finish_reason": null, "logprobs": lp}]),
                };
                first = false;
                vec![chunk(delta, None)]
            }
            Outcome::Done { reason, usage, record } => {
                let lp = take_logprobs(&mut pending, 0);
                let end = finish_choice(kind, reason, lp);
                vec![
                    chunk(end, None),
                    chunk(json!([]), Some((usage, *record))),
                    SseEvent::default().data("[DONE]"),
                ]
            }
            Outcome::Failed(e) => vec![SseEvent::default().data(
                json!({"error": {"message": e, "type": "internal_error", "param": null, "code": 500}})
                    .to_string(),
            )],
        };
        futures::stream::iter(out.into_iter().map(Ok))
    })
}

/// The last choice chunk: the finish reason (and log-probabilities of tokens whose text a stop
/// sequence cut).
pub(crate) fn finish_choice(kind: Kind, reason: FinishReason, logprobs: Value) -> Value {
    match kind {
        Kind::Chat => {
            json!([{"index": 0, "delta": {}, "logprobs": logprobs, "finish_reason": reason}])
        }
        Kind::Completion => {
            json!([{"index": 0, "text": "", "finish_reason": reason, "logprobs": logprobs}])
        }
    }
}
