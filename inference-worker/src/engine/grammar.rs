//! Constrained decoding: `response_format` `json_object` and `json_schema`.
//!
//! A schema is compiled (when the request is validated: what cannot be enforced is refused
//! with 422 before anything runs) into a tree of [`Node`]s; a [`Constraint`] is a pushdown
//! automaton over bytes that accepts exactly the JSON texts of that tree. Each step, the
//! tokens whose bytes the automaton accepts from its current state form the mask the sampler
//! picks within (the 256 possible first bytes are tried first, so most of the vocabulary is
//! ruled out by one table lookup; the automaton's state is a fixed-size `Copy` value, so trying
//! a token allocates nothing). Once the root value closes nothing more is allowed and the
//! generation ends with `stop`.
//!
//! # What is enforced
//! `type` `object` (declared `properties` in their declared order, every `required` one, no
//! others — valid whatever `additionalProperties` says), `array` (`items`, `minItems`,
//! `maxItems`), `string` (`minLength`, `maxLength` in characters), `integer` (`minimum`,
//! `maximum`), `number`, `boolean`, `null`, `enum` and `const`; `json_object` is any JSON
//! object. The root must be an object or an array (as OpenAI's structured outputs require).
//! Anything else a schema says (`anyOf`, `$ref`, `pattern`, `format` ...) is refused rather than
//! silently not enforced. Whitespace between tokens of the JSON is allowed, at most
//! [`MAX_WS`] bytes in a row, so a model cannot loop on blank space.
//!
//! This is written here rather than taken from llguidance or outlines-core: both force
//! `serde_json`'s `preserve_order` feature, which Cargo would unify into every crate of the
//! workspace (the node's chain-spec and RPC JSON included).

mod automaton;
mod schema;

use crate::error::{Error, Result};
use automaton::State;
use provena_attribution::ModelTokenizer;
pub use schema::Ordered;
use schema::Schema;
use serde_json::Value;
use std::{collections::HashMap, sync::Arc};

/// Nesting the automaton follows (deeper schemas are refused; generic JSON stops opening).
const MAX_DEPTH: usize = 24;
/// Whitespace bytes allowed in a row.
pub const MAX_WS: u8 = 12;
/// The most declared properties of an object, or values of an enum.
const MAX_ALTERNATIVES: usize = 64;
/// Digits of an integer (within i64).
const MAX_DIGITS: u8 = 18;

/// The bytes each token stands for (`None` for special tokens, which a grammar never allows):
/// byte-level BPE pieces through GPT-2's byte alphabet, SentencePiece pieces with `▁` as a
/// space and `<0xNN>` byte-fallback tokens as their byte.
fn token_bytes(tokenizer: &ModelTokenizer) -> Vec<Option<Vec<u8>>> {
    use tokenizers::DecoderWrapper;
    let byte_level = matches!(tokenizer.inner().get_decoder(), Some(DecoderWrapper::ByteLevel(_)));
    let alphabet = byte_alphabet();
    let specials: std::collections::HashSet<String> =
        tokenizer.special_tokens().into_iter().collect();
    let vocab = u32::try_from(tokenizer.vocab_size()).unwrap_or(u32::MAX);
    (0..vocab)
        .map(|id| {
            let piece = tokenizer.token_text(id)?;
            if specials.contains(&piece) {
                return None;
            }
            if byte_level {
                return piece.chars().map(|c| alphabet.get(&c).copied()).collect();
            }
            if let Some(hex) = piece.strip_prefix("<0x").and_then(|h| h.strip_suffix('>')) {
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    return Some(vec![b]);
                }
            }
            Some(piece.replace('\u{2581}', " ").into_bytes())
        })
        .collect()
}

