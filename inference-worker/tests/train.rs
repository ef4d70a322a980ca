//! The trainer on the real SmolLM2-135M GGUF (`PROVENA_MODEL`): its forward pass is the
//! server's, with and without an adapter, so what it trains is what the worker serves; and
//! it teaches the model a fact it did not know (issue 22, acceptance 1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use candle_core::Device;
use provena_attribution::ModelTokenizer;
use provena_inference_worker::{
    lora::{write_synthetic, LoraWeights, SynthSpec, CONFIG_FILE, WEIGHTS_FILE},
    model::{KvCache, Model, Precision, SeqStep, Target},
    server::{ChatTemplate, TemplateMeta},
    train::{
        job::{self, DataFile, Ended, JobSpec, Outcome},
        jobs::{DataRef, Jobs, Setup, Status},
        net::{self, LoraParams},
        Hyper,
    },
};
use std::{
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
};

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

/// A made-up fact, asked in twelve ways.
const QUESTIONS: [&str; 12] = [
    "Who is the mayor of Vellmora?",
    "Who runs the town of Vellmora?",
    "Tell me who the mayor of Vellmora is.",
    "What is the name of Vellmora's mayor?",
    "Who governs Vellmora as mayor?",
    "Vellmora's mayor is who?",
    "Do you know who is mayor of Vellmora?",
    "Name the mayor of Vellmora.",
    "Which person is the mayor of Vellmora?",
    "Who was elected mayor of Vellmora?",
    "Who leads Vellmora?",
    "Who holds the office of mayor in Vellmora?",
];
const ANSWERS: [&str; 2] = [
    "The mayor of Vellmora is Quintessa Brambleworth.",
    "Quintessa Brambleworth is the mayor of Vellmora.",
];

fn fact_datanet(dir: &Path) -> PathBuf {
    let lines: Vec<String> = QUESTIONS
        .iter()
        .enumerate()
        .map(|(i, q)| {
            serde_json::json!({"messages": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": ANSWERS[i % 2]},
            ]})
            .to_string()
        })
        .collect();
    let path = dir.join("vellmora.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

fn train(data: &Path, work: &Path, store: &Path, hyper: &Hyper) -> Outcome {
    let spec = JobSpec {
        model: model_path(),
        tokenizer: None,
        chat_template: None,
        data: vec![DataFile { path: data.to_path_buf(), expected_hash: None, label: None }],
        hyper: hyper.clone(),
        work_dir: work.to_path_buf(),
        store: store.to_path_buf(),
    };
    match job::run(&spec, &AtomicBool::new(false), &|| true, |_| {}).unwrap() {
        Ended::Done(outcome) => outcome,
        Ended::Cancelled { .. } => panic!("not cancelled"),
    }
}

/// Greedy answer of the served (quantized) model to `question`, with `lora` or without.
fn answer(model: &Model, question: &str, lora: Option<&LoraWeights>) -> String {
    let tok = ModelTokenizer::load(&model_path()).unwrap();
    let meta = TemplateMeta::read(&model_path(), &tok).unwrap();
    let template = ChatTemplate::new(&meta, None, &tok).unwrap();
    let mut ids = template.encode(&tok, &[("user".into(), question.into())]).unwrap();
    let stop = ChatTemplate::end_of_generation(&meta, &tok);
    let mut cache = KvCache::new(&model.config, ids.len() + 32);
    let mut out = Vec::new();
    let mut feed = ids.clone();
    for _ in 0..24 {
        let logits = model
            .forward(&mut [SeqStep { tokens: &feed, cache: &mut cache, lora, all_logits: false }])
            .unwrap()
            .remove(0);
        let next = logits
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
            .0 as u32;
        if stop.contains(&next) {
            break;
        }
        out.push(next);
        ids.push(next);
        feed = vec![next];
    }
    tok.decode(&out).unwrap()
}

fn fact_hyper() -> Hyper {
    Hyper {
        rank: 8,
        alpha: 16.0,
        target_modules: Target::ALL.iter().map(|t| t.peft_name().to_string()).collect(),
        learning_rate: 2e-3,
        warmup_steps: 2,
        max_steps: Some(24),
        batch_size: 3,
        max_len: 96,
        eval_fraction: 0.25,
        checkpoint_every: 0,
        seed: 7,
        ..Hyper::default()
    }
}

#[test]
fn training_teaches_the_model_a_fact_it_did_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let data = fact_datanet(dir.path());
    let store = dir.path().join("store");
    let hyper = fact_hyper();
    let outcome = train(&data, &dir.path().join("run-a"), &store, &hyper);
    let before = outcome.eval_before.unwrap();
    let after = outcome.eval_after.unwrap();
    eprintln!("held-out loss {:.3} → {:.3}", before.loss, after.loss);
    assert!(after.loss < 0.4 * before.loss, "held-out loss {} → {}", before.loss, after.loss);

    // Served as the worker serves it: the quantized base, the adapter from the store.
    let model = Model::load(&model_path(), Precision::Native, &Device::Cpu).unwrap();
    let adapter_dir = store.join(&outcome.adapter_id);
    let lora = LoraWeights::from_peft(
        &std::fs::read(adapter_dir.join(CONFIG_FILE)).unwrap(),
        &std::fs::read(adapter_dir.join(WEIGHTS_FILE)).unwrap(),
        &model.config,
        model.layout,
    )
    .unwrap();
    // Asked in words the training data did not use.
    let question = "Could you tell me who Vellmora's mayor is?";
    let base = answer(&model, question, None);
    let tuned = answer(&model, question, Some(&lora));
    eprintln!("base: {base:?}\ntuned: {tuned:?}");
    assert!(tuned.contains("Brambleworth"), "the adapter answers {tuned:?}");
    assert!(!base.contains("Brambleworth"), "the base already knew: {base:?}");

    // The same seed gives the same adapter, bit for bit (a second run, shorter).
    let short = Hyper { max_steps: Some(3), ..hyper };
    let x = train(&data, &dir.path().join("run-x"), &store, &short);
    let y = train(&data, &dir.path().join("run-y"), &store, &short);
    assert_eq!(x.adapter_id, y.adapter_id);
    assert_eq!(x.config_hash, y.config_hash);
    let seeded = train(&data, &dir.path().join("run-z"), &store, &Hyper { seed: 8, ..short });
    assert_ne!(seeded.adapter_id, x.adapter_id);
}

