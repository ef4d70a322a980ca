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
    let mut choices = Choices::default();
    UnboundedReceiverStream::new(rx).flat_map(move |event| {
        let out: Vec<SseEvent> = match event {
            Outcome::Logprobs { index, entry } => {
                choices.ensure(index);
                if let Some(p) = choices.pending.get_mut(index) {
                    p.push(entry);
                }
                Vec::new()
            }
            Outcome::Text { index, text } => {
                choices.ensure(index);
                let first = choices.started.get(index).is_some_and(|s| !s);
                if let Some(s) = choices.started.get_mut(index) {
                    *s = true;
                }
                let lp = choices.take(with_logprobs, kind, index, text.len());
                let delta = match kind {
                    Kind::Chat if first => json!([{"index": index, "delta": {"role": "assistant", "content": text}, "logprobs": lp, "finish_reason": null}]),
                    Kind::Chat => json!([{"index": index, "delta": {"content": text}, "logprobs": lp, "finish_reason": null}]),
                    Kind::Completion => json!([{"index": index, "text": text, "finish_reason": null, "logprobs": lp}]),
                };
                vec![chunk(delta, None)]
            }
            Outcome::Choice { index, reason } => {
                choices.ensure(index);
                let lp = choices.take(with_logprobs, kind, index, 0);
                vec![chunk(finish_choice(kind, index, reason, lp), None)]
            }
            Outcome::Done { usage, record } => vec![
                chunk(json!([]), Some((usage, *record))),
                SseEvent::default().data("[DONE]"),
            ],
            Outcome::Failed(e) => vec![SseEvent::default().data(
                json!({"error": {"message": e, "type": "internal_error", "param": null, "code": 500}})
                    .to_string(),
            )],
        };
        futures::stream::iter(out.into_iter().map(Ok))
    })
}

/// Per choice: whether its first chunk went (it names the role), the log-probabilities
/// waiting for the text their tokens complete, and the bytes of text sent (offsets).
#[derive(Default)]
struct Choices {
    started: Vec<bool>,
    pending: Vec<Vec<Entry>>,
    offsets: Vec<usize>,
}

impl Choices {
    fn ensure(&mut self, index: usize) {
        if self.started.len() <= index {
            let len = index.saturating_add(1);
            self.started.resize(len, false);
            self.pending.resize_with(len, Vec::new);
            self.offsets.resize(len, 0);
        }
    }

    /// Choice `index`'s waiting log-probabilities (`null` unless asked for); `sent` more
    /// bytes of its text go out with them.
    fn take(&mut self, asked: bool, kind: Kind, index: usize, sent: usize) -> Value {
        let (Some(p), Some(offset)) = (self.pending.get_mut(index), self.offsets.get_mut(index))
        else {
            return Value::Null;
        };
        if !asked {
            return Value::Null;
        }
        let v = logprobs::json(kind, p, *offset);
        p.clear();
        *offset = offset.saturating_add(sent);
        v
    }
}

/// The last choice chunk: the finish reason (and log-probabilities of tokens whose text a stop
/// sequence cut).
pub(crate) fn finish_choice(
    kind: Kind,
    index: usize,
    reason: FinishReason,
    logprobs: Value,
) -> Value {
    match kind {
        Kind::Chat => {
            json!([{"index": index, "delta": {}, "logprobs": logprobs, "finish_reason": reason}])
        }
        Kind::Completion => {
            json!([{"index": index, "text": "", "finish_reason": reason, "logprobs": logprobs}])
        }
    }
}
