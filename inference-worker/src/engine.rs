//! The scheduler: an actor on its own thread that owns the running batch.
//!
//! Requests arrive as [`Job`]s (already validated and tokenized, their adapter already
//! prepared) through a channel; the number waiting is bounded (`Error::Overloaded` beyond it).
//! Every step the actor admits waiting jobs into free batch slots (their whole prompt runs as
//! that step's prefill, within a per-step token budget), runs one [`Model::forward`] over every
//! running sequence, whatever adapter each uses, samples one token per sequence and streams the
//! new text out. Finished sequences leave between steps, so requests join and leave the batch
//! continuously. A client that hangs up frees its slot at the next step.

use crate::{
    error::{Error, Result},
    lora::LoraWeights,
    metrics::Metrics,
    model::{KvCache, Model, SeqStep},
};
use provena_attribution::ModelTokenizer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::{
    collections::VecDeque,
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

struct Seq {
    job: Job,
    cache: KvCache,
    generated: Vec<u32>,
    /// Bytes of the decoded completion already sent.
    sent: usize,
    /// The next step's input (the prompt, then the last sampled token).
    pending: Vec<u32>,
    rng: ChaCha8Rng,
    last_token_at: Option<Instant>,
    finished: bool,
}

struct Scheduler {
    model: Arc<Model>,
    tokenizer: Arc<ModelTokenizer>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    queued: Arc<AtomicUsize>,
    rx: mpsc::Receiver<Job>,
}

impl Scheduler {
    fn run(self) {
        let mut waiting: VecDeque<Job> = VecDeque::new();
        let mut running: Vec<Seq> = Vec::new();
        let mut seed_counter: u64 = 0;
        loop {
            if running.is_empty() && waiting.is_empty() {
                match self.rx.recv() {
                    Ok(job) => waiting.push_back(job),
                    Err(_) => return,
                }
            }
            while let Ok(job) = self.rx.try_recv() {
                waiting.push_back(job);
            }
            // Admit.
            let mut budget = self.config.prefill_budget;
            let mut admitted_any = false;
            while running.len() < self.config.max_batch.max(1) {
                let Some(front) = waiting.front() else { break };
                if admitted_any && front.prompt.len() > budget {
                    break;
                }
                let Some(job) = waiting.pop_front() else { break };
                self.queued.fetch_sub(1, Ordering::SeqCst);
                budget = budget.saturating_sub(job.prompt.len());
                admitted_any = true;
                seed_counter = seed_counter.wrapping_add(1);
                let seed = job.sampling.seed.unwrap_or_else(|| entropy_seed(seed_counter));
                let capacity = job.prompt.len().saturating_add(job.max_tokens);
                running.push(Seq {
                    cache: KvCache::new(
                        &self.model.config,
                        capacity.min(self.model.config.context),
                    ),
                    generated: Vec::new(),
                    sent: 0,
                    pending: job.prompt.clone(),
                    rng: ChaCha8Rng::seed_from_u64(seed),
                    last_token_at: None,
                    finished: false,
                    job,
                });
            }
            self.metrics.queue_depth.set(self.queued.load(Ordering::SeqCst) as i64);
            self.metrics.running.set(running.len() as i64);
            // Drop sequences whose client went away.
            running.retain(|s| !s.job.events.is_closed());
            if running.is_empty() {
                continue;
            }
            let rows: usize = running.iter().map(|s| s.pending.len()).sum();
            self.metrics.batch_rows.observe(rows as f64);
            let logits = {
                let mut steps: Vec<SeqStep<'_>> = running
                    .iter_mut()
                    .map(|s| SeqStep {
                        tokens: &s.pending,
                        cache: &mut s.cache,
                        lora: s.job.lora.as_deref(),
                        all_logits: false,
                    })
                    .collect();
                self.model.forward(&mut steps)
            };
            match logits {
                Ok(logits) => {
                    for (seq, logits) in running.iter_mut().zip(logits) {
                        self.advance(seq, &logits);
                    }
                }
                Err(e) => {
                    for seq in running.iter_mut() {
                        let _ = seq.job.events.send(Event::Failed(e.to_string()));
                        seq.finished = true;
                    }
                }
            }
            running.retain(|s| !s.finished);
        }
    }

    fn advance(&self, seq: &mut Seq, logits: &[f32]) {
        let now = Instant::now();
        let prompt_tokens = seq.job.prompt.len();
        let token = sample(logits, &seq.job.sampling, &mut seq.rng);
        match seq.last_token_at {
            None => self
                .metrics
                .ttft_seconds
                .with_label_values(&[seq.job.label.as_str()])
                .observe(now.duration_since(seq.job.arrived).as_secs_f64()),
            Some(prev) => self.metrics.itl_seconds.observe(now.duration_since(prev).as_secs_f64()),
        }
        seq.last_token_at = Some(now);
        let eos = !seq.job.ignore_eos && self.model.config.eos.contains(&token);
        if !eos {
            seq.generated.push(token);
        }
        let text = self.tokenizer.decode(&seq.generated).unwrap_or_default();
        // The earliest stop sequence in the unsent tail ends the generation there.
        let search_from =
            floor_char_boundary(&text, seq.sent.saturating_sub(self.longest_stop(seq)));
        let stop_at = seq
            .job
            .stop
            .iter()
            .filter_map(|s| text.get(search_from..).and_then(|t| t.find(s.as_str())))
            .map(|i| i.saturating_add(search_from))
            .min();
        let at_length = seq.generated.len() >= seq.job.max_tokens
            || seq.cache.len().saturating_add(1) >= self.model.config.context;
        let reason = if eos || stop_at.is_some() {
            Some(FinishReason::Stop)
        } else if at_length {
            Some(FinishReason::Length)
        } else {
            None
        };
        let end = match (stop_at, reason) {
            (Some(i), _) => i,
            (None, Some(_)) => text.len(),
            // Hold back what could still become a stop sequence or an incomplete character.
            (None, None) => {
                let hold = self.longest_stop(seq).saturating_sub(1);
                let end = floor_char_boundary(&text, text.len().saturating_sub(hold));
                if text.ends_with('\u{FFFD}') {
                    floor_char_boundary(&text, end.saturating_sub(3))
                } else {
                    end
                }
            }
        };
        if end > seq.sent {
            if let Some(delta) = text.get(seq.sent..end) {
                if seq.job.events.send(Event::Text(delta.to_string())).is_err() {
                    seq.finished = true;
                    return;
                }
                seq.sent = end;
            }
        }
        if let Some(reason) = reason {
            let completion_tokens = seq.generated.len().saturating_add(usize::from(eos));
            let label = seq.job.label.as_str();
            self.metrics.tokens.with_label_values(&[label, "prompt"]).inc_by(prompt_tokens as u64);
            self.metrics
                .tokens
                .with_label_values(&[label, "completion"])
                .inc_by(completion_tokens as u64);
            let tokens = std::mem::take(&mut seq.generated);
            let _ = seq.job.events.send(Event::Done {
                reason,
                prompt_tokens,
                completion_tokens,
                tokens,
            });
            seq.finished = true;
        } else {
            seq.pending.clear();
            seq.pending.push(token);
        }
    }

    fn longest_stop(&self, seq: &Seq) -> usize {
        seq.job.stop.iter().map(|s| s.len()).max().unwrap_or(0)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i = i.saturating_sub(1);
    }
    i
}

fn entropy_seed(counter: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ counter.rotate_left(32) ^ u64::from(std::process::id())
}

/// Picks a token: greedy at temperature 0, otherwise nucleus sampling at `top_p`.
pub fn sample(logits: &[f32], sampling: &Sampling, rng: &mut ChaCha8Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold(
                (0usize, f32::NEG_INFINITY),
                |best, (i, &v)| if v > best.1 { (i, v) } else { best },
            )
            .0
    };
    if sampling.temperature <= 0.0 {
        return u32::try_from(argmax()).unwrap_or(0);
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (u32::try_from(i).unwrap_or(0), ((l - max) / sampling.temperature).exp()))
        .collect();
    let total: f32 = probs.iter().map(|p| p.1).sum();
    if !(total.is_finite() && total > 0.0) {
        return u32::try_from(argmax()).unwrap_or(0);
    }
    probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    let top_p = sampling.top_p.clamp(f32::MIN_POSITIVE, 1.0);
    let mut kept = 0usize;
    let mut mass = 0f32;
    for p in &probs {
        kept = kept.saturating_add(1);
        mass += p.1 / total;
        if mass >= top_p {
            break;
        }
    }
    let kept_probs = probs.get(..kept).unwrap_or(&probs);
    let kept_total: f32 = kept_probs.iter().map(|p| p.1).sum();
    let mut r = rng.random::<f32>() * kept_total;
    for p in kept_probs {
        r -= p.1;
        if r <= 0.0 {
            return p.0;
        }
    }
    kept_probs.last().map(|p| p.0).unwrap_or(0)
}
