//! Log-probabilities in OpenAI's two shapes: chat's `logprobs.content` entries and the
//! completions API's parallel arrays.

use super::types::Kind;
use crate::engine::TokenLogprobs;
use provena_attribution::ModelTokenizer;
use serde_json::{json, Map, Value};

/// A token as a client sees it: its text (special tokens are empty) and that text's bytes.
fn token(tokenizer: &ModelTokenizer, id: u32) -> (String, Vec<u8>) {
    let text = tokenizer.decode_text(&[id]).unwrap_or_default();
    let bytes = text.as_bytes().to_vec();
    (text, bytes)
}

/// One generated token's log-probabilities, as text.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    text: String,
    bytes: Vec<u8>,
    logprob: f32,
    top: Vec<(String, Vec<u8>, f32)>,
}

impl Entry {
    pub(crate) fn new(tokenizer: &ModelTokenizer, lp: &TokenLogprobs) -> Self {
        let (text, bytes) = token(tokenizer, lp.token);
        let top = lp
            .top
            .iter()
            .map(|&(id, l)| {
                let (t, b) = token(tokenizer, id);
                (t, b, l)
            })
            .collect();
        Self { text, bytes, logprob: lp.logprob, top }
    }
}

/// A choice's `logprobs` for `entries`; `offset` is the completion text's length before them
/// (the completions API reports each token's offset).
pub(crate) fn json(kind: Kind, entries: &[Entry], offset: usize) -> Value {
    match kind {
        Kind::Chat => {
            let content: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let top: Vec<Value> = e
                        .top
                        .iter()
                        .map(|(t, b, l)| json!({"token": t, "logprob": l, "bytes": b}))
                        .collect();
                    json!({"token": e.text, "logprob": e.logprob, "bytes": e.bytes, "top_logprobs": top})
                })
                .collect();
            json!({ "content": content })
        }
        Kind::Completion => {
            let mut at = offset;
            let mut offsets = Vec::with_capacity(entries.len());
            for e in entries {
                offsets.push(at);
                at = at.saturating_add(e.text.len());
            }
            let top: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let map: Map<String, Value> =
                        e.top.iter().map(|(t, _, l)| (t.clone(), json!(l))).collect();
                    Value::Object(map)
                })
                .collect();
            json!({
                "tokens": entries.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
                "token_logprobs": entries.iter().map(|e| e.logprob).collect::<Vec<_>>(),
                "top_logprobs": top,
                "text_offset": offsets,
            })
        }
    }
}
