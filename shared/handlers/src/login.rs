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
    let source = source_ip(&req);
    let ip = source.as_deref().map(address_key);
    let device = deps.device(&req, &body, now);
    let users = &deps.store.users;

    // The source address's reservation and the username's claim, at once.
    let ip_counter = ip.as_deref().map(Counter::Ip);
    let (reserved, id) = tokio::join!(
        async {
            match ip_counter {
                Some(c) => users.reserve(c, deps.ip_limit, now).await.map(Some),
                None => Ok(None),
            }
        },
        users.user_id_of(&username)
    );
    let mut refunds = Vec::new();
    match (reserved.map_err(store_error)?, ip_counter) {
        (Some(Reservation::Limited { retry_after }), _) => {
            tracing::warn!(
                event = "login_ip_limited",
                source_ip = ip.as_deref().unwrap_or("-"),
                "login refused: too many failures from this address"
            );
            return Err(ApiError::TooManyAttempts { retry_after });
        }
        (Some(Reservation::Reserved { window_ends, .. }), Some(c)) => refunds.push(Refund {
            key: c.key(),
            window_ends,
        }),
        _ => tracing::warn!(
            "no source IP in the request context: the per-address limit does not apply"
        ),
    }
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
    let known = match (&id, &device) {
        (Some(id), Some(d)) => {
            let counter = Counter::Device {
                user_id: id,
                device_id: &d.jti,
            };
            let (reserved, user) = tokio::join!(
                users.reserve(counter, deps.device_limit(), now),
                users.get(id)
            );
            let Some(user) = user.map_err(store_error)? else {
                return unknown_user(password).await;
            };
            // A device token from before the user's last password change,
            // logout everywhere, disable or role change is no longer a
            // device of theirs: whoever logged in then may not keep a guess
            // budget of their own.
            if d.ver != user.version {
                tracing::info!(event = "device_token_refused", reason = "stale", sub = %id, "device token ignored");
                None
            } else {
                match reserved.map_err(store_error)? {
                    Reservation::Limited { retry_after } => {
                        tracing::info!(event = "login_failure", reason = "device_locked", sub = %id, "login refused");
                        return Err(ApiError::TooManyAttempts { retry_after });
                    }
                    Reservation::Reserved { count, window_ends } => {
                        refunds.push(Refund {
                            key: counter.key(),
                            window_ends,
                        });
                        Some((user, DeviceAttempt { count, window_ends }))
                    }
                }
            }
        }
        _ => None,
    };
    let (user, device_attempt) = match known {
        Some((user, attempt)) => (user, Some(attempt)),
        None => match users
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
    let device = device.filter(|_| device_attempt.is_some());
    if !verify_password(password.clone(), Some(user.password_hash.clone())).await? {
        return Err(wrong_password(deps, &user, device_attempt, now).await?);
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
        source_ip: source.as_deref(),
        trusted_device: device.is_some(),
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
    // A success is no failure: its reservations are given back.
    if let Err(e) = users.refund(&refunds).await {
        tracing::warn!(error = %e, "a failure counter's refund was not written: one failure too many counted");
    }
    tracing::info!(event = "login_success", sub = %user.user_id, sid = %session.sid, known_device = device.is_some(), upgraded_hash = rehashed.is_some(), "login");
    // The device keeps its id and gets a token good for another year.
    let device_id = device.map_or_else(DeviceTokens::new_device_id, |d| d.jti);
    let device_token = deps
        .devices
        .issue(&user.user_id, &device_id, user.version, now)
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

/// A login's reservation on its device's counter.
#[derive(Debug, Clone, Copy)]
struct DeviceAttempt {
    /// This attempt's place in the window.
    count: u64,
    window_ends: u64,
}

/// The key of a source address: an IPv4 address as it is, an IPv6 one by
/// its /64 (one subscriber's network: rotating addresses within it must not
/// buy a fresh budget).
fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::Ipv6Addr>() {
        Ok(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| ip.to_owned(), |v4| v4.to_string()),
        Err(_) => ip.to_owned(),
    }
}

/// A wrong password: counted already (on the device, or on the account,
/// whose window this may start or lock) and against the source IP.
async fn wrong_password(
    deps: &Login,
    user: &User,
    device: Option<DeviceAttempt>,
    now: u64,
) -> Result<ApiError, ApiError> {
    if let Some(DeviceAttempt { count, window_ends }) = device {
        if count >= deps.lockout.max_failures {
            tracing::warn!(event = "lockout", scope = "device", sub = %user.user_id, until = window_ends, "device locked");
            return Ok(ApiError::TooManyAttempts {
                retry_after: window_ends.saturating_sub(now).max(1),
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

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn an_ipv6_address_counts_by_its_64_and_ipv4_as_it_is() {
        assert_eq!(address_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:198.51.100.4"), "198.51.100.4");
        assert_eq!(address_key("not an address"), "not an address");
    }
}
