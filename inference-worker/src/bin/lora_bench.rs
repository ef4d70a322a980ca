//! `lora-bench`: an S-LoRA-style multi-adapter serving benchmark on the real engine.
//!
//! Workload: `N` adapters (rank `--rank`, PEFT targets `--targets`) with Zipf(α = 1)
//! popularity, `--requests` requests arriving as a Poisson process at `--rate` per second,
//! prompt lengths uniform in `[--input-min, --input-max]` tokens (default U[8, 128]), output
//! lengths uniform in `[--output-min, --output-max]` tokens (default U[8, 128]) (generated in full, `ignore_eos`, as S-LoRA does). The
//! same seeded plan (arrivals, lengths, adapter draws) is replayed for every configuration.
//!
//! Each configuration runs the real scheduler and the real adapter store: adapters are
//! imported into a fresh store on disk and loaded just in time (the prepared form the store
//! wrote when it verified them at import, read from disk and checked against the digest it
//! took then, as a server does for adapters imported while it runs), so cold loads, cache
//! hits and evictions are part of the measurement. Adapters the plan never draws are
//! not written (they would only sit on disk). Baselines measured in the same run:
//! - **base**: the same plan with no adapter at all;
//! - **naive**: one request at a time in arrival order, merging the adapter into the weights
//!   (`W + s·B·A`, re-quantized) whenever the adapter changes, no batching.
//!
//! Two more measurements in the same run:
//! - **prefix caching** (`--shared-prefix`, 256 tokens by default): the base plan with every
//!   prompt starting with one of 4 shared system prompts, served with the prefix cache off and
//!   on; the token hit rate comes from the engine's own counters;
//! - **single stream against llama.cpp** (`--llama-cpp <dir with llama_cpp>`): llama.cpp's
//!   greedy decode on the same GGUF (`bench/llama_cpp_baseline.py`), then this engine's on the
//!   same prompt and token count.
//!
//! Reports tokens/s, TTFT p50/p99, inter-token latency p50/p99, cold-load time, cache hit
//! rate, peak memory, and the ratios the worker issue sets goals for. With `--repeat K` every
//! configuration runs K times, in K interleaved rounds (base, each adapter count, naive; each
//! round starting one configuration later, so none always runs in the same place), and the
//! median run is reported. Each ratio is given twice: between the medians, and paired by
//! round (the median and range of the K rounds' own ratios: a round's configurations run
//! within minutes of each other, so a slow or fast spell of the machine moves them together).

// Counters and lengths of one benchmark run: far from overflowing.
#![allow(clippy::arithmetic_side_effects)]

