//! The API Gateway Lambda authorizer: verifies the access token and answers
//! in the shape the caller expects. No database, no AWS SDK, no network.
//!
//! One [`Authorizer`] is built at cold start; [`Authorizer::handle`] is a pure
//! function of the event and the clock, so tests drive it with real event
//! JSON. It denies by default: only a fully verified access token whose roles
//! satisfy every matching `AUTHZ_RULES` rule is allowed, and nothing on the
//! request path panics.
//!
//! | event | recognised by | allow | invalid or missing token | valid token, role missing |
//! |---|---|---|---|---|
//! | HTTP API payload 2.0 | `"version": "2.0"` | `{"isAuthorized": true, "context"}` | `{"isAuthorized": false}` | `{"isAuthorized": false}` |
//! | REST `TOKEN` | `"type": "TOKEN"` | IAM policy (see [`policy`]) | error `Unauthorized` (401) | policy with an explicit Deny (403) |
//! | REST `REQUEST` (and HTTP API payload 1.0) | `"type": "REQUEST"` | IAM policy | error `Unauthorized` (401) | policy with an explicit Deny (403) |
//! | anything else | | | error `Unauthorized` | |
//!
//! The context handed to the protected Lambda is `sub`, `roles` (joined with
//! commas; the token crate refuses roles containing one) and `jti`.
//!
//! Where the token is read: HTTP API from `identitySource[0]` (what API Gateway
//! extracted and keys its cache on), else the `authorization` header; REST
//! `TOKEN` from `authorizationToken`; REST `REQUEST` from the `Authorization`
//! header in any case of its name. Two `Authorization` values are refused.
//! The `Bearer` parsing rules are in [`bearer`].
//!
//! Caching: a REST policy is built to be right for every route (see
//! [`policy`]). HTTP API simple responses carry no route, so with
//! `AUTHZ_RULES` and caching enabled add `$context.routeKey` to the
//! authorizer's identity sources (after the `Authorization` header) or keep
//! the cache TTL at 0.

pub mod bearer;
mod event;
pub mod policy;
pub mod rules;

use std::fmt;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use token::config::Source;
use token::{AccessClaims, AccessConfig, AccessTokens, TokenError};

use crate::bearer::CredentialProblem;
use crate::event::{Authorization, Event, IdentitySource};
use crate::policy::MethodArn;
use crate::rules::{Route, RuleError, Rules};

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

/// Why the authorizer refused to start. Every message names the variable and
/// never prints a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A token variable (`JWT_ACCESS_SECRET`, `JWT_ISSUER`, ...) is wrong.
    #[error(transparent)]
    Token(#[from] token::ConfigError),
    /// `AUTHZ_RULES` does not parse.
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// Which of the three API Gateway authorizer events this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    HttpApi,
    RestToken,
    RestRequest,
}

impl Shape {
    fn from_fields(version: Option<&str>, kind: Option<&str>) -> Option<Self> {
        match (version, kind) {
            (Some("2.0"), _) => Some(Shape::HttpApi),
            (_, Some("TOKEN")) => Some(Shape::RestToken),
            (_, Some("REQUEST")) => Some(Shape::RestRequest),
            _ => None,
        }
    }

    /// The shape of an event that did not parse, read from its JSON value.
    fn of(event: &Value) -> Option<Self> {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        Self::from_fields(field("version"), field("type"))
    }

    fn name(self) -> &'static str {
        match self {
            Shape::HttpApi => "http_api",
            Shape::RestToken => "rest_token",
            Shape::RestRequest => "rest_request",
        }
    }
}

/// Why a request was denied before any route rule was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    UnknownShape,
    BadEvent,
    BadMethodArn,
    Credential(CredentialProblem),
    Token(TokenError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownShape => f.write_str("unknown_event_shape"),
            Refusal::BadEvent => f.write_str("malformed_event"),
            Refusal::BadMethodArn => f.write_str("malformed_method_arn"),
            Refusal::Credential(p) => p.fmt(f),
            Refusal::Token(e) => f.write_str(token_error_kind(e)),
        }
    }
}

