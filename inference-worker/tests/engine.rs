//! Acceptance 1 of the worker: LoRA applied per row equals merged weights, B = 0 is the base
//! bit for bit, a mixed batch equals each request alone, greedy SmolLM2 text matches a record,
//! and the HF loader agrees with the GGUF one. All on the real SmolLM2-135M GGUF
//! (`PROVENA_MODEL`, fetched by `.ci/setup`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::needless_range_loop,
    clippy::arithmetic_side_effects
)]

use candle_core::Device;
use provena_attribution::ModelTokenizer;
use provena_inference_worker::{
    engine::{sample, Sampling},
    lora::{write_synthetic, LoraWeights, SynthSpec, CONFIG_FILE, WEIGHTS_FILE},
    model::{KvCache, Model, Precision, SeqStep, Target},
};
use rand::SeedableRng;
use std::path::{Path, PathBuf};

fn model_path() -> PathBuf {
    PathBuf::from(
        std::env::var("PROVENA_MODEL")
            .expect("PROVENA_MODEL must name the SmolLM2 GGUF (.ci/setup fetches it)"),
    )
}

fn adapter(dir: &Path, model: &Model, seed: u64, b_std: f32, targets: &[Target]) -> LoraWeights {
    let spec = SynthSpec { rank: 8, alpha: 16.0, targets: targets.to_vec(), seed, b_std };
    write_synthetic(dir, &model.config, "test", &spec).unwrap();
    let c = std::fs::read(dir.join(CONFIG_FILE)).unwrap();
    let w = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    LoraWeights::from_peft(&c, &w, &model.config, model.layout).unwrap()
}

const ALL: [Target; 7] = Target::ALL;

