//! Users: registration (a username's claim and the user, in one
//! transaction), lookup by name or by id, and the failed-login counter that
//! locks an account.

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use crate::error::{
    Cancellation, Conditional, StoreError, Transacted, conditional, sdk_error, transacted,
};
use crate::item::{
    Item, get_bool_or_false, get_list, get_n, get_n_or_zero, get_opt_s, get_s, list, n, s,
};
use crate::{LockoutPolicy, Users};

/// Roles every new user gets.
pub const DEFAULT_ROLES: &[&str] = &["user"];

/// A valid username: 3 to 64 characters of `A-Z a-z 0-9 . _ @ -`. It keeps
/// the spelling the user chose; uniqueness and lookup use the lower-cased key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    display: String,
    key: String,
}

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("username must be 3 to 64 characters of A-Z a-z 0-9 . _ @ -")]
pub struct InvalidUsername;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, InvalidUsername> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
        if !(3..=64).contains(&raw.len()) || !raw.chars().all(ok_char) {
            return Err(InvalidUsername);
        }
        Ok(Self {
            display: raw.to_owned(),
            key: raw.to_ascii_lowercase(),
        })
    }

    /// As the user typed it at registration.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-folded form that identifies the user.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// An id no user has (user ids are UUIDs): what an unknown username's
/// login attempt is counted against, to cost what a known one costs.
const NO_USER: &str = "none";

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Stable id, the `sub` of every token.
    pub user_id: String,
    /// The username as registered (display form).
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub roles: Vec<String>,
    pub created_at: u64,
    /// A disabled user cannot log in (`403 account_disabled`) and has no
    /// sessions.
    pub disabled: bool,
    /// Disabled by a deletion that has not finished (DynamoDB failed
    /// half-way): only repeating the deletion goes on with it.
    pub deleting: bool,
    /// The session that set the current password through the password
    /// route, if one did: only it may retry that change
    /// (`POST /auth/password` after DynamoDB failed half-way).
    pub password_set_by: Option<String>,
    /// Moves on with every change that must reach the user's sessions
    /// (roles, password, disable, deletion, logging out everywhere); a login
    /// starts its session only if it is still the one it read.
    pub version: u64,
    /// Failures counted in the current window.
    pub failed_logins: u64,
    /// Start of the current failure window (epoch seconds).
    pub failed_since: u64,
    /// Locked while `now < locked_until`.
    pub locked_until: u64,
    /// When the latest login attempt was counted.
    pub last_attempt: u64,
}

impl User {
    /// Seconds the account stays locked, if it is locked at `now`.
    pub fn locked_for(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }
}

impl TryFrom<&Item> for User {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            user_id: get_s(item, "user_id")?,
            username: get_s(item, "username")?,
            password_hash: get_s(item, "password_hash")?,
            roles: get_list(item, "roles")?,
            created_at: get_n(item, "created_at")?,
            disabled: get_bool_or_false(item, "disabled")?,
            deleting: get_bool_or_false(item, "deleting")?,
            password_set_by: get_opt_s(item, "password_set_by")?,
            version: get_n_or_zero(item, "version")?,
            failed_logins: get_n_or_zero(item, "failed_logins")?,
            failed_since: get_n_or_zero(item, "failed_since")?,
            locked_until: get_n_or_zero(item, "locked_until")?,
            last_attempt: get_n_or_zero(item, "last_attempt")?,
        })
    }
}

/// The key of a user's item: `user#<user_id>`.
pub(crate) fn user_key(user_id: &str) -> AttributeValue {
    s(format!("user#{user_id}"))
}

/// The key of a username's claim: `name#<lower-cased username>`.
pub(crate) fn name_key(username: &Username) -> AttributeValue {
    s(format!("name#{}", username.key()))
}

/// What a login attempt may do, decided before any password is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Counted against the limit: check the password against this user.
    /// `user.failed_logins` is this attempt's number in the window.
    Proceed(User),
    /// No such user: hash against the dummy and answer as for a wrong password.
    UnknownUser,
    /// Locked, or `LOGIN_MAX_FAILURES` attempts already counted or in flight:
    /// answer 429 without hashing.
    Locked { retry_after: u64 },
}

