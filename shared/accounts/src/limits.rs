//! Windowed failure counters beside the account lockout: one per source IP
//! (across every account, against password spraying), one per device a
//! user has logged in from (so that the account lockout, which anyone can
//! trigger, never shuts a user out of a device they already use), and one
//! per session for the proofs the account routes ask for (a password, for
//! step-up), which strangers cannot touch.
//!
//! An address's or a device's counter is one item of the users table
//! (`ip#<address>`, `device#<device id>`: a device id is random and its
//! token names its user, so no counter is keyed by a user id and none
//! outlives an account's deletion by more than its window): `failures`,
//! `window_ends`, and `expires_at` (the table's TTL) equal to `window_ends`.
//! A session's counter is two attributes of the session's own item
//! (`proof_failures`, `proof_window_ends`), so it ends with the session, and
//! counting a proof is also the check that the session is live. A login reserves
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

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::error::{Conditional, StoreError, conditional};
use crate::item::{Item, n, s};
use crate::sessions::Session;
use crate::{Sessions, Users};

/// How many failures a counter allows within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window_secs: u64,
}

/// Which counter of the users table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter<'a> {
    /// A source address, as API Gateway saw it (an IPv6 one by its /64).
    Ip(&'a str),
    /// A device (its device token's id).
    Device(&'a str),
}

impl Counter<'_> {
    /// The counter's key in the users table. No user key starts like it
    /// (users are `user#`, usernames `name#`).
    pub fn key(&self) -> String {
        match self {
            Counter::Ip(ip) => format!("ip#{ip}"),
            Counter::Device(device_id) => format!("device#{device_id}"),
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

/// A reservation a success gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub key: String,
    pub window_ends: u64,
}

/// Where a windowed counter lives, and so how its writes are conditioned.
struct Window<'a> {
    table: &'a str,
    key: Item,
    /// The attributes holding the count and the window's end.
    count: &'static str,
    ends: &'static str,
    /// A counter item of its own (created on first use, with the table's
    /// TTL at its window's end), or attributes of a live session's item
    /// (never created: a session that is gone or over counts nothing).
    own_item: bool,
}

/// What a reservation came to.
enum Reserved {
    Counted(Reservation, Item),
    /// The item a session's counter lives on is gone or expired.
    Gone,
}

fn number(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok().map(|v| v.max(0).unsigned_abs()),
        _ => None,
    }
}

impl Window<'_> {
    fn gone(&self, item: Option<&Item>, now: u64) -> bool {
        !self.own_item && item.is_none_or(|i| number(i, "expires_at").is_none_or(|e| e <= now))
    }

    /// Counts one attempt unless the limit is reached: one conditional
    /// `UpdateItem` (which also starts the first window), and one more only
    /// when the last window is over. A racing start is retried, so no
    /// attempt is lost or counted twice by this code (a request the SDK
    /// repeats after losing DynamoDB's answer may count twice: the safe
    /// direction).
    async fn reserve(
        &self,
        client: &aws_sdk_dynamodb::Client,
        limit: Limit,
        now: u64,
    ) -> Result<Reserved, StoreError> {
        let ends = now.saturating_add(limit.window_secs);
        for _ in 0..4 {
            if let Some(reserved) = self.count(client, limit, now, ends).await? {
                return Ok(reserved);
            }
            // The last window is over: start a new one, unless another
            // attempt just did (then count in it, above).
            if let Some(reserved) = self.restart(client, now, ends).await? {
                return Ok(reserved);
            }
        }
        Err(StoreError::internal("a failure counter kept changing"))
    }

    /// The names of the counter's attributes in expressions.
    fn names(&self) -> HashMap<String, String> {
        HashMap::from([
            ("#count".to_owned(), self.count.to_owned()),
            ("#ends".to_owned(), self.ends.to_owned()),
        ])
    }

    /// A session's counter only while the session is live.
    fn live(&self) -> &'static str {
        if self.own_item {
            ""
        } else {
            "attribute_exists(sid) AND expires_at > :now AND "
        }
    }

    /// Counts in the running window, or starts the first one: one request,
    /// whichever it is. `None` when the last window is over.
    async fn count(
        &self,
        client: &aws_sdk_dynamodb::Client,
        limit: Limit,
        now: u64,
        ends: u64,
    ) -> Result<Option<Reserved>, StoreError> {
        let ttl = if self.own_item {
            ", expires_at = if_not_exists(expires_at, :ends)"
        } else {
            ""
        };
        let result = client
            .update_item()
            .table_name(self.table)
            .set_key(Some(self.key.clone()))
            .update_expression(format!(
                "ADD #count :one SET #ends = if_not_exists(#ends, :ends){ttl}"
            ))
            .condition_expression(format!(
                "{}(attribute_not_exists(#ends) OR (#ends > :now AND #count < :max))",
                self.live()
            ))
            .set_expression_attribute_names(Some(self.names()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ends", n(ends))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(limit.max))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().ok_or(StoreError::Corrupt("failures"))?;
                let reservation = Reservation::Reserved {
                    count: number(item, self.count).unwrap_or(1),
                    window_ends: number(item, self.ends).unwrap_or(ends),
                };
                return Ok(Some(Reserved::Counted(reservation, item.clone())));
            }
            Conditional::Failed(old) => old,
        };
        if self.gone(old.as_ref(), now) {
            return Ok(Some(Reserved::Gone));
        }
        Ok(old.and_then(|old| {
            let ends = number(&old, self.ends).filter(|e| *e > now)?;
            let limited = Reservation::Limited {
                retry_after: ends - now,
            };
            Some(Reserved::Counted(limited, old))
        }))
    }

    /// Starts a new window with this attempt, if the last one is over.
    /// `None` when another attempt started it first.
    async fn restart(
        &self,
        client: &aws_sdk_dynamodb::Client,
        now: u64,
        ends: u64,
    ) -> Result<Option<Reserved>, StoreError> {
        let ttl = if self.own_item {
            ", expires_at = :ends"
        } else {
            ""
        };
        let result = client
            .update_item()
            .table_name(self.table)
            .set_key(Some(self.key.clone()))
            .update_expression(format!("SET #count = :one, #ends = :ends{ttl}"))
            .condition_expression(format!(
                "{}(attribute_not_exists(#ends) OR #ends <= :now)",
                self.live()
            ))
            .set_expression_attribute_names(Some(self.names()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ends", n(ends))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional(result)? {
            Conditional::Written(out) => {
                let item = out.attributes().cloned().unwrap_or_default();
                let reservation = Reservation::Reserved {
                    count: 1,
                    window_ends: ends,
                };
                Some(Reserved::Counted(reservation, item))
            }
            Conditional::Failed(old) if self.gone(old.as_ref(), now) => Some(Reserved::Gone),
            Conditional::Failed(_) => None,
        })
    }

    /// Gives one reservation back: only into the window it was taken from
    /// and never below zero (a success that straddled its window's end
    /// forgives nothing of the next one, so no sequence of successes buys
    /// extra guesses). A refused condition is no error.
    async fn refund(
        &self,
        client: &aws_sdk_dynamodb::Client,
        window_ends: u64,
    ) -> Result<(), StoreError> {
        let result = client
            .update_item()
            .table_name(self.table)
            .set_key(Some(self.key.clone()))
            .update_expression("ADD #count :minus")
            .condition_expression("#ends = :ends AND #count > :zero")
            .expression_attribute_names("#count", self.count)
            .expression_attribute_names("#ends", self.ends)
            .expression_attribute_values(":minus", AttributeValue::N("-1".to_owned()))
            .expression_attribute_values(":ends", n(window_ends))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        conditional(result).map(|_| ())
    }
}

