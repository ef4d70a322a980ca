//! A fine-tuning run from files to a served adapter: what the CLI (`train`) and the job API
//! both drive.
//!
//! # Steps
//! 1. Each data file is read and its content hash (BLAKE2b-256, the chain's) computed; when
//!    the caller gives the hash the chain recorded for it, a file that differs is refused
//!    before anything is trained.
//! 2. The files are encoded ([`super::data`]) with the base model's tokenizer and chat
//!    template, and split into training and held-out examples from the seed.
//! 3. The run's *configuration hash* is the content hash of
//!    `{"base": <base hash>, "data": [<file hashes in order>], "hyper": <hyper-parameters>}`
//!    (canonical JSON): it is what the chain records next to the adapter, and what a
//!    checkpoint must match to be resumed.
//! 4. Steps are taken, reporting each ([`Progress`]); the held-out loss is measured before
//!    the first step, every `eval_every` steps and at the end; checkpoints are written every
//!    `checkpoint_every` steps, on cancellation and at the end. A run started again in the
//!    same directory resumes from its newest checkpoint.
//! 5. The adapter is written in PEFT format into the adapter store under its id (the content
//!    hash the worker serves and the chain registers).

use super::{checkpoint, data, EvalReport, Hyper, StepReport, Trainer};
use crate::{
    error::{Error, Result},
    model::{Model, Precision},
    server::{ChatTemplate, TemplateMeta},
};
use candle_core::Device;
use provena_attribution::ModelTokenizer;
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
};

/// One data file of the run.
#[derive(Clone, Debug)]
pub struct DataFile {
    pub path: PathBuf,
    /// The hash the chain recorded for it, when known: a file that differs is refused.
    pub expected_hash: Option<[u8; 32]>,
    /// What errors call it (`contribution 3 (corpus/a.jsonl)`); the path when `None`.
    pub label: Option<String>,
}

/// What to train.
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// The base model (GGUF file or HF directory).
    pub model: PathBuf,
    /// The tokenizer, when not inside the model.
    pub tokenizer: Option<PathBuf>,
    /// A chat template to use instead of the model's own (the one the server uses).
    pub chat_template: Option<String>,
    pub data: Vec<DataFile>,
    pub hyper: Hyper,
    /// Checkpoints and the job's own files.
    pub work_dir: PathBuf,
    /// The adapter store the result lands in (`<store>/<id>/`).
    pub store: PathBuf,
}

/// What a run reports as it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Progress {
    /// Data encoded; `resumed_at` is the step a checkpoint resumed from (0 = a fresh start).
    Started {
        train_examples: usize,
        eval_examples: usize,
        skipped: usize,
        total_steps: u64,
        resumed_at: u64,
        config_hash: String,
    },
    Step(StepReport),
    Eval {
        step: u64,
        eval: EvalReport,
    },
    Checkpoint {
        step: u64,
    },
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The adapter's id (its content hash), served from `<store>/<id>/`.
    pub adapter_id: String,
    /// The training configuration hash (hex).
    pub config_hash: String,
    /// The base model's hash (hex).
    pub base_hash: String,
    /// Each data file's hash (hex), in order.
    pub data_hashes: Vec<String>,
    pub steps: u64,
    /// Held-out loss before training and at the end (absent without a held-out split).
    pub eval_before: Option<EvalReport>,
    pub eval_after: Option<EvalReport>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    Done(Outcome),
    /// Stopped by the cancel flag after a checkpoint at `step`.
    Cancelled {
        step: u64,
    },
}

/// The configuration hash of a run (see the module docs).
pub fn config_hash(base_hash: &str, data_hashes: &[String], hyper: &Hyper) -> Result<[u8; 32]> {
    let doc = serde_json::json!({ "base": base_hash, "data": data_hashes, "hyper": hyper });
    let bytes = serde_json::to_vec(&doc).map_err(|e| Error::Model(e.to_string()))?;
    Ok(provena_primitives::content_hash(&bytes).0)
}

