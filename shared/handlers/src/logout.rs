//! `POST /auth/logout` (cookie or body `{"refresh_token"}`; `{"all": true}`
//! ends every session of the user) → `204`, cookie cleared. Idempotent: an
//! absent, expired or unknown token still answers 204.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use web::ApiError;
use web::forms::LogoutBody;

use crate::{Answer, App, Presented, store_error};

/// Ends the presented session, or all of the user's sessions.
pub async fn logout(app: &App, req: Request) -> Answer {
    web::cors::serve(&app.http, req, |req| handle(app, req)).await
}

async fn handle(app: &App, req: Request) -> Result<Answer, ApiError> {
    let body: Option<LogoutBody> = web::body::optional_json(&req)?;
    let all = body.as_ref().is_some_and(|b| b.all);
    let presented = Presented::from(&req, body.and_then(|b| b.refresh_token));
    presented.check_origin(&app.http, &req)?;
    let claims = presented
        .token()
        .and_then(|t| app.tokens.refresh.verify(t, token::unix_now()).ok());
    if let Some(c) = claims {
        // The presented session ends whatever generation the token is of (an
        // older one is a reuse signal anyway). Only the session's current
        // token may end the others: a leaked token of a session already gone,
        // or one rotated away, must not log its user out everywhere.
        let was_at = app
            .store
            .revoke_session(&c.sid, &c.sub)
            .await
            .map_err(store_error)?;
        let current = was_at == Some(c.generation);
        let ended = if all && current {
            app.store
                .revoke_all_sessions(&c.sub)
                .await
                .map_err(store_error)?
        } else {
            usize::from(was_at.is_some())
        };
        tracing::info!(event = "logout", sub = %c.sub, sid = %c.sid, all, current, ended, "logout");
    }
    let mut res = web::response::empty(StatusCode::NO_CONTENT);
    web::cookie::clear(res.headers_mut(), app.http.cookie_secure);
    Ok(res)
}
