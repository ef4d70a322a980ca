//! The base model's chat template: the model's own Jinja template, rendered as Hugging Face
//! `transformers` renders it, and the conversation tokenized so that what users write stays
//! text.
//!
//! # Rendering
//! The template comes from the GGUF's `tokenizer.chat_template` or an HF directory's
//! `tokenizer_config.json` (or `--chat-template FILE`); only a model that ships none gets
//! ChatML. It runs in `minijinja` configured as `transformers` configures Jinja2
//! (`trim_blocks`, `lstrip_blocks`, loop controls, Python string methods, `raise_exception`),
//! with `messages`, `add_generation_prompt = true`, `bos_token` and `eos_token`. A template that
//! refuses a conversation (`raise_exception("roles must alternate ...")`) refuses the request
//! with its own message.
//!
//! # Tokenizing
//! Rendering the conversation and tokenizing the result would turn a user's `<|im_end|>` into
//! the control token and let them forge turns. The template is instead rendered with a
//! placeholder for each message's content; the text between placeholders (the template's own,
//! special tokens included) is tokenized with special tokens recognized, each content as plain
//! text ([`ModelTokenizer::encode_literal`]). A template that trims contents gets them trimmed.
//! The pieces must join back into exactly what the template renders with the real contents;
//! should a template transform contents beyond trimming (so that they do not), the rendered
//! text is tokenized whole, and a content that spells a special token is refused instead.
//!
//! # Begin and end of sequence
//! BOS is added in front when the tokenizer asks for it (`tokenizer.ggml.add_bos_token`,
//! `add_bos_token`) and the template did not render it. Generation stops at every
//! end-of-generation token the metadata lists ([`ChatTemplate::end_of_generation`]).

use crate::error::{Error, Result};
use minijinja::{context, Environment, ErrorKind, Value};
use provena_attribution::ModelTokenizer;
use std::path::Path;

/// ChatML, for a model that ships no template.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + \
                      message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if \
                      add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Spellings of end-of-generation tokens (as llama.cpp lists them): a special token spelled so
/// ends a generation even when the metadata names another end-of-sequence token.
const END_OF_GENERATION: &[&str] = &[
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "<end_of_utterance>",
];

/// Noncharacters delimiting a content placeholder (never in tokenizer vocabularies; refused in
/// contents so that no content can fake one).
const OPEN: char = '\u{FDD0}';
const CLOSE: char = '\u{FDD1}';

/// What the model's metadata says about its template and special tokens.
#[derive(Clone, Debug, Default)]
pub struct TemplateMeta {
    pub template: Option<String>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub add_bos: bool,
    /// Other end-of-generation ids the metadata names (end of turn, end of message).
    pub end_ids: Vec<u32>,
}

impl TemplateMeta {
    /// Reads a GGUF's metadata or an HF directory's `tokenizer_config.json` and
    /// `generation_config.json`.
    pub fn read(model: &Path, tokenizer: &ModelTokenizer) -> Result<Self> {
        if model.is_dir() {
            Self::read_hf(model, tokenizer)
        } else {
            Self::read_gguf(model)
        }
    }

