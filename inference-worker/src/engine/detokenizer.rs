//! From generated tokens to the text a client receives.
//!
//! - [`Stream`] decodes incrementally: each token costs a decode of a short window (the tokens
//!   of the last chunk sent, whose text gives the context a decoder needs for spaces, and the
//!   new ones), never of the whole completion. A token that ends in the middle of a character
//!   (byte-fallback and byte-level tokenizers split characters across tokens) is held until the
//!   character is whole, so clients only ever get whole characters; a byte sequence that can
//!   never become a character is let out (as U+FFFD) rather than dropped or held forever.
//!   Special tokens (`<|im_end|>` ...) are never text.
//! - [`find_stop`] and [`release_end`] end the text at the first stop sequence and hold back
//!   what could still become one.

use provena_attribution::ModelTokenizer;

/// The most tokens decoded past the last clean boundary before the window is cut anyway (an
/// endless run of bytes that never ends a character): bounds the work per token.
const MAX_HELD: usize = 32;

/// The incremental decoder of one completion.
#[derive(Default, Debug)]
pub(super) struct Stream {
    /// The tokens up to the last clean boundary (`..context_tokens`, decoded only as context
    /// for the decoder's spacing), then the ones after it.
    window: Vec<u32>,
    context_tokens: usize,
    /// The decoded text of `window[..context_tokens]`.
    context_text: String,
    /// Bytes past `context_text` already sent.
    sent: usize,
}

impl Stream {
    /// Takes the next token; returns the new text it completes (possibly empty).
    pub(super) fn step(&mut self, tokenizer: &ModelTokenizer, token: u32) -> String {
        self.window.push(token);
        let text = tokenizer.decode_text(&self.window).unwrap_or_default();
        let held = self.window.len().saturating_sub(self.context_tokens);
        // An unfinished character decodes as a trailing U+FFFD until its last byte arrives.
        let whole = text.trim_end_matches('\u{FFFD}').len();
        if whole == text.len() || held >= MAX_HELD {
            self.emit_and_cut(tokenizer, &text, text.len())
        } else {
            self.emit(&text, whole)
        }
    }

    /// The text still held at the end of the completion (an unfinished character, as U+FFFD).
    pub(super) fn flush(&mut self, tokenizer: &ModelTokenizer) -> String {
        if self.window.len() == self.context_tokens {
            return String::new();
        }
        let text = tokenizer.decode_text(&self.window).unwrap_or_default();
        self.emit_and_cut(tokenizer, &text, text.len())
    }

    /// Tokens the decoder holds: bounded whatever the completion's length.
    #[cfg(test)]
    pub(super) fn window_len(&self) -> usize {
        self.window.len()
    }

    /// The text of the window up to `end` not sent yet.
    fn emit(&mut self, text: &str, end: usize) -> String {
        // The window's text extends its context; should a decoder rewrite the context (none of
        // the supported ones does), only what follows the common part is sent.
        let base = if text.starts_with(self.context_text.as_str()) {
            self.context_text.len()
        } else {
            text.char_indices()
                .zip(self.context_text.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map(|((i, a), _)| i.saturating_add(a.len_utf8()))
                .unwrap_or(0)
        };
        let from = text.floor_char_boundary(base.saturating_add(self.sent));
        let end = text.floor_char_boundary(end);
        let new = text.get(from..end).unwrap_or_default().to_string();
        self.sent = self.sent.saturating_add(new.len());
        new
    }

    /// [`Stream::emit`], then the window restarts after the tokens decoded so far, keeping the
    /// latest ones as context.
    fn emit_and_cut(&mut self, tokenizer: &ModelTokenizer, text: &str, end: usize) -> String {
        let new = self.emit(text, end);
        let keep_from = self.context_tokens.min(self.window.len());
        self.window.drain(..keep_from);
        self.context_tokens = self.window.len();
        self.context_text = tokenizer.decode_text(&self.window).unwrap_or_default();
        self.sent = 0;
        new
    }
}

/// The longest stop sequence's length in bytes.
fn longest(stops: &[String]) -> usize {
    stops.iter().map(|s| s.len()).max().unwrap_or(0)
}

/// Where the earliest stop sequence in `unsent` starts. `unsent` holds everything that could
/// still be the start of a stop sequence (see [`release_end`]), so no stop straddles what was
/// already sent.
pub(super) fn find_stop(unsent: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| unsent.find(s.as_str())).min()
}