/// Runs `spec` to the end (or until `cancel` is set), reporting through `progress`. Each step
/// waits until `ready()` holds (the server's idle gate; `&|| true` runs flat out).
pub fn run(
    spec: &JobSpec,
    cancel: &AtomicBool,
    ready: &dyn Fn() -> bool,
    mut progress: impl FnMut(Progress),
) -> Result<Ended> {
    let mut data_hashes = Vec::with_capacity(spec.data.len());
    let mut contents = Vec::with_capacity(spec.data.len());
    if spec.data.is_empty() {
        return Err(Error::invalid("data", "name at least one file"));
    }
    for file in &spec.data {
        let bytes = std::fs::read(&file.path).map_err(|e| Error::io(&file.path, e))?;
        let hash = provena_primitives::content_hash(&bytes).0;
        if let Some(expected) = file.expected_hash {
            if expected != hash {
                return Err(Error::invalid(
                    "data",
                    format!(
                        "{}: content hash 0x{} differs from the chain's 0x{}; nothing trained",
                        file.label.clone().unwrap_or_else(|| file.path.display().to_string()),
                        hex::encode(hash),
                        hex::encode(expected)
                    ),
                ));
            }
        }
        data_hashes.push(hex::encode(hash));
        contents.push(bytes);
    }
    let device = Device::Cpu;
    let model = Model::load(&spec.model, Precision::Dense, &device)?;
    spec.hyper.validate(&model.config)?;
    let tok_path = spec.tokenizer.clone().unwrap_or_else(|| {
        if spec.model.is_dir() {
            spec.model.join("tokenizer.json")
        } else {
            spec.model.clone()
        }
    });
    let tokenizer = ModelTokenizer::load(&tok_path).map_err(|e| Error::Model(e.to_string()))?;
    let meta = TemplateMeta::read(&spec.model, &tokenizer)?;
    let template = ChatTemplate::new(&meta, spec.chat_template.clone(), &tokenizer)?;
    let end_of_turn = meta
        .eos
        .or_else(|| ChatTemplate::end_of_generation(&meta, &tokenizer).first().copied())
        .ok_or_else(|| Error::Model("the model names no end-of-sequence token".into()))?;
    let encoder = data::Encoder {
        tokenizer: &tokenizer,
        template: &template,
        end_of_turn,
        max_len: spec.hyper.max_len,
    };
    let mut examples = Vec::new();
    let mut skipped = 0usize;
    for (file, bytes) in spec.data.iter().zip(&contents) {
        let name =
            file.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let encoded = encoder.encode_file(&name, bytes)?;
        examples.extend(encoded.examples);
        skipped = skipped.saturating_add(encoded.skipped);
    }
    if examples.is_empty() {
        return Err(Error::invalid(
            "data",
            format!("no example fits in max_len ({skipped} skipped)"),
        ));
    }
    let (train, eval) = data::split(examples, spec.hyper.eval_fraction, spec.hyper.seed);
    let fingerprint = config_hash(&model.source.hash, &data_hashes, &spec.hyper)?;
    let weights = model.dense_weights(&device)?;
    let base_name = model.source.name.clone();
    let base_hash = model.source.hash.clone();
    let mut trainer =
        Trainer::new(model.config.clone(), weights, spec.hyper.clone(), train, eval, fingerprint)?;
    drop(model);
    let ckpt_dir = spec.work_dir.join("checkpoints");
    let eval_before = trainer.evaluate_base()?;
    checkpoint::resume(&ckpt_dir, &mut trainer)?;
    let (n_train, n_eval) = trainer.sizes();
    progress(Progress::Started {
        train_examples: n_train,
        eval_examples: n_eval,
        skipped,
        total_steps: trainer.total_steps,
        resumed_at: trainer.step,
        config_hash: hex::encode(fingerprint),
    });
    if let (Some(eval), 0) = (eval_before, trainer.step) {
        progress(Progress::Eval { step: 0, eval });
    }
    while !trainer.done() {
        while !ready() && !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if cancel.load(Ordering::Relaxed) {
            checkpoint::save(&ckpt_dir, &trainer)?;
            progress(Progress::Checkpoint { step: trainer.step });
            return Ok(Ended::Cancelled { step: trainer.step });
        }
        let report = trainer.step()?;
        let step = report.step;
        progress(Progress::Step(report));
        let every = |n: u64| n > 0 && step.is_multiple_of(n) && !trainer.done();
        if every(spec.hyper.eval_every) {
            if let Some(eval) = trainer.evaluate()? {
                progress(Progress::Eval { step, eval });
            }
        }
        if every(spec.hyper.checkpoint_every) {
            checkpoint::save(&ckpt_dir, &trainer)?;
            progress(Progress::Checkpoint { step });
        }
    }
    let eval_after = trainer.evaluate()?;
    if let Some(eval) = eval_after {
        progress(Progress::Eval { step: trainer.step, eval });
    }
    checkpoint::save(&ckpt_dir, &trainer)?;
    progress(Progress::Checkpoint { step: trainer.step });
    let adapter_id = publish(&trainer, &spec.store, &spec.work_dir, &base_name)?;
    Ok(Ended::Done(Outcome {
        adapter_id,
        config_hash: hex::encode(fingerprint),
        base_hash,
        data_hashes,
        steps: trainer.step,
        eval_before,
        eval_after,
    }))
}

/// Writes the adapter into the store under its id (via a temporary directory and a rename,
/// so the store never shows a half-written adapter).
fn publish(trainer: &Trainer, store: &Path, work_dir: &Path, base_name: &str) -> Result<String> {
    let tmp = work_dir.join("adapter.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    let id = trainer.lora.save_peft(&tmp, base_name)?;
    std::fs::create_dir_all(store).map_err(|e| Error::io(store, e))?;
    let dst = store.join(&id);
    if dst.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    } else if std::fs::rename(&tmp, &dst).is_err() {
        // Another filesystem: copy, then rename within the store.
        let staging = store.join(format!(".{id}.tmp"));
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        for f in [crate::lora::CONFIG_FILE, crate::lora::WEIGHTS_FILE] {
            std::fs::copy(tmp.join(f), staging.join(f)).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::rename(&staging, &dst).map_err(|e| Error::io(&dst, e))?;
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(id)
}
