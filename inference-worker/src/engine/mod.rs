//! The scheduler: an actor on its own thread that owns the running batch.
//!
//! Requests arrive as [`Job`]s (already validated and tokenized, their adapter already
//! prepared) through a channel; the number waiting is bounded (`Error::Overloaded` beyond it).
//! Every step the actor admits waiting jobs into free batch slots, runs one [`Model::forward`]
//! over the running sequences, whatever adapter each uses, samples one token per sequence whose
//! prompt is in and streams the new text out. Finished sequences leave between steps, so
//! requests join and leave the batch continuously. A client that hangs up frees its slot at the
//! next step.
//!
//! # Memory and latency bounds
//! - **K/V budget** (`EngineConfig::kv_budget`): each sequence's cache grows with its actual
//!   length, [`crate::model::kv_cache::GROW`] positions at a time, never past prompt +
//!   `max_tokens`, so memory follows what is generated rather than the worst case. A job is
//!   admitted only when its first chunk fits beside the running ones (FCFS: none overtakes a
//!   job that waits); when a step would take the caches past the budget, the latest admitted
//!   sequences are preempted: their memory is freed and they resume, before any new job, by
//!   recomputing their prompt and what they generated (as vLLM's recompute preemption). A
//!   request that could not fit even alone is refused at validation. Nothing aborts.
//! - **Chunked prefill**: a step carries at most `prefill_budget` tokens: one per decoding
//!   sequence, the rest prompt chunks, oldest first. A long prompt is fed over several steps
//!   (sampling only after its last chunk), so it never stalls the batch's inter-token latency
//!   for more than one bounded step.
//! - **Prefix caching** (`EngineConfig::prefix_cache_bytes`): finished and preempted
//!   sequences leave their K/V to a cache of its own budget; a new prompt that starts with a
//!   cached prefix (whole 16-token blocks, same weights) starts with those positions copied in
//!   and prefills only the rest. See `prefix_cache`.

mod detokenizer;
mod grammar;
mod prefix_cache;
mod sampler;
mod scheduler;

pub use grammar::{Constraint, Grammars, Ordered};
pub use sampler::{sample, sample_with, History, TokenLogprobs};

use crate::{
    error::{Error, Result},
    lora::LoraWeights,
    metrics::Metrics,
    model::Model,
};
use provena_attribution::ModelTokenizer;
use scheduler::Scheduler;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::Instant,
};
use tokio::sync::mpsc::UnboundedSender;

/// Scheduler limits.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Sequences decoded together.
    pub max_batch: usize,
    /// Requests allowed to wait for a slot.
    pub max_queue: usize,
    /// Tokens per engine step: one per decoding sequence, the rest prompt chunks (a longer
    /// prompt is prefilled over several steps).
    pub prefill_budget: usize,
    /// Bytes of K/V the running sequences may hold together. A job waits until its first
    /// chunk fits; a step that would exceed it preempts the latest admitted sequences.
    pub kv_budget: usize,
    /// Bytes of K/V kept from finished and preempted sequences for prompts that start the same
    /// way (see `prefix_cache`); 0 disables prefix caching.
    pub prefix_cache_bytes: usize,
}

/// How to pick tokens (see `sampler` for the order the adjustments apply in).
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: Option<u64>,
    /// Added to a token's logit (OpenAI's `logit_bias`).
    pub logit_bias: Vec<(u32, f32)>,
    pub presence_penalty: f32,
    pub frequency_penalty: f32,
    /// 1 means none.
    pub repetition_penalty: f32,
}

impl Sampling {
    /// Greedy, nothing adjusted.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            seed: None,
            logit_bias: Vec::new(),
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            repetition_penalty: 1.0,
        }
    }
}

