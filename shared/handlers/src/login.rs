//! `POST /auth/login {"username","password"}` → tokens, the refresh cookie
//! and the device cookie. An unknown user and a wrong password get the same
//! answer after the same one argon2id hash.
//!
//! Three limits are checked before any password (ARCHITECTURE.md, "Abuse
//! resistance"), each by reserving the attempt on its counter so parallel
//! guesses cannot outrun it, and each reservation is given back when the
//! login succeeds:
//!
//! * the source IP's failures across every account
//!   (`LOGIN_MAX_FAILURES_PER_IP` per `LOGIN_LOCKOUT`): password spraying;
//! * with a valid device token of this user, that device's failures
//!   (`LOGIN_MAX_FAILURES` per `LOGIN_LOCKOUT`), and the account lockout
//!   does not apply: nobody can lock a user out of a device they use;
//! * without one, the account's failures (the lockout).

use accounts::client::LazyClient;
use accounts::{
    Attempt, Counter, Limit, LockoutPolicy, Refund, Reservation, SessionStart, Store, StoreError,
    User, Username,
};
use config::{ConfigError, Source, number};
use lambda_http::{Body, Request, Response};
use token::{DEVICE_TOKEN_SECS, DeviceClaims, DeviceTokens};
use web::forms::Credentials;
use web::{ApiError, Origins};

use crate::{
    FromEnv, Issuing, hash_password, signing_error, source_ip, store_error, user_agent,
    verify_password,
};

/// What login uses: both tables, both issuers (never a verifier), device
/// tokens, the limits and the sessions' absolute lifetime.
pub struct Login {
    pub store: Store,
    pub issuing: Issuing,
    pub devices: DeviceTokens,
    pub origins: Origins,
    pub lockout: LockoutPolicy,
    /// Failures per source IP within `LOGIN_LOCKOUT`.
    pub ip_limit: Limit,
    /// `SESSION_MAX_LIFETIME`, seconds.
    pub session_max_lifetime_secs: u64,
}

impl FromEnv for Login {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        let lockout = LockoutPolicy::from_source(src)?;
        Ok(Self {
            store: Store::from_source(client, src)?,
            issuing: Issuing::from_source(src)?,
            devices: DeviceTokens::from_source(src)?,
            origins: Origins::from_source(src)?,
            ip_limit: Limit {
                max: number(src, "LOGIN_MAX_FAILURES_PER_IP", 100, 1, 1_000_000)?,
                window_secs: lockout.lockout_secs,
            },
            lockout,
            session_max_lifetime_secs: accounts::session_max_lifetime_secs(src)?,
        })
    }
}

impl Login {
    /// Each device's own limit: the account's numbers, per device.
    fn device_limit(&self) -> Limit {
        Limit {
            max: self.lockout.max_failures,
            window_secs: self.lockout.lockout_secs,
        }
    }

