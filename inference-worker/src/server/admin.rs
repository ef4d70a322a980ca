//! Models, the adapter store's tiers, health and metrics.

use super::{types::ApiError, validate::parse_body, AppState};
use crate::{error::Error, store::is_adapter_id};
use axum::{
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) async fn models(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let mut data = vec![json!({
        "id": state.model.source.name,
        "object": "model",
        "owned_by": "provena",
        "hash": state.model.source.hash,
        "context_length": state.model.config.context,
    })];
    for a in state.store.list()? {
        data.push(json!({"id": a.id, "object": "model", "owned_by": "provena", "parent": state.model.source.name, "tier": a.tier}));
    }
    Ok(Json(json!({"object": "list", "data": data})))
}

pub(crate) async fn list_adapters(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"object": "list", "data": state.store.list()?})))
}

#[derive(Deserialize)]
pub(crate) struct ImportRequest {
    pub(crate) path: String,
}

pub(crate) async fn import_adapter(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ImportRequest = parse_body(&body)?;
    let dir = state.access.import_dir(&req.path)?;
    let store = state.store.clone();
    let status = crate::os::spawn_background(move || {
        let id = store.import(&dir)?;
        store.status(&id)
    })
    .await
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
    })?
    // A file error names no server path.
    .map_err(|e| match e {
        Error::Io { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("path".into()),
            "the adapter's files could not be read or stored",
        ),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(json!(status))).into_response())
}

pub(crate) async fn adapter_status(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.status(&id)?)))
}

pub(crate) async fn adapter_action(
    State(state): State<Arc<AppState>>,
    UrlPath((id, action)): UrlPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    if !is_adapter_id(&id) || !state.store.contains(&id) {
        return Err(Error::NotFound { what: "adapter", id }.into());
    }
    let store = state.store.clone();
    let status = crate::os::spawn_background(move || match action.as_str() {
        "load" => store.load(&id, false),
        "pin" => store.load(&id, true),
        "unpin" => store.unpin(&id),
        "unload" => store.unload(&id),
        other => Err(Error::NotFound { what: "action", id: other.to_string() }),
    })
    .await
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None, e.to_string())
    })??;
    Ok(Json(json!(status)))
}

/// Liveness: 200 while the engine runs, 503 once its thread is gone (a load balancer then
/// takes the worker out and an orchestrator restarts it).
pub(crate) async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let alive = state.engine.alive();
    let status = if alive { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(json!({
            "status": if alive { "ok" } else { "engine_dead" },
            "model": state.model.source.name,
            "base_hash": state.model.source.hash,
            "queued": state.engine.queued(),
            "uptime_s": state.started.elapsed().as_secs(),
            "settlement": state.settlement.as_ref().map(|s| json!({
                "operator": s.account().to_string(),
                "unsettled": s.unsettled(),
                "vouchers_required": s.config.require_voucher,
            })),
        })),
    )
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
