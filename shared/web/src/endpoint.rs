//! One endpoint behind any front (HTTP API, REST API, function URL): the
//! preflight, the allowed methods, the CORS headers and the one mapping of
//! every [`ApiError`] to its answer, around a handler that only says what
//! happened.

use std::future::Future;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::cors::{add_cors_headers, preflight};
use crate::{ApiError, Origins};

/// The methods of a function that only answers `POST`.
pub const POST: &str = "POST, OPTIONS";

/// Runs a handler behind any front: answers CORS preflights, refuses
/// methods not in `allow` (`"GET, DELETE, OPTIONS"`), maps any [`ApiError`]
/// to its answer, and adds the CORS headers for allowed origins. Behind an
/// HTTP API with CORS configured, API Gateway answers preflights itself and
/// puts its own CORS headers on the answers; this covers REST APIs and
/// function URLs.
pub async fn serve<F, Fut>(
    origins: &Origins,
    allow: &'static str,
    req: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let headers = req.headers().clone();
    let method = req.method().clone();
    let result = if method == Method::OPTIONS {
        preflight(origins, allow, &headers)
    } else if allow.split(", ").any(|m| m == method.as_str()) {
        handler(req).await
    } else {
        Err(ApiError::MethodNotAllowed { allow })
    };
    let mut res = result.unwrap_or_else(ApiError::into_response);
    add_cors_headers(origins, &headers, &mut res);
    res
}
