//! `GET /me`: the example of a function behind the authorizer. It trusts
//! the identity API Gateway passes from the authorizer (`sub`, `roles`,
//! `sid`) and verifies nothing itself. Copy this to protect your own
//! function.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use web::ApiError;
use web::identity::caller;
use web::response::json;

/// Answers `{"sub", "roles", "sid"}` for the caller the authorizer let through.
pub async fn me(req: Request) -> Response<Body> {
    match caller(&req) {
        Some(who) => json(StatusCode::OK, &who),
        // Reachable only when the route is deployed without the authorizer.
        None => ApiError::InvalidToken.into_response(),
    }
}
