//! The one log line of every decision: allow or deny, why, and for whom
//! (`sub`, `jti`), never the token or any header value.

use std::fmt;

use logging::Audit;
use token::{AccessClaims, TokenError};

use crate::dispatch::Shape;
use token::bearer::CredentialProblem;

/// Why a request was denied before any route rule was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DenyReason {
    UnknownShape,
    BadEvent,
    BadMethodArn,
    Credential(CredentialProblem),
    Token(TokenError),
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenyReason::UnknownShape => "unknown_event_shape",
            DenyReason::BadEvent => "malformed_event",
            DenyReason::BadMethodArn => "malformed_method_arn",
            DenyReason::Credential(p) => p.kind(),
            DenyReason::Token(e) => e.kind(),
        })
    }
}

/// A deny before the event's shape is known.
pub(crate) fn unknown_shape() {
    tracing::info!(decision = Audit::AuthorizerDeny.name(), reason = %DenyReason::UnknownShape, "authorizer decision");
}

pub(crate) fn denied(shape: Shape, reason: &DenyReason) {
    tracing::info!(
        event_shape = shape.name(),
        decision = Audit::AuthorizerDeny.name(),
        reason = %reason,
        "authorizer decision"
    );
}

pub(crate) fn forbidden(shape: Shape, claims: &AccessClaims, role: &str) {
    tracing::info!(
        event_shape = shape.name(),
        decision = Audit::AuthorizerDeny.name(),
        reason = "missing_role",
        missing_role = role,
        sub = %claims.sub,
        jti = %claims.jti,
        "authorizer decision"
    );
}

pub(crate) fn allowed(shape: Shape, claims: &AccessClaims) {
    tracing::info!(
        event_shape = shape.name(),
        decision = "allow",
        sub = %claims.sub,
        jti = %claims.jti,
        "authorizer decision"
    );
}
