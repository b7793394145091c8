//! `POST /auth/login {"username","password"}` → tokens and the refresh
//! cookie. An unknown user and a wrong password get the same answer after
//! the same one argon2id hash.

use accounts::{Attempt, StoreError, Username};
use lambda_http::Request;
use web::ApiError;
use web::forms::Credentials;

use crate::{Answer, App, store_error, token_answer, user_agent};

/// Checks the password and starts a session.
pub async fn login(app: &App, req: Request) -> Answer {
    web::cors::serve(&app.http, req, |req| handle(app, req)).await
}

async fn verify_password(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || password::verify(&password, phc.as_deref()))
        .await
        .map_err(|_| ApiError::Internal)
}

async fn handle(app: &App, req: Request) -> Result<Answer, ApiError> {
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
    let user = match app
        .store
        .begin_login(&username, now)
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
        let locked = app
            .store
            .record_login_failure(&user, &username, now)
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

    let session = match app
        .store
        .start_session(&user, &username, user_agent(&req).as_deref(), now)
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
    token_answer(app, &session, now)
}
