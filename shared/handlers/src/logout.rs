//! `POST /auth/logout` (cookie or body `{"refresh_token"}`; `{"all": true}`
//! ends every session of the user) → `204`, and the cookie cleared when one
//! was presented. Idempotent: an absent, expired or unknown token still
//! answers 204.

use accounts::Store;
use accounts::client::LazyClient;
use config::{ConfigError, Source};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use token::RefreshVerifier;
use web::forms::LogoutBody;
use web::{ApiError, Cookies, Origins};

use crate::{FromEnv, Presented, store_error};

/// What logout uses: both tables (logging out everywhere moves the user's
/// version on) and the refresh verifier, nothing that signs.
pub struct Logout {
    pub store: Store,
    pub verifier: RefreshVerifier,
    pub origins: Origins,
    pub cookies: Cookies,
}

impl FromEnv for Logout {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_source(client, src)?,
            verifier: RefreshVerifier::from_source(src)?,
            origins: Origins::from_source(src)?,
            cookies: Cookies::from_source(src)?,
        })
    }
}

/// Ends the presented session, or all of the user's sessions.
pub async fn logout(deps: &Logout, req: Request) -> Response<Body> {
    web::cors::serve(&deps.origins, web::cors::POST, req, |req| handle(deps, req)).await
}

async fn handle(deps: &Logout, req: Request) -> Result<Response<Body>, ApiError> {
    let body: Option<LogoutBody> = web::body::optional_json(&req)?;
    let all = body.as_ref().is_some_and(|b| b.all);
    let presented = Presented::read(&req, body.and_then(|b| b.refresh_token));
    presented.check_origin(&deps.origins, &req)?;
    let claims = presented
        .token()
        .and_then(|t| deps.verifier.verify(t, token::unix_now()).ok());
    if let Some(c) = claims {
        // The presented session ends whatever generation the token is of (an
        // older one is a reuse signal anyway). Only the session's current
        // token may end the others: a leaked token of a session already gone,
        // or one rotated away, must not log its user out everywhere.
        let was_at = deps
            .store
            .sessions
            .revoke(&c.sub, &c.sid)
            .await
            .map_err(store_error)?;
        let current = was_at == Some(c.generation);
        let ended = if all && current {
            // Every other session, even one whose login ran at this moment
            // (`Store::end_sessions`).
            deps.store
                .end_sessions(&c.sub, None)
                .await
                .map_err(store_error)?
        } else {
            usize::from(was_at.is_some())
        };
        tracing::info!(event = "logout", sub = %c.sub, sid = %c.sid, all, current, ended, "logout");
    }
    let mut res = web::response::empty(StatusCode::NO_CONTENT);
    // Only a request that brought the cookie (from an allowed origin, checked
    // above) clears it: a page of another site cannot log a browser out.
    if presented.is_cookie() {
        web::cookie::clear(res.headers_mut(), &deps.cookies);
    }
    Ok(res)
}