impl Users {
    /// Creates a user with the default roles: the username's claim and the
    /// user, in one transaction, so a username is unique without regard to
    /// case and never points at nothing. The transaction's client token is
    /// the new user id, so the SDK's retry of a transaction whose answer was
    /// lost is answered as the success it was.
    pub async fn create_user(
        &self,
        username: &Username,
        password_hash: String,
        now: u64,
    ) -> Result<User, StoreError> {
        let roles: Vec<String> = DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect();
        self.create_user_with_roles(username, password_hash, &roles, now)
            .await
    }

    /// As [`Users::create_user`], with `roles` instead of the default ones
    /// (the operator CLI's `users create --role`), in the same one
    /// transaction: the user never exists with other roles than these. The
    /// roles are stored as given; the caller checks them.
    pub async fn create_user_with_roles(
        &self,
        username: &Username,
        password_hash: String,
        roles: &[String],
        now: u64,
    ) -> Result<User, StoreError> {
        let user = User {
            user_id: uuid::Uuid::new_v4().to_string(),
            username: username.as_str().to_owned(),
            password_hash,
            roles: roles.to_vec(),
            created_at: now,
            ..User::default()
        };
        let claim = Put::builder()
            .table_name(&self.table)
            .item("pk", name_key(username))
            .item("user_id", s(user.user_id.as_str()))
            .item("created_at", n(now))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::internal)?;
        let record = Put::builder()
            .table_name(&self.table)
            .item("pk", user_key(&user.user_id))
            .item("user_id", s(user.user_id.as_str()))
            .item("username", s(user.username.as_str()))
            .item("password_hash", s(user.password_hash.as_str()))
            .item("roles", list(&user.roles))
            .item("created_at", n(now))
            .item("version", n(0))
            .item("failed_logins", n(0))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::internal)?;
        let result = self
            .client
            .transact_write_items()
            .client_request_token(&user.user_id)
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(TransactWriteItem::builder().put(record).build())
            .send()
            .await;
        match transacted(result)? {
            Transacted::Written(_) => Ok(user),
            Transacted::Cancelled(why)
                if why.first().is_some_and(Cancellation::failed_condition) =>
            {
                Err(StoreError::UsernameTaken)
            }
            Transacted::Cancelled(_) => Err(StoreError::internal("user creation was cancelled")),
        }
    }

    /// The id of the user with this username (any case), read consistently.
    pub async fn user_id_of(&self, username: &Username) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", name_key(username))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item().map(|i| get_s(i, "user_id")).transpose()
    }

    /// The user with this id (a token's `sub`): one consistent read.
    pub async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", user_key(user_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item().map(User::try_from).transpose()
    }

    /// The user with this username (any case): two consistent reads.
    pub async fn find(&self, username: &Username) -> Result<Option<User>, StoreError> {
        match self.user_id_of(username).await? {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Counts a login attempt for `username` before its password is
    /// checked, and returns the user: the username's claim, then
    /// [`Users::count_attempt`]. Two requests, for an unknown user too (its
    /// attempt is made against an id no user has), so that the time to
    /// answer does not tell known usernames from unknown ones.
    pub async fn count_login(
        &self,
        username: &Username,
        policy: LockoutPolicy,
        now: u64,
    ) -> Result<Attempt, StoreError> {
        let id = self.user_id_of(username).await?;
        self.count_login_for(id.as_deref(), policy, now).await
    }

    /// [`Users::count_login`] after the username's claim was read: `id` is
    /// the user it names, if any. An unknown user's attempt is made against
    /// an id no user has, so it costs the same request.
    pub async fn count_login_for(
        &self,
        id: Option<&str>,
        policy: LockoutPolicy,
        now: u64,
    ) -> Result<Attempt, StoreError> {
        let attempt = self
            .count_attempt(id.unwrap_or(NO_USER), policy, now)
            .await?;
        Ok(if id.is_some() {
            attempt
        } else {
            Attempt::UnknownUser
        })
    }

    /// Counts an attempt to prove the password of `user_id` (a login, or an
    /// account route asking for the password) before it is checked, and
    /// returns the user. One conditional `UpdateItem` increments the count
    /// only while the account is not locked and fewer than
    /// `LOGIN_MAX_FAILURES` attempts are counted, so however many attempts
    /// race, at most that many passwords are ever checked per window. A
    /// success clears the count ([`crate::Store::start_session`],
    /// [`Users::clear_failures`]); a failure may start or lock the window
    /// ([`Users::record_login_failure`]).
    async fn count_attempt(
        &self,
        user_id: &str,
        policy: LockoutPolicy,
        now: u64,
    ) -> Result<Attempt, StoreError> {
        // Names this attempt in the item, so that the SDK's retry of a write
        // whose answer was lost finds it counted instead of counting it again.
        let attempt = uuid::Uuid::new_v4().simple().to_string();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(user_id))
            .update_expression(
                "SET failed_logins = if_not_exists(failed_logins, :zero) + :one, \
                 last_attempt = :now, attempt_id = :attempt",
            )
            .condition_expression(
                "attribute_exists(pk) \
                 AND (attribute_not_exists(attempt_id) OR attempt_id <> :attempt) \
                 AND (attribute_not_exists(failed_logins) OR failed_logins < :max) \
                 AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
            .expression_attribute_values(":attempt", s(attempt.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(policy.max_failures))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().ok_or(StoreError::Corrupt("pk"))?;
                return Ok(Attempt::Proceed(User::try_from(item)?));
            }
            Conditional::Failed(None) => return Ok(Attempt::UnknownUser),
            Conditional::Failed(Some(item)) if holds(&item, "attempt_id", &attempt) => {
                return Ok(Attempt::Proceed(User::try_from(&item)?));
            }
            Conditional::Failed(Some(item)) => User::try_from(&item)?,
        };
        if let Some(retry_after) = old.locked_for(now) {
            return Ok(Attempt::Locked { retry_after });
        }
        // The limit is reached. Counted attempts stay live for a lockout after
        // the window began or after the latest attempt (which may still be
        // checking its password), whichever is later.
        let live_until = old
            .failed_since
            .max(old.last_attempt)
            .saturating_add(policy.lockout_secs);
        if live_until > now {
            return Ok(Attempt::Locked {
                retry_after: live_until - now,
            });
        }
        // Stale counts (attempts that crashed before recording anything):
        // start afresh, once, conditionally.
        self.restart_count(user_id, &old, now, &attempt).await
    }

    async fn restart_count(
        &self,
        user_id: &str,
        seen: &User,
        now: u64,
        attempt: &str,
    ) -> Result<Attempt, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(user_id))
            .update_expression(
                "SET failed_logins = :one, failed_since = :zero, last_attempt = :now, \
                 attempt_id = :attempt",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":attempt", s(attempt))
            .condition_expression(
                "failed_logins = :count \
                 AND (attribute_not_exists(failed_since) OR failed_since = :since)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":count", n(seen.failed_logins))
            .expression_attribute_values(":since", n(seen.failed_since))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().ok_or(StoreError::Corrupt("pk"))?;
                Ok(Attempt::Proceed(User::try_from(item)?))
            }
            // Our own restart, retried after its answer was lost.
            Conditional::Failed(Some(item)) if holds(&item, "attempt_id", attempt) => {
                Ok(Attempt::Proceed(User::try_from(&item)?))
            }
            // Another login restarted it first: this one waits its turn.
            Conditional::Failed(_) => Ok(Attempt::Locked { retry_after: 1 }),
        }
    }

    /// Records that the attempt [`Users::count_attempt`] counted for `user`
    /// had a wrong password, and returns `Some(locked_until)` when it locks
    /// the account. The attempt is already counted; this starts the window
    /// (first failure), restarts a stale one, locks (the failure that
    /// reaches the limit), or only notes the failure's time: always exactly
    /// one conditional `UpdateItem`, and for an unknown user (`None`) the
    /// same request against an id no user has, so that neither the answer
    /// nor its cost tells known usernames from unknown ones. Every write is
    /// conditioned on the user existing: a failure racing the user's
    /// deletion never recreates part of it.
    pub async fn record_login_failure(
        &self,
        user: Option<&User>,
        policy: LockoutPolicy,
        now: u64,
    ) -> Result<Option<u64>, StoreError> {
        let unknown = User {
            user_id: NO_USER.to_owned(),
            ..User::default()
        };
        let user = user.unwrap_or(&unknown);
        let stale = user.failed_since > 0 && user.failed_since + policy.lockout_secs <= now;
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(&user.user_id))
            .expression_attribute_values(":now", n(now));
        let (req, locks_until) = if user.failed_logins >= policy.max_failures && !stale {
            let until = now + policy.lockout_secs;
            let req = req
                .update_expression(
                    "SET locked_until = :until, failed_logins = :zero, failed_since = :zero, \
                     last_failure = :now",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":until", n(until))
                .expression_attribute_values(":zero", n(0));
            (req, Some(until))
        } else if user.failed_since == 0 {
            let req = req
                .update_expression("SET failed_since = :now, last_failure = :now")
                .condition_expression(
                    "attribute_exists(pk) \
                     AND (attribute_not_exists(failed_since) OR failed_since = :zero)",
                )
                .expression_attribute_values(":zero", n(0));
            (req, None)
        } else if stale {
            let req = req
                .update_expression(
                    "SET failed_logins = :one, failed_since = :now, last_failure = :now",
                )
                .condition_expression("attribute_exists(pk) AND failed_since = :since")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":since", n(user.failed_since));
            (req, None)
        } else {
            let req = req
                .update_expression("SET last_failure = :now")
                .condition_expression("attribute_exists(pk)");
            (req, None)
        };
        match conditional(req.send().await)? {
            Conditional::Written(_) => Ok(locks_until),
            // The user is gone (or never was), or a racing failure already
            // started or restarted the window.
            Conditional::Failed(_) => Ok(None),
        }
    }
}