/// A stable, secret-free name for each token error, for logs.
fn token_error_kind(e: &TokenError) -> &'static str {
    match e {
        TokenError::TooLarge { .. } => "too_large",
        TokenError::Malformed => "malformed",
        TokenError::WrongAlgorithm => "wrong_algorithm",
        TokenError::UnknownKey => "unknown_key",
        TokenError::BadSignature => "bad_signature",
        TokenError::WrongTokenUse { .. } => "wrong_token_use",
        TokenError::Expired => "expired",
        TokenError::NotYetValid => "not_yet_valid",
        TokenError::InvalidClaim { claim: "iss" } => "invalid_iss",
        TokenError::InvalidClaim { claim: "aud" } => "invalid_aud",
        TokenError::InvalidClaim { claim: "exp" } => "invalid_exp",
        TokenError::InvalidClaim { claim: "sub" } => "invalid_sub",
        TokenError::InvalidClaim { claim: "jti" } => "invalid_jti",
        TokenError::InvalidClaim { claim: "roles" } => "invalid_roles",
        TokenError::InvalidClaim { .. } => "invalid_claim",
        TokenError::Signing => "signing",
        TokenError::Config(_) => "config",
    }
}

/// The authorizer: access-token verifier and route rules, built once.
pub struct Authorizer {
    tokens: AccessTokens,
    rules: Rules,
}

impl Authorizer {
    /// From a parsed configuration. The authorizer holds only the access
    /// secrets (current and previous), never the refresh secret.
    pub fn new(config: &AccessConfig, rules: Rules) -> Self {
        Self {
            tokens: AccessTokens::new(config),
            rules,
        }
    }

