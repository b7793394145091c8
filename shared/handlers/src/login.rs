//! `POST /auth/login {"username","password"}` → tokens, the refresh cookie
//! and the device cookie. An unknown user and a wrong password get the same
//! answer after the same one argon2id hash and the same DynamoDB requests.
//!
//! A login reads as its steps: parse → charge the attempt → check the
//! password → start the session → answer. Every refusal is one
//! [`Refusal`], logged and mapped to its answer in one place.
//!
//! Charging decides which limit an attempt counts against, before any
//! password is checked (ARCHITECTURE.md, "Abuse resistance"), each by
//! reserving the attempt on its counter so parallel guesses cannot outrun
//! it; a login that succeeds gives its reservations back:
//!
//! * with a valid device token of this user, that device's failures
//!   (`LOGIN_MAX_FAILURES` per `LOGIN_LOCKOUT`) and nothing else: neither
//!   the account lockout nor a stranger behind the same address can lock a
//!   user out of a device they use;
//! * otherwise the source address's failures across every account
//!   (`LOGIN_MAX_FAILURES_PER_IP`: password spraying), then the account's
//!   (the lockout).

use accounts::client::LazyClient;
use accounts::{
    Attempt, Counter, Limit, LockoutPolicy, Refund, Reservation, Session, SessionStart, Started,
    Store, StoreError, User, Username,
};
use config::{ConfigError, Source, number};
use lambda_http::{Body, Request, Response};
use logging::Audit;
use token::{DEVICE_TOKEN_SECS, DeviceClaims, DeviceTokens, amr};
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
        let issuing = Issuing::from_source(src)?;
        let devices = DeviceTokens::from_source(src)?;
        // Device tokens are verified with the previous refresh secret too.
        token::ensure_distinct(&issuing.access.held_keys(), &devices.held_keys())?;
        Ok(Self {
            store: Store::from_source(client, src)?,
            issuing,
            devices,
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

/// Checks the password and starts a session.
pub async fn login(deps: &Login, req: Request) -> Response<Body> {
    web::endpoint::serve(&deps.origins, web::endpoint::POST, req, |req| {
        handle(deps, req)
    })
    .await
}

async fn handle(deps: &Login, req: Request) -> Result<Response<Body>, ApiError> {
    let now = token::unix_now();
    let form = Form::parse(deps, &req, now)?;
    let attempt = match charge(deps, &form, now).await? {
        Ok(attempt) => attempt,
        Err(refusal) => return Err(refusal.answer(deps, form.password, now).await),
    };
    let (session, user) = match check_and_start(deps, &req, &form, &attempt, now).await? {
        Ok(started) => started,
        Err(refusal) => return Err(refusal.answer(deps, form.password, now).await),
    };
    // A success is no failure: its reservations are given back.
    if let Err(e) = deps.store.users.refund(&attempt.refunds).await {
        tracing::warn!(error = %e, "a failure counter's refund was not written: one failure too many counted");
    }
    answer(deps, &session, &user, attempt.device.as_ref(), now)
}

/// A login request, read and checked.
struct Form {
    username: Username,
    /// NFKC: login applies no policy (old passwords still log in), but
    /// hashes what register and password change hash.
    password: String,
    /// The address's counter key (an IPv6 address by its /64), when API
    /// Gateway gave one.
    address: Option<String>,
    source_ip: Option<String>,
    /// The device token presented, if it verified.
    device: Option<DeviceClaims>,
}

impl Form {
    fn parse(deps: &Login, req: &Request, now: u64) -> Result<Self, ApiError> {
        let body: Credentials = web::body::json(req)?;
        let password = password::normalize(&body.password);
        if password.chars().count() > password::MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidRequest(
                "password must be at most 256 characters",
            ));
        }
        let username = Username::parse(&body.username).map_err(|_| {
            ApiError::InvalidRequest("username must be 3 to 64 characters of A-Z a-z 0-9 . _ @ -")
        })?;
        let source_ip = source_ip(req);
        Ok(Self {
            username,
            password,
            address: source_ip.as_deref().map(address_key),
            source_ip,
            device: presented_device(deps, req, &body, now),
        })
    }
}

/// The device token the request presents (the cookie, else the body's
/// `device_token`), if it is a valid one. Anything else counts as none and
/// is logged by kind, never echoed.
fn presented_device(
    deps: &Login,
    req: &Request,
    body: &Credentials,
    now: u64,
) -> Option<DeviceClaims> {
    let presented = web::cookie::read_named(req.headers(), web::cookie::DEVICE)
        .or_else(|| body.device_token.clone())
        .filter(|t| !t.is_empty())?;
    deps.devices
        .verify(&presented, now)
        .inspect_err(|e| device_refused(e.kind(), None))
        .ok()
}

