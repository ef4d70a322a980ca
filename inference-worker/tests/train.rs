//! The trainer on the real SmolLM2-135M GGUF (`PROVENA_MODEL`): its forward pass is the
//! server's, with and without an adapter, so what it trains is what the worker serves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use candle_core::Device;
use provena_inference_worker::{
    lora::{write_synthetic, LoraWeights, SynthSpec, CONFIG_FILE, WEIGHTS_FILE},
    model::{KvCache, Model, Precision, SeqStep, Target},
    train::net::{self, LoraParams},
};
use std::path::PathBuf;

fn model_path() -> PathBuf {
    PathBuf::from(
        std::env::var("PROVENA_MODEL")
            .expect("PROVENA_MODEL must name the SmolLM2 GGUF (.ci/setup fetches it)"),
    )
}

fn served(model: &Model, tokens: &[u32], lora: Option<&LoraWeights>) -> Vec<f32> {
    let mut cache = KvCache::new(&model.config, tokens.len());
    model
        .forward(&mut [SeqStep { tokens, cache: &mut cache, lora, all_logits: true }])
        .unwrap()
        .concat()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn the_trainers_forward_pass_is_the_servers() {
    let model = Model::load(&model_path(), Precision::Dense, &Device::Cpu).unwrap();
    let cfg = &model.config;
    let weights = model.dense_weights(&Device::Cpu).unwrap();
    let tokens: Vec<u32> = vec![1, 504, 3458, 314, 2114, 30, 9, 4007, 1530, 28, 260, 12, 3];
    let scale = served(&model, &tokens, None).iter().fold(0f32, |m, v| m.max(v.abs()));

    let base = net::logits(cfg, &weights, None, &tokens).unwrap().flatten_all().unwrap();
    let diff = max_abs_diff(&base.to_vec1::<f32>().unwrap(), &served(&model, &tokens, None));
    assert!(diff < 2e-4 * scale, "base: max |Δ| {diff} (logits up to {scale})");

    // An adapter on every projection, written in PEFT format, read by both.
    let dir = tempfile::tempdir().unwrap();
    let spec =
        SynthSpec { rank: 4, alpha: 8.0, targets: Target::ALL.to_vec(), seed: 3, b_std: 0.02 };
    write_synthetic(dir.path(), cfg, "test", &spec).unwrap();
    let c = std::fs::read(dir.path().join(CONFIG_FILE)).unwrap();
    let w = std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap();
    let lora = LoraWeights::from_peft(&c, &w, cfg, model.layout).unwrap();
    let params = LoraParams::init(cfg, &Target::ALL, 4, 8.0, 0, &Device::Cpu).unwrap();
    params.load(&candle_core::safetensors::load_buffer(&w, &Device::Cpu).unwrap()).unwrap();
    let adapted =
        net::logits(cfg, &weights, Some(&params), &tokens).unwrap().flatten_all().unwrap();
    let adapted = adapted.to_vec1::<f32>().unwrap();
    let served_adapted = served(&model, &tokens, Some(&lora));
    let moved = max_abs_diff(&served_adapted, &served(&model, &tokens, None));
    assert!(moved > 0.05 * scale, "the adapter must change the outputs ({moved})");
    let diff = max_abs_diff(&adapted, &served_adapted);
    assert!(
        diff < 2e-4 * scale + 0.01 * moved,
        "adapted: max |Δ| {diff}, the adapter moved {moved}"
    );

    // And the trainer writes back exactly what it read (same PEFT bytes, same id).
    let out = tempfile::tempdir().unwrap();
    let id = params.save_peft(out.path(), "test").unwrap();
    let again = std::fs::read(out.path().join(WEIGHTS_FILE)).unwrap();
    let lora_again = LoraWeights::from_peft(
        &std::fs::read(out.path().join(CONFIG_FILE)).unwrap(),
        &again,
        cfg,
        model.layout,
    )
    .unwrap();
    assert_eq!(served(&model, &tokens, Some(&lora_again)), served_adapted);
    assert_eq!(id.len(), 64);
}
