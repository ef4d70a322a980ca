//! `/v1/fine_tuning/jobs`: fine-tuning jobs in the shape of OpenAI's API (administration
//! key required; see `crate::train::jobs` for the queue).
//!
//! - `POST /v1/fine_tuning/jobs` `{"model": <the base's name or hash>, "training_file": <path>
//!   | "training_files": [{"path", "hash"}], "hyperparameters": {…}, "seed": n}`: paths are
//!   files under the import root; `hash` (`0x` + 64 hex digits) is the content hash the chain
//!   recorded for the file, checked before training. The hyper-parameters are checked at
//!   once (422 naming the field).
//! - Or, to register the adapter with its provenance (needs `--chain-rpc`; see
//!   [`crate::chain::factory`]): `"snapshots": [{"datanet": d, "version": v, "dir": <corpus
//!   directory under the import root>}]` instead of files, and `"register": {"owner": <SS58>,
//!   "price_per_1k_tokens": "<base units>", "developer_share_ppm": n, "metadata_uri": "…"}`
//!   (price and share default to the base model's). The snapshots' members and hashes come from
//!   the chain; a private datanet needs the owner's grant (403); a base the chain does not know
//!   is 404. The finished job carries `registration`: `register_model` for the owner to sign.
//! - `GET /v1/fine_tuning/jobs`, `GET …/{id}`, `POST …/{id}/cancel`.
//! - `GET …/{id}/events?after=<seq>&limit=<n>`: the job's log, oldest first, one event per
//!   step (`data.type = "step"` with the loss), evaluation and checkpoint.

use super::{types::ApiError, validate::parse_body, AppState};
use crate::{
    chain::factory::{self, FactoryError, Registration},
    train::{
        jobs::{DataRef, JobRecord, Jobs},
        Hyper,
    },
};
use axum::{
    body::Bytes,
    extract::{Path as UrlPath, Query, State},
    http::StatusCode,
    Json,
};
use polkadot_sdk::sp_core::Get;
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
    #[serde(default)]
    snapshots: Vec<SnapshotSource>,
    #[serde(default)]
    register: Option<RegisterTerms>,
}

/// A datanet snapshot to train on, and the directory holding its files.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotSource {
    datanet: u32,
    version: u32,
    dir: String,
}

/// The terms the adapter is registered with.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterTerms {
    owner: String,
    #[serde(default)]
    price_per_1k_tokens: Option<String>,
    #[serde(default)]
    developer_share_ppm: Option<u32>,
    #[serde(default)]
    metadata_uri: Option<String>,
}

impl From<FactoryError> for ApiError {
    fn from(e: FactoryError) -> Self {
        let message = e.to_string();
        match e {
            FactoryError::NotFound { param, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", Some(param.into()), message)
            }
            FactoryError::NoAccess(_) => ApiError::new(
                StatusCode::FORBIDDEN,
                "datanet_access_denied",
                Some("snapshots".into()),
                message,
            ),
            FactoryError::Invalid { param, .. } => invalid(param, message),
            FactoryError::Chain(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable", None, message)
            }
        }
    }
}

