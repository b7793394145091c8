//! Store errors: what the caller answers 409 for, what it answers 503 for
//! (DynamoDB unreachable or throttled after retries), and what is our bug.
//! Refusals of a refresh token are not errors: see [`crate::Refusal`]. And
//! the one reading of a conditional write's failure: [`conditional`].

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

use crate::item::Item;

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Registration of a username that exists, compared case-insensitively.
    #[error("username is taken")]
    UsernameTaken,
    /// The account was locked while this login checked its password: the
    /// session is not started. Answer 429.
    #[error("account is locked")]
    AccountLocked { retry_after: u64 },
    /// The account is disabled (or was, while this login checked its
    /// password). Answer 403 `account_disabled`, after the right password.
    #[error("account is disabled")]
    AccountDisabled,
    /// The user was deleted while this operation ran. Answer as for an
    /// unknown user.
    #[error("user is gone")]
    UserGone,
    /// The user changed while this operation ran (roles, password, a
    /// logout of every session): the operation was not applied, so that no
    /// session escapes the change. Retrying is right: answer 503 with
    /// `Retry-After`.
    #[error("the user changed meanwhile")]
    Conflict,
    /// DynamoDB could not be reached, timed out, or throttled us past the
    /// retry policy. Answer 503; retrying later is reasonable.
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored item does not have the shape this code writes.
    #[error("stored item is invalid: {0}")]
    Corrupt(&'static str),
    /// DynamoDB refused the request itself (missing table, bad expression):
    /// a deployment or code fault. Answer 500.
    #[error("DynamoDB rejected the request")]
    Internal(#[source] BoxError),
}

impl StoreError {
    pub(crate) fn internal(e: impl Into<BoxError>) -> Self {
        StoreError::Internal(e.into())
    }

    /// True for the errors a caller answers with 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Service error codes that mean "try again later", not "you are wrong".
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Sorts an SDK error into unavailable (transport, timeout, throttling,
/// DynamoDB's own 5xx) or internal (the request itself was refused).
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    // Keep DynamoDB's code and message, never the raw HTTP response: a body
    // returned on a failed condition may carry an item (a password hash).
    let summary: BoxError = DisplayErrorContext(&e).to_string().into();
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(summary)
            } else {
                StoreError::Internal(summary)
            }
        }
        SdkError::ConstructionFailure(_) => StoreError::Internal(summary),
        _ => StoreError::Unavailable(summary),
    }
}

/// What a conditional write came to, when its failure is an expected answer
/// rather than an error.
#[derive(Debug)]
pub(crate) enum Conditional<T> {
    /// The condition held and the write was made.
    Written(T),
    /// The condition failed; the item as it was, when the request asked for
    /// it (`ReturnValuesOnConditionCheckFailure::AllOld`) and there was one.
    Failed(Option<Item>),
}

/// What a transaction came to, when its cancellation is an expected answer.
#[derive(Debug)]
pub(crate) enum Transacted<T> {
    Written(T),
    /// Cancelled; why, item by item, in request order.
    Cancelled(Vec<Cancellation>),
}

/// The errors of the single-item writes, which all have a
/// `ConditionalCheckFailedException` variant.
pub(crate) trait ConditionCheck {
    fn condition_failed(&self) -> Option<&ConditionalCheckFailedException>;
}

impl ConditionCheck for PutItemError {
    fn condition_failed(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            PutItemError::ConditionalCheckFailedException(c) => Some(c),
            _ => None,
        }
    }
}

impl ConditionCheck for UpdateItemError {
    fn condition_failed(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            UpdateItemError::ConditionalCheckFailedException(c) => Some(c),
            _ => None,
        }
    }
}

impl ConditionCheck for DeleteItemError {
    fn condition_failed(&self) -> Option<&ConditionalCheckFailedException> {
        match self {
            DeleteItemError::ConditionalCheckFailedException(c) => Some(c),
            _ => None,
        }
    }
}

/// Splits a conditional write's result into written, condition failed (with
/// the old item), or a [`StoreError`] for every other failure.
pub(crate) fn conditional<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Conditional<T>, StoreError>
where
    E: ConditionCheck + ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Conditional::Written(out)),
        Err(SdkError::ServiceError(se)) if se.err().condition_failed().is_some() => Ok(
            Conditional::Failed(se.err().condition_failed().and_then(|c| c.item().cloned())),
        ),
        Err(e) => Err(sdk_error(e)),
    }
}

/// Why one item of a cancelled transaction failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cancellation {
    /// DynamoDB's code: `ConditionalCheckFailed`, `None` (this item was
    /// fine), ...
    pub code: String,
    /// The item as it was, when the request asked for it.
    pub item: Option<Item>,
}

impl Cancellation {
    pub(crate) fn failed_condition(&self) -> bool {
        self.code == "ConditionalCheckFailed"
    }
}

/// Splits a transaction's result into written, cancelled (why, per item),
/// or a [`StoreError`]. A cancellation because another transaction was
/// writing the same items is transient: [`StoreError::Unavailable`].
pub(crate) fn transacted<T, R>(
    result: Result<T, SdkError<TransactWriteItemsError, R>>,
) -> Result<Transacted<T>, StoreError>
where
    R: Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Transacted::Written(out)),
        Err(SdkError::ServiceError(se)) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                let reasons: Vec<Cancellation> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| Cancellation {
                        code: r.code().unwrap_or("None").to_owned(),
                        item: r.item().cloned(),
                    })
                    .collect();
                if reasons.iter().any(|r| r.code == "TransactionConflict") {
                    return Err(StoreError::Unavailable(
                        "a concurrent write to the same items; retry".into(),
                    ));
                }
                Ok(Transacted::Cancelled(reasons))
            }
            _ => Err(sdk_error(SdkError::ServiceError(se))),
        },
        Err(e) => Err(sdk_error(e)),
    }
}
