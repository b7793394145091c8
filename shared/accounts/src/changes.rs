//! Changes that must reach every session of a user: a new password, new
//! roles, a disable, a deletion, logging out everywhere.
//!
//! Each first moves the user's `version` on, then applies the change to the
//! user's sessions, read with one strongly consistent query. A login that
//! read the user before the change cannot start a session after it: its
//! transaction is conditioned on the version it read
//! ([`crate::Store::start_session`]). So a login racing a change either
//! finishes first, and its session is in the query, or fails. A refresh
//! reads no user: it sees the change in its session item (pushed roles) or
//! finds the item gone.
//!
//! When DynamoDB fails half-way, the user is already changed (a new
//! password, disabled) and some sessions may remain: every operation here is
//! safe to repeat, and a repeat finishes the job.

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use crate::Store;
use crate::error::{Conditional, StoreError, Transacted, conditional, transacted};
use crate::item::{list, n, s};
use crate::users::{User, Username, name_key, user_key};

/// What moving a user's version on came to.
enum Bumped {
    /// Applied: the user as it now is.
    Changed(User),
    /// The extra condition failed: the user as it was.
    Refused(User),
}

impl Store {
    /// Moves the user's version on, with `set` (more `SET` clauses) and
    /// `condition` (more conditions, over `values`), and returns the user
    /// as it now is. [`StoreError::UserGone`] when there is no such user;
    /// when `condition` failed, [`StoreError::AccountDisabled`] for a
    /// disabled user, else [`StoreError::Conflict`].
    async fn bump(
        &self,
        user_id: &str,
        set: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<User, StoreError> {
        match self.try_bump(user_id, set, condition, values).await? {
            Bumped::Changed(user) => Ok(user),
            Bumped::Refused(old) if old.disabled => Err(StoreError::AccountDisabled),
            Bumped::Refused(_) => Err(StoreError::Conflict),
        }
    }

    /// [`Self::bump`], with the user as it was when `condition` failed.
    async fn try_bump(
        &self,
        user_id: &str,
        set: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Bumped, StoreError> {
        let mut req = self
            .users
            .client
            .update_item()
            .table_name(&self.users.table)
            .key("pk", user_key(user_id))
            .update_expression(format!(
                "SET version = if_not_exists(version, :zero) + :one{set}"
            ))
            .condition_expression(format!("attribute_exists(pk){condition}"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        // `roles` is one of DynamoDB's reserved words.
        if set.contains("#roles") {
            req = req.expression_attribute_names("#roles", "roles");
        }
        match conditional(req.send().await)? {
            Conditional::Written(out) => Ok(Bumped::Changed(User::try_from(
                out.attributes().ok_or(StoreError::Corrupt("pk"))?,
            )?)),
            Conditional::Failed(None) => Err(StoreError::UserGone),
            Conditional::Failed(Some(old)) => Ok(Bumped::Refused(User::try_from(&old)?)),
        }
    }

    /// Ends every session of the user but `keep` (logging out everywhere).
    /// Returns how many ended. A user already deleted still gets its
    /// sessions ended.
    pub async fn end_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<usize, StoreError> {
        match self.bump(user_id, "", "", Vec::new()).await {
            Ok(_) | Err(StoreError::UserGone) => {}
            Err(e) => return Err(e),
        }
        self.sessions.revoke_all(user_id, keep).await
    }

    /// Stores a new password hash and ends every session of the user but
    /// `keep`, which is recorded as the session that set it (only it may
    /// retry the change). Returns how many ended.
    ///
    /// With `proven`, the hash the caller verified the current password
    /// against, only if that is still the stored hash and the user is not
    /// disabled: of two password changes racing, the second finds its proof
    /// out of date ([`StoreError::Conflict`]), and a disabled user cannot
    /// change it ([`StoreError::AccountDisabled`]). Without, an operator's
    /// reset: unconditional.
    pub async fn change_password(
        &self,
        user_id: &str,
        hash: &str,
        proven: Option<&str>,
        keep: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut values = vec![(":hash", s(hash))];
        let mut set =
            ", password_hash = :hash, failed_logins = :zero, failed_since = :zero".to_owned();
        match keep {
            Some(sid) => {
                set.push_str(", password_set_by = :sid");
                values.push((":sid", s(sid)));
            }
            None => set.push_str(" REMOVE password_set_by"),
        }
        let condition = match proven {
            Some(proven) => {
                values.push((":proven", s(proven)));
                values.push((":true", AttributeValue::Bool(true)));
                " AND password_hash = :proven AND NOT disabled = :true"
            }
            None => "",
        };
        // The new hash clears the failure count too: it was proven.
        match self.try_bump(user_id, &set, condition, values).await? {
            Bumped::Changed(_) => {}
            // The SDK's retry of this very write, whose answer was lost: the
            // new (salted, so unique) hash is already there.
            Bumped::Refused(old) if old.password_hash == hash => {}
            Bumped::Refused(old) if old.disabled => return Err(StoreError::AccountDisabled),
            Bumped::Refused(_) => return Err(StoreError::Conflict),
        }
        self.sessions.revoke_all(user_id, keep).await
    }

    /// Gives the user `roles` and pushes them into every session (each
    /// takes effect at the session's next refresh). Returns the user.
    pub async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<User, StoreError> {
        let user = self
            .bump(
                user_id,
                ", #roles = :roles",
                "",
                vec![(":roles", list(roles))],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict => StoreError::internal("unconditional role change refused"),
                e => e,
            })?;
        self.sessions
            .push_roles(user_id, &user.roles, user.version)
            .await?;
        Ok(user)
    }

    /// Disables the user (no login, `403 account_disabled`) and ends every
    /// session. Returns how many ended.
    pub async fn disable(&self, user_id: &str) -> Result<usize, StoreError> {
        self.bump(
            user_id,
            ", disabled = :true",
            "",
            vec![(":true", AttributeValue::Bool(true))],
        )
        .await?;
        self.sessions.revoke_all(user_id, None).await
    }

    /// Lets a disabled user log in again (also one whose deletion did not
    /// finish).
    pub async fn enable(&self, user_id: &str) -> Result<User, StoreError> {
        self.bump(
            user_id,
            ", disabled = :false, deleting = :false",
            "",
            vec![(":false", AttributeValue::Bool(false))],
        )
        .await
    }

    /// Deletes the user and every session, and frees the username.
    ///
    /// In three steps, each safe to repeat: the user is disabled (so no
    /// login can start a session meanwhile), every session but `keep` ends,
    /// and one transaction deletes the user (if still at the version the
    /// first step left, else [`StoreError::Conflict`]: it was changed, maybe
    /// enabled, meanwhile; repeat), the username's claim and `keep`. If the
    /// last step fails, the caller's session is still there to try again
    /// with.
    pub async fn delete_user(&self, user: &User, keep: Option<&str>) -> Result<(), StoreError> {
        let username =
            Username::parse(&user.username).map_err(|_| StoreError::Corrupt("username"))?;
        // Disabled, so no login starts a session from here on; the failure
        // count cleared, so retrying a deletion cut half-way is not
        // counted against the user.
        let disabled = match self
            .bump(
                &user.user_id,
                ", disabled = :true, deleting = :true, failed_logins = :zero, failed_since = :zero",
                "",
                vec![(":true", AttributeValue::Bool(true))],
            )
            .await
        {
            Ok(disabled) => disabled,
            // Already gone (a repeat after the last step): nothing left but
            // sessions, if any.
            Err(StoreError::UserGone) => {
                self.sessions.revoke_all(&user.user_id, None).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.sessions.revoke_all(&user.user_id, keep).await?;
        // Only the user as this deletion left it: if it was enabled (and so
        // could log in) meanwhile, a new session may exist: repeat.
        let delete_user = Delete::builder()
            .table_name(&self.users.table)
            .key("pk", user_key(&user.user_id))
            .condition_expression("version = :version")
            .expression_attribute_values(":version", n(disabled.version))
            .build()
            .map_err(StoreError::internal)?;
        let delete_claim = Delete::builder()
            .table_name(&self.users.table)
            .key("pk", name_key(&username))
            .condition_expression("attribute_not_exists(pk) OR user_id = :uid")
            .expression_attribute_values(":uid", s(user.user_id.as_str()))
            .build()
            .map_err(StoreError::internal)?;
        let mut tx = self
            .users
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_user).build())
            .transact_items(TransactWriteItem::builder().delete(delete_claim).build())
            // The SDK's retry of it after a lost answer is then the same one.
            .client_request_token(uuid::Uuid::new_v4().simple().to_string());
        if let Some(sid) = keep {
            let delete_session = Delete::builder()
                .table_name(&self.sessions.table)
                .key("user_id", s(user.user_id.as_str()))
                .key("sid", s(sid))
                .build()
                .map_err(StoreError::internal)?;
            tx = tx.transact_items(TransactWriteItem::builder().delete(delete_session).build());
        }
        match transacted(tx.send().await)? {
            Transacted::Written(_) => Ok(()),
            Transacted::Cancelled(why) if why.first().is_some_and(|c| c.failed_condition()) => {
                Err(StoreError::Conflict)
            }
            Transacted::Cancelled(_) => Err(StoreError::internal(
                "the username's claim belongs to another user",
            )),
        }
    }
}