use anyhow::{anyhow, Result};
use candle_core::Device;
use clap::Parser;
use provena_attribution::ModelTokenizer;
use provena_inference_worker::{
    engine::{self, EngineConfig, Event, Job, Sampling},
    lora::{write_synthetic, LoraWeights, SynthSpec},
    metrics::Metrics,
    model::{KvCache, Model, Precision, SeqStep, Target},
    store::{AdapterStore, StoreLimits, Tier},
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use serde_json::json;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

#[derive(Parser, Clone)]
#[command(name = "lora-bench", about = "S-LoRA-style multi-adapter serving benchmark")]
struct Args {
    #[arg(long, env = "PROVENA_MODEL")]
    model: PathBuf,
    /// Adapter counts to run.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    adapters: Vec<usize>,
    #[arg(long, default_value_t = 64)]
    requests: usize,
    /// Poisson arrival rate (requests per second); above capacity so throughput is measured.
    #[arg(long, default_value_t = 32.0)]
    rate: f64,
    /// Prompt and output lengths are uniform over the same range, as in S-LoRA's synthetic
    /// workloads (scaled down from U[8, 512] for a 2-core CPU).
    #[arg(long, default_value_t = 8)]
    input_min: usize,
    #[arg(long, default_value_t = 128)]
    input_max: usize,
    #[arg(long, default_value_t = 8)]
    output_min: usize,
    #[arg(long, default_value_t = 128)]
    output_max: usize,
    #[arg(long, default_value_t = 16)]
    rank: usize,
    #[arg(long, value_delimiter = ',', default_value = "q_proj,k_proj,v_proj,o_proj")]
    targets: Vec<String>,
    /// Sequences decoded together (the worker's default).
    #[arg(long, default_value_t = 32)]
    max_batch: usize,
    #[arg(long, default_value_t = 64)]
    device_slots: usize,
    #[arg(long, default_value_t = 1024)]
    host_cache_mb: usize,
    /// Requests replayed by the naive baseline (a prefix of the plan).
    #[arg(long, default_value_t = 16)]
    naive_requests: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Runs of every configuration (each adapter run with a fresh store); the run with the
    /// median tokens/s is reported and the ratios are taken between medians. On a shared,
    /// noisy machine 3 or 5 keeps one slow or fast spell from deciding a ratio.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Prefix-cache run: every prompt starts with one of 4 shared "system prompts" of this many
    /// tokens; the base model serves that plan with the prefix cache off, then on (0: skip).
    /// The other configurations run without a prefix cache.
    #[arg(long, default_value_t = 256)]
    shared_prefix: usize,
    /// A directory holding the `llama_cpp` Python package (llama-cpp-python built from PyPI's
    /// source): llama.cpp's single-stream decode on the same GGUF then runs in this benchmark,
    /// beside this engine's (`bench/llama_cpp_baseline.py`, the same prompt and token count).
    #[arg(long, env = "PROVENA_LLAMA_CPP_PYTHONPATH")]
    llama_cpp: Option<PathBuf>,
    /// The prefix cache of the prefix-cache run, MiB.
    #[arg(long, default_value_t = 256)]
    prefix_cache_mb: usize,
    /// How the base's weights are held: `native` (a Q4_0/Q4_1 file's blocks kept as 4-bit
    /// tiles) or `int8` (every projection re-quantized to 8-bit tiles).
    #[arg(long, default_value = "native", value_parser = ["native", "int8"])]
    precision: String,
    /// Load every adapter a plan draws before its run starts, so the run has no cold loads
    /// (the cost of many adapters per step alone; the store keeps up to `--device-slots`).
    #[arg(long)]
    preload: bool,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Debug)]
struct Planned {
    at: Duration,
    prompt: Vec<u32>,
    output: usize,
    /// Zipf rank of the adapter (0 = most popular).
    adapter: usize,
}

fn zipf_draw(rng: &mut ChaCha8Rng, cdf: &[f64]) -> usize {
    let u: f64 = rng.random();
    cdf.partition_point(|&c| c < u).min(cdf.len().saturating_sub(1))
}

fn plan(args: &Args, n_adapters: usize, corpus: &[u32]) -> Vec<Planned> {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let harmonic: f64 = (1..=n_adapters).map(|i| 1.0 / i as f64).sum();
    let mut acc = 0.0;
    let cdf: Vec<f64> = (1..=n_adapters)
        .map(|i| {
            acc += 1.0 / i as f64 / harmonic;
            acc
        })
        .collect();
    let exp = Exp::new(args.rate.max(1e-6)).ok();
    let mut t = 0.0;
    (0..args.requests)
        .map(|_| {
            t += exp.map(|e| e.sample(&mut rng)).unwrap_or(0.0);
            let len = rng.random_range(args.input_min..=args.input_max);
            let start = rng.random_range(0..corpus.len().saturating_sub(len).max(1));
            Planned {
                at: Duration::from_secs_f64(t),
                prompt: corpus.iter().skip(start).take(len).copied().collect(),
                output: rng.random_range(args.output_min..=args.output_max),
                adapter: zipf_draw(&mut rng, &cdf),
            }
        })
        .collect()
}

