//! The four auth endpoints as plain async functions: an API Gateway request
//! in (any front), an answer out. Each function's `main.rs` builds an [`App`]
//! once at cold start and hands it requests; tests call the same functions
//! with real event JSON.
//!
//! Audit events are `info`/`warn` logs with an `event` field (`login_success`,
//! `login_failure`, `lockout`, `refresh`, `refresh_reuse_detected`,
//! `logout`), carrying `sub`/`sid` where known and never a token, password
//! or secret.

mod login;
mod logout;
mod refresh;
mod register;

use accounts::client::{LazyClient, Settings};
use accounts::{Session, SessionPolicy, Store, StoreConfig, StoreError};
use lambda_http::{Body, Request, Response};
use token::config::ConfigError;
use token::{TokenConfig, TokenError, Tokens};
use web::response::TokenPair;
use web::{ApiError, HttpConfig};

pub use login::login;
pub use logout::logout;
pub use refresh::refresh;
pub use register::register;

/// Everything a handler needs, built once per execution environment.
pub struct App {
    pub tokens: Tokens,
    pub store: Store,
    pub http: HttpConfig,
}

impl App {
    /// Reads and checks every variable; a bad one is reported by name. The
    /// DynamoDB client is built on the first request that needs it, so the
    /// function is ready without parsing the system CA bundle.
    pub fn from_env() -> Result<Self, ConfigError> {
        let tokens = Tokens::new(&TokenConfig::from_env()?);
        let store_config = StoreConfig::from_env()?;
        let http = HttpConfig::from_env()?;
        let client = LazyClient::new(Settings::from_env()?);
        let store = Store::new(client, store_config, SessionPolicy::from(&tokens));
        Ok(Self {
            tokens,
            store,
            http,
        })
    }
}

/// A store failure as the client sees it: 503 when DynamoDB is down or
/// throttling, 500 otherwise; the cause goes to the log, not the answer.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    let cause = std::error::Error::source(&e).map(ToString::to_string);
    if e.is_unavailable() {
        tracing::warn!(error = %e, cause, "dynamodb unavailable");
        ApiError::Unavailable
    } else {
        tracing::error!(error = %e, cause, "store failure");
        ApiError::Internal
    }
}

/// A signing failure is ours (500); never expected with a valid config.
pub(crate) fn signing_error(e: TokenError) -> ApiError {
    tracing::error!(error = %e, "token signing failed");
    ApiError::Internal
}

/// Signs an access token for the session's user and the session's current
/// refresh token, and answers them: the tail of login and of refresh.
pub fn token_answer(app: &App, session: &Session, now: u64) -> Result<Answer, ApiError> {
    let access = app
        .tokens
        .access
        .issue(&session.user_id, &session.roles, now)
        .map_err(signing_error)?;
    let refresh = app
        .tokens
        .refresh
        .issue(&session.grant())
        .map_err(signing_error)?;
    Ok(web::response::tokens(
        &app.http,
        &TokenPair {
            access_token: &access.token,
            access_expires_in: access.expires_in,
            refresh_token: &refresh.token,
            // From now, not from issue: a replayed successor was issued up to
            // REFRESH_REUSE_INTERVAL ago, and the cookie must not outlive it.
            refresh_expires_in: refresh.expires_at.saturating_sub(now),
        },
    ))
}

/// The client's user agent, kept with a session as a hint for listing.
pub(crate) fn user_agent(req: &Request) -> Option<String> {
    req.headers()
        .get(lambda_http::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Where the refresh token came from: the cookie (subject to the CSRF
/// origin check) or the body (native clients).
pub(crate) enum Presented {
    Cookie(String),
    Body(String),
    None,
}

impl Presented {
    pub(crate) fn from(req: &Request, body_token: Option<String>) -> Self {
        match (web::cookie::read(req.headers()), body_token) {
            (Some(c), _) => Presented::Cookie(c),
            (None, Some(b)) if !b.is_empty() => Presented::Body(b),
            _ => Presented::None,
        }
    }

    pub(crate) fn check_origin(&self, http: &HttpConfig, req: &Request) -> Result<(), ApiError> {
        match self {
            Presented::Cookie(_) => web::cors::check_cookie_origin(http, req.headers()),
            _ => Ok(()),
        }
    }

    pub(crate) fn token(&self) -> Option<&str> {
        match self {
            Presented::Cookie(t) | Presented::Body(t) => Some(t),
            Presented::None => None,
        }
    }
}

/// Handler signature shared by the four endpoints.
pub type Answer = Response<Body>;
