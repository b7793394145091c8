//! Why a command did not do its job, said so that the operator knows what
//! to do next, with the exit code that goes with it.
//!
//! A store error is told by what the SDK reported ([`SdkFailure`]): its
//! stage and DynamoDB's error code, and the SDK's summary as the cause.
//! Never an SDK error's `Debug` form, which may hold a request or response
//! (an item, so a password hash).

use std::fmt;

use accounts::StoreError;
use accounts::error::{SdkFailure, Stage};

use crate::{Context, Exit};

/// The credentials are not valid, or have expired.
const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];

/// What to do about credentials.
const CREDENTIALS_HELP: &str = "configure AWS credentials (aws configure, aws sso login, or \
     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or set AWS_PROFILE";

/// The IAM actions authctl needs on both tables, for an access-denied
/// message. A transaction needs the actions of its parts (PutItem,
/// UpdateItem, DeleteItem); DescribeTable only tells which table is missing.
pub const IAM_ACTIONS: &str = "dynamodb:GetItem, dynamodb:Query, dynamodb:PutItem, \
     dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:BatchWriteItem and \
     dynamodb:DescribeTable";

/// A command's failure: what went wrong and what to do, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    exit: Exit,
    message: String,
    /// The SDK's own words, on a line of their own.
    cause: Option<String>,
}

impl Failure {
    /// Bad arguments or configuration (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// No such user or session (exit 3).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    /// Refused, or DynamoDB failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            cause: None,
        }
    }

    fn because(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// The exit code that goes with it.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// Prints it to standard error and returns its exit code.
    pub(crate) fn report(&self, stderr: &mut dyn std::io::Write) -> Exit {
        // Nothing more can be done when standard error is gone.
        let _ = writeln!(stderr, "error: {self}");
        if let Some(cause) = &self.cause {
            let _ = writeln!(stderr, "  cause: {cause}");
        }
        self.exit
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a store error means to the operator. Expected outcomes (a taken
/// username, an unknown user) are told by the commands themselves; this is
/// for the rest.
pub(crate) async fn store(e: StoreError, ctx: &Context) -> Failure {
    if let Some(sdk) = e.sdk_failure() {
        return from_sdk(sdk, ctx).await;
    }
    match &e {
        StoreError::UserGone => Failure::not_found("the user was deleted while this ran"),
        StoreError::Conflict => Failure::failed(
            "the user changed while this ran, so nothing was changed: run the command again",
        ),
        StoreError::Corrupt(_) => Failure::failed(format!(
            "{e}: are --users-table and --sessions-table this service's tables, and not swapped?"
        )),
        StoreError::Unavailable(cause) => {
            Failure::failed(format!("{e}: run the command again")).because(cause)
        }
        StoreError::Internal(cause) => Failure::failed(e.to_string()).because(cause),
        // Not an answer to any operation authctl makes, but said plainly.
        StoreError::UsernameTaken
        | StoreError::AccountDisabled
        | StoreError::AccountLocked { .. } => Failure::failed(e.to_string()),
    }
}

async fn from_sdk(sdk: &SdkFailure, ctx: &Context) -> Failure {
    let place = ctx.place();
    match (sdk.stage(), sdk.code()) {
        (Stage::Service, Some("ResourceNotFoundException")) => {
            let tables = ctx.missing_tables().await;
            let (noun, names) = match tables.as_slice() {
                [one] => ("table", (*one).to_owned()),
                more => ("tables", more.join(" and ")),
            };
            // Says all there is: the SDK's summary adds nothing.
            Failure::failed(format!(
                "{noun} {names} not found {place}: pass --users-table/--sessions-table \
                 or set USERS_TABLE/SESSIONS_TABLE"
            ))
        }
        (Stage::Service, Some(code)) if CREDENTIAL_CODES.contains(&code) => Failure::failed(
            format!("AWS refused the credentials ({code}): {CREDENTIALS_HELP}"),
        )
        .because(sdk),
        (Stage::Service, Some("AccessDeniedException")) => Failure::failed(format!(
            "access denied {place}: the credentials need {IAM_ACTIONS} on both tables"
        ))
        .because(sdk),
        (Stage::Service, Some(code)) if sdk.is_busy() => Failure::failed(format!(
            "DynamoDB is busy or throttling ({code}): run the command again shortly"
        )),
        (Stage::NotSent, _) => Failure::failed(format!(
            "the request to DynamoDB could not be made: {CREDENTIALS_HELP}; \
             check --region/AWS_REGION and AWS_ENDPOINT_URL_DYNAMODB"
        ))
        .because(sdk),
        (Stage::Unreachable | Stage::Timeout, _) => Failure::failed(format!(
            "cannot reach DynamoDB {place}: check the network, --region/AWS_REGION and \
             AWS_ENDPOINT_URL_DYNAMODB, then run the command again"
        ))
        .because(sdk),
        (Stage::Response, _) => Failure::failed(format!(
            "DynamoDB's answer could not be read {place}: run the command again"
        ))
        .because(sdk),
        (Stage::Service, Some("ValidationException")) => Failure::failed(format!(
            "DynamoDB refused the request {place}: are --users-table and --sessions-table \
             this service's tables, and not swapped?"
        ))
        .because(sdk),
        (Stage::Service, _) => {
            Failure::failed(format!("DynamoDB refused the request {place}")).because(sdk)
        }
    }
}
