//! `POST /auth/refresh` (cookie, else body `{"refresh_token"}`) → a new
//! access token and the session's next refresh token. Every refusal is
//! `401 invalid_token`, and clears the cookie when one was presented.

use accounts::client::LazyClient;
use accounts::{Refusal, Rotation, Sessions};
use config::{ConfigError, Source};
use lambda_http::{Body, Request, Response};
use logging::Audit;
use token::RefreshVerifier;
use web::forms::RefreshBody;
use web::{ApiError, Origins};

use crate::{FromEnv, Issuing, Presented, store_error};

/// What refresh uses: the sessions table, the refresh verifier, both
/// issuers, and the reuse interval.
pub struct Refresh {
    pub sessions: Sessions,
    pub verifier: RefreshVerifier,
    pub issuing: Issuing,
    pub origins: Origins,
    /// `REFRESH_REUSE_INTERVAL`, seconds.
    pub reuse_interval_secs: u64,
}

impl FromEnv for Refresh {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        let verifier = RefreshVerifier::from_source(src)?;
        let issuing = Issuing::from_source(src)?;
        token::ensure_distinct(&issuing.access.held_keys(), &verifier.held_keys())?;
        Ok(Self {
            sessions: Sessions::from_source(client, src)?,
            verifier,
            issuing,
            origins: Origins::from_source(src)?,
            reuse_interval_secs: accounts::reuse_interval_secs(src)?,
        })
    }
}

/// Rotates the presented refresh token.
pub async fn refresh(deps: &Refresh, req: Request) -> Response<Body> {
    web::endpoint::serve(&deps.origins, web::endpoint::POST, req, |req| {
        handle(deps, req)
    })
    .await
}

async fn handle(deps: &Refresh, req: Request) -> Result<Response<Body>, ApiError> {
    let body: Option<RefreshBody> = web::body::optional_json(&req)?;
    let presented = Presented::read(&req, body.and_then(|b| b.refresh_token));
    // A cookie sent from a foreign origin is refused before anything else,
    // so the answer below never clears a cookie for a foreign page.
    presented.check_origin(&deps.origins, &req)?;
    match rotate(deps, &presented).await {
        Err(ApiError::InvalidToken) if presented.is_cookie() => {
            let mut res = ApiError::InvalidToken.into_response();
            web::cookie::clear(res.headers_mut(), &deps.issuing.cookies);
            Ok(res)
        }
        other => other,
    }
}

async fn rotate(deps: &Refresh, presented: &Presented) -> Result<Response<Body>, ApiError> {
    let now = token::unix_now();
    let token = presented.token().ok_or(ApiError::InvalidToken)?;
    let claims = deps.verifier.verify(token, now).map_err(|e| {
        tracing::info!(
            event = Audit::RefreshRefused.name(),
            reason = e.kind(),
            "refresh refused"
        );
        ApiError::InvalidToken
    })?;

    let rotation = deps
        .sessions
        .rotate(&claims, deps.reuse_interval_secs, now)
        .await
        .map_err(store_error)?;
    let session = match rotation {
        Rotation::Rotated(s) => s,
        Rotation::Replayed(s) => {
            tracing::info!(event = Audit::RefreshReplayed.name(), sub = %s.user_id, sid = %s.sid, "previous token within the reuse interval");
            s
        }
        Rotation::Refused(Refusal::Reused { user_id, sid }) => {
            tracing::warn!(event = Audit::RefreshReuseDetected.name(), sub = %user_id, sid = %sid, "session revoked");
            return Err(ApiError::InvalidToken);
        }
        Rotation::Refused(reason) => {
            tracing::info!(event = Audit::RefreshRefused.name(), reason = ?reason, sub = %claims.sub, sid = %claims.sid, "refresh refused");
            return Err(ApiError::InvalidToken);
        }
    };
    tracing::info!(event = Audit::Refresh.name(), sub = %session.user_id, sid = %session.sid, generation = session.generation, "refresh");
    deps.issuing.answer(&session, now)
}