fn device_refused(reason: &'static str, sub: Option<&str>) {
    tracing::info!(
        event = Audit::DeviceTokenRefused.name(),
        reason,
        sub,
        "device token ignored"
    );
}

/// What one login attempt was charged to, once charging let it through.
struct Charged {
    user: User,
    /// The device's reservation when the attempt counts against the
    /// device alone; `None` when it counts against the account.
    via_device: Option<Reservation>,
    /// The device (kept, with its id, when it was trusted).
    device: Option<DeviceClaims>,
    /// What a success gives back.
    refunds: Vec<Refund>,
}

/// Charges the attempt to its limits, before any password is checked, and
/// finds the user. A presented valid device token is checked first (no I/O),
/// so a login from a known device never touches the address's counter.
async fn charge(deps: &Login, form: &Form, now: u64) -> Result<Result<Charged, Refusal>, ApiError> {
    let users = &deps.store.users;
    let mut refunds = Vec::new();
    let id = match &form.device {
        Some(device) => {
            let id = users
                .user_id_of(&form.username)
                .await
                .map_err(store_error)?;
            if let Some(id) = id.as_deref().filter(|id| *id == device.sub) {
                if let Some(charged) = charge_device(deps, id, device, &mut refunds, now).await? {
                    return Ok(charged);
                }
            } else {
                device_refused("other_user", None);
            }
            match charge_address(deps, form, now).await? {
                Ok(refund) => refunds.extend(refund),
                Err(refusal) => return Ok(Err(refusal)),
            }
            id
        }
        None => {
            let (address, id) = tokio::join!(
                charge_address(deps, form, now),
                users.user_id_of(&form.username)
            );
            match address? {
                Ok(refund) => refunds.extend(refund),
                Err(refusal) => return Ok(Err(refusal)),
            }
            id.map_err(store_error)?
        }
    };
    charge_account(deps, id.as_deref(), refunds, now).await
}

/// The device's own limit, for a valid device token of the user `id`
/// names: `Ok(None)` when the token is stale (from before the user's last
/// password change, logout everywhere, disable or role change: whoever
/// logged in then keeps no guess budget of their own) and the attempt must
/// be charged as from an unknown device.
async fn charge_device(
    deps: &Login,
    id: &str,
    device: &DeviceClaims,
    refunds: &mut Vec<Refund>,
    now: u64,
) -> Result<Option<Result<Charged, Refusal>>, ApiError> {
    let users = &deps.store.users;
    let limit = Limit {
        max: deps.lockout.max_failures,
        window_secs: deps.lockout.lockout_secs,
    };
    let counter = Counter::Device(&device.jti);
    let (reserved, user) = tokio::join!(users.reserve(counter, limit, now), users.get(id));
    let reserved = reserved.map_err(store_error)?;
    let Some(user) = user.map_err(store_error)? else {
        return Ok(Some(Err(Refusal::UnknownUser)));
    };
    if let Reservation::Reserved { window_ends, .. } = reserved {
        refunds.push(Refund {
            key: counter.key(),
            window_ends,
        });
    }
    if device.ver != user.version {
        device_refused("stale", Some(id));
        return Ok(None);
    }
    Ok(Some(match reserved {
        Reservation::Limited { retry_after } => Err(Refusal::DeviceLocked {
            sub: user.user_id,
            retry_after,
        }),
        Reservation::Reserved { .. } => Ok(Charged {
            user,
            via_device: Some(reserved),
            device: Some(device.clone()),
            refunds: std::mem::take(refunds),
        }),
    }))
}

/// The source address's limit across every account: `Ok(Some(refund))`
/// when reserved, `Ok(None)` when the request has no source address (not
/// behind API Gateway: logged, not limited).
async fn charge_address(
    deps: &Login,
    form: &Form,
    now: u64,
) -> Result<Result<Option<Refund>, Refusal>, ApiError> {
    let Some(address) = form.address.as_deref() else {
        tracing::warn!("no source IP in the request context: the per-address limit does not apply");
        return Ok(Ok(None));
    };
    let counter = Counter::Ip(address);
    match deps
        .store
        .users
        .reserve(counter, deps.ip_limit, now)
        .await
        .map_err(store_error)?
    {
        Reservation::Limited { retry_after } => Ok(Err(Refusal::AddressLimited {
            address: address.to_owned(),
            retry_after,
        })),
        Reservation::Reserved { window_ends, .. } => Ok(Ok(Some(Refund {
            key: counter.key(),
            window_ends,
        }))),
    }
}

