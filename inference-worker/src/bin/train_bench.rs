//! `train-bench`: LoRA training speed and memory on this machine (issue 22's benchmark).
//!
//! For each rank in `--ranks`, a trainer over the dense copy of `--model` takes one warm-up
//! step and then `--steps` timed optimizer steps on `--batch` sequences of `--seq-len`
//! seeded random tokens (every token trained on, so the head runs on every row: the worst
//! case). Reported: trained tokens per second, seconds per step, and the process's peak
//! resident memory during those steps (`VmHWM`, reset before each rank through
//! `/proc/self/clear_refs`).
//!
//! Baseline measured in the same run: the worker's own forward pass over the same dense
//! weights and the same batch (the serving engine's prefill, no gradients), as tokens per
//! second; the ratio `training / forward` says what taking gradients costs on top of a
//! forward pass (a backward pass is about twice a forward one, so ~1/3 is the ideal).

// Counters and sizes of one benchmark run: far from overflowing.
#![allow(clippy::arithmetic_side_effects)]

use anyhow::{anyhow, Result};
use candle_core::Device;
use clap::Parser;
use provena_inference_worker::{
    model::{KvCache, Model, Precision, SeqStep, Target},
    train::{data::Example, Hyper, Trainer},
};
use rand::{Rng, SeedableRng};
use std::{path::PathBuf, time::Instant};

#[derive(Parser)]
struct Args {
    #[arg(long, env = "PROVENA_MODEL")]
    model: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "8,16")]
    ranks: Vec<usize>,
    /// Target modules (PEFT names).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
    )]
    targets: Vec<String>,
    #[arg(long, default_value_t = 4)]
    batch: usize,
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
    #[arg(long, default_value_t = 5)]
    steps: u64,
}

/// Peak resident memory since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> Result<()> {
    provena_inference_worker::tune_cpu_threads();
    let args = Args::parse();
    let device = Device::Cpu;
    let model = Model::load(&args.model, Precision::Dense, &device)?;
    let cfg = model.config.clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let vocab = u32::try_from(cfg.vocab)?;
    let seqs: Vec<Vec<u32>> = (0..args.batch)
        .map(|_| (0..args.seq_len).map(|_| rng.random_range(0..vocab)).collect())
        .collect();
    let tokens = (args.batch * args.seq_len) as f64;

    // Baseline: the serving forward pass over the same batch, dense weights.
    let mut forward_secs = f64::INFINITY;
    for _ in 0..3 {
        let mut caches: Vec<KvCache> = seqs.iter().map(|s| KvCache::new(&cfg, s.len())).collect();
        let mut steps: Vec<SeqStep> = seqs
            .iter()
            .zip(caches.iter_mut())
            .map(|(s, cache)| SeqStep { tokens: s, cache, lora: None, all_logits: true })
            .collect();
        let t = Instant::now();
        model.forward(&mut steps)?;
        forward_secs = forward_secs.min(t.elapsed().as_secs_f64());
    }
    let forward_tps = tokens / forward_secs;
    println!(
        "forward (serving engine, dense, {} × {} tokens, best of 3): {:.0} tokens/s",
        args.batch, args.seq_len, forward_tps
    );
    let weights = model.dense_weights(&device)?;
    let examples: Vec<Example> =
        seqs.iter().map(|s| Example { tokens: s.clone(), trained: vec![true; s.len()] }).collect();
    for t in &args.targets {
        Target::from_peft_name(t).ok_or_else(|| anyhow!("unknown target {t}"))?;
    }
    println!("| rank | trained tokens/s | s/step | peak RSS (MiB) | training/forward |");
    println!("|---|---|---|---|---|");
    for &rank in &args.ranks {
        let hyper = Hyper {
            rank,
            alpha: 2.0 * rank as f32,
            target_modules: args.targets.clone(),
            learning_rate: 1e-4,
            max_steps: Some(args.steps + 1),
            batch_size: args.batch,
            max_len: args.seq_len,
            eval_fraction: 0.0,
            ..Hyper::default()
        };
        reset_peak();
        let mut trainer = Trainer::new(
            cfg.clone(),
            weights.clone(),
            hyper,
            examples.clone(),
            Vec::new(),
            [0; 32],
        )?;
        trainer.step()?; // warm-up
        let t = Instant::now();
        let mut trained = 0usize;
        while !trainer.done() {
            trained += trainer.step()?.tokens;
        }
        let secs = t.elapsed().as_secs_f64();
        let tps = trained as f64 / secs;
        println!(
            "| {rank} | {tps:.0} | {:.2} | {:.0} | {:.3} |",
            secs / args.steps as f64,
            peak_mib(),
            tps / forward_tps
        );
    }
    Ok(())
}
