//! Training data: a datanet snapshot's files turned into token sequences with a mask of the
//! tokens trained on, and the held-out split.
//!
//! # Formats
//! - `.txt`, `.md`: plain text for continued pre-training. The file is tokenized as a raw
//!   prompt (BOS as the model adds it) and cut into windows of `max_len` tokens; every token
//!   is trained on.
//! - `.jsonl`: one JSON object per line, each one of
//!   - `{"messages": [{"role": …, "content": …}, …]}`, the last message the assistant's: the
//!     conversation before it is rendered by the model's own chat template exactly as the
//!     server renders a request (so the adapter learns the prompts it will be served), and
//!     only the last reply and the end-of-turn token after it are trained on;
//!   - `{"prompt": …, "completion": …}`: the same, as one user turn and one reply;
//!   - `{"text": …}`: plain text, as above.
//!
//!   Blank lines are skipped; anything else is an error naming the file and line. A chat
//!   example longer than `max_len` is skipped and counted, not cut (a cut reply would teach
//!   the model to stop mid-sentence).

use crate::{
    error::{Error, Result},
    server::ChatTemplate,
};
use provena_attribution::ModelTokenizer;
use rand::{seq::SliceRandom, SeedableRng};
use serde::Deserialize;

/// One training sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    pub tokens: Vec<u32>,
    /// Whether each token is a target (the first never is: nothing predicts it).
    pub trained: Vec<bool>,
}

impl Example {
    /// Tokens trained on.
    pub fn targets(&self) -> usize {
        self.trained.iter().skip(1).filter(|t| **t).count()
    }
}

/// How text becomes tokens.
pub struct Encoder<'a> {
    pub tokenizer: &'a ModelTokenizer,
    pub template: &'a ChatTemplate,
    /// The token that ends an assistant turn (appended to each reply and trained on).
    pub end_of_turn: u32,
    pub max_len: usize,
}

/// A file's examples, and how many were skipped as too long.
#[derive(Clone, Debug, Default)]
pub struct Encoded {
    pub examples: Vec<Example>,
    pub skipped: usize,
}

#[derive(Deserialize)]
struct Message {
    role: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Chat { messages: Vec<Message> },
    Pair { prompt: String, completion: String },
    Text { text: String },
}

impl Encoder<'_> {
    /// The examples of file `name` (its extension names the format).
    pub fn encode_file(&self, name: &str, bytes: &[u8]) -> Result<Encoded> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::invalid("data", format!("{name} is not UTF-8 text")))?;
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let mut out = Encoded::default();
        match ext.as_str() {
            "txt" | "md" => out.examples = self.plain(text, name)?,
            "jsonl" => {
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let at = || format!("{name} line {}", i.saturating_add(1));
                    let parsed: Line = serde_json::from_str(line).map_err(|e| {
                        Error::invalid(
                            "data",
                            format!(
                                "{}: not a messages, prompt/completion or text object ({e})",
                                at()
                            ),
                        )
                    })?;
                    match parsed {
                        Line::Text { text } => out.examples.extend(self.plain(&text, &at())?),
                        Line::Chat { messages } => {
                            let pairs: Vec<(String, String)> =
                                messages.into_iter().map(|m| (m.role, m.content)).collect();
                            match self.chat(pairs, &at())? {
                                Some(e) => out.examples.push(e),
                                None => out.skipped = out.skipped.saturating_add(1),
                            }
                        }
                        Line::Pair { prompt, completion } => {
                            let pairs =
                                vec![("user".into(), prompt), ("assistant".into(), completion)];
                            match self.chat(pairs, &at())? {
                                Some(e) => out.examples.push(e),
                                None => out.skipped = out.skipped.saturating_add(1),
                            }
                        }
                    }
                }
            }
            _ => {
                return Err(Error::invalid(
                    "data",
                    format!("{name}: unsupported format (use .txt, .md or .jsonl)"),
                ))
            }
        }
        Ok(out)
    }

    fn plain(&self, text: &str, at: &str) -> Result<Vec<Example>> {
        let ids = self
            .template
            .encode_raw(self.tokenizer, text)
            .map_err(|e| Error::invalid("data", format!("{at}: {e}")))?;
        Ok(ids
            .chunks(self.max_len.max(2))
            .filter(|c| c.len() >= 2)
            .map(|c| Example { tokens: c.to_vec(), trained: vec![true; c.len()] })
            .collect())
    }

    /// `None` when the conversation is longer than `max_len`.
    fn chat(&self, mut messages: Vec<(String, String)>, at: &str) -> Result<Option<Example>> {
        let Some((role, reply)) = messages.pop() else {
            return Err(Error::invalid("data", format!("{at}: no messages")));
        };
        if role != "assistant" || messages.is_empty() {
            return Err(Error::invalid(
                "data",
                format!("{at}: the last message must be the assistant's, after at least one other"),
            ));
        }
        let prompt = self
            .template
            .encode(self.tokenizer, &messages)
            .map_err(|e| Error::invalid("data", format!("{at}: {e}")))?;
        let mut answer = if reply.is_empty() {
            Vec::new()
        } else {
            self.tokenizer
                .encode_literal(&reply)
                .map_err(|e| Error::invalid("data", format!("{at}: {e}")))?
        };
        answer.push(self.end_of_turn);
        if prompt.len().saturating_add(answer.len()) > self.max_len {
            return Ok(None);
        }
        let mut trained = vec![false; prompt.len()];
        trained.extend(std::iter::repeat_n(true, answer.len()));
        let mut tokens = prompt;
        tokens.extend(answer);
        Ok(Some(Example { tokens, trained }))
    }
}

/// Splits `examples` into (train, held out): a seeded shuffle, then `fraction` of them (at
/// least one when `fraction > 0` and there are two or more; never all) held out.
pub fn split(mut examples: Vec<Example>, fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5911_7000_0001);
    examples.shuffle(&mut rng);
    let n = examples.len();
    let held = if fraction <= 0.0 || n < 2 {
        0
    } else {
        ((n as f64 * fraction).ceil() as usize).clamp(1, n.saturating_sub(1))
    };
    let train = examples.split_off(held);
    (train, examples)
}

/// The order examples are visited in during `epoch`: a permutation of `0..n` from the seed.
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        seed.wrapping_add(epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    );
    order.shuffle(&mut rng);
    order
}