/// The files of the snapshots a job names, as the chain lists them, and what to register.
async fn snapshot_data(
    state: &AppState,
    sources: Vec<SnapshotSource>,
    terms: RegisterTerms,
    hyper: &Hyper,
) -> Result<(Vec<DataRef>, Registration), ApiError> {
    let node = state.chain.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "chain_disabled",
            Some("snapshots".into()),
            "training on datanet snapshots reads the chain: start the worker with --chain-rpc",
        )
    })?;
    let max: u32 = <provena_runtime::Runtime as pallet_models::Config>::MaxTrainedOn::get();
    if sources.len() > max as usize {
        return Err(invalid("snapshots", format!("at most {max} snapshots")));
    }
    let owner = factory::owner_account(&terms.owner)?;
    factory::chain_alpha(hyper)?;
    let metadata_uri = terms.metadata_uri.unwrap_or_default();
    let max_uri: u32 = <provena_runtime::Runtime as pallet_models::Config>::MaxUriLen::get();
    if metadata_uri.len() > max_uri as usize {
        return Err(invalid("metadata_uri", format!("longer than {max_uri} bytes")));
    }
    if terms.developer_share_ppm.is_some_and(|s| s > 1_000_000) {
        return Err(invalid("developer_share_ppm", "at most 1000000 (100%)"));
    }
    let price = match &terms.price_per_1k_tokens {
        None => None,
        Some(p) => Some(p.parse::<u128>().map_err(|_| {
            invalid("price_per_1k_tokens", format!("{p} is not an amount in base units"))
        })?),
    };
    let at = node.best().await.map_err(FactoryError::from)?.hash;
    let (base, base_model) = factory::base_model(node, &state.model.source.hash, at).await?;
    let mut files = Vec::new();
    let mut trained_on = Vec::with_capacity(sources.len());
    for src in sources {
        if trained_on.contains(&(src.datanet, src.version)) {
            return Err(invalid("snapshots", "a snapshot is named twice"));
        }
        let snap = factory::snapshot(node, &owner, src.datanet, src.version, at).await?;
        let manifest = format!("{}/contributions.json", src.dir.trim_end_matches('/'));
        let raw = std::fs::read(state.access.import_file(&manifest)?)
            .map_err(|e| invalid("snapshots", format!("{manifest}: {e}")))?;
        let listed: Vec<provena_attribution::corpus::CorpusEntry> = serde_json::from_slice(&raw)
            .map_err(|e| {
                invalid("snapshots", format!("{manifest} is not a contribution list: {e}"))
            })?;
        for (id, hash) in snap.members {
            let entry = listed.iter().find(|e| e.contribution == id.0).ok_or_else(|| {
                invalid(
                    "snapshots",
                    format!(
                        "snapshot {} of datanet {} holds contribution {}, which {manifest} does not list",
                        src.version, src.datanet, id.0
                    ),
                )
            })?;
            let name = format!("{}/{}", src.dir.trim_end_matches('/'), entry.file);
            let path = state.access.import_file(&name)?;
            files.push(DataRef {
                name,
                path: Some(path),
                hash: Some(format!("0x{}", hex::encode(hash))),
                contribution: Some(id.0),
            });
        }
        trained_on.push((src.datanet, src.version));
    }
    if files.len() > factory::MAX_SNAPSHOT_FILES {
        return Err(invalid(
            "snapshots",
            format!("more than {} files in all", factory::MAX_SNAPSHOT_FILES),
        ));
    }
    let registration = Registration {
        owner: terms.owner,
        base_model: base.0,
        trained_on,
        price_per_1k_tokens: price.unwrap_or(base_model.price_per_1k_tokens),
        developer_share_ppm: terms.developer_share_ppm.unwrap_or(base_model.developer_share_ppm),
        metadata_uri,
    };
    Ok((files, registration))
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
        "training_files": r.data.iter().map(|d| json!({"path": d.name, "hash": d.hash, "contribution": d.contribution})).collect::<Vec<_>>(),
        "snapshots": r.registration.as_ref().map(|g| g.trained_on.clone()),
        "step": r.step,
        "total_steps": r.total_steps,
        "trained_tokens": r.trained_tokens,
        "result": r.outcome,
        "error": r.error.as_ref().map(|m| json!({"message": m})),
        "registration": r.prepared,
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
    if !req.snapshots.is_empty() {
        if req.training_file.is_some() || !req.training_files.is_empty() {
            return Err(invalid(
                "training_files",
                "a job trains on snapshots or on files, not both: a registered adapter's \
                 provenance names all its data",
            ));
        }
        let Some(terms) = req.register else {
            return Err(invalid("register", "name the owner who will register the adapter"));
        };
        let (refs, registration) = snapshot_data(&state, req.snapshots, terms, &hyper).await?;
        return queue_job(&state, jobs, refs, hyper, Some(registration)).await;
    }
    if req.register.is_some() {
        return Err(invalid(
            "register",
            "only a job over datanet snapshots is registered (its provenance is on chain)",
        ));
    }
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
        refs.push(DataRef { name: f.path, path: Some(path), hash: f.hash, contribution: None });
    }
    queue_job(&state, jobs, refs, hyper, None).await
}

async fn queue_job(
    state: &AppState,
    jobs: &Arc<Jobs>,
    refs: Vec<DataRef>,
    hyper: Hyper,
    registration: Option<Registration>,
) -> Result<Json<Value>, ApiError> {
    let jobs = jobs.clone();
    let record = crate::os::spawn_background(move || jobs.create(refs, hyper, registration))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
        })??;
    Ok(Json(job_json(state, &record)))
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
