//! The account routes, one function, all authenticated by the caller's
//! Bearer access token, verified here with the same verifier as the
//! authorizer, so they answer the same behind API Gateway, under the local
//! stack and as a function URL:
//!
//! * `GET /auth/sessions` → `200 {"sessions": [...]}`, newest first, the
//!   caller's own marked `current`;
//! * `DELETE /auth/sessions/{sid}` → `204` (idempotent; another user's
//!   session counts as absent);
//! * `POST /auth/password {"current_password","new_password"}` → `204`; every
//!   other session of the user ends, the calling one goes on;
//! * `DELETE /auth/account {"password"}` → `204`; the user and every session
//!   are gone, the username is free again, a presented cookie is cleared.
//!
//! Proving the password counts against the same limit as logins
//! (`LOGIN_MAX_FAILURES`), so a stolen access token is no faster a way to
//! guess it.

use accounts::client::LazyClient;
use accounts::{Attempt, LockoutPolicy, Session, Store, StoreError, User};
use config::{ConfigError, Source};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use token::{AccessClaims, AccessVerifier};
use web::forms::{PasswordChange, PasswordConfirmation};
use web::{ApiError, Cookies, Origins};

use crate::{FromEnv, hash_password, store_error, verify_password};

/// What the account function uses: both tables, the access verifier (never
/// an issuer), the password policy and the lockout policy.
pub struct Account {
    pub store: Store,
    pub verifier: AccessVerifier,
    pub origins: Origins,
    pub cookies: Cookies,
    pub lockout: LockoutPolicy,
    pub policy: password::Policy,
}

impl FromEnv for Account {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_source(client, src)?,
            verifier: AccessVerifier::from_source(src)?,
            origins: Origins::from_source(src)?,
            cookies: Cookies::from_source(src)?,
            lockout: LockoutPolicy::from_source(src)?,
            policy: password::Policy::from_source(src)?,
        })
    }
}

/// The methods the account routes answer, for CORS and `Allow`.
const METHODS: &str = "GET, POST, DELETE, OPTIONS";

/// One of the account routes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    ListSessions,
    EndSession(String),
    ChangePassword,
    DeleteAccount,
}

impl Route {
    /// The route of a request, read from the end of its path so that a stage
    /// or base path in front changes nothing.
    fn of(method: &Method, path: &str) -> Result<Self, ApiError> {
        let path = path.trim_end_matches('/');
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
        let (route, allow) = if path.ends_with("/auth/sessions") {
            (Route::ListSessions, "GET, OPTIONS")
        } else if parent.ends_with("/auth/sessions") {
            (Route::EndSession(last.to_owned()), "DELETE, OPTIONS")
        } else if path.ends_with("/auth/password") {
            (Route::ChangePassword, "POST, OPTIONS")
        } else if path.ends_with("/auth/account") {
            (Route::DeleteAccount, "DELETE, OPTIONS")
        } else {
            return Err(ApiError::NotFound);
        };
        let expected = match route {
            Route::ListSessions => Method::GET,
            Route::ChangePassword => Method::POST,
            Route::EndSession(_) | Route::DeleteAccount => Method::DELETE,
        };
        if *method == expected {
            Ok(route)
        } else {
            Err(ApiError::MethodNotAllowed { allow })
        }
    }
}

/// Serves the account routes.
pub async fn account(deps: &Account, req: Request) -> Response<Body> {
    web::cors::serve(&deps.origins, METHODS, req, |req| handle(deps, req)).await
}

async fn handle(deps: &Account, req: Request) -> Result<Response<Body>, ApiError> {
    let route = Route::of(req.method(), req.uri().path())?;
    let now = token::unix_now();
    let caller = authenticate(deps, &req, now)?;
    // The listing shows whether the caller's session is live; every other
    // route reads it first (one consistent read).
    if route != Route::ListSessions {
        require_live_session(deps, &caller, now).await?;
    }
    match route {
        Route::ListSessions => list_sessions(deps, &caller, now).await,
        Route::EndSession(sid) => end_session(deps, &caller, &sid).await,
        Route::ChangePassword => change_password(deps, &caller, &req, now).await,
        Route::DeleteAccount => delete_account(deps, &caller, &req, now).await,
    }
}

