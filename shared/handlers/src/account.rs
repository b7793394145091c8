//! The account routes, one function, all authenticated by the caller's
//! Bearer access token, verified here with the same verifier as the
//! authorizer, so they answer the same behind API Gateway, under the local
//! stack and as a function URL:
//!
//! * `GET /auth/sessions` → `200 {"sessions": [...]}`, newest first, the
//!   caller's own marked `current`;
//! * `DELETE /auth/sessions/{sid}` → `204` (idempotent; another user's
//!   session counts as absent); ending another session than the caller's
//!   own is step-up, so a stolen session cannot evict its owner's;
//! * `POST /auth/reauthenticate {"password"}` → `200` a fresh access token of
//!   the same session, whose `auth_time` is now (stored with the session,
//!   so refreshes keep it);
//! * `POST /auth/password {"current_password","new_password"}` → `204` and a
//!   fresh device cookie; every other session of the user ends, the calling
//!   one goes on;
//! * `DELETE /auth/account {"password"}` → `204`; the user and every session
//!   are gone, the username is free again, the cookies are cleared.
//!
//! Every proof these routes check (a password) is counted against the
//! caller's session, `LOGIN_MAX_FAILURES` per `LOGIN_LOCKOUT`, before it is
//! checked: a stolen access token is no faster a way to guess it, and the
//! account lockout, which strangers can trigger, never blocks the owner.

use accounts::client::LazyClient;
use accounts::{Limit, LockoutPolicy, Proof, Reservation, Session, Store, StoreError, User};
use config::{ConfigError, Source, duration, flag};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use logging::Audit;
use serde::Serialize;
use token::{
    AccessClaims, AccessIssuer, AccessVerifier, Authentication, DEVICE_TOKEN_SECS, DeviceIssuer,
};
use web::forms::{PasswordChange, PasswordConfirmation, StepUp};
use web::{ApiError, Cookies, Origins};

use crate::{
    FromEnv, access_token, hash_new_password, signing_error, store_error, verify_password,
};

/// What the account function uses: both tables, the access verifier, the
/// access issuer (for a reauthentication's fresh token) and the device
/// issuer (for a password change's fresh device token), the password policy
/// and the proof limit.
pub struct Account {
    pub store: Store,
    pub verifier: AccessVerifier,
    pub issuer: AccessIssuer,
    pub devices: DeviceIssuer,
    pub origins: Origins,
    pub cookies: Cookies,
    pub refresh_token_in_body: bool,
    /// Proofs per session within `LOGIN_LOCKOUT`.
    pub proof_limit: Limit,
    /// `REAUTH_MAX_AGE`, seconds: how recent `auth_time` must be for a
    /// step-up route to need no proof.
    pub reauth_max_age_secs: u64,
    pub policy: password::Policy,
}

