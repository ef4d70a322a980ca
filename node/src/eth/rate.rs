//! A per-connection rate limit for the Ethereum endpoint (`--eth-rpc-rate-limit`): each
//! connection (a WebSocket, or an HTTP keep-alive connection) may make that many calls a minute,
//! in bursts of up to the same number; a call over it is answered at once with `-32005` (no
//! queueing, so a flooding client holds nothing on the node). A batch counts each of its calls.
//! The state of connections idle for a minute is dropped every 4,096 calls.

use std::{
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use futures::future::{BoxFuture, FutureExt};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonrpsee::{
    server::{middleware::rpc::RpcServiceT, ConnectionId, MethodResponse},
    types::{ErrorObject, Request},
};

/// The limiter shared by every connection, keyed by connection.
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Arc<DefaultKeyedRateLimiter<usize>>,
    per_minute: NonZeroU32,
    /// Calls checked, for housekeeping every [`HOUSEKEEPING_EVERY`] calls.
    calls: Arc<AtomicU64>,
}

/// The limiter forgets connections whose bucket is full again (idle for a minute) every this
/// many calls, so its memory follows the connections in use.
const HOUSEKEEPING_EVERY: u64 = 4_096;

impl RateLimitLayer {
    /// A limit of `per_minute` calls per connection; `None` for no limit (0).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
        Some(Self { limiter, per_minute, calls: Default::default() })
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, service: S) -> Self::Service {
        RateLimited { service, limit: self.clone() }
    }
}

/// The middleware: checks the caller's connection before passing the call on.
#[derive(Clone)]
pub struct RateLimited<S> {
    service: S,
    limit: RateLimitLayer,
}

impl<'a, S> RpcServiceT<'a> for RateLimited<S>
where
    S: RpcServiceT<'a> + Send + Sync + Clone + 'static,
{
    type Future = BoxFuture<'a, MethodResponse>;

    fn call(&self, req: Request<'a>) -> Self::Future {
        let connection = req.extensions().get::<ConnectionId>().map(|c| c.0).unwrap_or_default();
        let limiter = &self.limit.limiter;
        if self.limit.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(HOUSEKEEPING_EVERY) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if limiter.check_key(&connection).is_err() {
            let message = format!(
                "rate limit exceeded: at most {} calls a minute per connection",
                self.limit.per_minute
            );
            let error = ErrorObject::owned(super::LIMIT_EXCEEDED, message, None::<()>);
            return futures::future::ready(MethodResponse::error(req.id, error)).boxed();
        }
        let service = self.service.clone();
        async move { service.call(req).await }.boxed()
    }
}
