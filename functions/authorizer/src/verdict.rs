//! What the authorizer answers API Gateway, in each event shape's own form.

use std::fmt;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use serde::Serialize;
use token::AccessClaims;

/// The error answered to a REST authorizer call that must become a 401: API
/// Gateway looks for exactly the message `Unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl Unauthorized {
    /// The message API Gateway maps to 401.
    pub const MESSAGE: &'static str = "Unauthorized";
}

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

impl std::error::Error for Unauthorized {}

impl From<Unauthorized> for lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        lambda_runtime::Diagnostic {
            error_type: Unauthorized::MESSAGE.to_owned(),
            error_message: Unauthorized::MESSAGE.to_owned(),
        }
    }
}

/// A decision other than `Unauthorized`, serialised as API Gateway expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Verdict {
    /// HTTP API simple response: allowed with context, or refused without.
    #[serde(rename_all = "camelCase")]
    Simple {
        is_authorized: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<Context>,
    },
    /// REST: an IAM policy for the principal.
    #[serde(rename_all = "camelCase")]
    Policy {
        principal_id: String,
        policy_document: ApiGatewayCustomAuthorizerPolicy,
        context: Context,
    },
}

impl Verdict {
    /// The HTTP API answer: allowed with these claims, or refused.
    pub(crate) fn simple(allowed: Option<AccessClaims>) -> Self {
        Verdict::Simple {
            is_authorized: allowed.is_some(),
            context: allowed.map(Context::of),
        }
    }
}

/// The context handed to the protected Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    pub sub: String,
    /// Joined with commas (the token crate refuses roles containing one).
    pub roles: String,
    pub jti: String,
    /// The session the token was issued for.
    pub sid: String,
}

impl Context {
    pub(crate) fn of(claims: AccessClaims) -> Self {
        Context {
            roles: claims.roles.join(","),
            sub: claims.sub,
            jti: claims.jti,
            sid: claims.sid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_reaches_the_runtime_as_exactly_unauthorized() {
        let d = lambda_runtime::Diagnostic::from(Unauthorized);
        assert_eq!(d.error_message, "Unauthorized");
        assert_eq!(d.error_type, "Unauthorized");
        assert_eq!(Unauthorized.to_string(), "Unauthorized");
    }

    #[test]
    fn a_refusal_carries_no_context() {
        let json = serde_json::to_string(&Verdict::simple(None)).unwrap();
        assert_eq!(json, r#"{"isAuthorized":false}"#);
    }
}