/// A validated generation request.
#[derive(Clone)]
pub struct Job {
    /// The model label for metrics (`base` or an adapter id).
    pub label: String,
    pub prompt: Vec<u32>,
    pub lora: Option<Arc<LoraWeights>>,
    pub max_tokens: usize,
    pub sampling: Sampling,
    pub stop: Vec<String>,
    /// Token ids that end this generation (besides the model's end-of-generation tokens).
    pub stop_tokens: Vec<u32>,
    /// Report each token's log-probability and this many alternatives.
    pub logprobs: Option<usize>,
    /// The grammar the output must follow (`response_format`), if any.
    pub constraint: Option<Box<Constraint>>,
    /// Completions to generate from the prompt (OpenAI's `n`): the prompt is prefilled once
    /// and its K/V copied to each.
    pub n: usize,
    /// The request's span: the engine's events for the job are logged in it.
    pub span: tracing::Span,
    /// Keep generating past end-of-sequence tokens (benchmarks with fixed output lengths).
    pub ignore_eos: bool,
    /// Requests share prefix-cached K/V only with requests of the same salt (vLLM's
    /// `cache_salt`).
    pub cache_salt: Option<String>,
    pub events: UnboundedSender<Event>,
    pub arrived: Instant,
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// An end-of-sequence token or a stop sequence.
    Stop,
    /// `max_tokens` or the context length.
    Length,
}

/// What the engine reports about a job.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// New text of choice `index`.
    Text { index: usize, text: String },
    /// A generated token's log-probabilities (when asked), before the text it completes.
    Logprobs { index: usize, logprobs: TokenLogprobs },
    /// The end of choice `index`, with token counts.
    Done {
        index: usize,
        reason: FinishReason,
        prompt_tokens: usize,
        completion_tokens: usize,
        /// The generated token ids (end-of-sequence excluded), for attribution.
        tokens: Vec<u32>,
    },
    /// The job failed inside the engine.
    Failed(String),
}

/// A handle to submit jobs.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Job>,
    /// Cleared when the engine thread ends, however it ends (see [`Alive`]).
    alive: Arc<AtomicBool>,
    queued: Arc<AtomicUsize>,
    max_queue: usize,
    kv_budget: usize,
    max_batch: usize,
    metrics: Arc<Metrics>,
}

impl EngineHandle {
    /// Queues `job`, or refuses it when the queue is full.
    pub fn submit(&self, job: Job) -> Result<()> {
        let queued = self.queued.fetch_add(1, Ordering::SeqCst);
        if !self.alive() {
            return Err(Error::EngineStopped);
        }
        if queued >= self.max_queue {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            self.metrics.rejected.with_label_values(&["overloaded"]).inc();
            return Err(Error::Overloaded { queued });
        }
        self.metrics.queue_depth.set(queued.saturating_add(1) as i64);
        self.tx.send(job).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            Error::EngineStopped
        })
    }

    /// Bytes of K/V the running sequences may hold together.
    pub fn kv_budget(&self) -> usize {
        self.kv_budget
    }

    /// Sequences decoded together (a request's `n` choices must fit).
    pub fn max_batch(&self) -> usize {
        self.max_batch.max(1)
    }

    /// Whether the engine thread still runs.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Requests waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }
}

/// Clears its flag when dropped: at the end of the engine thread, a panic's unwinding included.
struct Alive(Arc<AtomicBool>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Starts the engine thread.
pub fn start(
    model: Arc<Model>,
    tokenizer: Arc<ModelTokenizer>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
) -> Result<EngineHandle> {
    let (tx, rx) = mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(AtomicBool::new(true));
    let handle = EngineHandle {
        tx,
        alive: alive.clone(),
        queued: queued.clone(),
        max_queue: config.max_queue,
        kv_budget: config.kv_budget,
        max_batch: config.max_batch,
        metrics: metrics.clone(),
    };
    std::thread::Builder::new()
        .name("provena-engine".into())
        .spawn(move || {
            let _alive = Alive(alive);
            Scheduler { model, tokenizer, config, metrics, queued, rx }.run()
        })
        .map_err(|e| Error::Model(format!("cannot start the engine thread: {e}")))?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_falls_when_the_thread_dies_even_by_panic() {
        let flag = Arc::new(AtomicBool::new(true));
        let held = flag.clone();
        let thread = std::thread::spawn(move || {
            let _alive = Alive(held);
            panic!("an engine bug");
        });
        assert!(thread.join().is_err());
        assert!(!flag.load(Ordering::SeqCst));
    }
}