impl Users {
    fn window(&self, key: String) -> Window<'_> {
        Window {
            table: &self.table,
            key: HashMap::from([("pk".to_owned(), s(key))]),
            count: "failures",
            ends: "window_ends",
            own_item: true,
        }
    }

    /// Counts one attempt on `counter` unless its limit is reached, before
    /// any password is checked, so parallel guesses cannot outrun it.
    pub async fn reserve(
        &self,
        counter: Counter<'_>,
        limit: Limit,
        now: u64,
    ) -> Result<Reservation, StoreError> {
        match self
            .window(counter.key())
            .reserve(&self.client, limit, now)
            .await?
        {
            Reserved::Counted(reservation, _) => Ok(reservation),
            Reserved::Gone => Err(StoreError::internal("a counter item cannot be gone")),
        }
    }

    /// Gives back the reservations of a login that succeeded, all at once,
    /// each only into the window it was taken from and never below zero.
    /// Best effort: the first error, if any, for the caller to log; a refund
    /// that fails leaves one failure too many counted.
    pub async fn refund(&self, refunds: &[Refund]) -> Result<(), StoreError> {
        let writes = refunds.iter().map(|r| async move {
            self.window(r.key.clone())
                .refund(&self.client, r.window_ends)
                .await
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
            Some(item) if number(item, "window_ends").is_some_and(|e| e > now) => {
                number(item, "failures").unwrap_or(0)
            }
            _ => 0,
        })
    }
}

/// A proof counted on a session: the session as it is, and the reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub session: Session,
    pub reservation: Reservation,
}

impl Sessions {
    fn window(&self, user_id: &str, sid: &str) -> Window<'_> {
        Window {
            table: &self.table,
            key: HashMap::from([
                ("user_id".to_owned(), s(user_id)),
                ("sid".to_owned(), s(sid)),
            ]),
            count: "proof_failures",
            ends: "proof_window_ends",
            own_item: false,
        }
    }

    /// Counts one proof (a password, a code) that session `sid` of
    /// `user_id` is about to check, unless `limit` is reached: one
    /// conditional `UpdateItem` on the session's item, which is also the
    /// check that the session is live (`None`: it ended or expired).
    pub async fn reserve_proof(
        &self,
        user_id: &str,
        sid: &str,
        limit: Limit,
        now: u64,
    ) -> Result<Option<Proof>, StoreError> {
        match self
            .window(user_id, sid)
            .reserve(&self.client, limit, now)
            .await?
        {
            Reserved::Gone => Ok(None),
            Reserved::Counted(reservation, item) => Ok(Some(Proof {
                session: Session::try_from(&item)?,
                reservation,
            })),
        }
    }

    /// Gives back a proof that succeeded (into its window only, never
    /// below zero): the counter counts failures.
    pub async fn refund_proof(
        &self,
        user_id: &str,
        sid: &str,
        window_ends: u64,
    ) -> Result<(), StoreError> {
        self.window(user_id, sid)
            .refund(&self.client, window_ends)
            .await
    }
}