/// Where the text that may be sent ends: at a stop sequence, at the end once finished, or else
/// before what could still become a stop sequence.
pub(super) fn release_end(
    unsent: &str,
    stops: &[String],
    stop_at: Option<usize>,
    finished: bool,
) -> usize {
    match (stop_at, finished) {
        (Some(i), _) => i,
        (None, true) => unsent.len(),
        (None, false) => {
            let hold = longest(stops).saturating_sub(1);
            unsent.floor_char_boundary(unsent.len().saturating_sub(hold))
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use tokenizers::{
        decoders::{byte_fallback::ByteFallback, fuse::Fuse, sequence::Sequence},
        models::bpe::{Vocab, BPE},
        AddedToken, DecoderWrapper, Tokenizer,
    };

    /// A SentencePiece-style tokenizer: a few whole-character tokens, every other character as
    /// its UTF-8 bytes (`<0xC3>` ...), and one special token.
    #[allow(clippy::unwrap_used)]
    fn byte_fallback() -> ModelTokenizer {
        let mut vocab = Vocab::default();
        for (i, t) in ["c", "a", "f", " ", "n", "o"].iter().enumerate() {
            vocab.insert(t.to_string(), i as u32);
        }
        for b in 0..=255u32 {
            vocab.insert(format!("<0x{b:02X}>"), 6 + b);
        }
        let bpe = BPE::builder().vocab_and_merges(vocab, vec![]).byte_fallback(true).build();
        let mut tokenizer = Tokenizer::new(bpe.unwrap());
        tokenizer.with_decoder(Some(DecoderWrapper::Sequence(Sequence::new(vec![
            DecoderWrapper::ByteFallback(ByteFallback::new()),
            DecoderWrapper::Fuse(Fuse::new()),
        ]))));
        tokenizer.add_special_tokens(vec![AddedToken::from("<|end|>", true)]).unwrap();
        ModelTokenizer::from_tokenizer(tokenizer, "test".into())
    }

    fn stream(tokenizer: &ModelTokenizer, ids: &[u32]) -> (Vec<String>, usize) {
        let mut s = Stream::default();
        let mut widest = 0;
        let mut chunks: Vec<String> = ids
            .iter()
            .map(|&t| {
                let chunk = s.step(tokenizer, t);
                widest = widest.max(s.window_len());
                chunk
            })
            .collect();
        chunks.push(s.flush(tokenizer));
        chunks.retain(|c| !c.is_empty());
        (chunks, widest)
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_byte_fallback_tokenizer_streams_whole_characters_and_drops_nothing() {
        let t = byte_fallback();
        let text = "café, 日本 and 🦀 on café";
        let ids = t.encode(text).unwrap();
        // The multi-byte characters really are split across tokens.
        assert!(ids.len() > text.chars().count(), "{ids:?}");
        let (chunks, _) = stream(&t, &ids);
        assert_eq!(chunks.concat(), text);
        for c in &chunks {
            assert!(!c.contains('\u{FFFD}'), "a chunk with a broken character: {chunks:?}");
        }
        // Re-decoding the whole completion each step and holding back only a trailing U+FFFD
        // (the engine's old way) sends the first byte of a 3-byte character as U+FFFD.
        let mut sent = String::new();
        for i in 1..=ids.len() {
            let whole = t.decode_text(&ids[..i]).unwrap();
            let end = if whole.ends_with('\u{FFFD}') {
                whole.floor_char_boundary(whole.len().saturating_sub(3))
            } else {
                whole.len()
            };
            if let Some(delta) = whole.get(sent.len()..end) {
                sent.push_str(delta);
            }
        }
        assert_ne!(sent, text, "the old way was right after all");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_work_per_token_does_not_grow_with_the_completion() {
        let t = byte_fallback();
        let text = "café 日本 ".repeat(500);
        let ids = t.encode(&text).unwrap();
        let mut s = Stream::default();
        let mut out = String::new();
        let mut widest = 0;
        for &id in &ids {
            out.push_str(&s.step(&t, id));
            widest = widest.max(s.window_len());
        }
        out.push_str(&s.flush(&t));
        assert_eq!(out, text);
        assert!(widest <= 8, "window of {widest} tokens over {} tokens", ids.len());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn special_tokens_are_never_text_and_broken_bytes_are_let_out() {
        let t = byte_fallback();
        let end = t.token_id("<|end|>").unwrap();
        let mut ids = t.encode("no").unwrap();
        ids.push(end);
        ids.extend(t.encode("café").unwrap());
        let (chunks, _) = stream(&t, &ids);
        assert_eq!(chunks.concat(), "nocafé");
        // A lone continuation byte never becomes a character: it is let out as U+FFFD once a
        // character follows it, and what follows streams normally.
        let lone = t.token_id("<0xA9>").unwrap();
        let mut ids = vec![lone];
        ids.extend(t.encode("café").unwrap());
        let (chunks, _) = stream(&t, &ids);
        assert_eq!(chunks.concat(), "\u{FFFD}café");
        // An endless run of such bytes is let out at a bounded window.
        let mut ids = vec![lone; 100];
        ids.extend(t.encode("no").unwrap());
        let (chunks, widest) = stream(&t, &ids);
        assert_eq!(chunks.concat(), format!("{}no", "\u{FFFD}".repeat(100)));
        assert!(widest <= 2 * MAX_HELD, "{widest}");
        // At the end, an unfinished character is flushed, not dropped.
        let (chunks, _) = stream(&t, &[t.token_id("c").unwrap(), t.token_id("<0xC3>").unwrap()]);
        assert_eq!(chunks.concat(), "c\u{FFFD}");
    }

    #[test]
    fn a_stop_sequence_ends_the_text_at_its_first_occurrence() {
        let stops = vec!["\n\n".to_string(), "END".to_string()];
        assert_eq!(find_stop("t\n\nhe capital", &stops), Some(1));
        assert_eq!(find_stop("no stop here", &stops), None);
        assert_eq!(find_stop("a END b END", &stops), Some(2));
        assert_eq!(find_stop("anything", &[String::new()]), None);
        assert_eq!(release_end("a END b", &stops, Some(2), true), 2);
    }

    #[test]
    fn what_could_still_become_a_stop_is_held_back() {
        let stops = vec!["END".to_string()];
        // Unfinished: the last two bytes could start "END".
        assert_eq!(release_end("Paris EN", &stops, None, false), 6);
        // Finished: everything goes out.
        assert_eq!(release_end("Paris EN", &stops, None, true), 8);
        // Never inside a character.
        assert_eq!(release_end("café", &stops, None, false), 3);
    }
}
