//! Fine-tuning jobs: a persistent queue run one at a time beside the server.
//!
//! # Lifecycle
//! `queued` → `running` → `succeeded` | `failed` | `cancelled`. A job's record
//! (`<dir>/<id>/job.json`, replaced atomically) and its events (`<dir>/<id>/events.jsonl`,
//! appended: one per step, evaluation and checkpoint) survive a restart; a job that was
//! running when the worker stopped is queued again and resumes from its newest checkpoint
//! ([`super::checkpoint`]), so no finished step is lost and none is counted twice.
//!
//! # Sharing the machine with serving
//! Training uses the same compute threads as the engine. The runner takes a step only while
//! the engine has nothing queued (the `idle` gate the server passes), so requests wait at most
//! for the step already under way; training fills the time the server is idle.
//!
//! # Bounds
//! At most [`MAX_QUEUED`] jobs wait (more are refused, 429), and the records of at most
//! [`MAX_RECORDS`] jobs are kept: the oldest finished ones are deleted first, with their
//! checkpoints (their adapters stay in the store).

use super::{
    job::{self, DataFile, Ended, JobSpec, Outcome, Progress},
    Hyper,
};
use crate::{
    chain::factory::{self, Prepared, Registration},
    error::{Error, Result},
};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Condvar, Mutex,
    },
    time::Duration,
};

/// Jobs waiting at most.
pub const MAX_QUEUED: usize = 16;
/// Job records kept at most.
pub const MAX_RECORDS: usize = 256;

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    fn finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

/// A data file as a job names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// The name the job was given (shown; the server's own paths are not).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<PathBuf>,
    /// `0x` + 64 hex digits: the content hash the chain recorded, when given.
    pub hash: Option<String>,
    /// The contribution it is, for a file of a datanet snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contribution: Option<u64>,
}

/// A job's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub status: Status,
    /// Unix seconds.
    pub created_at: u64,
    pub finished_at: Option<u64>,
    pub hyper: Hyper,
    pub data: Vec<DataRef>,
    /// Steps done and planned (known once the data is encoded).
    pub step: u64,
    pub total_steps: Option<u64>,
    pub trained_tokens: u64,
    /// `trained_tokens` at the newest checkpoint.
    #[serde(default)]
    pub checkpoint_tokens: u64,
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
    /// What to register on chain when the job succeeds (a job over datanet snapshots).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub registration: Option<Registration>,
    /// The registration, prepared for its owner to sign, once the job succeeded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prepared: Option<Prepared>,
}

/// One line of a job's event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// Position in the log (0, 1, ...).
    pub seq: u64,
    pub created_at: u64,
    pub level: String,
    pub message: String,
    /// The [`Progress`] report, as JSON (`{"type": "step", "loss": …}`). Kept as a value: the
    /// workspace's `serde_json` has `arbitrary_precision`, with which an internally tagged
    /// enum holding numbers cannot be read back.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<serde_json::Value>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Where jobs find the model and put adapters.
#[derive(Clone, Debug)]
pub struct Setup {
    pub dir: PathBuf,
    pub model: PathBuf,
    pub tokenizer: Option<PathBuf>,
    /// The chat template the server uses instead of the model's own, if any (training renders
    /// conversations exactly as serving does).
    pub chat_template: Option<String>,
    pub store: PathBuf,
}

struct Inner {
    records: BTreeMap<String, JobRecord>,
    /// The cancel flag of the running job.
    running: Option<(String, Arc<AtomicBool>)>,
    next_seq: BTreeMap<String, u64>,
}