/// GPT-2's byte-level alphabet: the character standing for each byte.
fn byte_alphabet() -> HashMap<char, u8> {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut out = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0u32..256 {
        let c = if printable(b) {
            b
        } else {
            shifted = shifted.saturating_add(1);
            255u32.saturating_add(shifted)
        };
        if let (Some(c), Ok(byte)) = (char::from_u32(c), u8::try_from(b)) {
            out.insert(c, byte);
        }
    }
    out
}

/// Compiles request grammars for the served tokenizer.
pub struct Grammars {
    tokens: Arc<Vec<Option<Vec<u8>>>>,
}

impl Grammars {
    /// Recovers the bytes of every token of `tokenizer`.
    pub fn new(tokenizer: &ModelTokenizer) -> Self {
        Self { tokens: Arc::new(token_bytes(tokenizer)) }
    }

    /// The constraint for a request's `response_format`, or `None` for plain text.
    pub fn compile(&self, response_format: &Ordered) -> Result<Option<Constraint>> {
        let invalid = |m: String| Error::invalid("response_format", m);
        if matches!(response_format, Ordered::Scalar(Value::Null)) {
            return Ok(None);
        }
        let schema = match response_format.get("type").and_then(Ordered::as_str) {
            None => return Err(invalid("must be an object with a `type`".into())),
            Some("text") => return Ok(None),
            Some("json_object") => Schema::json_object(),
            Some("json_schema") => {
                let schema = response_format
                    .get("json_schema")
                    .and_then(|j| j.get("schema"))
                    .ok_or_else(|| invalid("json_schema.schema is missing".into()))?;
                Schema::from_json_schema(schema)
                    .map_err(|e| invalid(format!("the schema cannot be enforced: {e}")))?
            }
            Some(other) => return Err(invalid(format!("unknown type {other:?}"))),
        };
        let state = State::new(schema.root);
        Ok(Some(Constraint { schema, state, tokens: self.tokens.clone() }))
    }
}

/// A request's grammar, advanced token by token.
#[derive(Clone)]
pub struct Constraint {
    schema: Arc<Schema>,
    state: State,
    tokens: Arc<Vec<Option<Vec<u8>>>>,
}

impl std::fmt::Debug for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Constraint")
    }
}

/// What the grammar allows next.
pub enum Next {
    /// The tokens allowed (indexed by token id).
    Tokens(Vec<bool>),
    /// Nothing more: the output is complete.
    Done,
}

impl Constraint {
    /// The tokens allowed next.
    pub fn next(&self) -> Next {
        if self.state.is_done() {
            return Next::Done;
        }
        let mut first = [false; 256];
        for (b, ok) in first.iter_mut().enumerate() {
            let mut s = self.state;
            *ok = u8::try_from(b).is_ok_and(|b| s.feed(&self.schema, b));
        }
        let mask: Vec<bool> = self
            .tokens
            .iter()
            .map(|bytes| {
                let Some(bytes) = bytes else { return false };
                let Some(&b0) = bytes.first() else { return false };
                if !first.get(b0 as usize).copied().unwrap_or(false) {
                    return false;
                }
                let mut s = self.state;
                bytes.iter().all(|&b| s.feed(&self.schema, b))
            })
            .collect();
        if mask.iter().any(|&a| a) {
            Next::Tokens(mask)
        } else {
            Next::Done
        }
    }

    /// Feeds the sampled token.
    pub fn consume(&mut self, token: u32) -> Result<()> {
        let bytes = self.tokens.get(token as usize).and_then(Option::as_ref);
        let Some(bytes) = bytes else {
            return Err(Error::Model(format!("token {token} is outside the grammar")));
        };
        for &b in bytes {
            if !self.state.feed(&self.schema, b) {
                return Err(Error::Model(format!("token {token} breaks the grammar")));
            }
        }
        Ok(())
    }

    /// Feeds text directly (tests).
    #[cfg(test)]
    fn accepts(&self, text: &str) -> bool {
        let mut s = self.state;
        text.bytes().all(|b| s.feed(&self.schema, b)) && s.is_done()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests;
