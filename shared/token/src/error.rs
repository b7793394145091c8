//! The one error type of the token crate.

use std::fmt;

/// A claim whose value was refused (well-formed, but not acceptable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Iss,
    Aud,
    Exp,
    Sub,
    Jti,
    Roles,
    Sid,
}

impl Claim {
    /// The claim's name in a token.
    pub fn name(self) -> &'static str {
        match self {
            Claim::Iss => "iss",
            Claim::Aud => "aud",
            Claim::Exp => "exp",
            Claim::Sub => "sub",
            Claim::Jti => "jti",
            Claim::Roles => "roles",
            Claim::Sid => "sid",
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a token was refused or could not be made. Callers map these to HTTP
/// answers without looking at strings: [`TokenError::is_client_error`] is a
/// 401 (the caller's token is bad), anything else is our fault (500), and
/// [`TokenError::kind`] names it for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("token is malformed")]
    Malformed,
    #[error("token uses an algorithm this service does not accept")]
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
    InvalidClaim { claim: Claim },
    #[error("token could not be signed")]
    Signing,
}

impl TokenError {
    /// True when the presented token is at fault (answer 401), false when the
    /// service is (answer 500 and alert).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, TokenError::Signing)
    }

    /// A stable, secret-free name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::TooLarge { .. } => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::WrongAlgorithm => "wrong_algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongTokenUse { .. } => "wrong_token_use",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::InvalidClaim { claim } => match claim {
                Claim::Iss => "invalid_iss",
                Claim::Aud => "invalid_aud",
                Claim::Exp => "invalid_exp",
                Claim::Sub => "invalid_sub",
                Claim::Jti => "invalid_jti",
                Claim::Roles => "invalid_roles",
                Claim::Sid => "invalid_sid",
            },
            TokenError::Signing => "signing",
        }
    }

    pub(crate) fn invalid(claim: Claim) -> Self {
        TokenError::InvalidClaim { claim }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signing_failures_are_server_errors() {
        assert!(TokenError::Expired.is_client_error());
        assert!(TokenError::Malformed.is_client_error());
        assert!(!TokenError::Signing.is_client_error());
    }

    #[test]
    fn kinds_are_stable_names_without_values() {
        assert_eq!(TokenError::Expired.kind(), "expired");
        assert_eq!(TokenError::invalid(Claim::Aud).kind(), "invalid_aud");
        assert_eq!(
            TokenError::WrongTokenUse { expected: "access" }.kind(),
            "wrong_token_use"
        );
        assert_eq!(TokenError::TooLarge { max: 8192 }.kind(), "too_large");
    }
}
