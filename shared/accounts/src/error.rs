//! Store errors: what the caller answers 409 for, what it answers 503 for
//! (DynamoDB unreachable or throttled after retries), and what is our bug.
//! Refusals of a refresh token are not errors: see [`crate::Refusal`]. And
//! the one reading of a conditional write's failure: [`conditional`].

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
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

    /// What the SDK reported, when this error is a failed DynamoDB request
    /// (not a conflict or a refusal of the store's own).
    pub fn sdk_failure(&self) -> Option<&SdkFailure> {
        match self {
            StoreError::Unavailable(e) | StoreError::Internal(e) => e.downcast_ref(),
            _ => None,
        }
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
/// DynamoDB's own 5xx) or internal (the request itself was refused), with
/// an [`SdkFailure`] as the cause: DynamoDB's code and message, never the
/// raw HTTP response.
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let internal = match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            !TRANSIENT_CODES.contains(&code)
        }
        SdkError::ConstructionFailure(_) => true,
        _ => false,
    };
    let failure = SdkFailure::of(&e).into();
    if internal {
        StoreError::Internal(failure)
    } else {
        StoreError::Unavailable(failure)
    }
}

/// Where an SDK request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// It was never sent: it could not be built, signed (no usable
    /// credentials) or addressed (no endpoint).
    NotSent,
    /// DynamoDB could not be reached: a connection or DNS failure.
    Unreachable,
    /// An attempt or the whole operation timed out.
    Timeout,
    /// An answer came that could not be read.
    Response,
    /// DynamoDB answered with an error: see [`SdkFailure::code`].
    Service,
}

/// Why an SDK request failed, kept as the source of
/// [`StoreError::Unavailable`] and [`StoreError::Internal`]: the stage it
/// failed at, DynamoDB's error code, and the SDK's summary (its error chain
/// as text). Never the raw HTTP response: a body returned on a failed
/// condition may carry an item (a password hash). The operator CLI reads it
/// to say what to do (a missing table, missing credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkFailure {
    stage: Stage,
    code: Option<String>,
    summary: String,
}

impl SdkFailure {
    fn of<E, R>(e: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        let (stage, code) = match e {
            SdkError::ServiceError(se) => (Stage::Service, se.err().code().map(str::to_owned)),
            SdkError::ConstructionFailure(_) => (Stage::NotSent, None),
            // Signing (credentials) and endpoint resolution fail here too,
            // as connector errors of neither kind.
            SdkError::DispatchFailure(d) if d.is_timeout() => (Stage::Timeout, None),
            SdkError::DispatchFailure(d) if d.is_io() => (Stage::Unreachable, None),
            SdkError::DispatchFailure(_) => (Stage::NotSent, None),
            SdkError::TimeoutError(_) => (Stage::Timeout, None),
            _ => (Stage::Response, None),
        };
        Self {
            stage,
            code,
            summary: chain(e),
        }
    }

    /// Where the request failed.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// DynamoDB's error code (`ResourceNotFoundException`,
    /// `AccessDeniedException`, ...), when it answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether DynamoDB answered "try again later" (throttling, its own
    /// 5xx, a transaction conflict) after the SDK's retries.
    pub fn is_busy(&self) -> bool {
        self.stage == Stage::Service && self.code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
    }
}