#[derive(Default, Clone, Debug)]
struct Outcome {
    tokens: usize,
    seconds: f64,
    ttft: Vec<f64>,
    itl: Vec<f64>,
    cold_loads: Vec<f64>,
    lookups: usize,
    hits: usize,
    distinct: usize,
    /// Prompt tokens looked up in the prefix cache, and those it served.
    prefix_prompt_tokens: u64,
    prefix_hit_tokens: u64,
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s.get(i).copied().unwrap_or(f64::NAN)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Runs `plan` through the scheduler; `ids[k]` is the adapter of Zipf rank `k` (none if empty).
fn serve(
    args: &Args,
    model: &Arc<Model>,
    tok: &Arc<ModelTokenizer>,
    store: Option<&Arc<AdapterStore>>,
    ids: &[String],
    plan: &[Planned],
    prefix_cache_bytes: usize,
) -> Result<Outcome> {
    let metrics = Arc::new(Metrics::new()?);
    let handle = engine::start(
        model.clone(),
        tok.clone(),
        EngineConfig {
            max_batch: args.max_batch,
            max_queue: usize::MAX,
            prefill_budget: 512,
            kv_budget: usize::MAX,
            prefix_cache_bytes,
        },
        metrics.clone(),
    )?;
    let mut out = Outcome::default();
    let start = Instant::now();
    // One thread per request, as the server gives each request its own blocking task: it waits
    // for its arrival, resolves its adapter (a cold load reads, verifies and prepares it while
    // other requests arrive and decode), submits, and collects its stream.
    let mut collectors = Vec::new();
    for p in plan {
        let (handle, store, p) = (handle.clone(), store.cloned(), p.clone());
        let id = ids.get(p.adapter).cloned();
        collectors.push(std::thread::spawn(move || {
            // The server's blocking tasks run at background priority.
            provena_inference_worker::os::background_priority();
            std::thread::sleep(p.at.saturating_sub(start.elapsed()));
            let arrived = Instant::now();
            let mut cold_load = None;
            let lora = match (store, id) {
                (Some(store), Some(id)) => {
                    let cold = store.status(&id).map(|s| s.tier != Tier::Device).unwrap_or(true);
                    let t = Instant::now();
                    let w = store.get(&id)?;
                    cold_load = Some((cold, t.elapsed().as_secs_f64()));
                    Some(w)
                }
                _ => None,
            };
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            handle.submit(Job {
                label: "bench".into(),
                prompt: p.prompt.clone(),
                lora,
                max_tokens: p.output,
                sampling: Sampling::greedy(),
                stop: Vec::new(),
                stop_tokens: Vec::new(),
                logprobs: None,
                constraint: None,
                n: 1,
                span: tracing::Span::none(),
                ignore_eos: true,
                cache_salt: None,
                events: tx,
                arrived,
            })?;
            let mut ttft = None;
            let mut last = None;
            let mut itl = Vec::new();
            while let Some(ev) = rx.blocking_recv() {
                let now = Instant::now();
                match ev {
                    Event::Text { .. } => {
                        if ttft.is_none() {
                            ttft = Some(now.duration_since(arrived).as_secs_f64());
                        } else if let Some(prev) = last {
                            itl.push(now.duration_since(prev).as_secs_f64());
                        }
                        last = Some(now);
                    }
                    Event::Done { completion_tokens, .. } => {
                        return Ok((ttft, itl, completion_tokens, now, cold_load))
                    }
                    Event::Failed(e) => return Err(anyhow!(e)),
                    Event::Logprobs { .. } => {}
                }
            }
            Err(anyhow!("engine stopped"))
        }));
    }
    let mut end = start;
    for c in collectors {
        let (ttft, itl, tokens, done, cold_load) =
            c.join().map_err(|_| anyhow!("request thread panicked"))??;
        if let Some((cold, seconds)) = cold_load {
            out.lookups += 1;
            if cold {
                out.cold_loads.push(seconds);
            } else {
                out.hits += 1;
            }
        }
        out.ttft.extend(ttft);
        out.itl.extend(itl);
        out.tokens += tokens;
        end = end.max(done);
    }
    out.seconds = end.duration_since(start).as_secs_f64();
    out.distinct = plan.iter().map(|p| p.adapter).collect::<std::collections::HashSet<_>>().len();
    out.prefix_prompt_tokens = metrics.prefix_cache_prompt_tokens.get();
    out.prefix_hit_tokens = metrics.prefix_cache_hit_tokens.get();
    Ok(out)
}

/// Tokens/s of a run.
fn tps(o: &Outcome) -> f64 {
    o.tokens as f64 / o.seconds
}

/// The median (the lower middle value for an even count), smallest and largest of `v`
/// (NaN when empty).
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
    (at(v.len().saturating_sub(1) / 2), at(0), at(v.len().saturating_sub(1)))
}

/// The run with the median tokens/s (the slower middle one for an even count).
fn median_run(mut runs: Vec<Outcome>) -> Outcome {
    runs.sort_by(|a, b| tps(a).total_cmp(&tps(b)));
    let mid = runs.len().saturating_sub(1) / 2;
    runs.into_iter().nth(mid).unwrap_or_default()
}