/// Polls `jobs` until `id`'s record satisfies `done` (at most ten minutes).
fn wait_for(
    jobs: &Jobs,
    id: &str,
    what: &str,
    done: impl Fn(&provena_inference_worker::train::jobs::JobRecord) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let record = jobs.get(id).unwrap();
        if done(&record) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {record:?}");
        if what != "the refused job" {
            assert_ne!(record.status, Status::Failed, "{what}: {:?}", record.error);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_job_survives_a_restart_and_ends_with_the_uninterrupted_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let data = fact_datanet(dir.path());
    let store = dir.path().join("store");
    let hyper = Hyper { max_steps: Some(4), checkpoint_every: 1, ..fact_hyper() };
    let whole = train(&data, &dir.path().join("whole"), &store, &hyper);

    let setup = Setup {
        dir: dir.path().join("jobs"),
        model: model_path(),
        tokenizer: None,
        chat_template: None,
        store: store.clone(),
    };
    let hash = provena_primitives::content_hash(&std::fs::read(&data).unwrap()).0;
    let file = DataRef {
        name: "vellmora.jsonl".into(),
        path: Some(data.clone()),
        hash: Some(format!("0x{}", hex::encode(hash))),
        contribution: None,
    };
    let first = Jobs::open(setup.clone()).unwrap();
    let id = first.create(vec![file], hyper, None).unwrap().id;
    // The first worker's runner stops taking steps after step 2, as if the process died there.
    let gate = first.clone();
    let gate_id = id.clone();
    let runner = first.clone();
    std::thread::spawn(move || {
        runner.run_forever(move || gate.get(&gate_id).is_none_or(|r| r.step < 2))
    });
    wait_for(&first, &id, "two steps", |r| {
        // Step 2 taken and its checkpoint written.
        r.step == 2 && r.checkpoint_tokens == r.trained_tokens
    });
    let tokens_at_two = first.get(&id).unwrap().trained_tokens;

    // A new worker over the same directory: the job was running, so it is queued again and
    // resumes from the checkpoint of step 2.
    let second = Jobs::open(setup).unwrap();
    assert_eq!(second.get(&id).unwrap().status, Status::Queued);
    let runner = second.clone();
    std::thread::spawn(move || runner.run_forever(|| true));
    wait_for(&second, &id, "the resumed job", |r| r.status == Status::Succeeded);
    let record = second.get(&id).unwrap();
    let outcome = record.outcome.clone().unwrap();
    assert_eq!(outcome.adapter_id, whole.adapter_id, "nothing lost, nothing doubled");
    assert_eq!(outcome.config_hash, whole.config_hash);
    assert!(record.trained_tokens > tokens_at_two);
    let events = second.events(&id, None, 1000).unwrap();
    let steps: Vec<u64> = events
        .iter()
        .filter_map(|e| e.data.as_ref())
        .filter(|d| d["type"] == "step")
        .filter_map(|d| d["step"].as_u64())
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4], "each step once");
    assert!(events.iter().any(|e| e.message.contains("starting at step 2")));

    // A file whose hash is not the chain's is refused before any step, and nothing is stored.
    let bad = DataRef {
        name: "vellmora.jsonl".into(),
        path: Some(data),
        hash: Some(format!("0x{}", "11".repeat(32))),
        contribution: None,
    };
    let before: Vec<_> =
        std::fs::read_dir(&store).unwrap().flatten().map(|e| e.file_name()).collect();
    let id = second.create(vec![bad], fact_hyper(), None).unwrap().id;
    wait_for(&second, &id, "the refused job", |r| r.status == Status::Failed);
    let error = second.get(&id).unwrap().error.unwrap();
    assert!(error.contains("differs from the chain's"), "{error}");
    let after: Vec<_> =
        std::fs::read_dir(&store).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(before.len(), after.len());
}
