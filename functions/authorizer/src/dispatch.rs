//! One decision per event shape: which token the event carries, which routes
//! it names, and the answer in that shape's own form (see the table in the
//! crate documentation).

use aws_lambda_events::iam::IamPolicyEffect;
use serde_json::Value;
use token::AccessClaims;

use crate::Authorizer;
use crate::event::{Authorization, Event, IdentitySource};
use crate::log::{self, DenyReason};
use crate::policy::{self, MethodArn};
use crate::rules::Route;
use crate::verdict::{Context, Unauthorized, Verdict};
use token::bearer::{self, CredentialProblem};

/// Which of the three API Gateway authorizer events this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
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
    pub(crate) fn of(event: &Value) -> Option<Self> {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        Self::from_fields(field("version"), field("type"))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::HttpApi => "http_api",
            Shape::RestToken => "rest_token",
            Shape::RestRequest => "rest_request",
        }
    }
}

fn refuse(shape: Shape, reason: &DenyReason) -> Unauthorized {
    log::denied(shape, reason);
    Unauthorized
}

impl Authorizer {
    /// Decides a parsed event (or, for one that did not parse, the shape
    /// read from it, if any).
    pub(crate) fn decide(
        &self,
        event: Result<Event<'_>, Option<Shape>>,
        now: u64,
    ) -> Result<Verdict, Unauthorized> {
        let shape = match &event {
            Ok(e) => Shape::from_fields(e.version.as_deref(), e.kind.as_deref()),
            Err(shape) => *shape,
        };
        let Some(shape) = shape else {
            log::unknown_shape();
            return Err(Unauthorized);
        };
        let Ok(event) = event else {
            log::denied(shape, &DenyReason::BadEvent);
            return match shape {
                Shape::HttpApi => Ok(Verdict::simple(None)),
                Shape::RestToken | Shape::RestRequest => Err(Unauthorized),
            };
        };
        match shape {
            Shape::HttpApi => Ok(self.http_api(&event, now)),
            Shape::RestToken => self.rest_token(&event, now),
            Shape::RestRequest => self.rest_request(&event, now),
        }
    }

    fn http_api(&self, event: &Event<'_>, now: u64) -> Verdict {
        let shape = Shape::HttpApi;
        let http = event.request_context.as_ref().and_then(|c| c.http.as_ref());
        let (Some(method), false) = (
            http.and_then(|h| h.method.as_deref()),
            matches!(event.identity_source, Some(IdentitySource::Joined)),
        ) else {
            log::denied(shape, &DenyReason::BadEvent);
            return Verdict::simple(None);
        };
        let credential = match &event.identity_source {
            Some(IdentitySource::Values(values)) if !values.is_empty() => Ok(&*values[0]),
            _ => single_header(event.headers.as_ref(), None),
        };
        let claims = match self.authenticate(credential, now) {
            Ok(claims) => claims,
            Err(reason) => {
                log::denied(shape, &reason);
                return Verdict::simple(None);
            }
        };

        if self.rules.is_empty() {
            log::allowed(shape, &claims);
            return Verdict::simple(Some(claims));
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
                log::forbidden(shape, &claims, role);
                Verdict::simple(None)
            }
            None => {
                log::allowed(shape, &claims);
                Verdict::simple(Some(claims))
            }
        }
    }

    fn rest_token(&self, event: &Event<'_>, now: u64) -> Result<Verdict, Unauthorized> {
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
            .ok_or_else(|| refuse(shape, &DenyReason::BadMethodArn))?;
        let routes = [Route {
            method: arn.method,
            path: arn.path,
        }];
        Ok(self.rest_answer(shape, claims, &arn, &routes))
    }

    fn rest_request(&self, event: &Event<'_>, now: u64) -> Result<Verdict, Unauthorized> {
        let shape = Shape::RestRequest;
        let Some(ctx) = &event.request_context else {
            return Err(refuse(shape, &DenyReason::BadEvent));
        };
        let credential = single_header(event.headers.as_ref(), event.multi_value_headers.as_ref());
        let claims = self
            .authenticate(credential, now)
            .map_err(|r| refuse(shape, &r))?;
        let arn = event
            .method_arn
            .as_deref()
            .and_then(MethodArn::parse)
            .ok_or_else(|| refuse(shape, &DenyReason::BadMethodArn))?;

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

    /// The IAM policy answer for a verified token (see [`policy`]): without
    /// rules, the whole stage; with rules, Allow or Deny on exactly this
    /// request's method ARN, so a cached answer opens nothing else.
    fn rest_answer(
        &self,
        shape: Shape,
        claims: AccessClaims,
        arn: &MethodArn<'_>,
        routes: &[Route<'_>],
    ) -> Verdict {
        let missing = self.rules.missing_role(routes, &claims.roles);
        match missing {
            Some(role) => log::forbidden(shape, &claims, role),
            None => log::allowed(shape, &claims),
        }
        let policy_document = if self.rules.is_empty() {
            policy::stage(arn)
        } else if missing.is_some() {
            policy::exact(arn, IamPolicyEffect::Deny)
        } else {
            policy::exact(arn, IamPolicyEffect::Allow)
        };
        Verdict::Policy {
            principal_id: claims.sub.clone(),
            policy_document,
            context: Context::of(claims),
        }
    }

    /// Reads the bearer token from the credential and verifies it.
    fn authenticate(
        &self,
        credential: Result<&str, CredentialProblem>,
        now: u64,
    ) -> Result<AccessClaims, DenyReason> {
        let token = credential
            .and_then(bearer::bearer_token)
            .map_err(DenyReason::Credential)?;
        self.verifier.verify(token, now).map_err(DenyReason::Token)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
