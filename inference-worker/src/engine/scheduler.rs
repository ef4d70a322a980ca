//! The actor: admits waiting jobs into the running batch, runs one step over every sequence,
//! samples, and streams the new text out.

use super::{
    detokenizer,
    grammar::Next,
    prefix_cache::{self, Owner, PrefixCache},
    sampler, EngineConfig, Event, FinishReason, Job,
};
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
    /// The most positions this sequence may hold (prompt + `max_tokens`, within the context).
    limit: usize,
    generated: Vec<u32>,
    /// What penalties look at.
    history: sampler::History,
    /// The incremental decoder of the completion.
    detok: detokenizer::Stream,
    /// Decoded text not sent yet (what could still become a stop sequence).
    unsent: String,
    /// The tokens still to feed (the prompt, or after a preemption the prompt and everything
    /// generated, then each sampled token); `pending[..fed]` are in the cache already.
    pending: Vec<u32>,
    fed: usize,
    rng: ChaCha8Rng,
    /// The seed `rng` started from (choice `i` of `n` starts from `seed + i`).
    seed: u64,
    /// The choice this sequence generates (`0..job.n`).
    index: usize,
    /// Choices still to fork from this one once its prompt is in.
    forks: usize,
    last_token_at: Option<Instant>,
    finished: bool,
    /// Finished normally: its K/V (prompt and generated tokens) may serve later prompts.
    reusable: bool,
}

impl Seq {
    /// Choice `index`: a copy of this sequence at the end of its prompt (the prompt's K/V is
    /// computed once and copied), with its own random stream.
    fn fork(&self, index: usize) -> Seq {
        let seed = self.seed.wrapping_add(index as u64);
        Seq {
            job: self.job.clone(),
            cache: self.cache.clone(),
            limit: self.limit,
            generated: Vec::new(),
            history: self.history.clone(),
            detok: detokenizer::Stream::default(),
            unsent: String::new(),
            pending: self.pending.clone(),
            fed: self.fed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            index,
            forks: 0,
            last_token_at: None,
            finished: false,
            reusable: false,
        }
    }

    /// The tokens whose K/V the cache holds: the prompt, then what was generated.
    fn cached_tokens(&self) -> Vec<u32> {
        let mut all = self.job.prompt.clone();
        all.extend_from_slice(&self.generated);
        all.truncate(self.cache.len());
        all
    }

    /// How many leading tokens of `prompt` this sequence's cache holds the K/V of, if it was
    /// computed by `owner`'s weights (and salt).
    fn shared_prefix(&self, owner: &Owner, prompt: &[u32]) -> usize {
        if Owner::new(self.job.lora.as_ref(), self.job.cache_salt.as_deref()) != *owner {
            return 0;
        }
        let held = self.job.prompt.iter().chain(&self.generated).take(self.cache.len());
        held.zip(prompt).take_while(|(a, b)| a == b).count()
    }