/// The job queue.
pub struct Jobs {
    setup: Setup,
    inner: Mutex<Inner>,
    wake: Condvar,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

impl Jobs {
    /// Opens the queue in `setup.dir`, reading the records left by an earlier run (a job that
    /// was running is queued again).
    pub fn open(setup: Setup) -> Result<Arc<Self>> {
        std::fs::create_dir_all(&setup.dir).map_err(|e| Error::io(&setup.dir, e))?;
        let mut records = BTreeMap::new();
        let mut next_seq = BTreeMap::new();
        for entry in std::fs::read_dir(&setup.dir).map_err(|e| Error::io(&setup.dir, e))?.flatten()
        {
            let path = entry.path().join("job.json");
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let mut record: JobRecord = match serde_json::from_slice(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("ignoring the unreadable job record {}: {e}", path.display());
                    continue;
                }
            };
            if record.status == Status::Running {
                record.status = Status::Queued;
            }
            let events =
                std::fs::read_to_string(entry.path().join("events.jsonl")).unwrap_or_default();
            next_seq.insert(record.id.clone(), events.lines().count() as u64);
            records.insert(record.id.clone(), record);
        }
        let jobs = Arc::new(Self {
            setup,
            inner: Mutex::new(Inner { records, running: None, next_seq }),
            wake: Condvar::new(),
        });
        Ok(jobs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.setup.dir.join(id)
    }

    fn persist(&self, record: &JobRecord) -> Result<()> {
        let dir = self.job_dir(&record.id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| Error::Model(e.to_string()))?;
        write_atomic(&dir.join("job.json"), &bytes)
    }

    fn event(&self, id: &str, level: &str, message: String, data: Option<Progress>) {
        let seq = {
            let mut inner = self.lock();
            let slot = inner.next_seq.entry(id.to_string()).or_insert(0);
            let seq = *slot;
            *slot = slot.saturating_add(1);
            seq
        };
        let data = data.and_then(|d| serde_json::to_value(d).ok());
        let event = JobEvent { seq, created_at: now(), level: level.into(), message, data };
        let path = self.job_dir(id).join("events.jsonl");
        let line = serde_json::to_string(&event).unwrap_or_default();
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            log::warn!("job {id}: cannot append its event log: {e}");
        }
    }

    /// Queues a job (with what to register on chain when it succeeds, for a job over
    /// snapshots); refused when the queue is full.
    pub fn create(
        &self,
        data: Vec<DataRef>,
        hyper: Hyper,
        registration: Option<Registration>,
    ) -> Result<JobRecord> {
        if data.is_empty() {
            return Err(Error::invalid("training_file", "name at least one file"));
        }
        let mut inner = self.lock();
        let queued = inner.records.values().filter(|r| r.status == Status::Queued).count();
        if queued >= MAX_QUEUED {
            return Err(Error::JobsFull { queued });
        }
        // Unique, not secret: the clock, the process and the number of records so far.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{nanos}:{}:{}", std::process::id(), inner.records.len());
        let digest = provena_primitives::content_hash(seed.as_bytes()).0;
        let id_bytes = digest.get(..12).unwrap_or(&digest);
        let record = JobRecord {
            id: format!("ftjob-{}", hex::encode(id_bytes)),
            status: Status::Queued,
            created_at: now(),
            finished_at: None,
            hyper,
            data,
            step: 0,
            total_steps: None,
            trained_tokens: 0,
            checkpoint_tokens: 0,
            outcome: None,
            error: None,
            registration,
            prepared: None,
        };
        self.persist(&record)?;
        inner.records.insert(record.id.clone(), record.clone());
        self.prune(&mut inner);
        drop(inner);
        self.event(&record.id, "info", "job queued".into(), None);
        self.wake.notify_all();
        Ok(record)
    }

    /// Deletes the oldest finished records beyond [`MAX_RECORDS`].
    fn prune(&self, inner: &mut Inner) {
        while inner.records.len() > MAX_RECORDS {
            let oldest = inner
                .records
                .values()
                .filter(|r| r.status.finished())
                .min_by_key(|r| (r.created_at, r.id.clone()))
                .map(|r| r.id.clone());
            let Some(id) = oldest else { break };
            inner.records.remove(&id);
            inner.next_seq.remove(&id);
            let _ = std::fs::remove_dir_all(self.job_dir(&id));
        }
    }

    pub fn get(&self, id: &str) -> Option<JobRecord> {
        self.lock().records.get(id).cloned()
    }

