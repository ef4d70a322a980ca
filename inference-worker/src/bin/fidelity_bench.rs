//! `fidelity-bench`: how far the worker's quantized paths depart from the exact model, measured
//! the way llama.cpp's `perplexity --kl-divergence` measures a quantization.
//!
//! The reference is an f32 forward pass over the GGUF's exactly dequantized weights (the
//! worker's `--precision dense`). A held-out text (default: the license texts every Debian
//! system ships in `/usr/share/common-licenses`, links skipped) is cut into windows of `--ctx` tokens, each
//! evaluated from an empty cache; as in llama.cpp, the second half of each window is scored,
//! so every scored token has at least `ctx / 2` tokens of context. For each scored position:
//! the KL divergence `KL(P_ref ‖ P)` of the next-token distributions, whether the most likely
//! token is the same (top-1 agreement), and the log-likelihood of the actual next token
//! (perplexity).
//!
//! Compared: the worker's native path (a Q4_0/Q4_1 file's blocks kept as 4-bit tiles, other
//! types re-quantized to 8-bit tiles), its `--precision int8` path (every projection
//! re-quantized to 8-bit tiles), and any
//! external engine given with `--external NAME=COMMAND` — a command (run with `sh -c`) that
//! reads windows on stdin, one JSON array of token ids per line, and writes, for each, the
//! logits of the scored rows as little-endian `f32` (`bench/llama_cpp_fidelity.py` does this
//! with llama.cpp on any GGUF). Every engine sees the same token ids; no BOS is added.
//!
//! Prints one JSON report (and writes it to `--json`).

// Counters and sums over a bounded number of tokens.
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use anyhow::{anyhow, bail, Context, Result};
use candle_core::Device;
use clap::Parser;
use provena_attribution::ModelTokenizer;
use provena_inference_worker::model::{KvCache, Model, Precision, SeqStep};
use serde_json::json;
use std::{
    io::{BufWriter, Read, Write},
    path::PathBuf,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    time::Instant,
};

#[derive(Parser)]
#[command(
    name = "fidelity-bench",
    about = "KL divergence and top-1 agreement against the exact model"
)]
struct Args {
    #[arg(long, env = "PROVENA_MODEL")]
    model: PathBuf,
    /// Text files to evaluate (default: every file in /usr/share/common-licenses, sorted).
    #[arg(long, value_delimiter = ',')]
    text: Vec<PathBuf>,
    /// Tokens per window.
    #[arg(long, default_value_t = 512)]
    ctx: usize,
    /// Tokens scored in all (half of each window's).
    #[arg(long, default_value_t = 10_240)]
    scored: usize,
    /// Another engine: `NAME=COMMAND` (see the module docs). Repeatable.
    #[arg(long)]
    external: Vec<String>,
    /// Write the report here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Running statistics of one engine against the reference.
struct Tally {
    name: String,
    kl: Vec<f64>,
    top1_same: usize,
    nll: f64,
    seconds: f64,
}

impl Tally {
    fn new(name: &str) -> Self {
        Self { name: name.into(), kl: Vec::new(), top1_same: 0, nll: 0.0, seconds: 0.0 }
    }

    fn report(&mut self, reference_ppl: f64) -> serde_json::Value {
        let n = self.kl.len().max(1);
        self.kl.sort_by(f64::total_cmp);
        let at = |q: f64| self.kl[((self.kl.len() as f64 - 1.0) * q).round() as usize];
        let ppl = (self.nll / n as f64).exp();
        json!({
            "engine": self.name,
            "scoredTokens": self.kl.len(),
            "klMean": self.kl.iter().sum::<f64>() / n as f64,
            "klMedian": at(0.5),
            "klP99": at(0.99),
            "klMax": at(1.0),
            "top1Agreement": self.top1_same as f64 / n as f64,
            "perplexity": ppl,
            "perplexityRatio": ppl / reference_ppl,
            "seconds": self.seconds,
        })
    }
}

/// `log_softmax(row)` in f64.
fn log_softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    let log_z = max + sum.ln();
    row.iter().map(|&x| x as f64 - log_z).collect()
}