    /// Reads `JWT_ACCESS_SECRET` (+ `_PREVIOUS`), `JWT_ISSUER`,
    /// `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL`, `JWT_LEEWAY` and `AUTHZ_RULES` from
    /// the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&token::config::Env)
    }

    /// As [`Authorizer::from_env`], from any [`Source`] (a map in tests).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let config = AccessConfig::from_source(src)?;
        let rules = Rules::from_source(src)?;
        Ok(Self::new(&config, rules))
    }

    /// The route rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Decides one authorizer event at `now` (epoch seconds) and answers in
    /// the event's own shape: see the table in the crate documentation.
    /// `Err(Unauthorized)` is the 401 answer of REST authorizers and of
    /// events of no known shape.
    pub fn handle(&self, event: Value, now: u64) -> Result<Value, Unauthorized> {
        let parsed = Event::deserialize(&event).map_err(|_| Shape::of(&event));
        let answer = self.decide(parsed, now)?;
        // Serialising these types cannot fail; if it ever did, deny.
        serde_json::to_value(answer).map_err(|_| Unauthorized)
    }

    /// As [`Authorizer::handle`], from the event's JSON text as the runtime
    /// receives it: parsed once into only what the authorizer reads. The
    /// answer serialises to the JSON API Gateway expects.
    pub fn answer(&self, event: &[u8], now: u64) -> Result<Answer, Unauthorized> {
        // UTF-8 is checked once for the whole event, not string by string.
        let Ok(text) = std::str::from_utf8(event) else {
            tracing::info!(decision = "deny", reason = %Refusal::UnknownShape, "authorizer decision");
            return Err(Unauthorized);
        };
        let parsed = serde_json::from_str::<Event<'_>>(text).map_err(|_| {
            // Only a broken event pays for a second, generic parse: to deny
            // it in its own shape.
            serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| Shape::of(&v))
        });
        self.decide(parsed, now)
    }

    fn decide(
        &self,
        event: Result<Event<'_>, Option<Shape>>,
        now: u64,
    ) -> Result<Answer, Unauthorized> {
        let shape = match &event {
            Ok(e) => Shape::from_fields(e.version.as_deref(), e.kind.as_deref()),
            Err(shape) => *shape,
        };
        let Some(shape) = shape else {
            tracing::info!(decision = "deny", reason = %Refusal::UnknownShape, "authorizer decision");
            return Err(Unauthorized);
        };
        let Ok(event) = event else {
            log_refusal(shape, &Refusal::BadEvent);
            return match shape {
                Shape::HttpApi => Ok(Answer::simple(None)),
                Shape::RestToken | Shape::RestRequest => Err(Unauthorized),
            };
        };
        match shape {
            Shape::HttpApi => Ok(self.http_api(&event, now)),
            Shape::RestToken => self.rest_token(&event, now),
            Shape::RestRequest => self.rest_request(&event, now),
        }
    }

    fn http_api(&self, event: &Event<'_>, now: u64) -> Answer {
        let shape = Shape::HttpApi;
        let http = event.request_context.as_ref().and_then(|c| c.http.as_ref());
        let (Some(method), false) = (
            http.and_then(|h| h.method.as_deref()),
            matches!(event.identity_source, Some(IdentitySource::Joined)),
        ) else {
            log_refusal(shape, &Refusal::BadEvent);
            return Answer::simple(None);
        };
        let credential = match &event.identity_source {
            Some(IdentitySource::Values(values)) if !values.is_empty() => Ok(&*values[0]),
            _ => single_header(event.headers.as_ref(), None),
        };
        let claims = match self.authenticate(credential, now) {
            Ok(claims) => claims,
            Err(refusal) => {
                log_refusal(shape, &refusal);
                return Answer::simple(None);
            }
        };

        if self.rules.is_empty() {
            log_allow(shape, &claims);
            return Answer::simple(Some(claims));
        }
        let arn = event.route_arn.as_deref().and_then(MethodArn::parse);
        let mut routes = Vec::with_capacity(4);
        routes.extend(event.raw_path.as_deref().map(|path| Route { method, path }));
        routes.extend(
            http.and_then(|h| h.path.as_deref())
                .map(|path| Route { method, path }),
        );
        routes.extend(arn.as_ref().map(|a| Route {
            method: a.method,
            path: a.path,
        }));
        routes.extend(route_key(event.route_key.as_deref(), method));

        match self.rules.missing_role(&routes, &claims.roles) {
            Some(role) => {
                log_forbidden(shape, &claims, role);
                Answer::simple(None)
            }
            None => {
                log_allow(shape, &claims);
                Answer::simple(Some(claims))
            }
        }
    }

    fn rest_token(&self, event: &Event<'_>, now: u64) -> Result<Answer, Unauthorized> {
        let shape = Shape::RestToken;
        let credential = match event.authorization_token.as_deref() {
            Some(token) => bearer::check_size(token.as_bytes()).map(|()| token),
            None => Err(CredentialProblem::Missing),
        };
        let claims = self
            .authenticate(credential, now)
            .map_err(|r| refuse(shape, &r))?;
        let arn = event
            .method_arn
            .as_deref()
            .and_then(MethodArn::parse)
            .ok_or_else(|| refuse(shape, &Refusal::BadMethodArn))?;
        let routes = [Route {
            method: arn.method,
            path: arn.path,
        }];
        Ok(self.rest_answer(shape, claims, &arn, &routes))
    }

    fn rest_request(&self, event: &Event<'_>, now: u64) -> Result<Answer, Unauthorized> {
        let shape = Shape::RestRequest;
        let Some(ctx) = &event.request_context else {
            return Err(refuse(shape, &Refusal::BadEvent));
        };
        let credential = single_header(event.headers.as_ref(), event.multi_value_headers.as_ref());
        let claims = self
            .authenticate(credential, now)
            .map_err(|r| refuse(shape, &r))?;
        let arn = event
            .method_arn
            .as_deref()
            .and_then(MethodArn::parse)
            .ok_or_else(|| refuse(shape, &Refusal::BadMethodArn))?;

        let method = event.http_method.as_deref().unwrap_or(arn.method);
        let ctx_method = ctx.http_method.as_deref().unwrap_or(method);
        let mut routes = vec![Route {
            method: arn.method,
            path: arn.path,
        }];
        routes.extend(event.path.as_deref().map(|path| Route { method, path }));
        routes.extend(ctx.path.as_deref().map(|path| Route {
            method: ctx_method,
            path,
        }));
        routes.extend(ctx.resource_path.as_deref().map(|path| Route {
            method: ctx_method,
            path,
        }));
        Ok(self.rest_answer(shape, claims, &arn, &routes))
    }

    /// The IAM policy answer for a verified token: right for every route (see
    /// [`policy`]), with an explicit Deny on this one when a rule forbids it.
    fn rest_answer(
        &self,
        shape: Shape,
        claims: AccessClaims,
        arn: &MethodArn<'_>,
        routes: &[Route<'_>],
    ) -> Answer {
        let missing = self.rules.missing_role(routes, &claims.roles);
        match missing {
            Some(role) => log_forbidden(shape, &claims, role),
            None => log_allow(shape, &claims),
        }
        let denied = self.rules.denied_arn_patterns(&claims.roles);
        Answer::Policy {
            principal_id: claims.sub.clone(),
            policy_document: policy::policy(arn, &denied, missing.is_some()),
            context: Context::of(claims),
        }
    }

    /// Reads the bearer token from the credential and verifies it.
    fn authenticate(
        &self,
        credential: Result<&str, CredentialProblem>,
        now: u64,
    ) -> Result<AccessClaims, Refusal> {
        let token = credential
            .and_then(bearer::bearer_token)
            .map_err(Refusal::Credential)?;
        self.tokens.verify(token, now).map_err(Refusal::Token)
    }
}

