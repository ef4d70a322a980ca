//! The scheduler: an actor on its own thread that owns the running batch.
//!
//! Requests arrive as [`Job`]s (already validated and tokenized, their adapter already
//! prepared) through a channel; the number waiting is bounded (`Error::Overloaded` beyond it).
//! Every step the actor admits waiting jobs into free batch slots (their whole prompt runs as
//! that step's prefill, within a per-step token budget), runs one [`Model::forward`] over every
//! running sequence, whatever adapter each uses, samples one token per sequence and streams the
//! new text out. Finished sequences leave between steps, so requests join and leave the batch
//! continuously. A client that hangs up frees its slot at the next step.

mod detokenizer;
mod sampler;
mod scheduler;

pub use sampler::sample;

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
        atomic::{AtomicUsize, Ordering},
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
    /// Prompt tokens admitted per step (a longer prompt still runs, alone in its step).
    pub prefill_budget: usize,
}

/// How to pick tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: Option<u64>,
}

/// A validated generation request.
pub struct Job {
    /// The model label for metrics (`base` or an adapter id).
    pub label: String,
    pub prompt: Vec<u32>,
    pub lora: Option<Arc<LoraWeights>>,
    pub max_tokens: usize,
    pub sampling: Sampling,
    pub stop: Vec<String>,
    /// Keep generating past end-of-sequence tokens (benchmarks with fixed output lengths).
    pub ignore_eos: bool,
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
    /// New text.
    Text(String),
    /// The end, with token counts.
    Done {
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
    queued: Arc<AtomicUsize>,
    max_queue: usize,
    metrics: Arc<Metrics>,
}

impl EngineHandle {
    /// Queues `job`, or refuses it when the queue is full.
    pub fn submit(&self, job: Job) -> Result<()> {
        let queued = self.queued.fetch_add(1, Ordering::SeqCst);
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

    /// Requests waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
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
    let handle = EngineHandle {
        tx,
        queued: queued.clone(),
        max_queue: config.max_queue,
        metrics: metrics.clone(),
    };
    std::thread::Builder::new()
        .name("provena-engine".into())
        .spawn(move || Scheduler { model, tokenizer, config, metrics, queued, rx }.run())
        .map_err(|e| Error::Model(format!("cannot start the engine thread: {e}")))?;
    Ok(handle)
}