/// Logits for every prompt position.
fn logits(model: &Model, tokens: &[u32], lora: Option<&LoraWeights>) -> Vec<f32> {
    let mut cache = KvCache::new(&model.config, tokens.len());
    model
        .forward(&mut [SeqStep { tokens, cache: &mut cache, lora, all_logits: true }])
        .unwrap()
        .remove(0)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn max_abs(a: &[f32]) -> f32 {
    a.iter().map(|x| x.abs()).fold(0.0, f32::max)
}

fn prompt(tok: &ModelTokenizer) -> Vec<u32> {
    tok.encode(
        "<|im_start|>user\nName three colors of the rainbow.<|im_end|>\n<|im_start|>assistant\n",
    )
    .unwrap()
}

#[test]
fn unmerged_lora_equals_merged_weights() {
    let path = model_path();
    let tok = ModelTokenizer::load(&path).unwrap();
    let tokens = prompt(&tok);
    // Dense f32 on both sides, so the only difference is where B·A is added.
    let model = Model::load(&path, Precision::Dense, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lora = adapter(dir.path(), &model, 7, 0.02, &ALL);
    let base = logits(&model, &tokens, None);
    let unmerged = logits(&model, &tokens, Some(&lora));
    let merged = logits(&model.merged(&lora).unwrap(), &tokens, None);
    let effect = max_abs_diff(&unmerged, &base);
    let err = max_abs_diff(&unmerged, &merged);
    println!(
        "LoRA effect on logits {effect:.4}, unmerged vs merged {err:.2e} (logit scale {:.1})",
        max_abs(&base)
    );
    assert!(effect > 0.05, "the adapter must change the logits for this test to mean anything");
    // Tolerance: 1e-3 absolute on logits of magnitude ~20 (f32 summation order only).
    assert!(err <= 1e-3, "unmerged and merged differ by {err}");

    // A weighted mixture is the merged sum of its parts.
    let dir2 = tempfile::tempdir().unwrap();
    let other = adapter(dir2.path(), &model, 8, 0.02, &[Target::Q, Target::V, Target::Down]);
    let mix = LoraWeights::mix(&[(&lora, 0.7), (&other, -0.4)]).unwrap();
    let merged_mix = model
        .merged(&LoraWeights::mix(&[(&lora, 0.7)]).unwrap())
        .unwrap()
        .merged(&LoraWeights::mix(&[(&other, -0.4)]).unwrap())
        .unwrap();
    let err =
        max_abs_diff(&logits(&model, &tokens, Some(&mix)), &logits(&merged_mix, &tokens, None));
    println!("mixture unmerged vs merged {err:.2e}");
    assert!(err <= 1e-3, "mixture differs from merged weights by {err}");
}

#[test]
fn zero_b_reproduces_the_base_exactly_and_mixed_batches_equal_single_runs() {
    let path = model_path();
    let tok = ModelTokenizer::load(&path).unwrap();
    let model = Model::load(&path, Precision::Native, &Device::Cpu).unwrap();
    let tokens = prompt(&tok);
    let dir = tempfile::tempdir().unwrap();
    let zero = adapter(&dir.path().join("zero"), &model, 1, 0.0, &ALL);
    assert_eq!(
        logits(&model, &tokens, None),
        logits(&model, &tokens, Some(&zero)),
        "B = 0 must be the base bit for bit"
    );

    // Four requests with different adapters (one none, one a mixture) and different prompts.
    let a = adapter(&dir.path().join("a"), &model, 2, 0.02, &ALL);
    let b = adapter(&dir.path().join("b"), &model, 3, 0.02, &[Target::Q, Target::V]);
    let mix = LoraWeights::mix(&[(&a, 0.5), (&b, 0.5)]).unwrap();
    let prompts: Vec<Vec<u32>> =
        ["The sea is", "Rust is a language that", "1, 2, 3,", "Once upon a time"]
            .iter()
            .map(|p| tok.encode(p).unwrap())
            .collect();
    let loras: [Option<&LoraWeights>; 4] = [None, Some(&a), Some(&b), Some(&mix)];
    let steps = 12;
    let greedy = Sampling::greedy();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    // Alone.
    let mut alone_tokens = Vec::new();
    let mut alone_logits = Vec::new();
    for (p, l) in prompts.iter().zip(loras) {
        let mut cache = KvCache::new(&model.config, 64);
        let mut input = p.clone();
        let mut out = Vec::new();
        let mut lg = Vec::new();
        for _ in 0..steps {
            let logits = model
                .forward(&mut [SeqStep {
                    tokens: &input,
                    cache: &mut cache,
                    lora: l,
                    all_logits: false,
                }])
                .unwrap()
                .remove(0);
            let t = sample(&logits, &greedy, &mut rng);
            lg.push(logits);
            out.push(t);
            input = vec![t];
        }
        alone_tokens.push(out);
        alone_logits.push(lg);
    }
    // Together, in one batch per step.
    let mut caches: Vec<KvCache> = (0..4).map(|_| KvCache::new(&model.config, 64)).collect();
    let mut inputs = prompts.clone();
    let mut together: Vec<Vec<u32>> = vec![Vec::new(); 4];
    let mut worst = 0f32;
    for step in 0..steps {
        let mut seqs: Vec<SeqStep> = caches
            .iter_mut()
            .zip(&inputs)
            .zip(loras)
            .map(|((c, i), l)| SeqStep { tokens: i, cache: c, lora: l, all_logits: false })
            .collect();
        let out = model.forward(&mut seqs).unwrap();
        for (r, logits) in out.iter().enumerate() {
            worst = worst.max(max_abs_diff(logits, &alone_logits[r][step]));
            let t = sample(logits, &greedy, &mut rng);
            together[r].push(t);
            inputs[r] = vec![t];
        }
    }
    println!("mixed batch vs alone: max logit difference {worst:.2e}");
    assert_eq!(
        together, alone_tokens,
        "each row of a mixed batch must generate what it generates alone"
    );
    // Tolerance: the quantized matmul kernel may tile a batch differently than one row.
    assert!(worst <= 1e-3, "a row of the mixed batch differs from its single run by {worst}");
}

#[test]
fn greedy_generation_matches_the_recorded_continuation() {
    let path = model_path();
    let tok = ModelTokenizer::load(&path).unwrap();
    let model = Model::load(&path, Precision::Native, &Device::Cpu).unwrap();
    let tokens = tok
        .encode(
            "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        )
        .unwrap();
    let mut cache = KvCache::new(&model.config, 128);
    let mut input = tokens;
    let mut out = Vec::new();
    let greedy = Sampling::greedy();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for _ in 0..32 {
        let logits = model
            .forward(&mut [SeqStep {
                tokens: &input,
                cache: &mut cache,
                lora: None,
                all_logits: false,
            }])
            .unwrap()
            .remove(0);
        let t = sample(&logits, &greedy, &mut rng);
        if model.config.eos.contains(&t) {
            break;
        }
        out.push(t);
        input = vec![t];
    }
    let text = tok.decode(&out).unwrap();
    // Recorded from this engine (and the same answer llama.cpp gives for this file).
    assert_eq!(text, "The capital of France is Paris.");
}

#[test]
fn hf_checkpoint_gives_the_same_logits_as_the_gguf() {
    let path = model_path();
    let tok = ModelTokenizer::load(&path).unwrap();
    let tokens = prompt(&tok);
    let gguf = Model::load(&path, Precision::Dense, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    gguf.save_hf(dir.path()).unwrap();
    tok.inner().save(dir.path().join("tokenizer.json"), false).unwrap();
    let hf = Model::load(dir.path(), Precision::Native, &Device::Cpu).unwrap();
    assert_eq!(hf.config, gguf.config);
    assert_eq!(
        ModelTokenizer::load(&dir.path().join("tokenizer.json"))
            .unwrap()
            .encode("Paris, 2024")
            .unwrap(),
        tok.encode("Paris, 2024").unwrap()
    );
    // The same PEFT adapter (HF layout) on both: the GGUF side permutes q/k rows of B.
    let a_dir = tempfile::tempdir().unwrap();
    let lora_gguf = adapter(a_dir.path(), &gguf, 5, 0.02, &ALL);
    let c = std::fs::read(a_dir.path().join(CONFIG_FILE)).unwrap();
    let w = std::fs::read(a_dir.path().join(WEIGHTS_FILE)).unwrap();
    let lora_hf = LoraWeights::from_peft(&c, &w, &hf.config, hf.layout).unwrap();
    let base_err = max_abs_diff(&logits(&gguf, &tokens, None), &logits(&hf, &tokens, None));
    let lora_err = max_abs_diff(
        &logits(&gguf, &tokens, Some(&lora_gguf)),
        &logits(&hf, &tokens, Some(&lora_hf)),
    );
    println!("HF vs GGUF: base {base_err:.2e}, with adapter {lora_err:.2e}");
    assert!(base_err <= 1e-3 && lora_err <= 1e-3);
}
