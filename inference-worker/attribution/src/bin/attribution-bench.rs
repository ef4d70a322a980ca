//! `attribution-bench`: the attribution engine on a reproducible synthetic corpus.
//!
//! ```text
//! attribution-bench [--tokens 100000000] [--queries 1000] [--out <dir>]
//! ```
//!
//! The corpus is generated from a fixed seed: documents of ~1,000 tokens assembled from a bank
//! of 1,000,000 phrases (4–32 tokens each, Zipf-popular, tokens Zipf-distributed over a
//! 49,152-token vocabulary like SmolLM2's), so that n-grams repeat across documents the way
//! boilerplate and quotations do in real data. It reports index build throughput and peak
//! memory, bytes per token on disk, and p50/p99 latencies of `count`, longest match and
//! attributing a 256-token answer, with a naive scan of the token array measured in the same run
//! as the baseline. Prints one JSON document.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use anyhow::{Context, Result};
use provena_attribution::{attribute, Document, Index, Params};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Zipf(α = 1) sampler over `0..n` by inverse CDF.
struct Zipf(Vec<f64>);
impl Zipf {
    fn new(n: usize) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for k in 1..=n {
            acc += 1.0 / k as f64;
            cdf.push(acc);
        }
        let total = acc;
        cdf.iter_mut().for_each(|c| *c /= total);
        Self(cdf)
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        self.0.partition_point(|c| *c < u).min(self.0.len() - 1)
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn naive_count(tokens: &[u32], q: &[u32]) -> u64 {
    tokens.windows(q.len()).filter(|w| *w == q).count() as u64
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<()> {
    let total = arg("--tokens", 100_000_000) as usize;
    let queries = arg("--queries", 1_000) as usize;
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();

    // 1. The corpus.
    let started = Instant::now();
    let mut rng = Rng(0x0005_EED0_FA77_2026);
    let vocab = Zipf::new(49_152);
    let phrase_rank = Zipf::new(1_000_000);
    let phrases: Vec<Vec<u32>> = (0..1_000_000)
        .map(|_| {
            let len = 4 + rng.below(29) as usize;
            (0..len).map(|_| vocab.sample(&mut rng) as u32).collect()
        })
        .collect();
    let mut docs = Vec::new();
    let mut produced = 0usize;
    while produced < total {
        let target = 500 + rng.below(1_000) as usize;
        let mut t: Vec<u32> = Vec::with_capacity(target + 32);
        while t.len() < target {
            // Mostly phrases from the bank, some fresh tokens.
            if rng.below(4) == 0 {
                for _ in 0..8 {
                    t.push(vocab.sample(&mut rng) as u32);
                }
            } else {
                t.extend_from_slice(&phrases[phrase_rank.sample(&mut rng)]);
            }
        }
        t.truncate((total - produced).min(t.len()));
        produced += t.len() + 1;
        let id = docs.len() as u64;
        docs.push(Document { contribution: id, content_hash: format!("0x{id:064x}"), tokens: t });
    }
    let generate = started.elapsed();
    drop(phrases);

    // 2. The index.
    let started = Instant::now();
    let index = Index::build(docs, "synthetic")?;
    let build = started.elapsed();
    let n = index.manifest.tokens as f64;
    let build_mb_s = n * 2.0 / 1e6 / build.as_secs_f64();
    let peak_build_mb = peak_rss_mb();
    let (bytes_per_token, on_disk) = match &out {
        Some(dir) => {
            let dir = std::path::Path::new(dir);
            index.write(dir)?;
            let size: u64 = [
                "shard-0000/tokens.u16",
                "shard-0000/sa.u32",
                "shard-0000/docs.bin",
                "manifest.json",
            ]
            .iter()
            .map(|f| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0))
            .sum();
            (size as f64 / n, size)
        }
        None => (6.0, (n * 6.0) as u64),
    };

    // 3. Queries drawn from the corpus (present) and at random (mostly absent).
    // A copy as u32 (the separator reads as u32::MAX): the naive baseline scans it.
    let tokens = index.shard_tokens(0);
    let tokens = tokens.as_slice();
    let sample_run = |rng: &mut Rng, len: usize| -> Vec<u32> {
        loop {
            let at = rng.below(tokens.len() as u64 - len as u64) as usize;
            let run = &tokens[at..at + len];
            if !run.contains(&u32::MAX) {
                return run.to_vec();
            }
        }
    };
    let mut count_times = Vec::with_capacity(queries);
    for i in 0..queries {
        let q = if i % 2 == 0 {
            sample_run(&mut rng, 1 + i % 10)
        } else {
            (0..1 + i % 10).map(|_| vocab.sample(&mut rng) as u32).collect()
        };
        let t = Instant::now();
        std::hint::black_box(index.count(&q)?);
        count_times.push(t.elapsed());
    }
    // Naive baseline: the same kind of query by scanning the token array.
    let mut naive_times = Vec::new();
    for i in 0..10 {
        let q: Vec<u32> = sample_run(&mut rng, 1 + i % 10);
        let t = Instant::now();
        std::hint::black_box(naive_count(tokens, &q));
        naive_times.push(t.elapsed());
    }
    // 256-token answers: a passage of the corpus planted in generated tokens.
    let answer = |rng: &mut Rng| -> Vec<u32> {
        let mut a: Vec<u32> = (0..256).map(|_| vocab.sample(rng) as u32).collect();
        let passage = sample_run(rng, 48);
        let at = rng.below(200) as usize;
        a[at..at + 48].copy_from_slice(&passage);
        a
    };
    let mut longest_times = Vec::new();
    let mut attribute_times = Vec::new();
    let params = Params::default();
    for _ in 0..(queries / 10).max(10) {
        let a = answer(&mut rng);
        let at = rng.below(256) as usize;
        let t = Instant::now();
        std::hint::black_box(index.longest_match_at(&a, at)?);
        longest_times.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(attribute(&index, &[], &a, &params)?);
        attribute_times.push(t.elapsed());
    }
    let (count_p50, count_p99) = percentiles(count_times);
    let (naive_p50, _) = percentiles(naive_times);
    let (longest_p50, longest_p99) = percentiles(longest_times);
    let (attr_p50, attr_p99) = percentiles(attribute_times);
    let report = serde_json::json!({
        "corpusTokens": index.manifest.tokens,
        "documents": index.manifest.documents,
        "generateSeconds": generate.as_secs_f64(),
        "buildSeconds": build.as_secs_f64(),
        "buildMBPerSecond": build_mb_s,
        "buildTokensPerSecond": n / build.as_secs_f64(),
        "peakMemoryMB": peak_build_mb,
        "bytesOnDisk": on_disk,
        "bytesPerToken": bytes_per_token,
        "countMicros": {"p50": count_p50, "p99": count_p99},
        "naiveCountMicros": {"p50": naive_p50},
        "countSpeedupOverNaive": naive_p50 / count_p50.max(1e-3),
        "longestMatchMicros": {"p50": longest_p50, "p99": longest_p99},
        "attribute256Micros": {"p50": attr_p50, "p99": attr_p99},
    });
    println!("{}", serde_json::to_string_pretty(&report).context("report")?);
    Ok(())
}
