//! `POST /auth/logout` (cookie or body `{"refresh_token"}`; `{"all": true}`
//! ends every session of the user) → `204`, and the cookie cleared when one
//! was presented. Idempotent: an absent, expired or unknown token still
//! answers 204.

use accounts::Store;
use accounts::client::LazyClient;
use config::{ConfigError, Source};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use logging::Audit;
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
    web::endpoint::serve(&deps.origins, web::endpoint::POST, req, |req| {
        handle(deps, req)
    })
    .await
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
        let ended = if all {
            // Only the session's current token may end the others: a leaked
            // token of a session already gone, or one rotated away, must not
            // log its user out everywhere. It is checked without ending the
            // session first, so that a retry of a logout-all that DynamoDB
            // cut half-way still finds it and finishes.
            let live = deps
                .store
                .sessions
                .get(&c.sub, &c.sid, token::unix_now())
                .await
                .map_err(store_error)?;
            match live {
                // Every session, this one too, even one whose login ran at
                // this moment (`Store::end_sessions`).
                Some(s) if s.generation == c.generation => deps
                    .store
                    .end_sessions(&c.sub, None)
                    .await
                    .map_err(store_error)?,
                _ => revoke(deps, &c).await?,
            }
        } else {
            revoke(deps, &c).await?
        };
        tracing::info!(event = Audit::Logout.name(), sub = %c.sub, sid = %c.sid, all, ended, "logout");
    }
    let mut res = web::response::empty(StatusCode::NO_CONTENT);
    // Only a request that brought the cookie (from an allowed origin, checked
    // above) clears it: a page of another site cannot log a browser out.
    if presented.is_cookie() {
        web::cookie::clear(res.headers_mut(), &deps.cookies);
    }
    Ok(res)
}

/// Ends the presented session, whatever generation the token is of (an
/// older one is a reuse signal anyway). Returns how many ended (0 or 1).
async fn revoke(deps: &Logout, c: &token::RefreshClaims) -> Result<usize, ApiError> {
    let was = deps
        .store
        .sessions
        .revoke(&c.sub, &c.sid)
        .await
        .map_err(store_error)?;
    Ok(usize::from(was.is_some()))
}