    fn unfed(&self) -> usize {
        self.pending.len().saturating_sub(self.fed)
    }
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
        // Sequences preempted to free K/V, oldest first: they resume before new jobs start.
        let mut preempted: VecDeque<Seq> = VecDeque::new();
        let mut running: Vec<Seq> = Vec::new();
        let mut seed_counter: u64 = 0;
        let cfg = &self.model.config;
        let kv_budget = self.config.kv_budget;
        self.metrics.kv_cache_budget_bytes.set(i64::try_from(kv_budget).unwrap_or(i64::MAX));
        let mut prefix = PrefixCache::new(self.config.prefix_cache_bytes);
        loop {
            if running.is_empty() && waiting.is_empty() && preempted.is_empty() {
                match self.rx.recv() {
                    Ok(job) => waiting.push_back(job),
                    Err(_) => return,
                }
            }
            while let Ok(job) = self.rx.try_recv() {
                waiting.push_back(job);
            }
            // Drop sequences whose client went away.
            running.retain(|s| !s.job.events.is_closed());
            preempted.retain(|s| !s.job.events.is_closed());
            // Admit while a batch slot is free and the K/V of the first chunk fits in the
            // budget: preempted sequences first, then new jobs, in order (a job that does not
            // fit waits; none overtakes it).
            let mut used: usize = running.iter().map(|s| s.cache.bytes()).sum();
            while running.len() < self.config.max_batch.max(1) {
                let first_chunk = |unfed: usize, limit: usize| {
                    KvCache::bytes_for(cfg, unfed.min(self.config.prefill_budget.max(1)).min(limit))
                };
                if let Some(seq) = preempted.front() {
                    // Its K/V went to the prefix cache when it was preempted: resume from there
                    // if it is still held.
                    let owner = Owner::new(seq.job.lora.as_ref(), seq.job.cache_salt.as_deref());
                    let hit = prefix.lookup(&owner, &seq.pending);
                    let reused = hit.map_or(0, |h| h.positions);
                    let need = KvCache::bytes_for(cfg, reused)
                        .saturating_add(first_chunk(seq.unfed().saturating_sub(reused), seq.limit));
                    if !running.is_empty() && used.saturating_add(need) > kv_budget {
                        break;
                    }
                    let Some(mut seq) = preempted.pop_front() else { break };
                    if let Some(cache) = hit.and_then(|h| prefix.take_copy(h)) {
                        seq.fed = cache.len();
                        seq.cache = cache;
                    }
                    used = used.saturating_add(need);
                    running.push(seq);
                    continue;
                }
                let Some(front) = waiting.front() else { break };
                // A job for n choices takes n slots once its prompt is in.
                let slots = running.len().saturating_add(front.n.max(1));
                if !running.is_empty() && slots > self.config.max_batch.max(1) {
                    break;
                }
                let limit = front.prompt.len().saturating_add(front.max_tokens).min(cfg.context);
                let owner = Owner::new(front.lora.as_ref(), front.cache_salt.as_deref());
                let hit = prefix.lookup(&owner, &front.prompt);
                // A running sequence that starts the same way (a burst of requests with one
                // system prompt) shares its K/V too, before any of them has finished. At most
                // prompt − 1 positions: the last prompt token is fed for its logits.
                let usable = front.prompt.len().saturating_sub(1);
                let cached = hit.map_or(0, |h| h.positions);
                let sibling = running
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i, s.shared_prefix(&owner, &front.prompt).min(usable)))
                    .max_by_key(|(_, n)| *n)
                    .filter(|(_, n)| *n >= prefix_cache::BLOCK && *n > cached);
                let reused = sibling.map_or(cached, |(_, n)| n);
                let need = KvCache::bytes_for(cfg, reused).saturating_add(first_chunk(
                    front.prompt.len().saturating_sub(reused),
                    limit.saturating_sub(reused),
                ));
                if !running.is_empty() && used.saturating_add(need) > kv_budget {
                    break;
                }
                let Some(job) = waiting.pop_front() else { break };
                let cache = match sibling {
                    Some((i, n)) => running.get(i).map(|s| s.cache.prefix(n)),
                    None => hit.and_then(|h| prefix.take_copy(h)),
                }
                .unwrap_or_else(|| KvCache::empty(cfg));
                let fed = cache.len();
                self.metrics.prefix_cache_lookups.inc();
                self.metrics.prefix_cache_prompt_tokens.inc_by(job.prompt.len() as u64);
                if fed > 0 {
                    self.metrics.prefix_cache_hits.inc();
                    self.metrics.prefix_cache_hit_tokens.inc_by(fed as u64);
                }
                self.queued.fetch_sub(1, Ordering::SeqCst);
                tracing::info!(
                    parent: &job.span,
                    waited_ms = job.arrived.elapsed().as_millis() as u64,
                    prompt_tokens = job.prompt.len(),
                    reused_tokens = fed,
                    "admitted"
                );
                used = used.saturating_add(need);
                seed_counter = seed_counter.wrapping_add(1);
                let seed = job.sampling.seed.unwrap_or_else(|| sampler::entropy_seed(seed_counter));
                running.push(Seq {
                    cache,
                    limit,
                    generated: Vec::new(),
                    history: sampler::History::new(&job.prompt, &job.sampling),
                    detok: detokenizer::Stream::default(),
                    unsent: String::new(),
                    pending: job.prompt.clone(),
                    fed,
                    rng: ChaCha8Rng::seed_from_u64(seed),
                    seed,
                    index: 0,
                    forks: job.n.saturating_sub(1),
                    last_token_at: None,
                    finished: false,
                    reusable: false,
                    job,
                });
            }
            self.metrics.queue_depth.set(self.queued.load(Ordering::SeqCst) as i64);
            if running.is_empty() {
                continue;
            }
            // This step's rows: one per decoding sequence, then prompt chunks (oldest first)
            // within the per-step token budget, so that a long prompt is prefilled over several
            // steps instead of stalling every decode behind it.
            let mut budget = self.config.prefill_budget.max(1);
            let mut take = vec![0usize; running.len()];
            for (t, seq) in take.iter_mut().zip(&running) {
                if seq.unfed() == 1 {
                    *t = 1;
                    budget = budget.saturating_sub(1);
                }
            }
            for (t, seq) in take.iter_mut().zip(&running) {
                if seq.unfed() > 1 && budget > 0 {
                    *t = seq.unfed().min(budget);
                    budget = budget.saturating_sub(*t);
                }
            }
            // Make room for the step, preempting the latest admitted sequences while the K/V
            // would exceed the budget (their memory is freed; they are recomputed later).
            loop {
                let after: usize = running
                    .iter()
                    .zip(&take)
                    .map(|(s, &t)| {
                        let positions = s.cache.len().saturating_add(t);
                        KvCache::bytes_for(cfg, s.cache.grown_capacity(positions, s.limit))
                            .max(s.cache.bytes())
                    })
                    .sum();
                if after <= kv_budget || running.len() <= 1 {
                    break;
                }
                let (Some(mut seq), Some(_)) = (running.pop(), take.pop()) else { break };
                // Its K/V moves to the prefix cache (within that cache's own budget): the
                // resumption reuses it if it is still there, else recomputes.
                let tokens = seq.cached_tokens();
                let cache = std::mem::replace(&mut seq.cache, KvCache::empty(cfg));
                let salt = seq.job.cache_salt.as_deref();
                prefix.insert(seq.job.lora.as_ref(), salt, &tokens, cache);
                let mut all = seq.job.prompt.clone();
                all.extend_from_slice(&seq.generated);
                seq.pending = all;
                seq.fed = 0;
                self.metrics.preemptions.inc();
                preempted.push_front(seq);
            }
            self.metrics.running.set(running.len() as i64);
            for (seq, &t) in running.iter_mut().zip(&take) {
                let positions = seq.cache.len().saturating_add(t);
                seq.cache.grow(positions, seq.limit);
            }
            let rows: usize = take.iter().sum();
            self.metrics.batch_rows.observe(rows as f64);
            let stepping = take.iter().filter(|&&t| t > 0).count();
            let phase = if rows > stepping { "prefill" } else { "decode" };
            let step_started = Instant::now();
            let logits = {
                let mut steps: Vec<SeqStep<'_>> = running
                    .iter_mut()
                    .zip(&take)
                    .filter(|(_, &t)| t > 0)
                    .map(|(s, &t)| SeqStep {
                        tokens: s.pending.get(s.fed..s.fed.saturating_add(t)).unwrap_or_default(),
                        cache: &mut s.cache,
                        lora: s.job.lora.as_deref(),
                        all_logits: false,
                    })
                    .collect();
                // One row of logits per sequence (no `all_logits` here).
                self.model.forward_rows(&mut steps).map(|(logits, _)| logits)
            };
            self.metrics
                .step_seconds
                .with_label_values(&[phase])
                .observe(step_started.elapsed().as_secs_f64());
            match logits {
                Ok(logits) => {
                    let mut forks = Vec::new();
                    let stepped = running.iter_mut().zip(&take).filter(|(_, &t)| t > 0);
                    for ((seq, &t), logits) in stepped.zip(logits.chunks_exact(cfg.vocab.max(1))) {
                        seq.fed = seq.fed.saturating_add(t);
                        // A prompt chunk that does not end the prompt samples nothing.
                        if seq.unfed() == 0 {
                            // With its prompt in, a request for n choices becomes n sequences.
                            for index in 1..=std::mem::take(&mut seq.forks) {
                                let mut fork = seq.fork(index);
                                self.advance(&mut fork, logits);
                                forks.push(fork);
                            }
                            self.advance(seq, logits);
                        }
                    }
                    running.extend(forks);
                }
                Err(e) => {
                    for seq in running.iter_mut() {
                        let _ = seq.job.events.send(Event::Failed(e.to_string()));
                        seq.finished = true;
                    }
                }
            }
            // Finished sequences leave their K/V to the prefix cache.
            for seq in running.iter_mut().filter(|s| s.finished && s.reusable) {
                let tokens = seq.cached_tokens();
                let cache = std::mem::take(&mut seq.cache);
                prefix.insert(seq.job.lora.as_ref(), seq.job.cache_salt.as_deref(), &tokens, cache);
            }
            running.retain(|s| !s.finished);
            let kv: usize = running.iter().chain(&preempted).map(|s| s.cache.bytes()).sum();
            self.metrics.kv_cache_bytes.set(i64::try_from(kv).unwrap_or(i64::MAX));
            self.metrics.prefix_cache_bytes.set(i64::try_from(prefix.bytes()).unwrap_or(i64::MAX));
            self.metrics.prefix_cache_entries.set(prefix.len() as i64);
        }
    }

    fn advance(&self, seq: &mut Seq, logits: &[f32]) {
        let now = Instant::now();
        let prompt_tokens = seq.job.prompt.len();
        let eos_ids = &self.model.config.eos;
        // A grammar narrows the choice to what it allows (an end-of-generation token only
        // where the output is complete), or ends the generation when it admits nothing more.
        let (mask, complete) = match seq.job.constraint.as_ref().map(|c| c.next()) {
            None => (None, false),
            Some(Next::Tokens(mask)) => (Some(mask), false),
            Some(Next::Done) => (None, true),
        };
        let allowed = mask.as_ref().map(|m| move |i: usize| m.get(i).copied().unwrap_or(false));
        let (token, logprobs) = sampler::sample_with(
            logits,
            &seq.job.sampling,
            &seq.history,
            allowed.as_ref().map(|f| f as &dyn Fn(usize) -> bool),
            seq.job.logprobs,
            &mut seq.rng,
        );
        // A complete grammar ends the output as an end-of-generation token would.
        let token = match (complete, eos_ids.first()) {
            (true, Some(&e)) => e,
            _ => token,
        };
        match seq.last_token_at {
            None => {
                self.metrics.ttft_seconds.observe(now.duration_since(seq.job.arrived).as_secs_f64())
            }
            Some(prev) => self.metrics.itl_seconds.observe(now.duration_since(prev).as_secs_f64()),
        }
        seq.last_token_at = Some(now);
        let eos = complete
            || (!seq.job.ignore_eos
                && (eos_ids.contains(&token) || seq.job.stop_tokens.contains(&token)));
        if !eos {
            if let Some(c) = seq.job.constraint.as_mut() {
                if let Err(e) = c.consume(token) {
                    let _ = seq.job.events.send(Event::Failed(e.to_string()));
                    seq.finished = true;
                    return;
                }
            }
        }
        if !eos {
            seq.generated.push(token);
            seq.history.push(token);
            if let Some(lp) = logprobs {
                let event = Event::Logprobs { index: seq.index, logprobs: lp };
                if seq.job.events.send(event).is_err() {
                    seq.finished = true;
                    return;
                }
            }
        }
        if !eos {
            let chunk = seq.detok.step(&self.tokenizer, token);
            seq.unsent.push_str(&chunk);
        }
        let mut stop_at = detokenizer::find_stop(&seq.unsent, &seq.job.stop);
        let at_length = seq.generated.len() >= seq.job.max_tokens
            || seq.cache.len().saturating_add(1) >= self.model.config.context;
        let mut reason = if eos || stop_at.is_some() {
            Some(FinishReason::Stop)
        } else if at_length {
            Some(FinishReason::Length)
        } else {
            None
        };
        if reason.is_some() && stop_at.is_none() {
            // The end: what the decoder still holds goes out (or ends at a stop in it).
            let rest = seq.detok.flush(&self.tokenizer);
            seq.unsent.push_str(&rest);
            stop_at = detokenizer::find_stop(&seq.unsent, &seq.job.stop);
            if stop_at.is_some() {
                reason = Some(FinishReason::Stop);
            }
        }
        let end = detokenizer::release_end(&seq.unsent, &seq.job.stop, stop_at, reason.is_some());
        if end > 0 {
            let delta: String = seq.unsent.drain(..end).collect();
            if seq.job.events.send(Event::Text { index: seq.index, text: delta }).is_err() {
                seq.finished = true;
                return;
            }
        }
        if let Some(reason) = reason {
            let completion_tokens = seq.generated.len().saturating_add(usize::from(eos));
            let label = seq.job.label.as_str();
            if seq.index == 0 {
                // The prompt ran once for all of a request's choices.
                self.metrics
                    .tokens
                    .with_label_values(&[label, "prompt"])
                    .inc_by(prompt_tokens as u64);
            }
            self.metrics
                .tokens
                .with_label_values(&[label, "completion"])
                .inc_by(completion_tokens as u64);
            tracing::info!(
                parent: &seq.job.span,
                choice = seq.index,
                reason = ?reason,
                prompt_tokens,
                completion_tokens,
                "generation finished"
            );
            // Kept (not taken): the K/V of prompt + generated goes to the prefix cache.
            let tokens = seq.generated.clone();
            seq.reusable = true;
            let _ = seq.job.events.send(Event::Done {
                index: seq.index,
                reason,
                prompt_tokens,
                completion_tokens,
                tokens,
            });
            seq.finished = true;
        } else {
            seq.pending.clear();
            seq.pending.push(token);
            seq.fed = 0;
        }
    }
}
