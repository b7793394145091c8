//! Sessions: one item per login, keyed by user and session id, holding a
//! generation counter. The refresh token names its user (`sub`), session
//! (`sid`) and generation (`gen`); a refresh is one conditional `UpdateItem`
//! that moves the generation on by one. When that condition fails, DynamoDB
//! hands back the item as it is, and from it alone we tell a retry within
//! the reuse interval (same successor, re-signed) from reuse (revoke) from a
//! session that is gone. No token is ever stored.
//!
//! A user's sessions are one partition: listing them is one strongly
//! consistent query, so ending all of them never misses one.

use aws_sdk_dynamodb::types::{
    DeleteRequest, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update, WriteRequest,
};
use token::{Authentication, RefreshClaims, RefreshGrant};

use crate::error::{Conditional, StoreError, Transacted, conditional, sdk_error, transacted};
use crate::item::{Item, get_list, get_n, get_n_or_zero, get_opt_s, get_s, list, n, s};
use crate::users::{User, user_key};
use crate::{LockoutPolicy, Sessions, Store};

/// Longest user-agent string kept with a session (a hint for listing).
pub const MAX_USER_AGENT: usize = 256;

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

/// One session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub sid: String,
    /// The user's roles, copied at login and pushed again when they change,
    /// so a refresh needs no user read.
    pub roles: Vec<String>,
    /// The user's `version` whose roles the session holds.
    pub user_version: u64,
    /// Generation of the session's current refresh token.
    pub generation: u64,
    /// When the current generation was issued: the session's last use.
    pub rotated_at: u64,
    pub created_at: u64,
    /// The session's absolute end (login + `SESSION_MAX_LIFETIME`), which is
    /// also when DynamoDB's TTL may delete the item. The shorter inactivity
    /// limit needs no write: it is the current refresh token's signed `exp`.
    pub expires_at: u64,
    pub user_agent: Option<String>,
    /// The login's source IP, as API Gateway saw it.
    pub source_ip: Option<String>,
    /// When and how the user last proved a factor in this session (the
    /// access tokens' `auth_time` and `amr`); time 0 for a session started
    /// before it was recorded.
    pub auth: Authentication,
}

impl Session {
    /// A new session of `user`, started at `now` by a login.
    fn new(user: &User, start: &SessionStart<'_>, now: u64) -> Self {
        Self {
            user_id: user.user_id.clone(),
            sid: uuid::Uuid::new_v4().simple().to_string(),
            roles: user.roles.clone(),
            user_version: user.version,
            generation: 0,
            rotated_at: now,
            created_at: now,
            expires_at: now.saturating_add(start.max_lifetime_secs),
            user_agent: start.user_agent.map(|ua| truncate(ua, MAX_USER_AGENT)),
            source_ip: start.source_ip.map(|ip| truncate(ip, MAX_SOURCE_IP)),
            auth: Authentication {
                time: now,
                methods: start.amr.iter().map(|m| (*m).to_owned()).collect(),
            },
        }
    }

    /// The grant that signs this session's current refresh token.
    pub fn grant(&self) -> RefreshGrant<'_> {
        RefreshGrant {
            sub: &self.user_id,
            sid: &self.sid,
            generation: self.generation,
            issued_at: self.rotated_at,
            session_ends_at: self.expires_at,
        }
    }
}

impl TryFrom<&Item> for Session {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            user_id: get_s(item, "user_id")?,
            sid: get_s(item, "sid")?,
            roles: get_list(item, "roles")?,
            user_version: get_n_or_zero(item, "user_version")?,
            generation: get_n(item, "gen")?,
            rotated_at: get_n(item, "rotated_at")?,
            created_at: get_n(item, "created_at")?,
            expires_at: get_n(item, "expires_at")?,
            user_agent: get_opt_s(item, "user_agent")?,
            source_ip: get_opt_s(item, "source_ip")?,
            auth: Authentication {
                time: get_n_or_zero(item, "auth_time")?,
                methods: if item.contains_key("amr") {
                    get_list(item, "amr")?
                } else {
                    Vec::new()
                },
            },
        })
    }
}

/// What happened to a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was current: the session moved to the next generation.
    Rotated(Session),
    /// It was the immediately previous token, presented within the reuse
    /// interval: the session's current successor, unchanged, to re-sign.
    Replayed(Session),
    /// Refused; answer 401.
    Refused(Refusal),
}

