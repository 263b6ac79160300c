//! Load shedding in front of every route: at most a configured number of
//! requests in flight, fewer still with large bodies, each within a time
//! limit. Past a limit the answer is 503 with `Retry-After` at once, so an
//! overloaded server stays responsive and its memory stays within
//! idle + (requests × their body caps) (SECURITY.md "Memory bound").
//! `GET /health` is exempt: it answers from a cache.

use std::sync::Arc;
use std::time::Duration;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::AppState;

/// The shedding limits and the permits taken against them.
#[derive(Clone)]
pub struct Shedder {
    /// Requests being served, counted for background work to give way.
    pub foreground: Arc<crate::foreground::Foreground>,
    requests: Arc<Semaphore>,
    large: Arc<Semaphore>,
    /// A body over this many bytes (or of unknown length) is large.
    large_bytes: usize,
    timeout: Duration,
}

impl Shedder {
    pub fn new(
        foreground: Arc<crate::foreground::Foreground>,
        requests: usize,
        large: usize,
        large_bytes: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            foreground,
            requests: Arc::new(Semaphore::new(requests.max(1))),
            large: Arc::new(Semaphore::new(large.max(1))),
            large_bytes,
            timeout,
        }
    }
}

pub async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::GET && request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let shedder = &state.shedder;
    let Ok(_request) = shedder.requests.clone().try_acquire_owned() else {
        return busy("too many requests in flight; retry shortly");
    };
    let _large = if large(&request, shedder.large_bytes) {
        match shedder.large.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return busy("too many large requests in flight; retry shortly"),
        }
    } else {
        None
    };
    let _active = shedder.foreground.enter();
    match tokio::time::timeout(shedder.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => busy("the request took longer than REQUEST_TIMEOUT_SECONDS"),
    }
}

/// A body over `limit` bytes, or one that does not say its length (by
/// `Content-Length`, or by being in memory already, as Lambda's and the
/// in-process tests' bodies are).
fn large(request: &Request, limit: usize) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::DELETE
    ) {
        return false;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or_else(|| request.body().size_hint().exact());
    declared.is_none_or(|length| length > limit as u64)
}

fn busy(message: &'static str) -> Response {
    ApiError::Busy {
        message,
        retry_after: 1,
    }
    .into_response()
}
