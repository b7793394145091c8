//! Sessions: one item per login, holding a generation counter. The refresh
//! token names its session (`sid`) and generation (`gen`); a refresh is one
//! conditional `UpdateItem` that moves the generation on by one. When that
//! condition fails, DynamoDB hands back the item as it is, and from it alone
//! we tell a retry within the reuse interval (same successor, re-signed) from
//! reuse (revoke) from a session that is gone. No token is ever stored.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    DeleteRequest, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update, WriteRequest,
};
use token::{RefreshClaims, RefreshGrant};

use crate::error::{Conditional, StoreError, conditional, sdk_error};
use crate::item::{Item, get_list, get_n, get_opt_s, get_s, list, n, s};
use crate::schema::SESSIONS_BY_USER;
use crate::users::{User, Username};
use crate::{LockoutPolicy, Sessions, Store};

/// Longest user-agent string kept with a session (a hint for listing).
pub const MAX_USER_AGENT: usize = 256;

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

/// One session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    /// The user's roles at login, copied so a refresh needs no user read.
    pub roles: Vec<String>,
    /// Generation of the session's current refresh token.
    pub generation: u64,
    /// When the current generation was issued.
    pub rotated_at: u64,
    pub created_at: u64,
    /// The session's absolute end (login + `SESSION_MAX_LIFETIME`), which is
    /// also when DynamoDB's TTL may delete the item. The shorter inactivity
    /// limit needs no write: it is the current refresh token's signed `exp`.
    pub expires_at: u64,
    pub user_agent: Option<String>,
}

impl Session {
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
            sid: get_s(item, "sid")?,
            user_id: get_s(item, "user_id")?,
            roles: get_list(item, "roles")?,
            generation: get_n(item, "gen")?,
            rotated_at: get_n(item, "rotated_at")?,
            created_at: get_n(item, "created_at")?,
            expires_at: get_n(item, "expires_at")?,
            user_agent: get_opt_s(item, "user_agent")?,
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
    /// No such session for this user: never existed, logged out, or revoked.
    Unknown,
    /// The session's absolute lifetime is over (the item may still be stored:
    /// TTL deletion is lazy).
    Expired,
    /// An older token was presented: the session has now been revoked.
    Reused { user_id: String, sid: String },
}