/// The one `Authorization` value of `headers` (any case of the name), or
/// of `multi` when `headers` has none. Two or more values, or two keys that
/// spell the name, are ambiguous: which one would the backend read?
fn single_header<'h>(
    headers: Option<&'h Authorization<'_>>,
    multi: Option<&'h Authorization<'_>>,
) -> Result<&'h str, CredentialProblem> {
    let several =
        |h: Option<&Authorization<'_>>| h.is_some_and(|h| h.keys > 1 || h.values.len() > 1);
    if several(headers) || several(multi) {
        return Err(CredentialProblem::Ambiguous);
    }
    let value = [headers, multi]
        .into_iter()
        .flatten()
        .find_map(|h| h.values.first())
        .ok_or(CredentialProblem::Missing)?;
    bearer::check_size(value.as_bytes())?;
    Ok(value)
}

/// One invocation as the runtime sees it: the event's JSON in, the answer's
/// JSON out. Benches and fuzz targets call this.
pub fn invoke(authorizer: &Authorizer, event: &[u8], now: u64) -> Result<Vec<u8>, Unauthorized> {
    let answer = authorizer.answer(event, now)?;
    serde_json::to_vec(&answer).map_err(|_| Unauthorized)
}

/// `GET /pets/{id}` → that route; `ANY /x` → the request's method;
/// `$default` → nothing.
fn route_key<'a>(key: Option<&'a str>, method: &'a str) -> Option<Route<'a>> {
    let (m, path) = key?.split_once(' ')?;
    let method = if m.eq_ignore_ascii_case("ANY") {
        method
    } else {
        m
    };
    Some(Route { method, path })
}

/// An authorizer's answer, serialised as API Gateway expects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
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

impl Answer {
    fn simple(allowed: Option<AccessClaims>) -> Self {
        Answer::Simple {
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
}

impl Context {
    fn of(claims: AccessClaims) -> Self {
        Context {
            roles: claims.roles.join(","),
            sub: claims.sub,
            jti: claims.jti,
        }
    }
}

fn refuse(shape: Shape, refusal: &Refusal) -> Unauthorized {
    log_refusal(shape, refusal);
    Unauthorized
}

fn log_refusal(shape: Shape, refusal: &Refusal) {
    tracing::info!(
        event_shape = shape.name(),
        decision = "deny",
        reason = %refusal,
        "authorizer decision"
    );
}

fn log_forbidden(shape: Shape, claims: &AccessClaims, role: &str) {
    tracing::info!(
        event_shape = shape.name(),
        decision = "deny",
        reason = "missing_role",
        missing_role = role,
        sub = %claims.sub,
        jti = %claims.jti,
        "authorizer decision"
    );
}

fn log_allow(shape: Shape, claims: &AccessClaims) {
    tracing::info!(
        event_shape = shape.name(),
        decision = "allow",
        sub = %claims.sub,
        jti = %claims.jti,
        "authorizer decision"
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unauthorized_reaches_the_runtime_as_exactly_unauthorized() {
        let d = lambda_runtime::Diagnostic::from(Unauthorized);
        assert_eq!(d.error_message, "Unauthorized");
        assert_eq!(d.error_type, "Unauthorized");
        assert_eq!(Unauthorized.to_string(), "Unauthorized");
    }

    #[test]
    fn shapes_are_told_apart_by_version_then_type() {
        let of = |v: Value| Shape::of(&v);
        assert_eq!(
            of(json!({"version": "2.0", "type": "REQUEST"})),
            Some(Shape::HttpApi)
        );
        assert_eq!(of(json!({"version": "2.0"})), Some(Shape::HttpApi));
        assert_eq!(of(json!({"type": "TOKEN"})), Some(Shape::RestToken));
        assert_eq!(
            of(json!({"version": "1.0", "type": "REQUEST"})),
            Some(Shape::RestRequest)
        );
        for v in [
            json!({}),
            json!(null),
            json!([]),
            json!({"type": "token"}),
            json!({"version": 2.0}),
        ] {
            assert_eq!(Shape::of(&v), None, "{v}");
        }
    }

    #[test]
    fn route_keys() {
        assert_eq!(
            route_key(Some("GET /pets/{id}"), "POST"),
            Some(Route {
                method: "GET",
                path: "/pets/{id}"
            })
        );
        assert_eq!(
            route_key(Some("ANY /{proxy+}"), "POST"),
            Some(Route {
                method: "POST",
                path: "/{proxy+}"
            })
        );
        assert_eq!(route_key(Some("$default"), "GET"), None);
        assert_eq!(route_key(None, "GET"), None);
    }
}