    /// Every record, newest first.
    pub fn list(&self) -> Vec<JobRecord> {
        let mut all: Vec<JobRecord> = self.lock().records.values().cloned().collect();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        all
    }

    /// Events of `id` after `after` (exclusive), at most `limit`, oldest first.
    pub fn events(&self, id: &str, after: Option<u64>, limit: usize) -> Result<Vec<JobEvent>> {
        if self.get(id).is_none() {
            return Err(Error::NotFound { what: "fine-tuning job", id: id.into() });
        }
        let text =
            std::fs::read_to_string(self.job_dir(id).join("events.jsonl")).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<JobEvent>(l).ok())
            .filter(|e| after.is_none_or(|a| e.seq > a))
            .take(limit)
            .collect())
    }

    /// Cancels a queued job at once, a running one at its next step (after a checkpoint).
    pub fn cancel(&self, id: &str) -> Result<JobRecord> {
        let mut inner = self.lock();
        if let Some((running, flag)) = &inner.running {
            if running == id {
                flag.store(true, Ordering::Relaxed);
            }
        }
        let record = inner
            .records
            .get_mut(id)
            .ok_or_else(|| Error::NotFound { what: "fine-tuning job", id: id.into() })?;
        if record.status == Status::Queued {
            record.status = Status::Cancelled;
            record.finished_at = Some(now());
        }
        let record = record.clone();
        drop(inner);
        self.persist(&record)?;
        Ok(record)
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut JobRecord)) -> Option<JobRecord> {
        let mut inner = self.lock();
        let record = inner.records.get_mut(id)?;
        f(record);
        let record = record.clone();
        drop(inner);
        if let Err(e) = self.persist(&record) {
            log::warn!("job {id}: cannot save its record: {e}");
        }
        Some(record)
    }

    /// Runs queued jobs one at a time, forever, on the calling thread; a step is taken only
    /// while `idle()` holds.
    pub fn run_forever(self: &Arc<Self>, idle: impl Fn() -> bool) {
        let idle: &dyn Fn() -> bool = &idle;
        loop {
            let next = {
                let mut inner = self.lock();
                loop {
                    let queued = inner
                        .records
                        .values()
                        .filter(|r| r.status == Status::Queued)
                        .min_by_key(|r| (r.created_at, r.id.clone()))
                        .map(|r| r.id.clone());
                    if let Some(id) = queued {
                        let flag = Arc::new(AtomicBool::new(false));
                        inner.running = Some((id.clone(), flag.clone()));
                        break (id, flag);
                    }
                    inner = self
                        .wake
                        .wait_timeout(inner, Duration::from_secs(5))
                        .map_or_else(|p| p.into_inner().0, |(g, _)| g);
                }
            };
            self.run_one(&next.0, &next.1, idle);
            self.lock().running = None;
        }
    }

    fn run_one(&self, id: &str, cancel: &AtomicBool, idle: &dyn Fn() -> bool) {
        let Some(record) = self.update(id, |r| r.status = Status::Running) else { return };
        self.event(id, "info", format!("job started (step {})", record.step), None);
        let data: Result<Vec<DataFile>> = record
            .data
            .iter()
            .map(|d| {
                let expected_hash = match &d.hash {
                    None => None,
                    Some(h) => Some(
                        hex::decode(h.trim_start_matches("0x"))
                            .ok()
                            .and_then(|b| <[u8; 32]>::try_from(b).ok())
                            .ok_or_else(|| {
                                Error::invalid("hash", format!("{h} is not 0x + 64 hex digits"))
                            })?,
                    ),
                };
                let path = d.path.clone().unwrap_or_else(|| PathBuf::from(&d.name));
                let label = match d.contribution {
                    Some(c) => format!("contribution {c} ({})", d.name),
                    None => d.name.clone(),
                };
                Ok(DataFile { path, expected_hash, label: Some(label) })
            })
            .collect();
        let spec = data.map(|data| JobSpec {
            model: self.setup.model.clone(),
            tokenizer: self.setup.tokenizer.clone(),
            chat_template: self.setup.chat_template.clone(),
            data,
            hyper: record.hyper.clone(),
            work_dir: self.job_dir(id),
            store: self.setup.store.clone(),
        });
        let ended = spec.and_then(|spec| {
            job::run(&spec, cancel, idle, |p| {
                let message = match &p {
                    Progress::Started { total_steps, resumed_at, .. } => {
                        let total = *total_steps;
                        let at = *resumed_at;
                        self.update(id, |r| {
                            r.total_steps = Some(total);
                            r.step = at;
                            // Steps after the checkpoint are taken again: count them once.
                            r.trained_tokens = r.checkpoint_tokens;
                        });
                        format!("data encoded; {total} steps, starting at step {at}")
                    }
                    Progress::Step(s) => {
                        let (step, tokens) = (s.step, s.tokens as u64);
                        self.update(id, |r| {
                            r.step = step;
                            r.trained_tokens = r.trained_tokens.saturating_add(tokens);
                        });
                        format!("step {}: training loss {:.4}", s.step, s.loss)
                    }
                    Progress::Eval { step, eval } => {
                        format!("step {step}: held-out loss {:.4}", eval.loss)
                    }
                    Progress::Checkpoint { step } => {
                        self.update(id, |r| r.checkpoint_tokens = r.trained_tokens);
                        format!("checkpoint at step {step}")
                    }
                };
                self.event(id, "info", message, Some(p));
            })
        });
        match ended {
            Ok(Ended::Done(outcome)) => {
                let adapter = outcome.adapter_id.clone();
                let prepared = record.registration.as_ref().map(|reg| {
                    factory::prepare(reg, &record.hyper, &adapter, &outcome.config_hash)
                });
                if let Some(Err(message)) = &prepared {
                    self.update(id, |r| {
                        r.status = Status::Failed;
                        r.finished_at = Some(now());
                        r.outcome = Some(outcome);
                        r.error = Some(format!("cannot prepare the registration: {message}"));
                    });
                    self.event(id, "error", format!("job failed: {message}"), None);
                    return;
                }
                let prepared = prepared.and_then(std::result::Result::ok);
                let note = match &prepared {
                    Some(p) => format!("; register_model prepared for {} to sign", p.signer),
                    None => String::new(),
                };
                self.update(id, |r| {
                    r.status = Status::Succeeded;
                    r.finished_at = Some(now());
                    r.outcome = Some(outcome);
                    r.prepared = prepared;
                });
                self.event(id, "info", format!("job succeeded: adapter {adapter}{note}"), None);
            }
            Ok(Ended::Cancelled { step }) => {
                self.update(id, |r| {
                    r.status = Status::Cancelled;
                    r.finished_at = Some(now());
                });
                self.event(id, "info", format!("job cancelled at step {step}"), None);
            }
            Err(e) => {
                let message = e.to_string();
                self.update(id, |r| {
                    r.status = Status::Failed;
                    r.finished_at = Some(now());
                    r.error = Some(message.clone());
                });
                self.event(id, "error", format!("job failed: {message}"), None);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::train::{EvalReport, StepReport};

    #[test]
    fn events_read_back_as_written() {
        let events = [
            Progress::Step(StepReport {
                step: 3,
                loss: 1.5,
                learning_rate: 1e-3,
                grad_norm: 0.5,
                tokens: 40,
            }),
            Progress::Eval {
                step: 3,
                eval: EvalReport { loss: 1.0, perplexity: 1f64.exp(), tokens: 9 },
            },
            Progress::Checkpoint { step: 3 },
        ];
        for (seq, data) in events.into_iter().enumerate() {
            let value = serde_json::to_value(&data).unwrap();
            let e = JobEvent {
                seq: seq as u64,
                created_at: 1,
                level: "info".into(),
                message: "m".into(),
                data: Some(value),
            };
            let line = serde_json::to_string(&e).unwrap();
            let back: JobEvent =
                serde_json::from_str(&line).map_err(|err| format!("{line}: {err}")).unwrap();
            assert_eq!(back, e);
            assert!(back.data.unwrap()["type"].is_string());
        }
    }
}
