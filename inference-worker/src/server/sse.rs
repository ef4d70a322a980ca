//! Streaming responses: OpenAI's server-sent-event chunks, then usage and the `provena` record.

use super::types::{Kind, Meta, Outcome, Record, Usage};
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
                Outcome::Text(t) => {
                    let delta = match kind {
                        Kind::Chat if first => json!([{"index": 0, "delta": {"role": "assistant", "content": t}, "finish_reason": null}]),
                        Kind::Chat => json!([{"index": 0, "delta": {"content": t}, "finish_reason": null}]),
                        Kind::Completion => json!([{"index": 0, "text": t, "finish_reason": null, "logprobs": null}]),
                    };
                    first = false;
                    vec![chunk(delta, None)]
                }
                Outcome::Done { reason, usage, record } => {
                    let end = finish_choice(kind, reason);
                    vec![
                        chunk(end, None),
                        chunk(json!([]), Some((usage, *record))),
                        SseEvent::default().data("[DONE]"),
                    ]
                }
                Outcome::Failed(e) => vec![SseEvent::default()
                    .data(json!({"error": {"message": e, "type": "internal_error", "param": null, "code": 500}}).to_string())],
            };
            futures::stream::iter(out.into_iter().map(Ok))
        })
}

pub(crate) fn finish_choice(kind: Kind, reason: FinishReason) -> Value {
    match kind {
        Kind::Chat => json!([{"index": 0, "delta": {}, "finish_reason": reason}]),
        Kind::Completion => {
            json!([{"index": 0, "text": "", "finish_reason": reason, "logprobs": null}])
        }
    }
}