/// The account's lockout: one conditional write that counts the attempt
/// and returns the user (an unknown username's attempt is made against an
/// id no user has, so it costs the same request).
async fn charge_account(
    deps: &Login,
    id: Option<&str>,
    refunds: Vec<Refund>,
    now: u64,
) -> Result<Result<Charged, Refusal>, ApiError> {
    let attempt = deps
        .store
        .users
        .count_login_for(id, deps.lockout, now)
        .await
        .map_err(store_error)?;
    Ok(match attempt {
        Attempt::Proceed(user) => Ok(Charged {
            user,
            via_device: None,
            device: None,
            refunds,
        }),
        Attempt::UnknownUser => Err(Refusal::UnknownUser),
        Attempt::Locked { retry_after } => Err(Refusal::AccountLocked { retry_after }),
    })
}

/// Checks the password, then starts the session (again with the user as it
/// now is, when a change that leaves this login valid raced it).
async fn check_and_start(
    deps: &Login,
    req: &Request,
    form: &Form,
    attempt: &Charged,
    now: u64,
) -> Result<Result<(Session, User), Refusal>, ApiError> {
    let user = &attempt.user;
    if !verify_password(form.password.clone(), Some(user.password_hash.clone())).await? {
        return wrong_password(deps, attempt, now).await.map(Err);
    }
    // Only the right password learns that the account is disabled.
    if user.disabled {
        return Ok(Err(Refusal::Disabled {
            sub: user.user_id.clone(),
        }));
    }
    // A hash made with other parameters is upgraded now, in the same write
    // that starts the session.
    let rehashed = if password::needs_rehash(&user.password_hash) {
        Some(hash_password(form.password.clone()).await?)
    } else {
        None
    };
    let agent = user_agent(req);
    let start = SessionStart {
        user_agent: agent.as_deref(),
        source_ip: form.source_ip.as_deref(),
        trusted_device: attempt.via_device.is_some(),
        max_lifetime_secs: deps.session_max_lifetime_secs,
        lockout: deps.lockout,
        rehashed: rehashed.as_deref(),
        amr: &[amr::PWD],
    };
    let mut user = user.clone();
    // A logout everywhere, new roles or another session's end moved the
    // user's version on while this login checked the password: the login is
    // still valid, so it starts its session at the new version (with the new
    // roles), a few times at most.
    for _ in 0..5 {
        let started = match deps.store.start_session(&user, start, now).await {
            Ok(started) => started,
            Err(e) => return session_refused(e, &user).map(Err),
        };
        match started {
            Started::Session(session) => return Ok(Ok((session, user))),
            Started::UserChanged(now_user) => {
                // The stored hash changed: a new password (refused), or the
                // same one upgraded by another login (checked again).
                if now_user.password_hash != user.password_hash
                    && !verify_password(form.password.clone(), Some(now_user.password_hash.clone()))
                        .await?
                {
                    return Ok(Err(Refusal::PasswordChanged {
                        sub: now_user.user_id,
                    }));
                }
                // A login charged to its device stays one: the change comes
                // after it was counted, and its answer carries a device
                // token of the new version.
                tracing::info!(sub = %now_user.user_id, "the user changed during this login: starting its session again");
                user = now_user;
            }
        }
    }
    tracing::info!(sub = %user.user_id, "the user kept changing during a login; answered retry");
    Err(ApiError::Unavailable)
}

/// Why the session-starting transaction refused, as the client sees it.
fn session_refused(e: StoreError, user: &User) -> Result<Refusal, ApiError> {
    let sub = user.user_id.clone();
    Ok(match e {
        StoreError::AccountLocked { retry_after } => Refusal::LockedMeanwhile { sub, retry_after },
        StoreError::AccountDisabled => Refusal::Disabled { sub },
        StoreError::UserGone => Refusal::Deleted { sub },
        e => return Err(store_error(e)),
    })
}

/// A wrong password: counted already (on the device, or on the account,
/// whose window this may start or lock) and against the source address.
async fn wrong_password(deps: &Login, attempt: &Charged, now: u64) -> Result<Refusal, ApiError> {
    let sub = attempt.user.user_id.clone();
    if let Some(Reservation::Reserved { count, window_ends }) = attempt.via_device {
        if count >= deps.lockout.max_failures {
            return Ok(Refusal::DeviceLockedNow {
                sub,
                until: window_ends,
                retry_after: window_ends.saturating_sub(now).max(1),
            });
        }
        return Ok(Refusal::WrongPassword {
            sub,
            known_device: true,
        });
    }
    let locked = deps
        .store
        .users
        .record_login_failure(Some(&attempt.user), deps.lockout, now)
        .await
        .map_err(store_error)?;
    Ok(match locked {
        Some(until) => Refusal::AccountLockedNow {
            sub,
            until,
            retry_after: until.saturating_sub(now).max(1),
        },
        None => Refusal::WrongPassword {
            sub,
            known_device: false,
        },
    })
}

