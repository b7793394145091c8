//! Every answer that is not a success, and the one place that turns it into
//! HTTP. Nothing here carries internals: the message is fixed text.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

use crate::response::json;

/// A failed request, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, wrong content type, missing or invalid fields.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Body over [`crate::body::MAX_BODY_BYTES`].
    #[error("request body is too large")]
    TooLarge,
    /// A new password the policy refuses; the reason never quotes it.
    #[error("{0}")]
    WeakPassword(String),
    #[error("username is already taken")]
    UsernameTaken,
    #[error("registration is disabled")]
    RegistrationDisabled,
    /// Unknown user or wrong password: the same answer for both.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The right password for a disabled account.
    #[error("this account is disabled")]
    AccountDisabled,
    /// Account locked; retry after this many seconds.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: u64 },
    /// A token (the refresh token, or a route's Bearer access token) is
    /// missing, malformed, expired, revoked or reused.
    #[error("the token is missing, invalid or expired")]
    InvalidToken,
    /// A step-up route without a proof in the body, and whose access token
    /// says the user last proved a factor too long ago.
    #[error("this needs a recent sign-in: prove your password again")]
    ReauthenticationRequired,
    /// No such route.
    #[error("no such route")]
    NotFound,
    /// A cookie-authenticated call from an origin not in `ALLOWED_ORIGINS`.
    #[error("origin is not allowed")]
    ForbiddenOrigin,
    /// The route does not answer this method; `allow` lists those it does.
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// DynamoDB unreachable or throttled past retries.
    #[error("service temporarily unavailable")]
    Unavailable,
    /// Our fault; details are logged, never sent.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            ApiError::WeakPassword(_) => (StatusCode::BAD_REQUEST, "weak_password"),
            ApiError::UsernameTaken => (StatusCode::CONFLICT, "username_taken"),
            ApiError::RegistrationDisabled => (StatusCode::FORBIDDEN, "registration_disabled"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::AccountDisabled => (StatusCode::FORBIDDEN, "account_disabled"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            ApiError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::ReauthenticationRequired => {
                (StatusCode::UNAUTHORIZED, "reauthentication_required")
            }
            ApiError::ForbiddenOrigin => (StatusCode::FORBIDDEN, "forbidden_origin"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    /// The HTTP answer: `{"error": code, "message": text}` plus the headers
    /// a client needs to act on it.
    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        let mut res = json(
            status,
            &serde_json::json!({"error": code, "message": self.to_string()}),
        );
        let headers = res.headers_mut();
        match self {
            ApiError::TooManyAttempts { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        res
    }
}