/// An access token outlives its session by up to its lifetime: once the
/// session has ended (logged out, ended from another device, a password
/// change, a disable), its access tokens no longer manage the account.
async fn require_live_session(
    deps: &Account,
    caller: &AccessClaims,
    now: u64,
) -> Result<(), ApiError> {
    match deps.store.sessions.get(&caller.sub, &caller.sid, now).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ApiError::InvalidToken),
        Err(e) => Err(store_error(e)),
    }
}

/// The caller's verified access token, from `Authorization: Bearer`.
fn authenticate(deps: &Account, req: &Request, now: u64) -> Result<AccessClaims, ApiError> {
    let mut values = req
        .headers()
        .get_all(lambda_http::http::header::AUTHORIZATION)
        .iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::InvalidToken);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let token = token::bearer::bearer_token(value).map_err(|_| ApiError::InvalidToken)?;
    deps.verifier.verify(token, now).map_err(|e| {
        tracing::info!(
            event = "account_refused",
            reason = e.kind(),
            "bearer token refused"
        );
        ApiError::InvalidToken
    })
}

/// One session as the list shows it.
#[derive(Serialize)]
struct Listed<'a> {
    sid: &'a str,
    created_at: u64,
    last_used_at: u64,
    user_agent: Option<&'a str>,
    source_ip: Option<&'a str>,
    current: bool,
}

#[derive(Serialize)]
struct SessionList<'a> {
    sessions: Vec<Listed<'a>>,
}

async fn list_sessions(
    deps: &Account,
    caller: &AccessClaims,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let sessions: Vec<Session> = deps
        .store
        .sessions
        .list(&caller.sub, now)
        .await
        .map_err(store_error)?;
    if !sessions.iter().any(|s| s.sid == caller.sid) {
        return Err(ApiError::InvalidToken);
    }
    let listed = sessions
        .iter()
        .map(|s| Listed {
            sid: &s.sid,
            created_at: s.created_at,
            last_used_at: s.rotated_at,
            user_agent: s.user_agent.as_deref(),
            source_ip: s.source_ip.as_deref(),
            current: s.sid == caller.sid,
        })
        .collect();
    Ok(web::response::json(
        StatusCode::OK,
        &SessionList { sessions: listed },
    ))
}

/// A session id as this service makes them: 32 lower-case hex digits.
fn is_session_id(sid: &str) -> bool {
    sid.len() == 32
        && sid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn end_session(
    deps: &Account,
    caller: &AccessClaims,
    sid: &str,
) -> Result<Response<Body>, ApiError> {
    if !is_session_id(sid) {
        return Err(ApiError::InvalidRequest("not a session id"));
    }
    let ended = deps
        .store
        .sessions
        .revoke(&caller.sub, sid)
        .await
        .map_err(store_error)?;
    tracing::info!(event = "session_ended", sub = %caller.sub, sid = %sid, ended = ended.is_some(), "session ended");
    Ok(web::response::empty(StatusCode::NO_CONTENT))
}

/// What proving the caller's password came to.
enum Proof {
    /// The right password.
    Right(User),
    /// A wrong password, already recorded as a failure (which did not
    /// lock the account).
    Wrong(User),
}

/// Proves the caller's password: counted as an attempt before it is hashed
/// (at most `LOGIN_MAX_FAILURES` per window, as for logins), and a wrong one
/// recorded; the answer is 429 when that locks the account.
async fn prove_password(
    deps: &Account,
    caller: &AccessClaims,
    password: String,
    now: u64,
) -> Result<Proof, ApiError> {
    let users = &deps.store.users;
    let user = match users
        .begin_attempt(&caller.sub, deps.lockout, now)
        .await
        .map_err(store_error)?
    {
        Attempt::Proceed(user) => user,
        // The token is valid but its user is gone.
        Attempt::UnknownUser => return Err(ApiError::InvalidToken),
        Attempt::Locked { retry_after } => return Err(ApiError::TooManyAttempts { retry_after }),
    };
    if verify_password(password, Some(user.password_hash.clone())).await? {
        // As at login: a disabled account says so only to the right
        // password. One disabled by an unfinished deletion may repeat it.
        if user.disabled && !user.deleting {
            return Err(ApiError::AccountDisabled);
        }
        return Ok(Proof::Right(user));
    }
    let locked = users
        .record_login_failure(&user, deps.lockout, now)
        .await
        .map_err(store_error)?;
    tracing::info!(event = "password_refused", sub = %caller.sub, "wrong password on an account route");
    match locked {
        Some(until) => Err(ApiError::TooManyAttempts {
            retry_after: until - now,
        }),
        None => Ok(Proof::Wrong(user)),
    }
}

async fn change_password(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordChange = web::body::json(req)?;
    let new = password::normalize(&body.new_password);
    // The policy needs the username: read the user before counting an attempt.
    let user = deps
        .store
        .users
        .get(&caller.sub)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::InvalidToken)?;
    deps.policy
        .check(&new, &user.username)
        .map_err(|weak| ApiError::WeakPassword(weak.reason()))?;
    let current = password::normalize(&body.current_password);
    let ended = match prove_password(deps, caller, current, now).await? {
        Proof::Right(user) => {
            let hash = hash_password(new).await?;
            let proven = Some(user.password_hash.as_str());
            match deps
                .store
                .change_password(&user.user_id, &hash, proven, Some(&caller.sid))
                .await
            {
                Ok(ended) => ended,
                // Another change replaced the password this one proved.
                Err(StoreError::Conflict) => return Err(ApiError::InvalidCredentials),
                Err(StoreError::AccountDisabled) => return Err(ApiError::AccountDisabled),
                // Deleted meanwhile (from another session).
                Err(StoreError::UserGone) => return Err(ApiError::InvalidToken),
                Err(e) => return Err(store_error(e)),
            }
        }
        // Perhaps the same change, retried after DynamoDB failed half-way:
        // this session set the password, and the new one may be it. Trying
        // it is a second guess, so it is counted as one.
        Proof::Wrong(user) if user.password_set_by.as_deref() == Some(caller.sid.as_str()) => {
            match prove_password(deps, caller, new, now).await? {
                Proof::Right(user) => {
                    deps.store
                        .users
                        .clear_failures(&user.user_id)
                        .await
                        .map_err(store_error)?;
                    deps.store
                        .end_sessions(&user.user_id, Some(&caller.sid))
                        .await
                        .map_err(store_error)?
                }
                Proof::Wrong(_) => return Err(ApiError::InvalidCredentials),
            }
        }
        Proof::Wrong(_) => return Err(ApiError::InvalidCredentials),
    };
    tracing::info!(event = "password_changed", sub = %caller.sub, sid = %caller.sid, ended, "password changed");
    Ok(web::response::empty(StatusCode::NO_CONTENT))
}

