//! Windowed failure counters beside the account lockout: one per source IP
//! (across every account, against password spraying) and one per device a
//! user has logged in from (so that the account lockout, which anyone can
//! trigger, never shuts a user out of a device they already use).
//!
//! A counter is one item of the users table (`ip#<address>`,
//! `device#<user id>#<device id>`): `failures`, `window_ends`, and
//! `expires_at` (the table's TTL) equal to `window_ends`. A login reserves
//! one attempt on its counters *before* the password is checked, with one
//! conditional `UpdateItem`, so parallel guesses cannot outrun a limit; a
//! login that succeeds then gives its reservations back ([`Users::refund`],
//! into the same window only, never below zero). So the counters count
//! failures, and an outage fails closed: a reservation DynamoDB
//! cannot make is a 503 before any password is checked, never a login let
//! through uncounted and never a lockout; a refund DynamoDB cannot make
//! leaves one failure too many counted (the safe side).
//!
//! Refunds are single-item writes after the session's transaction, not part
//! of it: every login from one address writes that address's item, and a
//! transaction holding it would make concurrent logins behind one NAT fail
//! each other (`TransactionConflict`). Single-item writes to one item are
//! simply applied in turn.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::Users;
use crate::error::{Conditional, StoreError, conditional};
use crate::item::{Item, n, s};

/// How many failures a counter allows within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window_secs: u64,
}

/// Which counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter<'a> {
    /// A source IP address, as API Gateway saw it.
    Ip(&'a str),
    /// A device (its device token's id) of a user.
    Device {
        user_id: &'a str,
        device_id: &'a str,
    },
}

impl Counter<'_> {
    /// The counter's key in the users table. No user key starts like it
    /// (users are `user#`, usernames `name#`).
    pub fn key(&self) -> String {
        match self {
            Counter::Ip(ip) => format!("ip#{ip}"),
            Counter::Device { user_id, device_id } => format!("device#{user_id}#{device_id}"),
        }
    }
}

/// The outcome of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: this attempt is the `count`th of a window that ends at
    /// `window_ends`.
    Reserved { count: u64, window_ends: u64 },
    /// The limit is reached until the window ends.
    Limited { retry_after: u64 },
}

/// A reservation a successful login gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub key: String,
    pub window_ends: u64,
}

/// The count, read as at least zero (refunds never take it below).
fn count_of(item: &Item) -> u64 {
    match item.get("failures") {
        Some(AttributeValue::N(v)) => v.parse::<i64>().map_or(0, |v| v.max(0).unsigned_abs()),
        _ => 0,
    }
}

fn window_ends_of(item: &Item) -> Option<u64> {
    match item.get("window_ends") {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

impl Users {
    /// Counts one attempt on `counter` unless its limit is reached: one
    /// conditional `UpdateItem` (which also starts the first window), and
    /// one more only when the last window is over. A racing start is
    /// retried, so no attempt is lost or counted twice by this code (a
    /// request the SDK repeats after losing DynamoDB's answer may count
    /// twice: the safe direction).
    pub async fn reserve(
        &self,
        counter: Counter<'_>,
        limit: Limit,
        now: u64,
    ) -> Result<Reservation, StoreError> {
        let key = counter.key();
        let ends = now.saturating_add(limit.window_secs);
        for _ in 0..4 {
            // Counts in the running window, or starts the first one: one
            // request, whichever it is.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(key.as_str()))
                .update_expression(
                    "ADD failures :one \
                     SET window_ends = if_not_exists(window_ends, :ends), \
                     expires_at = if_not_exists(expires_at, :ends)",
                )
                .condition_expression(
                    "attribute_not_exists(pk) OR (window_ends > :now AND failures < :max)",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ends", n(ends))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":max", n(limit.max))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match conditional(result)? {
                Conditional::Written(out) => {
                    let item = out.attributes().ok_or(StoreError::Corrupt("failures"))?;
                    return Ok(Reservation::Reserved {
                        count: count_of(item),
                        window_ends: window_ends_of(item).unwrap_or(ends),
                    });
                }
                Conditional::Failed(Some(old)) => {
                    if let Some(ends) = window_ends_of(&old).filter(|e| *e > now) {
                        return Ok(Reservation::Limited {
                            retry_after: ends - now,
                        });
                    }
                }
                Conditional::Failed(None) => {}
            }
            // The last window is over: start a new one, unless another
            // attempt just did (then count in it, above).
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(key.as_str()))
                .update_expression("SET failures = :one, window_ends = :ends, expires_at = :ends")
                .condition_expression(
                    "attribute_not_exists(pk) OR attribute_not_exists(window_ends) \
                     OR window_ends <= :now",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ends", n(ends))
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            if let Conditional::Written(_) = conditional(result)? {
                return Ok(Reservation::Reserved {
                    count: 1,
                    window_ends: ends,
                });
            }
        }
        Err(StoreError::internal("a failure counter kept changing"))
    }

    /// Gives back the reservations of a login that succeeded, all at once:
    /// each only into the window it was taken from and never below zero
    /// (a login that straddled its window's end forgives nothing of the
    /// next one, so no sequence of successes buys extra guesses). Best
    /// effort: the first error, if any, for the caller to log; a refund
    /// that fails leaves one failure too many counted.
    pub async fn refund(&self, refunds: &[Refund]) -> Result<(), StoreError> {
        let writes = refunds.iter().map(|r| async move {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(r.key.as_str()))
                .update_expression("ADD failures :minus")
                .condition_expression("window_ends = :ends AND failures > :zero")
                .expression_attribute_values(":minus", AttributeValue::N("-1".to_owned()))
                .expression_attribute_values(":ends", n(r.window_ends))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            // A refused condition (another window, nothing to give back)
            // is no error.
            conditional(result).map(|_| ())
        });
        futures::future::join_all(writes)
            .await
            .into_iter()
            .collect()
    }

    /// The failures `counter` holds now (0 once its window is over): for
    /// operators and tests.
    pub async fn failures(&self, counter: Counter<'_>, now: u64) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(counter.key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::error::sdk_error)?;
        Ok(match out.item() {
            Some(item) if window_ends_of(item).is_some_and(|e| e > now) => count_of(item),
            _ => 0,
        })
    }
}
