//! The one error type of the token crate.

/// Why a token was refused or could not be made. Callers map these to HTTP
/// answers without looking at strings: [`TokenError::is_client_error`] is a
/// 401 (the caller's token is bad), anything else is our fault (500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("token is malformed")]
    Malformed,
    #[error("token uses an algorithm other than HS256")]
    WrongAlgorithm,
    #[error("token names no key or a key we do not know")]
    UnknownKey,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token is not a {expected} token")]
    WrongTokenUse { expected: &'static str },
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token claim `{claim}` is not acceptable")]
    InvalidClaim { claim: &'static str },
    #[error("token could not be signed")]
    Signing,
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl TokenError {
    /// True when the presented token is at fault (answer 401), false when the
    /// service is (answer 500 and alert).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, TokenError::Signing | TokenError::Config(_))
    }
}