/// A fresh store holding the adapters `plan` draws (written from seeded specs and imported, so
/// every one is loaded cold from disk, its bytes checked, the first time it is asked for); `ids[k]` is the
/// adapter of Zipf rank `k`. The directory lives as long as the returned guard.
fn fresh_store(
    args: &Args,
    model: &Model,
    targets: &[Target],
    n: usize,
    plan: &[Planned],
) -> Result<(Arc<AdapterStore>, Vec<String>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let metrics = Arc::new(Metrics::new()?);
    let store = Arc::new(AdapterStore::open(
        dir.path(),
        model.config.clone(),
        model.layout,
        StoreLimits { host_bytes: args.host_cache_mb << 20, device_slots: args.device_slots },
        metrics,
    )?);
    let mut ids = vec![String::new(); n];
    let mut used: Vec<usize> = plan.iter().map(|r| r.adapter).collect();
    used.sort_unstable();
    used.dedup();
    for &k in &used {
        let spec = SynthSpec {
            rank: args.rank,
            alpha: 2.0 * args.rank as f32,
            targets: targets.to_vec(),
            seed: k as u64,
            b_std: 0.01,
        };
        let tmp = dir.path().join(format!(".w{k}"));
        write_synthetic(&tmp, &model.config, &model.source.name, &spec)?;
        let id = store.import(&tmp)?;
        std::fs::remove_dir_all(&tmp)?;
        if let Some(slot) = ids.get_mut(k) {
            *slot = id;
        }
    }
    Ok((store, ids, dir))
}