/// Why a login was refused. [`Refusal::answer`] is the one place that logs
/// a refusal and maps it to its answer.
enum Refusal {
    /// Too many failures from this address.
    AddressLimited {
        address: String,
        retry_after: u64,
    },
    /// This device's limit is reached.
    DeviceLocked {
        sub: String,
        retry_after: u64,
    },
    /// This failure reached the device's limit.
    DeviceLockedNow {
        sub: String,
        until: u64,
        retry_after: u64,
    },
    /// The account is locked for unknown devices.
    AccountLocked {
        retry_after: u64,
    },
    /// This failure locked the account.
    AccountLockedNow {
        sub: String,
        until: u64,
        retry_after: u64,
    },
    /// The account was locked while this login checked its password.
    LockedMeanwhile {
        sub: String,
        retry_after: u64,
    },
    /// No such username: one hash and one failure write, as for a known
    /// one, then the same 401.
    UnknownUser,
    WrongPassword {
        sub: String,
        known_device: bool,
    },
    /// The password changed while this login checked the old one.
    PasswordChanged {
        sub: String,
    },
    Disabled {
        sub: String,
    },
    /// Deleted while this login checked its password.
    Deleted {
        sub: String,
    },
}

impl Refusal {
    /// Logs the refusal (never a password or token) and answers it. An
    /// unknown user first costs what a wrong password costs: one hash of
    /// `password`, then one failure write (against an id no user has).
    async fn answer(self, deps: &Login, password: String, now: u64) -> ApiError {
        match self {
            Refusal::AddressLimited {
                address,
                retry_after,
            } => {
                tracing::warn!(event = Audit::LoginIpLimited.name(), source_ip = %address, "login refused: too many failures from this address");
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::DeviceLocked { sub, retry_after } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "device_locked", sub = %sub, "login refused");
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::DeviceLockedNow {
                sub,
                until,
                retry_after,
            } => {
                tracing::warn!(event = Audit::Lockout.name(), scope = "device", sub = %sub, until, "device locked");
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::AccountLocked { retry_after } => {
                tracing::info!(
                    event = Audit::LoginFailure.name(),
                    reason = "locked",
                    "login refused"
                );
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::AccountLockedNow {
                sub,
                until,
                retry_after,
            } => {
                tracing::warn!(event = Audit::Lockout.name(), scope = "account", sub = %sub, until, "account locked");
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::LockedMeanwhile { sub, retry_after } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "locked", sub = %sub, "login refused");
                ApiError::TooManyAttempts { retry_after }
            }
            Refusal::UnknownUser => {
                if let Err(e) = verify_password(password, None).await {
                    return e;
                }
                if let Err(e) = deps
                    .store
                    .users
                    .record_login_failure(None, deps.lockout, now)
                    .await
                {
                    return store_error(e);
                }
                tracing::info!(
                    event = Audit::LoginFailure.name(),
                    reason = "unknown_user",
                    "login refused"
                );
                ApiError::InvalidCredentials
            }
            Refusal::WrongPassword { sub, known_device } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "wrong_password", known_device, sub = %sub, "login refused");
                ApiError::InvalidCredentials
            }
            Refusal::PasswordChanged { sub } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "password_changed", sub = %sub, "login refused");
                ApiError::InvalidCredentials
            }
            Refusal::Disabled { sub } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "disabled", sub = %sub, "login refused");
                ApiError::AccountDisabled
            }
            Refusal::Deleted { sub } => {
                tracing::info!(event = Audit::LoginFailure.name(), reason = "deleted", sub = %sub, "login refused");
                ApiError::InvalidCredentials
            }
        }
    }
}

/// Signs the tokens and the device token (a known device keeps its id and
/// gets a token good for another year, at the user's current version).
fn answer(
    deps: &Login,
    session: &Session,
    user: &User,
    device: Option<&DeviceClaims>,
    now: u64,
) -> Result<Response<Body>, ApiError> {
    tracing::info!(event = Audit::LoginSuccess.name(), sub = %user.user_id, sid = %session.sid, known_device = device.is_some(), "login");
    let device_id = device.map_or_else(DeviceTokens::new_device_id, |d| d.jti.clone());
    let device_token = deps
        .devices
        .issue(&user.user_id, &device_id, user.version, now)
        .map_err(signing_error)?;
    deps.issuing.answer_with_device(
        session,
        Some((device_token.token.as_str(), DEVICE_TOKEN_SECS)),
        now,
    )
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