    fn read_gguf(path: &Path) -> Result<Self> {
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut f)
            .map_err(|e| Error::Model(format!("GGUF metadata: {e}")))?;
        let id = |key: &str| {
            content.metadata.get(key).and_then(|v| {
                v.to_u32().ok().or_else(|| v.to_i32().ok().and_then(|i| u32::try_from(i).ok()))
            })
        };
        Ok(Self {
            template: content
                .metadata
                .get("tokenizer.chat_template")
                .and_then(|v| v.to_string().ok().cloned()),
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            add_bos: content
                .metadata
                .get("tokenizer.ggml.add_bos_token")
                .and_then(|v| v.to_bool().ok())
                .unwrap_or(false),
            end_ids: ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]
                .iter()
                .filter_map(|k| id(k))
                .collect(),
        })
    }

    fn read_hf(dir: &Path, tokenizer: &ModelTokenizer) -> Result<Self> {
        let json = |name: &str| -> Result<Option<serde_json::Value>> {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(raw) => serde_json::from_slice(&raw)
                    .map(Some)
                    .map_err(|e| Error::Model(format!("{name}: {e}"))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(&path, e)),
            }
        };
        let config = json("tokenizer_config.json")?.unwrap_or_default();
        let generation = json("generation_config.json")?.unwrap_or_default();
        // A token given as its spelling or as `{"content": ...}`.
        let token = |key: &str| {
            let v = config.get(key)?;
            let text = v.as_str().or_else(|| v.get("content")?.as_str())?;
            tokenizer.token_id(text)
        };
        // `chat_template` is a string, or a list of named templates ("default" is the chat one).
        let template = match config.get("chat_template") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
            _ => None,
        };
        let end_ids = match generation.get("eos_token_id") {
            Some(serde_json::Value::Number(n)) => n.as_u64().into_iter().collect(),
            Some(serde_json::Value::Array(ids)) => ids.iter().filter_map(|i| i.as_u64()).collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            template,
            bos: token("bos_token"),
            eos: token("eos_token"),
            add_bos: config.get("add_bos_token").and_then(|v| v.as_bool()).unwrap_or(false),
            end_ids: end_ids.into_iter().filter_map(|i| u32::try_from(i).ok()).collect(),
        })
    }
}

/// The compiled chat template of the base model.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Whether the template is the model's own (else ChatML).
    pub from_model: bool,
    bos_token: String,
    eos_token: String,
    /// BOS to add in front when the template does not render it.
    add_bos: Option<u32>,
    /// Special-token spellings (refused in contents when a template hides placeholders).
    specials: Vec<String>,
}