/// One request at a time, merging the adapter into the weights whenever it changes.
fn naive(
    model: &Model,
    adapters: &HashMap<usize, Arc<LoraWeights>>,
    plan: &[Planned],
) -> Result<(Outcome, f64)> {
    let mut out = Outcome::default();
    let mut merge_time = 0.0;
    let start = Instant::now();
    let mut current: Option<(usize, Model)> = None;
    for p in plan {
        if current.as_ref().map(|c| c.0) != Some(p.adapter) {
            let t = Instant::now();
            let lora = adapters.get(&p.adapter).ok_or_else(|| anyhow!("no adapter"))?;
            current = Some((p.adapter, model.merged(lora)?));
            merge_time += t.elapsed().as_secs_f64();
        }
        let Some((_, merged)) = &current else { continue };
        let mut cache = KvCache::new(&merged.config, p.prompt.len() + p.output);
        let mut input = p.prompt.clone();
        for i in 0..p.output {
            let t = Instant::now();
            let logits = merged
                .forward(&mut [SeqStep {
                    tokens: &input,
                    cache: &mut cache,
                    lora: None,
                    all_logits: false,
                }])?
                .remove(0);
            let next =
                engine::sample(&logits, &Sampling::greedy(), &mut ChaCha8Rng::seed_from_u64(0));
            if i == 0 {
                out.ttft.push(t.elapsed().as_secs_f64());
            } else {
                out.itl.push(t.elapsed().as_secs_f64());
            }
            input = vec![next];
        }
        out.tokens += p.output;
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok((out, merge_time))
}

/// The prompt `bench/llama_cpp_baseline.py` decodes from (kept identical).
const BASELINE_PROMPT: &str =
    "It was the best of times, it was the worst of times, it was the age of wisdom, ";
/// Tokens decoded per single-stream run, as the baseline script does.
const BASELINE_TOKENS: usize = 64;

/// This engine's single-stream greedy decode on the baseline's prompt: (prefill tokens/s,
/// decode tokens/s), the best of three runs as the script reports.
fn single_stream(model: &Model, tok: &ModelTokenizer) -> Result<(f64, f64)> {
    let prompt = tok.encode(&BASELINE_PROMPT.repeat(4))?;
    let mut best = (0.0f64, 0.0f64);
    for _ in 0..3 {
        let mut cache = KvCache::new(&model.config, prompt.len() + BASELINE_TOKENS);
        let step = |cache: &mut KvCache, tokens: &[u32]| -> Result<u32> {
            let logits = model
                .forward(&mut [SeqStep { tokens, cache, lora: None, all_logits: false }])?
                .remove(0);
            Ok(engine::sample(&logits, &Sampling::greedy(), &mut ChaCha8Rng::seed_from_u64(0)))
        };
        let t0 = Instant::now();
        let mut next = step(&mut cache, &prompt)?;
        let t1 = Instant::now();
        for _ in 0..BASELINE_TOKENS {
            next = step(&mut cache, &[next])?;
        }
        let t2 = Instant::now();
        let run = (
            prompt.len() as f64 / t1.duration_since(t0).as_secs_f64(),
            BASELINE_TOKENS as f64 / t2.duration_since(t1).as_secs_f64(),
        );
        if run.1 > best.1 {
            best = run;
        }
    }
    Ok(best)
}

/// llama.cpp's figures from `bench/llama_cpp_baseline.py` on the same GGUF.
fn llama_cpp(pythonpath: &std::path::Path, model: &std::path::Path) -> Result<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/llama_cpp_baseline.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(model)
        .env("PYTHONPATH", pythonpath)
        .output()?;
    if !out.status.success() {
        return Err(anyhow!("llama.cpp baseline failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn main() -> Result<()> {
    provena_inference_worker::tune_cpu_threads();
    let args = Args::parse();
    let precision = if args.precision == "int8" { Precision::Int8 } else { Precision::Native };
    let model = Arc::new(Model::load(&args.model, precision, &Device::Cpu)?);
    let tok = Arc::new(ModelTokenizer::load(&args.model)?);
    let targets = args
        .targets
        .iter()
        .map(|t| Target::from_peft_name(t).ok_or_else(|| anyhow!("unknown target {t}")))
        .collect::<Result<Vec<_>>>()?;
    let text = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the other way. ";
    let corpus = tok.encode(&text.repeat(8))?;
    println!(
        "lora-bench: {} ({:.0} MB weights, {}), {} requests at {}/s, input U[{},{}], output U[{},{}], rank {} on {:?}, batch ≤ {}",
        model.source.name,
        model.weight_bytes() as f64 / 1e6,
        args.precision,
        args.requests,
        args.rate,
        args.input_min,
        args.input_max,
        args.output_min,
        args.output_max,
        args.rank,
        args.targets,
        args.max_batch
    );
    let mut report = Vec::new();
    let row = |name: &str, o: &Outcome| {
        let tps = o.tokens as f64 / o.seconds;
        println!(
            "{name:<14} {tps:>8.1} tok/s  ttft p50 {:>7.1} ms p99 {:>7.1} ms  itl p50 {:>6.1} ms p99 {:>6.1} ms  cold load p50 {:>6.1} ms max {:>6.1} ms  hit rate {:>5.1}%  adapters used {}",
            pct(&o.ttft, 0.5) * 1e3,
            pct(&o.ttft, 0.99) * 1e3,
            pct(&o.itl, 0.5) * 1e3,
            pct(&o.itl, 0.99) * 1e3,
            pct(&o.cold_loads, 0.5) * 1e3,
            o.cold_loads.iter().copied().fold(f64::NAN, f64::max) * 1e3,
            if o.lookups > 0 { o.hits as f64 * 100.0 / o.lookups as f64 } else { f64::NAN },
            o.distinct,
        );
        json!({
            "name": name, "tokens": o.tokens, "seconds": o.seconds, "tokens_per_s": tps,
            "ttft_p50_ms": pct(&o.ttft, 0.5) * 1e3, "ttft_p99_ms": pct(&o.ttft, 0.99) * 1e3,
            "itl_p50_ms": pct(&o.itl, 0.5) * 1e3, "itl_p99_ms": pct(&o.itl, 0.99) * 1e3,
            "cold_load_p50_ms": pct(&o.cold_loads, 0.5) * 1e3, "cold_loads": o.cold_loads.len(),
            "hit_rate": if o.lookups > 0 { o.hits as f64 / o.lookups as f64 } else { f64::NAN },
            "peak_rss_mb": peak_rss_mb(),
        })
    };
    let repeat = args.repeat.max(1);
    let base_plan = plan(&args, 1, &corpus);
    let plans: Vec<(usize, Vec<Planned>)> =
        args.adapters.iter().map(|&n| (n, plan(&args, n, &corpus))).collect();
    // The naive baseline replays the first plan with at least 10 adapters.
    let naive_at = plans.iter().position(|(n, _)| *n >= 10).filter(|_| args.naive_requests > 0);
    // Rounds: each runs every configuration once, so that a slow or fast spell of the machine
    // lands on all of them rather than on one configuration's runs; each round starts one
    // configuration later than the one before (base, then each adapter count, the naive
    // baseline right after its count), so that no configuration always runs in the same place
    // (on 2026-12-05 the runs that followed the naive baseline in a fixed order ran ~20%
    // faster than the others of their round, whatever their adapter count).
    let mut base_runs = Vec::with_capacity(repeat);
    let mut runs: Vec<Vec<Outcome>> = plans.iter().map(|_| Vec::with_capacity(repeat)).collect();
    let mut naive_runs = Vec::with_capacity(repeat);
    let slots = plans.len() + 1;
    for round in 0..repeat {
        for step in 0..slots {
            let Some(k) = ((round + step) % slots).checked_sub(1) else {
                base_runs.push(serve(&args, &model, &tok, None, &[], &base_plan, 0)?);
                continue;
            };
            let (Some((n, p)), Some(out)) = (plans.get(k), runs.get_mut(k)) else { continue };
            let (store, ids, _dir) = fresh_store(&args, &model, &targets, *n, p)?;
            if args.preload {
                for id in ids.iter().filter(|id| !id.is_empty()) {
                    store.get(id)?;
                }
            }
            out.push(serve(&args, &model, &tok, Some(&store), &ids, p, 0)?);
            if naive_at == Some(k) {
                let prefix: Vec<Planned> = p.iter().take(args.naive_requests).cloned().collect();
                let mut loras = HashMap::new();
                for r in &prefix {
                    if let Some(id) = ids.get(r.adapter) {
                        loras.insert(r.adapter, store.get(id)?);
                    }
                }
                let (nv, merge) = naive(&model, &loras, &prefix)?;
                println!("               naive merge time {:.1} s of {:.1} s", merge, nv.seconds);
                naive_runs.push(nv);
            }
        }
    }
    // Each round's tokens/s, before the medians take the runs: the ratios paired by round.
    let base_rounds: Vec<f64> = base_runs.iter().map(tps).collect();
    let rounds_by_n: HashMap<usize, Vec<f64>> =
        plans.iter().zip(&runs).map(|((n, _), out)| (*n, out.iter().map(tps).collect())).collect();
    let naive_rounds: Vec<f64> = naive_runs.iter().map(tps).collect();
    let base = median_run(base_runs);
    report.push(row("base", &base));
    let base_tps = base.tokens as f64 / base.seconds;
    let mut tps_by_n: HashMap<usize, f64> = HashMap::new();
    let mut naive_done = None;
    for (k, ((n, _), out)) in plans.iter().zip(runs).enumerate() {
        let o = median_run(out);
        report.push(row(&format!("{n} adapters"), &o));
        tps_by_n.insert(*n, o.tokens as f64 / o.seconds);
        if naive_at == Some(k) {
            let nv = median_run(std::mem::take(&mut naive_runs));
            report.push(row(&format!("naive ({n})"), &nv));
            naive_done = Some((*n, nv.tokens as f64 / nv.seconds));
        }
    }
    // Shared prompt prefixes: the same plan with 4 system prompts, prefix cache off then on.
    let mut prefix_summary = None;
    if args.shared_prefix > 0 {
        let heads: Vec<Vec<u32>> = (0..4)
            .map(|k| corpus.iter().cycle().skip(k * 97).take(args.shared_prefix).copied().collect())
            .collect();
        let shared: Vec<Planned> = base_plan
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut prompt = heads.get(i % heads.len()).cloned().unwrap_or_default();
                prompt.extend_from_slice(&p.prompt);
                Planned { prompt, ..p.clone() }
            })
            .collect();
        let mut outcomes = Vec::new();
        for (name, bytes) in
            [("prefix cache off", 0), ("prefix cache on", args.prefix_cache_mb << 20)]
        {
            let o = median_run(
                (0..repeat)
                    .map(|_| serve(&args, &model, &tok, None, &[], &shared, bytes))
                    .collect::<Result<Vec<_>>>()?,
            );
            let mut r = row(&format!("shared {} + {name}", args.shared_prefix), &o);
            let rate = o.prefix_hit_tokens as f64 / o.prefix_prompt_tokens.max(1) as f64;
            if let Some(fields) = r.as_object_mut() {
                fields.insert("prefix_token_hit_rate".into(), json!(rate));
            }
            report.push(r);
            outcomes.push((o, rate));
        }
        if let [(off, _), (on, rate)] = &outcomes[..] {
            prefix_summary = Some((
                *rate,
                (on.tokens as f64 / on.seconds) / (off.tokens as f64 / off.seconds),
                pct(&off.ttft, 0.5) / pct(&on.ttft, 0.5),
            ));
        }
    }
    // Single stream, side by side with llama.cpp on the same file (llama.cpp first, then
    // this engine, both with every core).
    let mut versus = None;
    if let Some(path) = &args.llama_cpp {
        let theirs = llama_cpp(path, &args.model)?;
        let (prefill, decode) = single_stream(&model, &tok)?;
        let their_decode = theirs.get("decode_tok_s").and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        let their_prefill =
            theirs.get("prefill_tok_s").and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        println!(
            "single stream: llama.cpp decode {their_decode:.1} tok/s, prefill {their_prefill:.0} tok/s; this engine decode {decode:.1} tok/s, prefill {prefill:.0} tok/s"
        );
        report.push(json!({
            "name": "single stream", "llama_cpp": theirs,
            "engine_decode_tok_s": decode, "engine_prefill_tok_s": prefill,
        }));
        versus = Some(decode / their_decode);
    }
    let one = tps_by_n.get(&1).copied();
    let hundred = tps_by_n.get(&100).copied();
    let thousand = tps_by_n.get(&1000).copied();
    // Every ratio twice: between the medians, and paired by round (each round's own ratio,
    // its configurations run within minutes of each other; the median of those and their
    // range), which a slow or fast spell of the machine moves less.
    let mut ratios = serde_json::Map::new();
    let mut ratio = |name: &str, goal: &str, medians: f64, num: Option<&[f64]>, den: &[f64]| {
        let paired: Vec<f64> =
            num.unwrap_or_default().iter().zip(den).map(|(a, b)| a / b).collect();
        let (mid, lo, hi) = spread(paired.clone());
        println!(
            "{name}: {medians:.3}x{goal}; paired by round: median {mid:.3}x, range {lo:.3}–{hi:.3}x"
        );
        ratios.insert(
            name.to_string(),
            json!({"between_medians": medians, "paired_median": mid, "paired": paired}),
        );
    };
    let rounds = |n: usize| rounds_by_n.get(&n).map(Vec::as_slice);
    println!("--");
    if let (Some(one), Some(one_rounds)) = (one, rounds(1)) {
        ratio(
            "LoRA overhead (base / 1 adapter)",
            "  (goal ≤ 1.1x)",
            base_tps / one,
            Some(&base_rounds),
            one_rounds,
        );
        if let Some(h) = hundred {
            ratio("100 Zipf adapters / 1 adapter", "", h / one, rounds(100), one_rounds);
        }
        if let Some(k) = thousand {
            ratio(
                "1,000 Zipf adapters / 1 adapter",
                "  (goal ≥ 0.95x)",
                k / one,
                rounds(1000),
                one_rounds,
            );
        }
    }
    if let Some((n, naive_tps)) = naive_done {
        if let Some(ours) = tps_by_n.get(&n) {
            ratio(
                &format!("{n} adapters batched / naive merge-per-switch"),
                "  (goal ≥ 5x)",
                ours / naive_tps,
                rounds(n),
                &naive_rounds,
            );
        }
    }
    match versus {
        Some(r) => println!("single-stream decode / llama.cpp: {r:.3}x  (goal ≥ 1.2x)"),
        None => println!("single-stream decode / llama.cpp: not measured (give --llama-cpp)"),
    }
    if let Some((rate, tps, ttft)) = prefix_summary {
        println!(
            "prefix cache ({} shared tokens, 4 system prompts): token hit rate {:.1}%, tokens/s {:.2}x, TTFT p50 {:.2}x faster",
            args.shared_prefix,
            rate * 100.0,
            tps,
            ttft
        );
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(
                &json!({"precision": args.precision, "runs": report, "ratios": ratios}),
            )?,
        )?;
    }
    Ok(())
}
