//! Who may call what: the inference API behind `--api-key`, adapter administration behind
//! `--admin-key` (disabled without one), and adapter imports only from under `--import-root`.
//!
//! Keys are bearer tokens (`Authorization: Bearer <key>`), compared in constant time. A refused
//! call gets `401` (`invalid_api_key`, with `WWW-Authenticate: Bearer`), or `403`
//! (`admin_disabled`) when the worker has no admin key; nothing about the server (paths, keys) is
//! echoed.

use super::{types::ApiError, AppState};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{path::Path, sync::Arc};

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries `key` as its bearer token.
fn bearer_is(req: &Request, key: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| same(token.trim().as_bytes(), key.as_bytes()))
}

fn unauthorized(what: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        None,
        format!("{what} needs a valid key: `Authorization: Bearer <key>`"),
    )
    .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The inference API (completions, chat, models): open without `--api-key`.
pub(crate) async fn require_api_key(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match &state.access.api_key {
        Some(key) if !bearer_is(&req, key) => unauthorized("the inference API"),
        _ => next.run(req).await,
    }
}

/// Adapter administration (list, import, load, unload, pin): only with `--admin-key`.
pub(crate) async fn require_admin_key(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match &state.access.admin_key {
        None => ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            None,
            "adapter administration is disabled: the worker was started without an admin key",
        )
        .into_response(),
        Some(key) if !bearer_is(&req, key) => unauthorized("adapter administration"),
        Some(_) => next.run(req).await,
    }
}

/// Who may call what, from the command line.
#[derive(Default)]
pub struct Access {
    /// The inference API's bearer key; `None`: open (paid requests carry vouchers anyway).
    pub api_key: Option<String>,
    /// Adapter administration's bearer key; `None`: administration is disabled.
    pub admin_key: Option<String>,
    /// The only directory adapters are imported from; `None`: imports are disabled.
    pub import_root: Option<std::path::PathBuf>,
    /// The largest adapter file an import reads, in bytes.
    pub max_adapter_bytes: u64,
}

impl Access {
    /// The folder an import names, if it is a folder under the import root (after resolving
    /// links and `..`) whose adapter files are within the size cap. Errors name no server path.
    pub(crate) fn import_dir(&self, requested: &str) -> Result<std::path::PathBuf, ApiError> {
        let refuse = |status, message: &str| {
            Err(ApiError::new(status, "invalid_request_error", Some("path".into()), message))
        };
        let Some(root) = &self.import_root else {
            return refuse(
                StatusCode::FORBIDDEN,
                "imports are disabled: the worker was started without an import root",
            );
        };
        let root = match root.canonicalize() {
            Ok(r) => r,
            Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "the import root is gone"),
        };
        // Relative paths are under the root; absolute ones must resolve into it.
        let Ok(dir) = root.join(Path::new(requested)).canonicalize() else {
            return refuse(StatusCode::NOT_FOUND, "no such adapter folder under the import root");
        };
        if !dir.starts_with(&root) || !dir.is_dir() {
            return refuse(StatusCode::FORBIDDEN, "the path is not a folder under the import root");
        }
        for name in [crate::lora::CONFIG_FILE, crate::lora::WEIGHTS_FILE] {
            match std::fs::metadata(dir.join(name)) {
                Ok(m) if m.is_file() && m.len() <= self.max_adapter_bytes => {}
                Ok(m) if m.is_file() => {
                    return refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("{name} is larger than the worker's import limit"),
                    )
                }
                _ => {
                    return refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &format!("the folder has no {name}"),
                    )
                }
            }
        }
        Ok(dir)
    }

    /// The file a fine-tuning job names, if it is a regular file under the import root
    /// (after resolving links and `..`) within the size cap. Errors name no server path.
    pub(crate) fn import_file(&self, requested: &str) -> Result<std::path::PathBuf, ApiError> {
        let refuse = |status, message: &str| {
            Err(ApiError::new(
                status,
                "invalid_request_error",
                Some("training_file".into()),
                message,
            ))
        };
        let Some(root) = &self.import_root else {
            return refuse(
                StatusCode::FORBIDDEN,
                "imports are disabled: the worker was started without an import root",
            );
        };
        let Ok(root) = root.canonicalize() else {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "the import root is gone");
        };
        let Ok(file) = root.join(Path::new(requested)).canonicalize() else {
            return refuse(StatusCode::NOT_FOUND, "no such file under the import root");
        };
        if !file.starts_with(&root) {
            return refuse(StatusCode::FORBIDDEN, "the path is not under the import root");
        }
        match std::fs::metadata(&file) {
            Ok(m) if m.is_file() && m.len() <= self.max_adapter_bytes => Ok(file),
            Ok(m) if m.is_file() => refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the file is larger than the worker's import limit",
            ),
            _ => refuse(StatusCode::UNPROCESSABLE_ENTITY, "the path is not a regular file"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert!(!same(b"", b"x"));
    }

    #[test]
    fn imports_stay_under_the_root_and_within_the_cap() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let make = |dir: &Path, size: usize| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(crate::lora::CONFIG_FILE), b"{}").unwrap();
            std::fs::write(dir.join(crate::lora::WEIGHTS_FILE), vec![0u8; size]).unwrap();
        };
        make(&root.path().join("ok"), 10);
        make(&root.path().join("big"), 100);
        make(outside.path(), 10);
        let access = Access {
            import_root: Some(root.path().to_path_buf()),
            max_adapter_bytes: 50,
            ..Default::default()
        };
        let status = |p: &str| access.import_dir(p).map(|_| ()).map_err(|e| e.status);
        assert_eq!(status("ok"), Ok(()));
        let absolute = root.path().join("ok");
        assert_eq!(status(absolute.to_str().unwrap()), Ok(()));
        assert_eq!(status("big"), Err(StatusCode::PAYLOAD_TOO_LARGE));
        // Out through `..`: refused whether or not the target exists.
        assert!(status("../x").is_err());
        let sibling = format!("../{}", outside.path().file_name().unwrap().to_str().unwrap());
        assert_eq!(status(&sibling), Err(StatusCode::FORBIDDEN));
        assert_eq!(status(outside.path().to_str().unwrap()), Err(StatusCode::FORBIDDEN));
        assert_eq!(status("missing"), Err(StatusCode::NOT_FOUND));
        // A link out of the root is refused.
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        assert_eq!(status("link"), Err(StatusCode::FORBIDDEN));
        let message = access.import_dir(outside.path().to_str().unwrap()).unwrap_err().message;
        assert!(!message.contains(outside.path().to_str().unwrap()), "{message}");
        let disabled = Access::default();
        assert_eq!(
            disabled.import_dir("ok").map(|_| ()).map_err(|e| e.status),
            Err(StatusCode::FORBIDDEN)
        );
    }
}
