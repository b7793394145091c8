//! The API Gateway Lambda authorizer: verifies the access token and answers
//! in the shape the caller expects. No database, no AWS SDK, no network.
//!
//! One [`Authorizer`] is built at cold start; [`Authorizer::invoke`], the one
//! entry point, is a pure function of the event's bytes and the clock: the
//! runtime, the tests, the benches and the fuzz targets all call it. It
//! denies by default: only a fully verified access token whose roles satisfy
//! every matching `AUTHZ_RULES` rule is allowed, and nothing on the request
//! path panics.
//!
//! | event | recognised by | allow | invalid or missing token | valid token, role missing |
//! |---|---|---|---|---|
//! | HTTP API payload 2.0 | `"version": "2.0"` | `{"isAuthorized": true, "context"}` | `{"isAuthorized": false}` | `{"isAuthorized": false}` |
//! | REST `TOKEN` | `"type": "TOKEN"` | IAM policy (see [`policy`]) | error `Unauthorized` (401) | policy with an explicit Deny (403) |
//! | REST `REQUEST` (and HTTP API payload 1.0) | `"type": "REQUEST"` | IAM policy | error `Unauthorized` (401) | policy with an explicit Deny (403) |
//! | anything else | | | error `Unauthorized` | |
//!
//! The context handed to the protected Lambda is `sub`, `roles` (joined with
//! commas; the token crate refuses roles containing one), `jti` and `sid`.
//!
//! Where the token is read: HTTP API from `identitySource[0]` (what API Gateway
//! extracted and keys its cache on), else the `authorization` header; REST
//! `TOKEN` from `authorizationToken`; REST `REQUEST` from the `Authorization`
//! header in any case of its name. Two `Authorization` values are refused.
//! The `Bearer` parsing rules are in `token::bearer`.
//!
//! Caching: with `AUTHZ_RULES` set a REST policy names exactly the request's
//! method ARN (see [`policy`]), so a cached answer serves that route only:
//! key a REQUEST authorizer's cache by route (`context.httpMethod`,
//! `context.resourcePath`) or keep a TOKEN authorizer's TTL at 0; without
//! rules it covers the stage. HTTP API simple responses carry no route, so with
//! `AUTHZ_RULES` and caching enabled add `$context.routeKey` to the
//! authorizer's identity sources (after the `Authorization` header) or keep
//! the cache TTL at 0.
//!
//! Modules: [`event`] parses the event, `token::bearer` reads the credential,
//! `dispatch` decides per shape, [`rules`] and [`policy`] apply the route
//! rules, [`verdict`] is the answer, `log` writes the decision's line.

mod dispatch;
mod event;
mod log;
pub mod policy;
pub mod rules;
pub mod verdict;

use config::{Env, Source};
use serde_json::value::RawValue;
use token::AccessVerifier;

use crate::dispatch::Shape;
use crate::event::Event;
use crate::rules::{RuleError, Rules};
pub use crate::verdict::{Context, Unauthorized, Verdict};

/// Why the authorizer refused to start: a variable of the shared
/// configuration ([`config::ConfigError`]) or its own `AUTHZ_RULES`. Every
/// message names the variable and never prints a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// A token variable (`JWT_ACCESS_SECRET`, `JWT_ISSUER`, ...) is wrong.
    #[error(transparent)]
    Token(#[from] config::ConfigError),
    /// `AUTHZ_RULES` does not parse.
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// The authorizer: the access-token verifier and the route rules, built once.
pub struct Authorizer {
    verifier: AccessVerifier,
    rules: Rules,
}

impl Authorizer {
    /// From a verifier and rules. The authorizer holds only the access
    /// verifier: never a refresh secret, never anything that signs.
    pub fn new(verifier: AccessVerifier, rules: Rules) -> Self {
        Self { verifier, rules }
    }

    /// Reads `JWT_ACCESS_SECRET` (+ `_PREVIOUS`), `JWT_ISSUER`,
    /// `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL`, `JWT_LEEWAY` and `AUTHZ_RULES` from
    /// the process environment.
    pub fn from_env() -> Result<Self, StartError> {
        Self::from_source(&Env)
    }

    /// As [`Authorizer::from_env`], from any [`Source`] (a map in tests).
    pub fn from_source(src: &impl Source) -> Result<Self, StartError> {
        Ok(Self::new(
            AccessVerifier::from_source(src)?,
            Rules::from_source(src)?,
        ))
    }

    /// The route rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// One invocation as the runtime sees it: the event's JSON in, the
    /// answer's JSON out, decided at `now` (epoch seconds). The event is
    /// parsed once, into only the fields the authorizer reads; a malformed
    /// event is denied in its own shape when that shape can be told.
    /// `Err(Unauthorized)` is the 401 answer of REST authorizers and of
    /// events of no known shape.
    pub fn invoke(&self, event: &[u8], now: u64) -> Result<Box<RawValue>, Unauthorized> {
        // UTF-8 is checked once for the whole event, not string by string.
        let Ok(text) = std::str::from_utf8(event) else {
            log::unknown_shape();
            return Err(Unauthorized);
        };
        let parsed = serde_json::from_str::<Event<'_>>(text).map_err(|_| {
            // Only a broken event pays for a second, generic parse: to deny
            // it in its own shape.
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| Shape::of(&v))
        });
        let verdict = self.decide(parsed, now)?;
        // Serialising these types cannot fail; if it ever did, deny.
        serde_json::value::to_raw_value(&verdict).map_err(|_| Unauthorized)
    }
}
