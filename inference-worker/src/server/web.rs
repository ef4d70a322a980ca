//! Provena Studio, the web app (`inference-worker/web/`), served as static files from
//! `--web-root` beside the API: any path no API route takes is a file under the root (`/` is
//! its `index.html`); a path with no file is the API's JSON 404. The files are public (no key),
//! never outside the root (`ServeDir` refuses `..` and absolute components), and sent with a
//! content security policy that keeps the page to its own scripts: it may connect to the
//! worker (same origin) and to the node's RPC and Ethereum RPC (any `ws:`/`http:` origin, as the
//! user configures them), and run WebAssembly (the sr25519 signer of `@polkadot/wasm-crypto`).

use super::types::ApiError;
use axum::{
    http::{header, HeaderValue, StatusCode},
    Router,
};
use std::path::Path;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

/// The policy every static file is served with.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'none'";

/// `router` with the web app in `root` as its fallback.
pub fn with_web_app<S: Clone + Send + Sync + 'static>(router: Router<S>, root: &Path) -> Router<S> {
    let not_found = axum::routing::any(|| async {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", None, "no such route")
    });
    let files = ServeDir::new(root)
        .append_index_html_on_directories(true)
        .precompressed_gzip()
        .fallback(not_found);
    let files = Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    router.fallback_service(files)
}
