//! The serving model's tokenizer, from a `tokenizer.json` or from a GGUF file's metadata.
//!
//! A GGUF file of a GPT-2-style byte-level BPE model (`tokenizer.ggml.model = "gpt2"`, as
//! SmolLM2, Llama 3 and Qwen2 ship) carries its vocabulary and merges; they are rebuilt into a
//! `tokenizers` BPE with the byte-level pre-tokenizer (digits split one by one, as SmolLM2's
//! `tokenizer.json` does) and decoder. Special tokens (`<|im_start|>` ...) are added as such.

use anyhow::{anyhow, bail, Context, Result};
use candle_core::quantized::gguf_file;
use std::path::Path;
use tokenizers::{
    decoders::byte_level::ByteLevel as ByteLevelDecoder,
    models::bpe::{Vocab, BPE},
    pre_tokenizers::{
        byte_level::ByteLevel, digits::Digits, sequence::Sequence, PreTokenizerWrapper,
    },
    AddedToken, Tokenizer,
};

/// A tokenizer and where it came from.
pub struct ModelTokenizer {
    inner: Tokenizer,
    /// `inner` encoding special-token spellings as text (see [`ModelTokenizer::encode_literal`]).
    literal: Tokenizer,
    /// The file it was loaded from.
    pub source: String,
}

impl ModelTokenizer {
    /// Loads `path`: a `.gguf` model file or a `tokenizer.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let source = path.display().to_string();
        let is_gguf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        let inner = if is_gguf {
            from_gguf(path)?
        } else {
            Tokenizer::from_file(path)
                .map_err(|e| anyhow!("cannot read tokenizer {source}: {e}"))?
        };
        Ok(Self::from_tokenizer(inner, source))
    }

    /// Wraps an existing tokenizer.
    pub fn from_tokenizer(inner: Tokenizer, source: String) -> Self {
        let mut literal = inner.clone();
        literal.set_encode_special_tokens(true);
        Self { inner, literal, source }
    }

    /// The token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| anyhow!("tokenizing failed: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| anyhow!("detokenizing failed: {e}"))
    }

    /// The text of `ids` as a client sees it: special tokens (`<|im_end|>` ...) are left out.
    pub fn decode_text(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| anyhow!("detokenizing failed: {e}"))
    }

    /// The token ids of `text` with special-token spellings taken as plain text: what a user
    /// writes can never become a control token (a role switch, an end of turn).
    pub fn encode_literal(&self, text: &str) -> Result<Vec<u32>> {
        let enc =
            self.literal.encode(text, false).map_err(|e| anyhow!("tokenizing failed: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The id of the token spelled `text` exactly, special tokens included.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.token_to_id(text)
    }

    /// The spellings of the special (control) tokens.
    pub fn special_tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .inner
            .get_added_tokens_decoder()
            .values()
            .filter(|t| t.special)
            .map(|t| t.content.clone())
            .collect();
        out.sort_unstable();
        out
    }

    /// The spelling of token `id`.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The vocabulary size, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The wrapped tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

fn from_gguf(path: &Path) -> Result<Tokenizer> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| anyhow!("{} is not a readable GGUF file: {e}", path.display()))?;
    let meta =
        |key: &str| content.metadata.get(key).ok_or_else(|| anyhow!("GGUF metadata has no {key}"));
    let model = meta("tokenizer.ggml.model")?.to_string().map_err(|e| anyhow!("{e}"))?;
    if model != "gpt2" {
        bail!("GGUF tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")");
    }
    let tokens = meta("tokenizer.ggml.tokens")?.to_vec().map_err(|e| anyhow!("{e}"))?;
    let merges = meta("tokenizer.ggml.merges")?.to_vec().map_err(|e| anyhow!("{e}"))?;
    let types = content.metadata.get("tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok());
    let mut vocab = Vocab::default();
    let mut specials = Vec::new();
    for (id, t) in tokens.iter().enumerate() {
        let t = t.to_string().map_err(|e| anyhow!("token {id}: {e}"))?.clone();
        let id = u32::try_from(id).context("vocabulary too large")?;
        // Token type 3 is "control" (special) in GGUF.
        let control = types
            .and_then(|ty| ty.get(id as usize))
            .and_then(|v| v.to_i32().ok())
            .is_some_and(|ty| ty == 3);
        if control {
            specials.push(AddedToken::from(t.clone(), true));
        }
        vocab.insert(t, id);
    }
    let merges = merges
        .iter()
        .map(|m| {
            let m = m.to_string().map_err(|e| anyhow!("merge: {e}"))?;
            let (a, b) = m.split_once(' ').ok_or_else(|| anyhow!("malformed merge {m:?}"))?;
            Ok((a.to_string(), b.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| anyhow!("cannot build the BPE: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        PreTokenizerWrapper::Digits(Digits::new(true)),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    tokenizer.add_special_tokens(specials).map_err(|e| anyhow!("special tokens: {e}"))?;
    Ok(tokenizer)
}