/// An error and its sources, each by its `Display`: what the SDK's
/// `DisplayErrorContext` prints, without the `Debug` form it appends, which
/// holds the raw HTTP response, body included.
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl Error for SdkFailure {}

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
/// writing the same items, or because of throttling, is transient:
/// [`StoreError::Unavailable`].
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
                // Another transaction on the same items, or throttling: not
                // a refusal of this one, so retry later.
                if let Some(r) = reasons.iter().find(|r| {
                    matches!(
                        r.code.as_str(),
                        "TransactionConflict"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded"
                            | "RequestLimitExceeded"
                    )
                }) {
                    return Err(StoreError::Unavailable(
                        format!("transaction cancelled ({}); retry", r.code).into(),
                    ));
                }
                Ok(Transacted::Cancelled(reasons))
            }
            _ => Err(sdk_error(SdkError::ServiceError(se))),
        },
        Err(e) => Err(sdk_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;

    use super::*;

    fn service(e: PutItemError) -> StoreError {
        sdk_error(SdkError::<PutItemError, ()>::service_error(e, ()))
    }

    fn cancelled(codes: &[&str]) -> Result<Transacted<()>, StoreError> {
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let reasons = codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect();
        let e = TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(reasons))
                .build(),
        );
        transacted::<(), ()>(Err(SdkError::service_error(e, ())))
    }

    #[test]
    fn a_transaction_cancelled_by_a_conflict_or_throttling_is_unavailable() {
        for code in [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ] {
            let r = cancelled(&["None", code]);
            assert!(
                matches!(r, Err(StoreError::Unavailable(_))),
                "{code}: {r:?}"
            );
        }
        let refused = cancelled(&["None", "ConditionalCheckFailed"]);
        let Ok(Transacted::Cancelled(why)) = refused else {
            panic!("a failed condition is the caller's to read: {refused:?}");
        };
        assert!(why[1].failed_condition() && !why[0].failed_condition());
    }

    #[test]
    fn a_missing_table_is_internal_and_keeps_its_code() {
        let e = service(PutItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Requested resource not found")
                // As the SDK's deserializer sets it from the answer.
                .meta(
                    aws_sdk_dynamodb::error::ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("Requested resource not found")
                        .build(),
                )
                .build(),
        ));
        assert!(matches!(e, StoreError::Internal(_)), "{e:?}");
        let failure = e.sdk_failure().unwrap();
        assert_eq!(failure.stage(), Stage::Service);
        assert_eq!(failure.code(), Some("ResourceNotFoundException"));
        assert!(failure.to_string().contains("Requested resource not found"));
    }

    #[test]
    fn the_summary_never_holds_the_raw_response() {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
        let body = r#"{"__type":"ConditionalCheckFailedException","Item":{"password_hash":{"S":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}}}"#;
        let raw = HttpResponse::new(400u16.try_into().unwrap(), body.into());
        let err = PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        );
        let e = sdk_error(SdkError::service_error(err, raw));
        let summary = e.sdk_failure().unwrap().to_string();
        assert!(
            summary.contains("The conditional request failed"),
            "{summary}"
        );
        assert!(!summary.contains("argon2"), "{summary}");
        assert!(!summary.contains("password_hash"), "{summary}");
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(!cause.contains("argon2"), "{cause}");
    }

    #[test]
    fn a_request_that_could_not_be_built_or_sent_says_where_it_failed() {
        let built = sdk_error(SdkError::<PutItemError, ()>::construction_failure(
            "no credentials",
        ));
        assert!(matches!(built, StoreError::Internal(_)));
        assert_eq!(built.sdk_failure().unwrap().stage(), Stage::NotSent);
        assert_eq!(built.sdk_failure().unwrap().code(), None);
        let sent = sdk_error(SdkError::<PutItemError, ()>::timeout_error("slow"));
        assert!(sent.is_unavailable());
        assert_eq!(sent.sdk_failure().unwrap().stage(), Stage::Timeout);
    }

    #[test]
    fn a_dispatch_failure_is_unreachable_only_when_the_connection_failed() {
        use aws_sdk_dynamodb::error::ConnectorError;
        let dispatch =
            |c: ConnectorError| sdk_error(SdkError::<PutItemError, ()>::dispatch_failure(c));
        let refused = dispatch(ConnectorError::io("connection refused".into()));
        assert!(refused.is_unavailable());
        assert_eq!(refused.sdk_failure().unwrap().stage(), Stage::Unreachable);
        // What signing without credentials fails as: still a 503 for the
        // functions, as before, but not "unreachable".
        let unsigned = dispatch(ConnectorError::other("no credentials".into(), None));
        assert!(unsigned.is_unavailable());
        assert_eq!(unsigned.sdk_failure().unwrap().stage(), Stage::NotSent);
    }

    #[test]
    fn errors_of_the_store_itself_carry_no_sdk_failure() {
        assert!(StoreError::Conflict.sdk_failure().is_none());
        assert!(StoreError::internal("cancelled").sdk_failure().is_none());
    }
}
