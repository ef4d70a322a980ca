//! The actor: admits waiting jobs into the running batch, runs one step over every sequence,
//! samples, and streams the new text out.

use super::{detokenizer, sampler, EngineConfig, Event, FinishReason, Job};
use crate::{
    metrics::Metrics,
    model::{KvCache, Model, SeqStep},
};
use provena_attribution::ModelTokenizer;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::Instant,
};

pub(super) struct Seq {
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

pub(super) struct Scheduler {
    pub(super) model: Arc<Model>,
    pub(super) tokenizer: Arc<ModelTokenizer>,
    pub(super) config: EngineConfig,
    pub(super) metrics: Arc<Metrics>,
    pub(super) queued: Arc<AtomicUsize>,
    pub(super) rx: mpsc::Receiver<Job>,
}

impl Scheduler {
    pub(super) fn run(self) {
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
                let seed = job.sampling.seed.unwrap_or_else(|| sampler::entropy_seed(seed_counter));
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
        let token = sampler::sample(logits, &seq.job.sampling, &mut seq.rng);
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
        let stop_at = detokenizer::find_stop(&text, seq.sent, &seq.job.stop);
        let at_length = seq.generated.len() >= seq.job.max_tokens
            || seq.cache.len().saturating_add(1) >= self.model.config.context;
        let reason = if eos || stop_at.is_some() {
            Some(FinishReason::Stop)
        } else if at_length {
            Some(FinishReason::Length)
        } else {
            None
        };
        let end = detokenizer::release_end(&text, &seq.job.stop, stop_at, reason.is_some());
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
}