    /// The device token the request presents (the cookie, else the body's
    /// `device_token`), if it is a valid one. Anything else counts as none
    /// and is logged by kind, never echoed.
    fn device(&self, req: &Request, body: &Credentials, now: u64) -> Option<DeviceClaims> {
        let presented = web::cookie::read_named(req.headers(), web::cookie::DEVICE)
            .or_else(|| body.device_token.clone())
            .filter(|t| !t.is_empty())?;
        match self.devices.verify(&presented, now) {
            Ok(claims) => Some(claims),
            Err(e) => {
                tracing::info!(
                    event = "device_token_refused",
                    reason = e.kind(),
                    "device token ignored"
                );
                None
            }
        }
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
    let ip = source_ip(&req).unwrap_or_else(|| "unknown".to_owned());
    let device = deps.device(&req, &body, now);
    let users = &deps.store.users;

    // The source IP's reservation and the username's claim, at once.
    let ip_counter = Counter::Ip(&ip);
    let (reserved, id) = tokio::join!(
        users.reserve(ip_counter, deps.ip_limit, now),
        users.user_id_of(&username)
    );
    let mut refunds = match reserved.map_err(store_error)? {
        Reservation::Limited { retry_after } => {
            tracing::warn!(event = "login_ip_limited", source_ip = %ip, "login refused: too many failures from this address");
            return Err(ApiError::TooManyAttempts { retry_after });
        }
        Reservation::Reserved { window_ends, .. } => vec![Refund {
            key: ip_counter.key(),
            window_ends,
        }],
    };
    let id = id.map_err(store_error)?;
    let device = device.filter(|d| {
        let mine = id.as_deref() == Some(d.sub.as_str());
        if !mine {
            tracing::info!(
                event = "device_token_refused",
                reason = "other_user",
                "device token ignored"
            );
        }
        mine
    });

    // The attempt is counted before any hashing, so parallel guesses cannot
    // outrun a limit: on the device when the login comes from one of the
    // user's devices, else on the account.
    let (user, device_count) = match (&id, &device) {
        (Some(id), Some(d)) => {
            let counter = Counter::Device {
                user_id: id,
                device_id: &d.jti,
            };
            let count = match users
                .reserve(counter, deps.device_limit(), now)
                .await
                .map_err(store_error)?
            {
                Reservation::Limited { retry_after } => {
                    tracing::info!(event = "login_failure", reason = "device_locked", sub = %id, "login refused");
                    return Err(ApiError::TooManyAttempts { retry_after });
                }
                Reservation::Reserved { count, window_ends } => {
                    refunds.push(Refund {
                        key: counter.key(),
                        window_ends,
                    });
                    count
                }
            };
            match users.get(id).await.map_err(store_error)? {
                Some(user) => (user, Some(count)),
                None => return unknown_user(password).await,
            }
        }
        _ => match users
            .begin_login_for(id.as_deref(), deps.lockout, now)
            .await
            .map_err(store_error)?
        {
            Attempt::Proceed(user) => (user, None),
            Attempt::UnknownUser => return unknown_user(password).await,
            Attempt::Locked { retry_after } => {
                tracing::info!(event = "login_failure", reason = "locked", "login refused");
                return Err(ApiError::TooManyAttempts { retry_after });
            }
        },
    };
    if !verify_password(password.clone(), Some(user.password_hash.clone())).await? {
        return Err(wrong_password(deps, &user, device_count, now).await?);
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
        source_ip: Some(&ip),
        trusted_device: device.is_some(),
        refunds: &refunds,
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
    tracing::info!(event = "login_success", sub = %user.user_id, sid = %session.sid, known_device = device.is_some(), upgraded_hash = rehashed.is_some(), "login");
    // The device keeps its id and gets a token good for another year.
    let device_id = device.map_or_else(DeviceTokens::new_device_id, |d| d.jti);
    let device_token = deps
        .devices
        .issue(&user.user_id, &device_id, now)
        .map_err(signing_error)?;
    deps.issuing.answer_with_device(
        &session,
        Some((device_token.token.as_str(), DEVICE_TOKEN_SECS)),
        now,
    )
}

/// An unknown username: the same hash a wrong password costs, the same 401.
/// Its attempt stays counted against the source IP.
async fn unknown_user(password: String) -> Result<Response<Body>, ApiError> {
    verify_password(password, None).await?;
    tracing::info!(
        event = "login_failure",
        reason = "unknown_user",
        "login refused"
    );
    Err(ApiError::InvalidCredentials)
}

/// A wrong password: counted already (on the device, or on the account,
/// whose window this may start or lock) and against the source IP.
async fn wrong_password(
    deps: &Login,
    user: &User,
    device_count: Option<u64>,
    now: u64,
) -> Result<ApiError, ApiError> {
    if let Some(count) = device_count {
        if count >= deps.lockout.max_failures {
            tracing::warn!(event = "lockout", scope = "device", sub = %user.user_id, until = now + deps.lockout.lockout_secs, "device locked");
            return Ok(ApiError::TooManyAttempts {
                retry_after: deps.lockout.lockout_secs,
            });
        }
        tracing::info!(event = "login_failure", reason = "wrong_password", known_device = true, sub = %user.user_id, "login refused");
        return Ok(ApiError::InvalidCredentials);
    }
    let locked = deps
        .store
        .users
        .record_login_failure(user, deps.lockout, now)
        .await
        .map_err(store_error)?;
    if let Some(until) = locked {
        tracing::warn!(event = "lockout", scope = "account", sub = %user.user_id, until, "account locked");
        return Ok(ApiError::TooManyAttempts {
            retry_after: until - now,
        });
    }
    tracing::info!(event = "login_failure", reason = "wrong_password", sub = %user.user_id, "login refused");
    Ok(ApiError::InvalidCredentials)
}
