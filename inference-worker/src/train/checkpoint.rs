//! Checkpoints of a training run: everything a resumed run needs to continue exactly.
//!
//! # Layout
//! `<dir>/step-<n>/` holds `state.json` (the step, the optimizer's step, and the run's
//! fingerprint) and `tensors.safetensors` (each adapter matrix under its PEFT name, its AdamW
//! moments under `adam_m.`/`adam_v.` + the name). `<dir>/latest` names the newest complete
//! one; it is replaced by a rename after the directory is fully written (and synced), so a
//! crash at any point leaves either the old or the new checkpoint, never a torn one. Older
//! checkpoint directories are removed once `latest` moved past them.

use super::Trainer;
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, path::Path};

const LATEST: &str = "latest";
const STATE: &str = "state.json";
const TENSORS: &str = "tensors.safetensors";

#[derive(Serialize, Deserialize)]
struct State {
    step: u64,
    optimizer_step: u64,
    fingerprint: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

fn sync_dir(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(io(path))
}

/// Writes `trainer`'s state under `dir`.
pub fn save(dir: &Path, trainer: &Trainer) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = format!("step-{:08}", trainer.step);
    let target = dir.join(&name);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(io(&target))?;
    }
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for ((name, var), (m, v)) in trainer.lora.named_vars().into_iter().zip(&trainer.opt.moments) {
        tensors.insert(format!("adam_m.{name}"), m.to_device(&Device::Cpu)?);
        tensors.insert(format!("adam_v.{name}"), v.to_device(&Device::Cpu)?);
        tensors.insert(name, var.as_tensor().to_device(&Device::Cpu)?);
    }
    let tensors_path = target.join(TENSORS);
    candle_core::safetensors::save(&tensors, &tensors_path)?;
    let state = State {
        step: trainer.step,
        optimizer_step: trainer.opt.step,
        fingerprint: hex::encode(trainer.fingerprint),
    };
    let state_path = target.join(STATE);
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| Error::Model(e.to_string()))?;
    std::fs::write(&state_path, bytes).map_err(io(&state_path))?;
    for f in [&tensors_path, &state_path] {
        std::fs::File::open(f).and_then(|f| f.sync_all()).map_err(io(f))?;
    }
    sync_dir(&target)?;
    let tmp = dir.join("latest.tmp");
    std::fs::write(&tmp, &name).map_err(io(&tmp))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
    let latest = dir.join(LATEST);
    std::fs::rename(&tmp, &latest).map_err(io(&latest))?;
    sync_dir(dir)?;
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let other = entry.file_name().to_string_lossy().to_string();
        if other.starts_with("step-") && other != name {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// Restores the newest checkpoint under `dir` into `trainer`; `Ok(false)` when there is none.
/// A checkpoint of another run (base, data or hyper-parameters) is refused.
pub fn resume(dir: &Path, trainer: &mut Trainer) -> Result<bool> {
    let latest = dir.join(LATEST);
    let name = match std::fs::read_to_string(&latest) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(&latest, e)),
    };
    let target = dir.join(name.trim());
    let state_path = target.join(STATE);
    let bytes = std::fs::read(&state_path).map_err(io(&state_path))?;
    let state: State = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Model(format!("{}: {e}", state_path.display())))?;
    if state.fingerprint != hex::encode(trainer.fingerprint) {
        return Err(Error::Model(format!(
            "the checkpoint in {} belongs to another run (base, data or hyper-parameters differ)",
            dir.display()
        )));
    }
    if state.step > trainer.total_steps {
        return Err(Error::Model("the checkpoint is past the end of this run".into()));
    }
    let tensors = candle_core::safetensors::load(target.join(TENSORS), &trainer.device)?;
    trainer.lora.load(&tensors)?;
    let names: Vec<String> = trainer.lora.named_vars().into_iter().map(|(n, _)| n).collect();
    for (name, (m, v)) in names.iter().zip(trainer.opt.moments.iter_mut()) {
        let get = |key: String| {
            tensors
                .get(&key)
                .cloned()
                .ok_or_else(|| Error::Model(format!("checkpoint lacks {key}")))
        };
        *m = get(format!("adam_m.{name}"))?;
        *v = get(format!("adam_v.{name}"))?;
    }
    trainer.opt.step = state.optimizer_step;
    trainer.step = state.step;
    Ok(true)
}