fn argmax(row: &[f64]) -> usize {
    row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// Scores `rows` (the engine's logits, `[ctx/2, vocab]`) against the reference's log-probs.
fn score(t: &mut Tally, reference: &[Vec<f64>], rows: &[f32], vocab: usize, next: &[u32]) {
    for (i, (r, row)) in reference.iter().zip(rows.chunks_exact(vocab)).enumerate() {
        let q = log_softmax(row);
        let kl: f64 = r.iter().zip(&q).map(|(lp, lq)| lp.exp() * (lp - lq)).sum();
        t.kl.push(kl.max(0.0));
        t.top1_same += usize::from(argmax(r) == argmax(&q));
        t.nll -= q[next[i] as usize];
    }
}

/// The scored rows of one window on the worker's engine.
fn forward(model: &Model, window: &[u32]) -> Result<Vec<f32>> {
    let mut cache = KvCache::new(&model.config, window.len());
    let mut seqs = [SeqStep { tokens: window, cache: &mut cache, lora: None, all_logits: true }];
    let out = model.forward(&mut seqs)?;
    let all = out.into_iter().next().ok_or_else(|| anyhow!("no logits"))?;
    let vocab = model.config.vocab;
    let (from, to) = (window.len() / 2 - 1, window.len() - 1);
    Ok(all[from * vocab..to * vocab].to_vec())
}

struct External {
    tally: Tally,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: ChildStdout,
}

impl External {
    fn spawn(spec: &str) -> Result<Self> {
        let (name, command) =
            spec.split_once('=').ok_or_else(|| anyhow!("--external takes NAME=COMMAND"))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {command}"))?;
        let stdin = BufWriter::new(child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?);
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        Ok(Self { tally: Tally::new(name), child, stdin, stdout })
    }

    fn window(&mut self, window: &[u32], rows: usize, vocab: usize) -> Result<Vec<f32>> {
        serde_json::to_writer(&mut self.stdin, window)?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        let mut bytes = vec![0u8; rows * vocab * 4];
        self.stdout.read_exact(&mut bytes).with_context(|| {
            format!(
                "{} ended early (it must write {rows} x {vocab} f32 per window)",
                self.tally.name
            )
        })?;
        Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.ctx < 4 || args.ctx % 2 != 0 {
        bail!("--ctx must be an even number of at least 4");
    }
    let files = if args.text.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/share/common-licenses")
            .context("no --text given and /usr/share/common-licenses is unreadable")?
            .filter_map(|e| e.ok())
            // Links (GPL -> GPL-3 ...) would count a text twice.
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    } else {
        args.text.clone()
    };
    let tokenizer = ModelTokenizer::load(&args.model)?;
    let mut tokens = Vec::new();
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        tokens.extend(tokenizer.encode(&text)?);
    }
    let half = args.ctx / 2;
    let windows = args.scored.div_ceil(half);
    if tokens.len() < windows * args.ctx {
        bail!(
            "the text has {} tokens; {} windows of {} need {}",
            tokens.len(),
            windows,
            args.ctx,
            windows * args.ctx
        );
    }
    let t = Instant::now();
    let reference = Model::load(&args.model, Precision::Dense, &Device::Cpu)?;
    let paths = [
        (
            Model::load(&args.model, Precision::Native, &Device::Cpu)?,
            "worker native (the file's 4-bit blocks kept; other types 8-bit tiles)",
        ),
        (
            Model::load(&args.model, Precision::Int8, &Device::Cpu)?,
            "worker --precision int8 (every projection re-quantized to 8-bit tiles)",
        ),
    ];
    eprintln!("loaded every path in {:.1} s", t.elapsed().as_secs_f64());
    let vocab = reference.config.vocab;
    let mut externals =
        args.external.iter().map(|s| External::spawn(s)).collect::<Result<Vec<_>>>()?;
    let mut ours: Vec<Tally> = paths.iter().map(|(_, name)| Tally::new(name)).collect();
    let (mut ref_nll, mut ref_seconds) = (0.0f64, 0.0f64);
    for w in 0..windows {
        let window = &tokens[w * args.ctx..(w + 1) * args.ctx];
        let next = &window[half..];
        let t = Instant::now();
        let r = forward(&reference, window)?;
        ref_seconds += t.elapsed().as_secs_f64();
        let r: Vec<Vec<f64>> = r.chunks_exact(vocab).map(log_softmax).collect();
        for (i, lp) in r.iter().enumerate() {
            ref_nll -= lp[next[i] as usize];
        }
        for ((model, _), tally) in paths.iter().zip(&mut ours) {
            let t = Instant::now();
            let rows = forward(model, window)?;
            tally.seconds += t.elapsed().as_secs_f64();
            score(tally, &r, &rows, vocab, next);
        }
        for e in &mut externals {
            let t = Instant::now();
            let rows = e.window(window, half, vocab)?;
            e.tally.seconds += t.elapsed().as_secs_f64();
            score(&mut e.tally, &r, &rows, vocab, next);
        }
        eprintln!("window {}/{windows}", w + 1);
    }
    let scored = windows * half;
    let ref_ppl = (ref_nll / scored as f64).exp();
    let mut engines: Vec<_> = ours.iter_mut().map(|t| t.report(ref_ppl)).collect();
    for mut e in externals {
        engines.push(e.tally.report(ref_ppl));
        drop(e.stdin);
        let _ = e.child.wait();
    }
    let report = json!({
        "model": args.model.display().to_string(),
        "text": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "ctx": args.ctx,
        "scoredTokens": scored,
        "reference": {"engine": "worker dense f32 (exactly dequantized GGUF weights)", "perplexity": ref_ppl, "seconds": ref_seconds},
        "engines": engines,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