impl FromEnv for Account {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        let lockout = LockoutPolicy::from_source(src)?;
        let verifier = AccessVerifier::from_source(src)?;
        let issuer = AccessIssuer::from_source(src)?;
        let devices = DeviceIssuer::from_source(src)?;
        let access: Vec<_> = verifier
            .held_keys()
            .into_iter()
            .chain(issuer.held_keys())
            .collect();
        token::ensure_distinct(&access, &devices.held_keys())?;
        Ok(Self {
            store: Store::from_source(client, src)?,
            verifier,
            issuer,
            devices,
            origins: Origins::from_source(src)?,
            cookies: Cookies::from_source(src)?,
            refresh_token_in_body: flag(src, "REFRESH_TOKEN_IN_BODY", false)?,
            proof_limit: Limit {
                max: lockout.max_failures,
                window_secs: lockout.lockout_secs,
            },
            reauth_max_age_secs: duration(
                src,
                "REAUTH_MAX_AGE",
                "10m",
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(24 * 3600),
            )?
            .as_secs(),
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
    Reauthenticate,
    ChangePassword,
    DeleteAccount,
}

impl Route {
    /// The route of a request, read from the end of its path so that a stage
    /// or base path in front changes nothing.
    fn of(method: &Method, path: &str) -> Result<Self, ApiError> {
        let path = path.trim_end_matches('/');
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
        let (route, expected, allow) = if path.ends_with("/auth/sessions") {
            (Route::ListSessions, Method::GET, "GET, OPTIONS")
        } else if parent.ends_with("/auth/sessions") {
            (
                Route::EndSession(last.to_owned()),
                Method::DELETE,
                "DELETE, OPTIONS",
            )
        } else if path.ends_with("/auth/reauthenticate") {
            (Route::Reauthenticate, Method::POST, "POST, OPTIONS")
        } else if path.ends_with("/auth/password") {
            (Route::ChangePassword, Method::POST, "POST, OPTIONS")
        } else if path.ends_with("/auth/account") {
            (Route::DeleteAccount, Method::DELETE, "DELETE, OPTIONS")
        } else {
            return Err(ApiError::NotFound);
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
    web::endpoint::serve(&deps.origins, METHODS, req, |req| handle(deps, req)).await
}

async fn handle(deps: &Account, req: Request) -> Result<Response<Body>, ApiError> {
    let route = Route::of(req.method(), req.uri().path())?;
    let now = token::unix_now();
    let caller = authenticate(deps, &req, now)?;
    match route {
        Route::ListSessions => list_sessions(deps, &caller, now).await,
        Route::EndSession(sid) => end_session(deps, &caller, &req, &sid, now).await,
        Route::Reauthenticate => reauthenticate(deps, &caller, &req, now).await,
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
) -> Result<Session, ApiError> {
    match deps.store.sessions.get(&caller.sub, &caller.sid, now).await {
        Ok(Some(session)) => Ok(session),
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
            event = Audit::AccountRefused.name(),
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

/// Ends one session. The caller's own needs only its live session; any
/// other is step-up: a password in the body, or a recent `auth_time`.
async fn end_session(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    sid: &str,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    if !is_session_id(sid) {
        return Err(ApiError::InvalidRequest("not a session id"));
    }
    if sid == caller.sid {
        require_live_session(deps, caller, now).await?;
    } else {
        let body: StepUp = web::body::optional_json(req)?.unwrap_or_default();
        step_up(deps, caller, body.password, now).await?;
    }
    let ended = deps
        .store
        .sessions
        .revoke(&caller.sub, sid)
        .await
        .map_err(store_error)?;
    tracing::info!(event = Audit::SessionEnded.name(), sub = %caller.sub, sid = %sid, ended = ended.is_some(), "session ended");
    Ok(web::response::empty(StatusCode::NO_CONTENT))
}

/// Step-up: a proof in the body (checked and counted like any proof), or,
/// without one, an access token whose `auth_time` is within
/// `REAUTH_MAX_AGE` (no leeway) of a live session.
async fn step_up(
    deps: &Account,
    caller: &AccessClaims,
    password: Option<String>,
    now: u64,
) -> Result<(), ApiError> {
    match password {
        Some(password) => prove(deps, caller, &password::normalize(&password), now)
            .await
            .map(drop),
        None if caller.authenticated_within(deps.reauth_max_age_secs, now) => {
            require_live_session(deps, caller, now).await.map(drop)
        }
        None => {
            require_live_session(deps, caller, now).await?;
            tracing::info!(event = Audit::ReauthenticationRequired.name(), sub = %caller.sub, sid = %caller.sid, "step-up refused: no recent proof");
            Err(ApiError::ReauthenticationRequired)
        }
    }
}

/// A proven password: the user, and the caller's session as it is.
struct Proven {
    user: User,
    session: Session,
}

/// Proves the caller's password: counted against the caller's session
/// before it is hashed (which also checks that the session is live), the
/// user read at the same time. A wrong one stays counted (`401`, or `429`
/// once it reaches the limit); a right one is given back.
async fn prove(
    deps: &Account,
    caller: &AccessClaims,
    password: &str,
    now: u64,
) -> Result<Proven, ApiError> {
    prove_for(deps, caller, password, false, now).await
}

/// [`prove`], for the deletion too: an account disabled by a deletion that
/// did not finish may only repeat the deletion.
async fn prove_for(
    deps: &Account,
    caller: &AccessClaims,
    password: &str,
    deleting: bool,
    now: u64,
) -> Result<Proven, ApiError> {
    let sessions = &deps.store.sessions;
    let (proof, user) = tokio::join!(
        sessions.reserve_proof(&caller.sub, &caller.sid, deps.proof_limit, now),
        deps.store.users.get(&caller.sub)
    );
    let Proof {
        session,
        reservation,
    } = proof.map_err(store_error)?.ok_or(ApiError::InvalidToken)?;
    let (count, window_ends) = match reservation {
        Reservation::Reserved { count, window_ends } => (count, window_ends),
        Reservation::Limited { retry_after } => {
            tracing::info!(event = Audit::ProofLimited.name(), sub = %caller.sub, sid = %caller.sid, "proof refused: too many on this session");
            return Err(ApiError::TooManyAttempts { retry_after });
        }
    };
    // The token is valid but its user is gone.
    let user = user.map_err(store_error)?.ok_or(ApiError::InvalidToken)?;
    if !verify_password(password.to_owned(), Some(user.password_hash.clone())).await? {
        tracing::info!(event = Audit::PasswordRefused.name(), sub = %caller.sub, sid = %caller.sid, "wrong password on an account route");
        return Err(if count >= deps.proof_limit.max {
            ApiError::TooManyAttempts {
                retry_after: window_ends.saturating_sub(now).max(1),
            }
        } else {
            ApiError::InvalidCredentials
        });
    }
    if let Err(e) = sessions
        .refund_proof(&caller.sub, &caller.sid, window_ends)
        .await
    {
        tracing::warn!(error = %e, "a proof's refund was not written: one failure too many counted");
    }
    // As at login: a disabled account says so only to the right password.
    // One disabled by an unfinished deletion may repeat the deletion.
    if user.disabled && !(deleting && user.deleting) {
        return Err(ApiError::AccountDisabled);
    }
    Ok(Proven { user, session })
}

/// `POST /auth/reauthenticate`: the password again, for a fresh access
/// token of the same session whose `auth_time` is now.
async fn reauthenticate(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordConfirmation = web::body::json(req)?;
    let Proven { session, .. } =
        prove(deps, caller, &password::normalize(&body.password), now).await?;
    let auth = Authentication::password(now);
    let session = deps
        .store
        .authenticate_session(&session.user_id, &session.sid, &auth, now)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::InvalidToken)?;
    let access = access_token(&deps.issuer, &session, now)?;
    tracing::info!(event = Audit::Reauthenticated.name(), sub = %caller.sub, sid = %caller.sid, "reauthenticated");
    Ok(web::response::access_token(
        &access.token,
        access.expires_in,
    ))
}

async fn change_password(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordChange = web::body::json(req)?;
    // The policy needs the username: read the user before counting a proof.
    let user = deps
        .store
        .users
        .get(&caller.sub)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::InvalidToken)?;
    // A weak new password is refused before a proof is counted (and hashed
    // only after the proof, so a wrong one costs one hash).
    let new = password::normalize(&body.new_password);
    deps.policy
        .check(&new, &user.username)
        .map_err(|weak| ApiError::WeakPassword(weak.reason()))?;
    let current = password::normalize(&body.current_password);
    let ended = match prove(deps, caller, &current, now).await {
        Ok(Proven { user, .. }) => {
            let hash =
                hash_new_password(&deps.policy, body.new_password, user.username.clone()).await?;
            store_new_password(deps, caller, &user, &hash).await?
        }
        // Perhaps the same change, retried after DynamoDB failed half-way:
        // this session set the password, and the new one may be it. Trying
        // it is a second guess, so it is counted as one.
        Err(ApiError::InvalidCredentials)
            if user.password_set_by.as_deref() == Some(caller.sid.as_str()) =>
        {
            prove(deps, caller, &new, now).await?;
            deps.store
                .end_sessions(&user.user_id, Some(&caller.sid))
                .await
                .map_err(store_error)?
        }
        Err(e) => return Err(e),
    };
    tracing::info!(event = Audit::PasswordChanged.name(), sub = %caller.sub, sid = %caller.sid, ended, "password changed");
    // The user's version moved on, so every device token is stale: the
    // caller's browser gets a fresh one, and stays a known device.
    let version = deps
        .store
        .users
        .get(&caller.sub)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::InvalidToken)?
        .version;
    let device = deps
        .devices
        .issue(&caller.sub, &DeviceIssuer::new_device_id(), version, now)
        .map_err(signing_error)?;
    Ok(web::response::device_token(
        &deps.cookies,
        deps.refresh_token_in_body,
        &device.token,
        DEVICE_TOKEN_SECS,
    ))
}

/// Stores the new password's hash and ends every other session, only if the
/// password proven is still the stored one.
async fn store_new_password(
    deps: &Account,
    caller: &AccessClaims,
    user: &User,
    hash: &str,
) -> Result<usize, ApiError> {
    let proven = Some(user.password_hash.as_str());
    match deps
        .store
        .change_password(&user.user_id, hash, proven, Some(&caller.sid))
        .await
    {
        Ok(ended) => Ok(ended),
        // Another change replaced the password this one proved.
        Err(StoreError::Conflict) => Err(ApiError::InvalidCredentials),
        Err(StoreError::AccountDisabled) => Err(ApiError::AccountDisabled),
        // Deleted meanwhile (from another session).
        Err(StoreError::UserGone) => Err(ApiError::InvalidToken),
        Err(e) => Err(store_error(e)),
    }
}

async fn delete_account(
    deps: &Account,
    caller: &AccessClaims,
    req: &Request,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    let body: PasswordConfirmation = web::body::json(req)?;
    let Proven { user, .. } = prove_for(
        deps,
        caller,
        &password::normalize(&body.password),
        true,
        now,
    )
    .await?;
    // Repeating a deletion that failed half-way finishes it.
    match deps.store.delete_user(&user, Some(&caller.sid)).await {
        Ok(()) | Err(StoreError::UserGone) => {}
        Err(e) => return Err(store_error(e)),
    }
    tracing::info!(event = Audit::AccountDeleted.name(), sub = %caller.sub, "account deleted");
    let mut res = web::response::empty(StatusCode::NO_CONTENT);
    // Bearer-authenticated, so no CSRF here; the refresh cookie is cleared
    // when the browser sent it (the route is under the cookie's path), the
    // device cookie (which only login sees) always.
    if web::cookie::read(req.headers()).is_some() {
        web::cookie::clear(res.headers_mut(), &deps.cookies);
    }
    web::cookie::clear_device(res.headers_mut(), &deps.cookies);
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
            (Method::POST, "/auth/reauthenticate", Route::Reauthenticate),
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