/// Why a refresh was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such session for this user: never existed, logged out, revoked,
    /// or the user was disabled or deleted.
    Unknown,
    /// The session's absolute lifetime is over (the item may still be stored:
    /// TTL deletion is lazy).
    Expired,
    /// An older token was presented: the session has now been revoked.
    Reused { user_id: String, sid: String },
}

impl Store {
    /// Starts a session for `user` at login, after
    /// [`crate::Users::count_login`] and a verified password: one transaction
    /// that writes the session and clears the attempt count (and stores
    /// `rehashed`, a hash of the password with today's parameters, when the
    /// stored one had others). It is conditioned on the user being exactly
    /// the one the login read (same `version`, not disabled, not locked), so
    /// a change that must reach every session (new roles, a new password, a
    /// disable, a deletion, a logout everywhere) either sees this session or
    /// makes this login fail: [`StoreError::Conflict`], `AccountDisabled`,
    /// `UserGone`, `AccountLocked`. The session ends `max_lifetime_secs`
    /// from now at the latest.
    pub async fn start_session(
        &self,
        user: &User,
        start: SessionStart<'_>,
        now: u64,
    ) -> Result<Started, StoreError> {
        let session = Session::new(user, &start, now);
        let put = self.put_session(&session)?;
        let update = self.login_update(user, &start, now)?;
        let result = self
            .users
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            // The SDK's retry of a transaction whose answer was lost is then
            // recognised as the same one, not refused (the session exists).
            .client_request_token(&session.sid)
            .send()
            .await;
        let why = match transacted(result)? {
            Transacted::Written(_) => return Ok(Started::Session(session)),
            Transacted::Cancelled(why) => why,
        };
        // Why the user item refused (the session item cannot collide).
        let Some(old) = why.get(1).filter(|c| c.failed_condition()) else {
            return Err(StoreError::internal("login transaction was cancelled"));
        };
        let Some(item) = &old.item else {
            return Err(StoreError::UserGone);
        };
        let now_user = User::try_from(item)?;
        if now_user.disabled {
            Err(StoreError::AccountDisabled)
        } else if now_user.locked_for(now).is_some() && !start.trusted_device {
            Err(StoreError::AccountLocked {
                retry_after: start.lockout.lockout_secs,
            })
        } else {
            Ok(Started::UserChanged(now_user))
        }
    }

    /// The new session's item, on the condition that its id is new.
    fn put_session(&self, session: &Session) -> Result<Put, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.sessions.table)
            .item("user_id", s(session.user_id.as_str()))
            .item("sid", s(session.sid.as_str()))
            .item("roles", list(&session.roles))
            .item("user_version", n(session.user_version))
            .item("gen", n(session.generation))
            .item("rotated_at", n(session.rotated_at))
            .item("created_at", n(session.created_at))
            .item("expires_at", n(session.expires_at))
            .item("auth_time", n(session.auth.time))
            .item("amr", list(&session.auth.methods))
            .condition_expression("attribute_not_exists(sid)");
        if let Some(ua) = &session.user_agent {
            put = put.item("user_agent", s(ua.as_str()));
        }
        if let Some(ip) = &session.source_ip {
            put = put.item("source_ip", s(ip.as_str()));
        }
        put.build().map_err(StoreError::internal)
    }

    /// What a login writes to its user, on the condition that the user is
    /// the one the login read: the same version, not disabled, and (for an
    /// unknown device) not locked. A login from a device the user already
    /// used is not subject to the account lockout and leaves the account's
    /// count alone (it belongs to unknown devices); any other clears it.
    fn login_update(
        &self,
        user: &User,
        start: &SessionStart<'_>,
        now: u64,
    ) -> Result<Update, StoreError> {
        let (mut set, lock) = if start.trusted_device {
            ("SET last_device_login = :now".to_owned(), "")
        } else {
            (
                "SET failed_logins = :zero, failed_since = :zero".to_owned(),
                " AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
        };
        // A user item written without a version (by hand) reads as version 0.
        let version = if user.version == 0 {
            "(attribute_not_exists(version) OR version = :version)"
        } else {
            "version = :version"
        };
        let mut update = Update::builder()
            .table_name(&self.users.table)
            .key("pk", user_key(&user.user_id))
            .condition_expression(format!(
                "attribute_exists(pk) AND {version} \
                 AND (attribute_not_exists(disabled) OR disabled = :false){lock}"
            ))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(
                ":false",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            )
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(hash) = start.rehashed {
            set.push_str(", password_hash = :hash");
            update = update.expression_attribute_values(":hash", s(hash));
        }
        if !start.trusted_device {
            update = update.expression_attribute_values(":zero", n(0));
        }
        update
            .update_expression(set)
            .build()
            .map_err(StoreError::internal)
    }

    /// Records that the user just proved `auth` in session `sid` (a
    /// reauthentication): later access tokens of the session, refreshed ones
    /// included, carry it. `None` when the session ended or expired.
    pub async fn authenticate_session(
        &self,
        user_id: &str,
        sid: &str,
        auth: &Authentication,
        now: u64,
    ) -> Result<Option<Session>, StoreError> {
        let result = self
            .sessions
            .client
            .update_item()
            .table_name(&self.sessions.table)
            .key("user_id", s(user_id))
            .key("sid", s(sid))
            .update_expression("SET auth_time = :time, amr = :amr")
            .condition_expression("attribute_exists(sid) AND expires_at > :now")
            .expression_attribute_values(":time", n(auth.time))
            .expression_attribute_values(":amr", list(&auth.methods))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().ok_or(StoreError::Corrupt("sid"))?;
                Ok(Some(Session::try_from(item)?))
            }
            Conditional::Failed(_) => Ok(None),
        }
    }
}