impl ChatTemplate {
    /// Compiles `meta`'s template (or `source`, which overrides it).
    pub fn new(
        meta: &TemplateMeta,
        source: Option<String>,
        tokenizer: &ModelTokenizer,
    ) -> Result<Self> {
        let source = source.or_else(|| meta.template.clone());
        let from_model = source.is_some();
        let mut env = Environment::new();
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.trim_blocks(true).lstrip_blocks(true);
        env.set_syntax(syntax.build().map_err(|e| Error::Model(format!("chat template: {e}")))?);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.unwrap_or_else(|| CHATML.to_string()))
            .map_err(|e| Error::Model(format!("the chat template does not compile: {e}")))?;
        let spell = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i)).unwrap_or_default();
        Ok(Self {
            env,
            from_model,
            bos_token: spell(meta.bos),
            eos_token: spell(meta.eos),
            add_bos: meta.bos.filter(|_| meta.add_bos),
            specials: tokenizer.special_tokens(),
        })
    }

    /// Every token that ends a generation: the metadata's end-of-sequence, end-of-turn and
    /// end-of-message ids, and every special token spelled as one.
    pub fn end_of_generation(meta: &TemplateMeta, tokenizer: &ModelTokenizer) -> Vec<u32> {
        let mut ids: Vec<u32> = meta.eos.into_iter().chain(meta.end_ids.iter().copied()).collect();
        for spelling in tokenizer.special_tokens() {
            if END_OF_GENERATION.contains(&spelling.as_str()) {
                ids.extend(tokenizer.token_id(&spelling));
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The conversation as the template renders it, ready for the assistant's turn.
    pub fn render(&self, messages: &[(String, String)]) -> Result<String> {
        let contents: Vec<&str> = messages.iter().map(|(_, c)| c.as_str()).collect();
        self.render_with(messages, &contents)
    }

    fn render_with(&self, messages: &[(String, String)], contents: &[&str]) -> Result<String> {
        let messages: Vec<Value> = messages
            .iter()
            .zip(contents)
            .map(|((role, _), &content)| context! { role => role, content => content })
            .collect();
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| Error::Model(format!("chat template: {e}")))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| {
                let message = match e.kind() {
                    ErrorKind::InvalidOperation => e.detail().unwrap_or("refused").to_string(),
                    _ => e.to_string(),
                };
                Error::invalid("messages", format!("the model's chat template: {message}"))
            })
    }

    /// The prompt's token ids (see the module docs).
    pub fn encode(
        &self,
        tokenizer: &ModelTokenizer,
        messages: &[(String, String)],
    ) -> Result<Vec<u32>> {
        for (i, (_, content)) in messages.iter().enumerate() {
            if content.contains([OPEN, CLOSE]) {
                return Err(Error::invalid(
                    format!("messages[{i}].content"),
                    "contains a Unicode noncharacter (U+FDD0 or U+FDD1)",
                ));
            }
        }
        let placeholders: Vec<String> =
            (0..messages.len()).map(|i| format!(" {OPEN}{i}{CLOSE} ")).collect();
        let refs: Vec<&str> = placeholders.iter().map(String::as_str).collect();
        let rendered = self.render_with(messages, &refs)?;
        let reference = self.render(messages)?;
        // The pieces must give back exactly what the template renders with the real contents
        // (a template that transforms contents, `| upper` ..., does not).
        let segments = self.segments(&rendered, messages).filter(|segments| {
            let joined: String = segments.iter().flat_map(|(t, c)| [*t, *c]).collect();
            joined == reference
        });
        let mut ids = Vec::new();
        match segments {
            Some(segments) => {
                for (template_text, content) in segments {
                    ids.extend(self.tokens(tokenizer, template_text, false)?);
                    ids.extend(self.tokens(tokenizer, content, true)?);
                }
            }
            None => {
                for (i, (_, content)) in messages.iter().enumerate() {
                    if let Some(s) = self.specials.iter().find(|s| content.contains(s.as_str())) {
                        return Err(Error::invalid(
                            format!("messages[{i}].content"),
                            format!("spells the special token {s}, which this model's template cannot keep as text"),
                        ));
                    }
                }
                ids = self.tokens(tokenizer, &reference, false)?;
            }
        }
        self.with_bos(&mut ids);
        Ok(ids)
    }

    fn with_bos(&self, ids: &mut Vec<u32>) {
        if let Some(bos) = self.add_bos {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
    }

    /// A raw prompt's token ids (`/v1/completions`): special-token spellings are the tokens
    /// (the caller writes the whole prompt, there are no turns to forge), BOS as for chats.
    pub fn encode_raw(&self, tokenizer: &ModelTokenizer, prompt: &str) -> Result<Vec<u32>> {
        let mut ids = self.tokens(tokenizer, prompt, false)?;
        self.with_bos(&mut ids);
        Ok(ids)
    }

    fn tokens(&self, tokenizer: &ModelTokenizer, text: &str, literal: bool) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let ids = if literal { tokenizer.encode_literal(text) } else { tokenizer.encode(text) };
        ids.map_err(|e| Error::invalid(if literal { "messages" } else { "prompt" }, e.to_string()))
    }

    /// Splits a placeholder rendering into (template text, content) pairs, the last content
    /// empty; `None` when a placeholder did not come through once and intact.
    fn segments<'a>(
        &self,
        rendered: &'a str,
        messages: &'a [(String, String)],
    ) -> Option<Vec<(&'a str, &'a str)>> {
        let mut out = Vec::new();
        let mut rest = rendered;
        let mut next = 0usize;
        while let Some(open) = rest.find(OPEN) {
            let after_open = rest.get(open.checked_add(OPEN.len_utf8())?..)?;
            let close = after_open.find(CLOSE)?;
            let i: usize = after_open.get(..close)?.parse().ok()?;
            if i != next {
                return None;
            }
            next = next.checked_add(1)?;
            let content = messages.get(i)?.1.as_str();
            let mut before = rest.get(..open)?;
            let mut tail = after_open.get(close.checked_add(CLOSE.len_utf8())?..)?;
            // The placeholder is padded with one space each side: both there means the content
            // went in as is, both gone that the template trimmed it.
            let content = match (before.strip_suffix(' '), tail.strip_prefix(' ')) {
                (Some(b), Some(t)) => {
                    before = b;
                    tail = t;
                    content
                }
                (_, None) => content.trim(),
                (None, Some(_)) => return None,
            };
            out.push((before, content));
            rest = tail;
        }
        if next != messages.len() {
            return None;
        }
        out.push((rest, ""));
        Some(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests;
