//! `POST /auth/refresh` (cookie, else body `{"refresh_token"}`) → a new
//! access token and the session's next refresh token. Every refusal is
//! `401 invalid_token` and clears the cookie.

use accounts::{Refusal, Rotation};
use lambda_http::Request;
use web::ApiError;
use web::forms::RefreshBody;

use crate::{Answer, App, Presented, store_error, token_answer};

/// Rotates the presented refresh token.
pub async fn refresh(app: &App, req: Request) -> Answer {
    web::cors::serve(&app.http, req, |req| handle(app, req)).await
}

async fn handle(app: &App, req: Request) -> Result<Answer, ApiError> {
    let body: Option<RefreshBody> = web::body::optional_json(&req)?;
    let presented = Presented::from(&req, body.and_then(|b| b.refresh_token));
    presented.check_origin(&app.http, &req)?;
    let now = token::unix_now();
    let token = presented.token().ok_or(ApiError::InvalidToken)?;
    let claims = app.tokens.refresh.verify(token, now).map_err(|e| {
        tracing::info!(event = "refresh_refused", reason = %e, "refresh refused");
        ApiError::InvalidToken
    })?;

    let session = match app.store.rotate(&claims, now).await.map_err(store_error)? {
        Rotation::Rotated(s) => s,
        Rotation::Replayed(s) => {
            tracing::info!(event = "refresh_replayed", sub = %s.user_id, sid = %s.sid, "previous token within the reuse interval");
            s
        }
        Rotation::Refused(Refusal::Reused { user_id, sid }) => {
            tracing::warn!(event = "refresh_reuse_detected", sub = %user_id, sid = %sid, "session revoked");
            return Err(ApiError::InvalidToken);
        }
        Rotation::Refused(reason) => {
            tracing::info!(event = "refresh_refused", reason = ?reason, sub = %claims.sub, sid = %claims.sid, "refresh refused");
            return Err(ApiError::InvalidToken);
        }
    };
    tracing::info!(event = "refresh", sub = %session.user_id, sid = %session.sid, generation = session.generation, "refresh");
    token_answer(app, &session, now)
}