/// What a login's session-starting transaction came to, when DynamoDB
/// answered and the user may still log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The session is stored.
    Session(Session),
    /// The user changed since the login read it (a logout everywhere, new
    /// roles, a new password, another session's end): nothing was written.
    /// The user as it is now, for the login to decide again and retry.
    UserChanged(User),
}

impl Started {
    /// The session, or [`StoreError::Conflict`] when the user changed: for
    /// callers that do not start again (the operator CLI's tests, the
    /// store's).
    pub fn into_session(self) -> Result<Session, StoreError> {
        match self {
            Started::Session(session) => Ok(session),
            Started::UserChanged(_) => Err(StoreError::Conflict),
        }
    }
}

/// Longest source IP kept with a session (an IPv6 address is at most 45).
pub const MAX_SOURCE_IP: usize = 64;

/// What a login adds to the user it starts a session for.
#[derive(Debug, Clone, Copy)]
pub struct SessionStart<'a> {
    /// The client's user agent (kept, truncated, as a hint for listing).
    pub user_agent: Option<&'a str>,
    /// The login's source IP (from API Gateway's request context).
    pub source_ip: Option<&'a str>,
    /// The login presented a valid device token of this user: the account
    /// lockout does not apply (its device counter did).
    pub trusted_device: bool,
    /// `SESSION_MAX_LIFETIME`, seconds.
    pub max_lifetime_secs: u64,
    pub lockout: LockoutPolicy,
    /// A hash of the password with today's parameters, when the stored one
    /// was made with others.
    pub rehashed: Option<&'a str>,
    /// How the user proved who they are (`amr`), recorded with the login's
    /// time as the session's [`Authentication`].
    pub amr: &'a [&'a str],
}

