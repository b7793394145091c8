//! The auth endpoints as plain async functions: an API Gateway request in
//! (any front), an answer out. Each endpoint has its own set of dependencies
//! ([`Register`], [`Login`], [`Refresh`], [`Logout`]), built once at cold
//! start from exactly the variables it reads; its `main.rs` builds it and
//! hands it requests, and tests call the same functions with real event
//! JSON.
//!
//! Audit events are `info`/`warn` logs with an `event` field (`register`,
//! `login_success`, `login_failure`, `lockout`, `refresh`,
//! `refresh_reuse_detected`, `logout`), carrying `sub`/`sid` where known and
//! never a token, password or secret.

mod account;
mod login;
mod logout;
mod refresh;
mod register;

use accounts::client::{LazyClient, Settings};
use accounts::{Session, StoreError};
use config::{ConfigError, Env, Source, flag};
use lambda_http::{Body, Request, Response};
use token::{AccessIssuer, RefreshIssuer, TokenError};
use web::response::TokenPair;
use web::{ApiError, Cookies, Origins};

pub use account::{Account, account};
pub use login::{Login, login};
pub use logout::{Logout, logout};
pub use refresh::{Refresh, refresh};
pub use register::{Register, register};

/// Builds a function's dependencies from the process environment, with a
/// DynamoDB client that is built on the first request that needs it (the
/// function is ready without parsing the system CA bundle).
pub trait FromEnv: Sized {
    /// From `src`, over `client`.
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError>;

    /// From the process environment, over a client from the Lambda
    /// environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL_DYNAMODB`).
    fn from_env() -> Result<Self, ConfigError> {
        let client = LazyClient::new(Settings::from_source(&Env)?);
        Self::from_source(&Env, client)
    }
}

/// What login and refresh answer with: both tokens signed, the refresh token
/// in its cookie (and in the body when `REFRESH_TOKEN_IN_BODY`).
pub struct Issuing {
    pub access: AccessIssuer,
    pub refresh: RefreshIssuer,
    pub cookies: Cookies,
    pub refresh_token_in_body: bool,
}

impl Issuing {
    /// Reads both issuers (whose secrets must differ), `COOKIE_SECURE` and
    /// `REFRESH_TOKEN_IN_BODY`.
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let access = AccessIssuer::from_source(src)?;
        let refresh = RefreshIssuer::from_source(src)?;
        token::ensure_distinct(&access.held_keys(), &refresh.held_keys())?;
        Ok(Self {
            access,
            refresh,
            cookies: Cookies::from_source(src)?,
            refresh_token_in_body: flag(src, "REFRESH_TOKEN_IN_BODY", false)?,
        })
    }

    /// Signs an access token for the session's user and the session's
    /// current refresh token, and answers them: the tail of login and of
    /// refresh.
    pub fn answer(&self, session: &Session, now: u64) -> Result<Response<Body>, ApiError> {
        self.answer_with_device(session, None, now)
    }

    /// [`Issuing::answer`] with login's device token (and its lifetime).
    pub fn answer_with_device(
        &self,
        session: &Session,
        device: Option<(&str, u64)>,
        now: u64,
    ) -> Result<Response<Body>, ApiError> {
        let access = access_token(&self.access, session, now)?;
        let refresh = self
            .refresh
            .issue(&session.grant())
            .map_err(signing_error)?;
        Ok(web::response::tokens(
            &self.cookies,
            self.refresh_token_in_body,
            &TokenPair {
                access_token: &access.token,
                access_expires_in: access.expires_in,
                refresh_token: &refresh.token,
                // From now, not from issue: a replayed successor was issued up
                // to REFRESH_REUSE_INTERVAL ago, and the cookie must not
                // outlive it.
                refresh_expires_in: refresh.expires_at.saturating_sub(now),
                device,
            },
        ))
    }
}

/// An access token of `session`: its user, roles and last proof
/// (`auth_time`, `amr`).
pub(crate) fn access_token(
    issuer: &AccessIssuer,
    session: &Session,
    now: u64,
) -> Result<token::Issued, ApiError> {
    issuer
        .issue_authenticated(
            &session.user_id,
            &session.sid,
            &session.roles,
            &session.auth,
            now,
        )
        .map_err(signing_error)
}

/// A store failure as the client sees it: 503 when DynamoDB is down or
/// throttling, or when the user changed meanwhile (retrying is right), 500
/// otherwise; the cause goes to the log, not the answer.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    let cause = std::error::Error::source(&e).map(ToString::to_string);
    if matches!(e, StoreError::Conflict) {
        tracing::info!(error = %e, "the user changed meanwhile; answered retry");
        ApiError::Unavailable
    } else if e.is_unavailable() {
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

/// Whether `password` (normalised) matches `phc`; with `None` (an unknown
/// user) one hash against a dummy, and `false`. On the blocking pool: an
/// argon2id hash is tens of milliseconds of CPU.
pub(crate) async fn verify_password(
    password: String,
    phc: Option<String>,
) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || password::verify(&password, phc.as_deref()))
        .await
        .map_err(|_| ApiError::Internal)
}