impl Store {
    /// Starts a session for `user` at login, after [`crate::Users::begin_login`]
    /// and a verified password: one transaction that writes the session and
    /// clears the attempt count, refused with [`StoreError::AccountLocked`]
    /// if the account was locked meanwhile. The session ends `max_lifetime_secs`
    /// from now at the latest.
    pub async fn start_session(
        &self,
        user: &User,
        username: &Username,
        user_agent: Option<&str>,
        max_lifetime_secs: u64,
        lockout: LockoutPolicy,
        now: u64,
    ) -> Result<Session, StoreError> {
        let session = Session {
            sid: uuid::Uuid::new_v4().simple().to_string(),
            user_id: user.user_id.clone(),
            roles: user.roles.clone(),
            generation: 0,
            rotated_at: now,
            created_at: now,
            expires_at: now.saturating_add(max_lifetime_secs),
            user_agent: user_agent.map(|ua| truncate(ua, MAX_USER_AGENT)),
        };
        let mut item: Item = [
            ("sid", s(session.sid.as_str())),
            ("user_id", s(session.user_id.as_str())),
            ("roles", list(&session.roles)),
            ("gen", n(0)),
            ("rotated_at", n(now)),
            ("created_at", n(now)),
            ("expires_at", n(session.expires_at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(ua) = &session.user_agent {
            item.insert("user_agent".to_owned(), s(ua.as_str()));
        }
        let put = Put::builder()
            .table_name(&self.sessions.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sid)")
            .build()
            .map_err(StoreError::internal)?;
        // The attempt was counted by begin_login: clear the count, unless a
        // racing failure locked the account meanwhile (then no session).
        let reset = Update::builder()
            .table_name(&self.users.table)
            .key("username", s(username.key()))
            .update_expression("SET failed_logins = :zero, failed_since = :zero")
            .condition_expression(
                "attribute_exists(username) \
                 AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(StoreError::internal)?;
        let result = self
            .users
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(reset).build())
            .send()
            .await;
        if let Err(SdkError::ServiceError(se)) = &result
            && let TransactWriteItemsError::TransactionCanceledException(c) = se.err()
        {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect();
            if codes.get(1) == Some(&"ConditionalCheckFailed") {
                return Err(StoreError::AccountLocked {
                    retry_after: lockout.lockout_secs,
                });
            }
            if codes.contains(&"TransactionConflict") {
                return Err(StoreError::Unavailable(
                    "login raced another write to the user; retry".into(),
                ));
            }
        }
        result.map_err(sdk_error)?;
        Ok(session)
    }
}

impl Sessions {
    /// Trades a verified refresh token's claims for the session's next
    /// generation, following the rotation rules (ARCHITECTURE.md, "Data model"):
    /// the immediately previous token within `reuse_interval_secs` gets the
    /// same successor back. One request on the happy path and on a replay;
    /// two when reuse revokes the session.
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
            .key("sid", s(claims.sid.as_str()))
            .condition_expression("user_id = :uid AND gen = :gen AND expires_at > :now")
            .update_expression("SET gen = :next, rotated_at = :now")
            .expression_attribute_values(":uid", s(claims.sub.as_str()))
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
        let Some(current) = old.filter(|o| o.user_id == claims.sub) else {
            return Ok(Rotation::Refused(Refusal::Unknown));
        };
        if current.expires_at <= now {
            return Ok(Rotation::Refused(Refusal::Expired));
        }
        let is_previous = current.generation == claims.generation.saturating_add(1);
        if is_previous && now < current.rotated_at.saturating_add(reuse_interval_secs) {
            return Ok(Rotation::Replayed(current));
        }
        self.revoke_session(&current.sid, &current.user_id).await?;
        Ok(Rotation::Refused(Refusal::Reused {
            user_id: current.user_id,
            sid: current.sid,
        }))
    }

    /// Ends one session of `user_id` and answers the generation it was at, or
    /// `None` when there was none to end. Idempotent: a session that is gone
    /// or belongs to someone else is left as it is, without an error.
    pub async fn revoke_session(
        &self,
        sid: &str,
        user_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("sid", s(sid))
            .condition_expression("user_id = :uid")
            .expression_attribute_values(":uid", s(user_id))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match conditional(result)? {
            Conditional::Written(out) => {
                out.attributes().map(|item| get_n(item, "gen")).transpose()
            }
            Conditional::Failed(_) => Ok(None),
        }
    }

    /// The live sessions of a user, oldest first (from the `by_user` index,
    /// which is eventually consistent: a login of the last second may be
    /// missing).
    pub async fn list_sessions(&self, user_id: &str, now: u64) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SESSIONS_BY_USER)
            .key_condition_expression("user_id = :uid")
            .expression_attribute_values(":uid", s(user_id))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let session = Session::try_from(&item.map_err(sdk_error)?)?;
            if session.expires_at > now {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    /// Ends every session of a user: one query of the index, then deletes in
    /// batches of 25 (`1 + ceil(n / 25)` requests). Returns how many ended.
    /// Logout calls it only after [`Sessions::revoke_session`] found the
    /// presented session live.
    pub async fn revoke_all_sessions(&self, user_id: &str) -> Result<usize, StoreError> {
        let sids: Vec<String> = self
            .list_sessions(user_id, 0)
            .await?
            .into_iter()
            .map(|s| s.sid)
            .collect();
        for chunk in sids.chunks(BATCH) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|sid| {
                    let delete = DeleteRequest::builder()
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