impl Sessions {
    /// Trades a verified refresh token's claims for the session's next
    /// generation, following the rotation rules (ARCHITECTURE.md, "Data
    /// model"): the immediately previous token within `reuse_interval_secs`
    /// gets the same successor back. One request on the happy path and on a
    /// replay; two when reuse revokes the session.
    pub async fn rotate(
        &self,
        claims: &RefreshClaims,
        reuse_interval_secs: u64,
        now: u64,
    ) -> Result<Rotation, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("user_id", s(claims.sub.as_str()))
            .key("sid", s(claims.sid.as_str()))
            .condition_expression("gen = :gen AND expires_at > :now")
            .update_expression("SET gen = :next, rotated_at = :now")
            .expression_attribute_values(":gen", n(claims.generation))
            .expression_attribute_values(":next", n(claims.generation.saturating_add(1)))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().ok_or(StoreError::Corrupt("sid"))?;
                return Ok(Rotation::Rotated(Session::try_from(item)?));
            }
            Conditional::Failed(old) => old.as_ref().map(Session::try_from).transpose()?,
        };
        let Some(current) = old else {
            return Ok(Rotation::Refused(Refusal::Unknown));
        };
        if current.expires_at <= now {
            return Ok(Rotation::Refused(Refusal::Expired));
        }
        let is_previous = current.generation == claims.generation.saturating_add(1);
        if is_previous && now < current.rotated_at.saturating_add(reuse_interval_secs) {
            return Ok(Rotation::Replayed(current));
        }
        self.revoke(&current.user_id, &current.sid).await?;
        Ok(Rotation::Refused(Refusal::Reused {
            user_id: current.user_id,
            sid: current.sid,
        }))
    }

    /// Ends session `sid` of `user_id` and answers the generation it was
    /// at, or `None` when there was none to end. Idempotent: a session that
    /// is gone (or another user's: the key includes the user) is no error.
    pub async fn revoke(&self, user_id: &str, sid: &str) -> Result<Option<u64>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("user_id", s(user_id))
            .key("sid", s(sid))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        out.attributes().map(|item| get_n(item, "gen")).transpose()
    }

    /// The user's session `sid`, if it is live at `now`: one strongly
    /// consistent read.
    pub async fn get(
        &self,
        user_id: &str,
        sid: &str,
        now: u64,
    ) -> Result<Option<Session>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", s(user_id))
            .key("sid", s(sid))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let session = out.item().map(Session::try_from).transpose()?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    /// The live sessions of a user, newest first: one strongly consistent
    /// query of the user's partition (paged past 1 MB).
    pub async fn list(&self, user_id: &str, now: u64) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("user_id = :uid")
            .expression_attribute_values(":uid", s(user_id))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let session = Session::try_from(&item.map_err(sdk_error)?)?;
            if session.expires_at > now {
                sessions.push(session);
            }
        }
        sessions.sort_by(|a, b| (b.created_at, &b.sid).cmp(&(a.created_at, &a.sid)));
        Ok(sessions)
    }

    /// Ends every session of a user but `keep`: one consistent query, then
    /// deletes in batches of 25 (`1 + ceil(n / 25)` requests). Returns how
    /// many ended. Expired items go too (TTL deletion is lazy).
    pub async fn revoke_all(&self, user_id: &str, keep: Option<&str>) -> Result<usize, StoreError> {
        let sids: Vec<String> = self
            .list(user_id, 0)
            .await?
            .into_iter()
            .map(|s| s.sid)
            .filter(|sid| Some(sid.as_str()) != keep)
            .collect();
        for chunk in sids.chunks(BATCH) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|sid| {
                    let delete = DeleteRequest::builder()
                        .key("user_id", s(user_id))
                        .key("sid", s(sid.as_str()))
                        .build()
                        .map_err(StoreError::internal)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, StoreError>>()?;
            // DynamoDB may hand back part of a batch when throttled; the SDK's
            // retry policy covers errors, this covers partial success.
            for _ in 0..crate::client::MAX_ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(
                    "DynamoDB left session deletes unprocessed".into(),
                ));
            }
        }
        Ok(sids.len())
    }

    /// Pushes `roles` of user version `version` into every session of
    /// `user_id` that holds an older version: one consistent query, then one
    /// conditional update per session (a session whose newer roles a
    /// concurrent change already pushed is left alone). Returns how many it
    /// updated.
    pub async fn push_roles(
        &self,
        user_id: &str,
        roles: &[String],
        version: u64,
    ) -> Result<usize, StoreError> {
        let mut updated = 0;
        for session in self.list(user_id, 0).await? {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("user_id", s(user_id))
                .key("sid", s(session.sid.as_str()))
                .update_expression("SET #roles = :roles, user_version = :version")
                .condition_expression(
                    "attribute_exists(sid) \
                     AND (attribute_not_exists(user_version) OR user_version < :version)",
                )
                .expression_attribute_names("#roles", "roles")
                .expression_attribute_values(":roles", list(roles))
                .expression_attribute_values(":version", n(version))
                .send()
                .await;
            if let Conditional::Written(_) = conditional(result)? {
                updated += 1;
            }
        }
        Ok(updated)
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("abcdef", 4), "abcd");
        assert_eq!(truncate("ab", 4), "ab");
        assert_eq!(truncate("aé", 2), "a");
    }
}
