//! `POST /auth/login {"username","password"}` → tokens and the refresh
//! cookie. An unknown user and a wrong password get the same answer after
//! the same one argon2id hash.

use accounts::client::LazyClient;
use accounts::{Attempt, LockoutPolicy, Store, StoreError, Username};
use config::{ConfigError, Source};
use lambda_http::{Body, Request, Response};
use web::forms::Credentials;
use web::{ApiError, Origins};

use crate::{FromEnv, Issuing, store_error, user_agent};

/// What login uses: both tables, both issuers (never a verifier), the
/// lockout policy and the sessions' absolute lifetime.
pub struct Login {
    pub store: Store,
    pub issuing: Issuing,
    pub origins: Origins,
    pub lockout: LockoutPolicy,
    /// `SESSION_MAX_LIFETIME`, seconds.
    pub session_max_lifetime_secs: u64,
}

impl FromEnv for Login {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_source(client, src)?,
            issuing: Issuing::from_source(src)?,
            origins: Origins::from_source(src)?,
            lockout: LockoutPolicy::from_source(src)?,
            session_max_lifetime_secs: accounts::session_max_lifetime_secs(src)?,
        })
    }
}

/// Checks the password and starts a session.
pub async fn login(deps: &Login, req: Request) -> Response<Body> {
    web::cors::serve(&deps.origins, web::cors::POST, req, |req| handle(deps, req)).await
}

async fn verify_password(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || password::verify(&password, phc.as_deref()))
        .await
        .map_err(|_| ApiError::Internal)
}

async fn handle(deps: &Login, req: Request) -> Result<Response<Body>, ApiError> {
    let body: Credentials = web::body::json(&req)?;
    if body.password.len() > password::MAX_PASSWORD_BYTES {
        return Err(ApiError::InvalidRequest(
            "password must be at most 256 bytes",
        ));
    }
    let username = Username::parse(&body.username).map_err(|_| {
        ApiError::InvalidRequest("username must be 3 to 64 characters of A-Z a-z 0-9 . _ @ -")
    })?;
    let now = token::unix_now();
    // The attempt is counted before any hashing, so parallel guesses cannot
    // outrun the lockout: at most LOGIN_MAX_FAILURES passwords are checked.
    let user = match deps
        .store
        .users
        .begin_login(&username, deps.lockout, now)
        .await
        .map_err(store_error)?
    {
        Attempt::Proceed(user) => user,
        Attempt::UnknownUser => {
            verify_password(body.password, None).await?;
            tracing::info!(
                event = "login_failure",
                reason = "unknown_user",
                "login refused"
            );
            return Err(ApiError::InvalidCredentials);
        }
        Attempt::Locked { retry_after } => {
            tracing::info!(event = "login_failure", reason = "locked", "login refused");
            return Err(ApiError::TooManyAttempts { retry_after });
        }
    };
    if !verify_password(body.password, Some(user.password_hash.clone())).await? {
        let locked = deps
            .store
            .users
            .record_login_failure(&user, &username, deps.lockout, now)
            .await
            .map_err(store_error)?;
        if let Some(until) = locked {
            tracing::warn!(event = "lockout", sub = %user.user_id, until, "account locked");
            return Err(ApiError::TooManyAttempts {
                retry_after: until - now,
            });
        }
        tracing::info!(event = "login_failure", reason = "wrong_password", sub = %user.user_id, "login refused");
        return Err(ApiError::InvalidCredentials);
    }

    let session = match deps
        .store
        .start_session(
            &user,
            &username,
            user_agent(&req).as_deref(),
            deps.session_max_lifetime_secs,
            deps.lockout,
            now,
        )
        .await
    {
        Ok(session) => session,
        Err(StoreError::AccountLocked { retry_after }) => {
            tracing::info!(event = "login_failure", reason = "locked", sub = %user.user_id, "login refused");
            return Err(ApiError::TooManyAttempts { retry_after });
        }
        Err(e) => return Err(store_error(e)),
    };
    tracing::info!(event = "login_success", sub = %user.user_id, sid = %session.sid, "login");
    deps.issuing.answer(&session, now)
}