impl Users {
    /// Clears the account's failure count and lock (an operator's unlock):
    /// unknown devices may log in again at once. `false` when there is no
    /// such user.
    pub async fn unlock(&self, user_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(user_id))
            .update_expression(
                "SET failed_logins = :zero, failed_since = :zero, locked_until = :zero",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        Ok(matches!(conditional(result)?, Conditional::Written(_)))
    }
}

/// True when `item`'s string attribute `name` is `value`: how a retried
/// write recognises what its own lost first attempt wrote.
fn holds(item: &Item, name: &str, value: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::S(v)) if v == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_of_3_to_64_allowed_characters_parse() {
        for ok in ["abc", "Alice.Smith_99@example-corp", &"a".repeat(64)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn usernames_outside_the_rules_are_refused() {
        for bad in [
            "ab",
            &"a".repeat(65),
            "has space",
            "semi;colon",
            "ünïcode",
            "",
            "a/b",
        ] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
    }

    #[test]
    fn username_key_is_case_folded_and_display_kept() {
        let u = Username::parse("Alice@Example.COM").unwrap();
        assert_eq!(u.key(), "alice@example.com");
        assert_eq!(u.as_str(), "Alice@Example.COM");
    }

    #[test]
    fn locked_for_counts_down_to_unlock() {
        let mut u = User {
            username: "a".into(),
            user_id: "1".into(),
            password_hash: String::new(),
            roles: vec![],
            created_at: 0,
            disabled: false,
            deleting: false,
            password_set_by: None,
            version: 0,
            failed_logins: 0,
            failed_since: 0,
            locked_until: 1000,
            last_attempt: 0,
        };
        assert_eq!(u.locked_for(400), Some(600));
        assert_eq!(u.locked_for(1000), None);
        u.locked_until = 0;
        assert_eq!(u.locked_for(0), None);
    }
}
