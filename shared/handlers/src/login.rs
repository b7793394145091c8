//! `POST /auth/login {"username","password"}` → tokens and the refresh
//! cookie. An unknown user and a wrong password get the same answer after
//! the same one argon2id hash.

use accounts::client::LazyClient;
use accounts::{Attempt, LockoutPolicy, SessionStart, Store, StoreError, Username};
use config::{ConfigError, Source};
use lambda_http::{Body, Request, Response};
use web::forms::Credentials;
use web::{ApiError, Origins};

use crate::{FromEnv, Issuing, hash_password, store_error, user_agent, verify_password};

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

async fn handle(deps: &Login, req: Request) -> Result<Response<Body>, ApiError> {
    let body: Credentials = web::body::json(&req)?;
    // Login applies no policy (old passwords still log in), but hashes what
    // register and password change hash: the NFKC form.
    let password = password::normalize(&body.password);
    if password.chars().count() > password::MAX_PASSWORD_CHARS {
        return Err(ApiError::InvalidRequest(
            "password must be at most 256 characters",
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
            verify_password(password, None).await?;
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
    if !verify_password(password.clone(), Some(user.password_hash.clone())).await? {
        let locked = deps
            .store
            .users
            .record_login_failure(&user, deps.lockout, now)
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
    // Only the right password learns that the account is disabled.
    if user.disabled {
        tracing::info!(event = "login_failure", reason = "disabled", sub = %user.user_id, "login refused");
        return Err(ApiError::AccountDisabled);
    }
    // A hash made with other parameters is upgraded now, in the same write
    // that starts the session.
    let rehashed = if password::needs_rehash(&user.password_hash) {
        Some(hash_password(password).await?)
    } else {
        None
    };
    let agent = user_agent(&req);
    let start = SessionStart {
        user_agent: agent.as_deref(),
        max_lifetime_secs: deps.session_max_lifetime_secs,
        lockout: deps.lockout,
        rehashed: rehashed.as_deref(),
    };
    let session = match deps.store.start_session(&user, start, now).await {
        Ok(session) => session,
        Err(StoreError::AccountLocked { retry_after }) => {
            tracing::info!(event = "login_failure", reason = "locked", sub = %user.user_id, "login refused");
            return Err(ApiError::TooManyAttempts { retry_after });
        }
        Err(StoreError::AccountDisabled) => {
            tracing::info!(event = "login_failure", reason = "disabled", sub = %user.user_id, "login refused");
            return Err(ApiError::AccountDisabled);
        }
        Err(StoreError::UserGone) => {
            tracing::info!(event = "login_failure", reason = "deleted", sub = %user.user_id, "login refused");
            return Err(ApiError::InvalidCredentials);
        }
        Err(e) => return Err(store_error(e)),
    };
    tracing::info!(event = "login_success", sub = %user.user_id, sid = %session.sid, upgraded_hash = rehashed.is_some(), "login");
    deps.issuing.answer(&session, now)
}