/// The argon2id PHC string of `password` (normalised), on the blocking pool:
/// a stored hash made with older parameters, upgraded at login.
pub(crate) async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|_| ApiError::Internal)
}

/// The hash of a new password for `username` under `policy`
/// ([`password::Policy::hash_new`]), on the blocking pool: `400
/// weak_password` with the reason when the policy refuses it.
pub(crate) async fn hash_new_password(
    policy: &password::Policy,
    raw: String,
    username: String,
) -> Result<String, ApiError> {
    let policy = *policy;
    let hashed = tokio::task::spawn_blocking(move || policy.hash_new(&raw, &username))
        .await
        .map_err(|_| ApiError::Internal)?;
    match hashed {
        Ok(hash) => Ok(hash),
        Err(password::NewPassword::Weak(weak)) => Err(ApiError::WeakPassword(weak.reason())),
        Err(password::NewPassword::Failed(_)) => Err(ApiError::Internal),
    }
}

/// The client's user agent, kept with a session as a hint for listing.
pub(crate) fn user_agent(req: &Request) -> Option<String> {
    req.headers()
        .get(lambda_http::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`
/// of an HTTP API or function URL, `requestContext.identity.sourceIp` of a
/// REST API). Never a header: `X-Forwarded-For` is whatever the client
/// wrote.
pub(crate) fn source_ip(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let ip = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    ip.filter(|ip| !ip.is_empty())
}

/// Where the refresh token came from: the cookie (subject to the CSRF
/// origin check) or the body (native clients).
pub(crate) enum Presented {
    Cookie(String),
    Body(String),
    None,
}

impl Presented {
    /// The refresh token of `req`: its cookie, else `body_token`.
    pub(crate) fn read(req: &Request, body_token: Option<String>) -> Self {
        match (web::cookie::read(req.headers()), body_token) {
            (Some(c), _) => Presented::Cookie(c),
            (None, Some(b)) if !b.is_empty() => Presented::Body(b),
            _ => Presented::None,
        }
    }

    /// The CSRF rule: a cookie may only be used from an allowed origin.
    pub(crate) fn check_origin(&self, origins: &Origins, req: &Request) -> Result<(), ApiError> {
        match self {
            Presented::Cookie(_) => web::cors::check_cookie_origin(origins, req.headers()),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_cookie(&self) -> bool {
        matches!(self, Presented::Cookie(_))
    }

    pub(crate) fn token(&self) -> Option<&str> {
        match self {
            Presented::Cookie(t) | Presented::Body(t) => Some(t),
            Presented::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const A: &str = "handlers-access-secret-0123456789abcdefg";
    const R: &str = "handlers-refresh-secret-0123456789abcdef";

    fn env(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        let mut m: HashMap<&str, &str> = [
            ("JWT_ACCESS_SECRET", A),
            ("JWT_REFRESH_SECRET", R),
            ("JWT_ISSUER", "https://auth.example.com"),
            ("JWT_AUDIENCE", "https://api.example.com"),
            ("USERS_TABLE", "u"),
            ("SESSIONS_TABLE", "s"),
        ]
        .into();
        m.extend(extra.iter().copied());
        m
    }

    fn client() -> LazyClient {
        LazyClient::new(Settings {
            region: "eu-west-1".into(),
            endpoint: None,
        })
    }

    fn refused<T: FromEnv>(env: &HashMap<&str, &str>) -> Option<ConfigError> {
        T::from_source(env, client()).err()
    }

    #[test]
    fn functions_holding_both_kinds_refuse_an_access_secret_reused_for_refresh() {
        let same = env(&[("JWT_REFRESH_SECRET", A)]);
        let reused = Some(ConfigError::SecretReused {
            a: "JWT_ACCESS_SECRET",
            b: "JWT_REFRESH_SECRET",
        });
        assert_eq!(refused::<Login>(&same), reused);
        assert_eq!(refused::<Refresh>(&same), reused);
        assert_eq!(refused::<Account>(&same), reused);
        // Refresh and login (device tokens) also verify with the previous
        // refresh secret.
        let previous = env(&[("JWT_REFRESH_SECRET_PREVIOUS", A)]);
        let reused_previous = Some(ConfigError::SecretReused {
            a: "JWT_ACCESS_SECRET",
            b: "JWT_REFRESH_SECRET_PREVIOUS",
        });
        assert_eq!(refused::<Refresh>(&previous), reused_previous);
        assert_eq!(refused::<Login>(&previous), reused_previous);
        // Logout holds no access key, register no key at all.
        assert_eq!(refused::<Logout>(&same), None);
        assert_eq!(refused::<Register>(&same), None);
    }

    #[test]
    fn register_starts_without_any_secret() {
        let m: HashMap<&str, &str> = [("USERS_TABLE", "u")].into();
        assert_eq!(refused::<Register>(&m), None);
    }
}
