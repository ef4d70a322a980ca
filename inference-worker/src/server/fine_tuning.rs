//! `/v1/fine_tuning/jobs`: fine-tuning jobs in the shape of OpenAI's API (administration
//! key required; see `crate::train::jobs` for the queue).
//!
//! - `POST /v1/fine_tuning/jobs` `{"model": <the base's name or hash>, "training_file": <path>
//!   | "training_files": [{"path", "hash"}], "hyperparameters": {…}, "seed": n}`: paths are
//!   files under the import root; `hash` (`0x` + 64 hex digits) is the content hash the chain
//!   recorded for the file, checked before training. The hyper-parameters are checked at
//!   once (422 naming the field).
//! - `GET /v1/fine_tuning/jobs`, `GET …/{id}`, `POST …/{id}/cancel`.
//! - `GET …/{id}/events?after=<seq>&limit=<n>`: the job's log, oldest first, one event per
//!   step (`data.type = "step"` with the loss), evaluation and checkpoint.

use super::{types::ApiError, validate::parse_body, AppState};
use crate::train::{
    jobs::{DataRef, JobRecord, Jobs},
    Hyper,
};
use axum::{
    body::Bytes,
    extract::{Path as UrlPath, Query, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRef {
    path: String,
    #[serde(default)]
    hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateJob {
    model: String,
    #[serde(default)]
    training_file: Option<String>,
    #[serde(default)]
    training_files: Vec<FileRef>,
    #[serde(default)]
    hyperparameters: Option<Value>,
    #[serde(default)]
    seed: Option<u64>,
}

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some(param.into()),
        message,
    )
}

fn queue(state: &AppState) -> Result<&Arc<Jobs>, ApiError> {
    state.fine_tuning.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "fine_tuning_disabled",
            None,
            "fine-tuning is disabled: the worker was started without --fine-tuning-dir",
        )
    })
}

/// The job as the API shows it (no server paths).
fn job_json(state: &AppState, r: &JobRecord) -> Value {
    json!({
        "id": r.id,
        "object": "fine_tuning.job",
        "model": state.model.source.name,
        "created_at": r.created_at,
        "finished_at": r.finished_at,
        "status": r.status,
        "fine_tuned_model": r.outcome.as_ref().map(|o| o.adapter_id.clone()),
        "hyperparameters": r.hyper,
        "seed": r.hyper.seed,
        "training_files": r.data.iter().map(|d| json!({"path": d.name, "hash": d.hash})).collect::<Vec<_>>(),
        "step": r.step,
        "total_steps": r.total_steps,
        "trained_tokens": r.trained_tokens,
        "result": r.outcome,
        "error": r.error.as_ref().map(|m| json!({"message": m})),
    })
}

pub(crate) async fn create_job(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let jobs = queue(&state)?;
    let req: CreateJob = parse_body(&body)?;
    let source = &state.model.source;
    if req.model != source.name && req.model.trim_start_matches("0x") != source.hash {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            Some("model".into()),
            format!(
                "unknown base model {}: this worker trains over {} ({})",
                req.model, source.name, source.hash
            ),
        ));
    }
    let mut hyper: Hyper = match req.hyperparameters {
        None => Hyper::default(),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| invalid("hyperparameters", e.to_string()))?
        }
    };
    if let Some(seed) = req.seed {
        hyper.seed = seed;
    }
    hyper.validate(&state.model.config).map_err(ApiError::from)?;
    let mut files = req.training_files;
    if let Some(path) = req.training_file {
        files.insert(0, FileRef { path, hash: None });
    }
    if files.is_empty() {
        return Err(invalid("training_file", "name a training file"));
    }
    if files.len() > 64 {
        return Err(invalid("training_files", "at most 64 files"));
    }
    let mut refs = Vec::with_capacity(files.len());
    for f in files {
        if let Some(h) = &f.hash {
            let ok = h.strip_prefix("0x").is_some_and(|x| x.len() == 64 && hex::decode(x).is_ok());
            if !ok {
                return Err(invalid(
                    "training_files.hash",
                    format!("{h} is not 0x + 64 hex digits"),
                ));
            }
        }
        let path = state.access.import_file(&f.path)?;
        refs.push(DataRef { name: f.path, path: Some(path), hash: f.hash });
    }
    let jobs = jobs.clone();
    let record =
        crate::os::spawn_background(move || jobs.create(refs, hyper)).await.map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
        })??;
    Ok(Json(job_json(&state, &record)))
}

pub(crate) async fn list_jobs(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let data: Vec<Value> = queue(&state)?.list().iter().map(|r| job_json(&state, r)).collect();
    Ok(Json(json!({"object": "list", "data": data, "has_more": false})))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        Some("id".into()),
        format!("fine-tuning job {id} not found"),
    )
}

pub(crate) async fn get_job(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let record = queue(&state)?.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(job_json(&state, &record)))
}

pub(crate) async fn cancel_job(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let jobs = queue(&state)?;
    if jobs.get(&id).is_none() {
        return Err(not_found(&id));
    }
    let record = jobs.cancel(&id).map_err(ApiError::from)?;
    Ok(Json(job_json(&state, &record)))
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

pub(crate) async fn job_events(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let jobs = queue(&state)?;
    if jobs.get(&id).is_none() {
        return Err(not_found(&id));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let events = jobs.events(&id, q.after, limit.saturating_add(1)).map_err(ApiError::from)?;
    let has_more = events.len() > limit;
    let data: Vec<Value> = events
        .into_iter()
        .take(limit)
        .map(|e| {
            json!({
                "object": "fine_tuning.job.event",
                "id": format!("{id}-{}", e.seq),
                "seq": e.seq,
                "created_at": e.created_at,
                "level": e.level,
                "message": e.message,
                "data": e.data,
            })
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data, "has_more": has_more})))
}