async fn delete_account(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordConfirmation = web::body::json(req)?;
    let user = match prove_password(deps, caller, password::normalize(&body.password), now).await? {
        Proof::Right(user) => user,
        Proof::Wrong(_) => return Err(ApiError::InvalidCredentials),
    };
    // Repeating a deletion that failed half-way finishes it.
    match deps.store.delete_user(&user, Some(&caller.sid)).await {
        Ok(()) | Err(StoreError::UserGone) => {}
        Err(e) => return Err(store_error(e)),
    }
    tracing::info!(event = "account_deleted", sub = %caller.sub, "account deleted");
    let mut res = web::response::empty(StatusCode::NO_CONTENT);
    // Bearer-authenticated, so no CSRF here; the cookie is cleared when the
    // browser sent it (the route is under the cookie's path).
    if web::cookie::read(req.headers()).is_some() {
        web::cookie::clear(res.headers_mut(), &deps.cookies);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_read_from_the_end_of_the_path() {
        let sid = "0123456789abcdef0123456789abcdef";
        for (method, path, route) in [
            (Method::GET, "/auth/sessions", Route::ListSessions),
            (Method::GET, "/prod/auth/sessions/", Route::ListSessions),
            (
                Method::DELETE,
                &*format!("/auth/sessions/{sid}"),
                Route::EndSession(sid.into()),
            ),
            (Method::POST, "/auth/password", Route::ChangePassword),
            (Method::DELETE, "/x/auth/account", Route::DeleteAccount),
        ] {
            assert_eq!(Route::of(&method, path), Ok(route), "{method} {path}");
        }
        assert_eq!(
            Route::of(&Method::POST, "/auth/sessions"),
            Err(ApiError::MethodNotAllowed {
                allow: "GET, OPTIONS"
            })
        );
        assert_eq!(
            Route::of(&Method::GET, "/auth/elsewhere"),
            Err(ApiError::NotFound)
        );
    }

    #[test]
    fn session_ids_are_32_lower_case_hex_digits() {
        assert!(is_session_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert!(!is_session_id(bad), "{bad}");
        }
    }
}
