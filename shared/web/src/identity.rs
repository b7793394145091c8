//! Who the authorizer says the caller is, from the request context of
//! either API flavour: REST puts the authorizer's context directly under
//! `requestContext.authorizer`, HTTP API under `requestContext.authorizer.lambda`
//! for our Lambda authorizer and under `requestContext.authorizer.jwt.claims`
//! for API Gateway's own JWT authorizer (routes with
//! `Auth: {Authorizer: GatewayJwt}`).

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde_json::Value;

/// The authenticated caller: who, with which roles, in which session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub sub: String,
    pub roles: Vec<String>,
    pub sid: String,
}

/// The caller from the authorizer context, or `None` when the request did
/// not pass through one of our authorizers.
pub fn caller(req: &Request) -> Option<Caller> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => from_lambda(&ctx.authorizer.fields),
        RequestContext::ApiGatewayV2(ctx) => {
            let authorizer = ctx.authorizer.as_ref()?;
            match &authorizer.jwt {
                Some(jwt) if authorizer.fields.is_empty() => from_jwt(&jwt.claims),
                _ => from_lambda(&authorizer.fields),
            }
        }
        _ => None,
    }
}

/// Our Lambda authorizer's context: `roles` comma-joined.
fn from_lambda(fields: &HashMap<String, Value>) -> Option<Caller> {
    let text = |k: &str| match fields.get(k) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let roles = text("roles")
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    build(text("sub")?, roles, text("sid"))
}

/// The JWT authorizer's claims, every one a string as API Gateway renders
/// them: the `roles` array arrives as `[user admin]`. API Gateway checks
/// only signature, issuer, audience and time, so the kind is checked here:
/// only an access token of a session is a caller.
fn from_jwt(claims: &HashMap<String, String>) -> Option<Caller> {
    let text = |k: &str| claims.get(k).map(String::as_str);
    if text("token_use") != Some("access") || text("sid").is_none_or(str::is_empty) {
        return None;
    }
    let roles = text("roles").unwrap_or_default().trim();
    let inner = roles
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(roles);
    let roles = inner
        .split(' ')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    build(text("sub")?, roles, text("sid"))
}

fn build(sub: &str, roles: Vec<String>, sid: Option<&str>) -> Option<Caller> {
    if sub.is_empty() {
        return None;
    }
    Some(Caller {
        sub: sub.to_owned(),
        roles,
        sid: sid.unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// An HTTP API (payload 2.0) event as API Gateway sends it to the
    /// function, with `authorizer` as its request context's authorizer.
    fn http_api_event(authorizer: Value) -> Request {
        let event = json!({
            "version": "2.0",
            "routeKey": "GET /me/gateway-jwt",
            "rawPath": "/me/gateway-jwt",
            "rawQueryString": "",
            "headers": {
                "accept": "*/*",
                "authorization": "Bearer REPLACE_ME",
                "host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                "x-forwarded-proto": "https"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "authorizer": authorizer,
                "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "a1b2c3d4e5",
                "http": {
                    "method": "GET",
                    "path": "/me/gateway-jwt",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.10",
                    "userAgent": "curl/8.5.0"
                },
                "requestId": "B3mK7jF0DoEEMbQ=",
                "routeKey": "GET /me/gateway-jwt",
                "stage": "$default",
                "time": "23/Nov/2026:15:00:00 +0000",
                "timeEpoch": 1_795_446_000_000u64
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("a payload 2.0 event")
    }

    fn caller_of(sub: &str, roles: &[&str], sid: &str) -> Option<Caller> {
        Some(Caller {
            sub: sub.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            sid: sid.into(),
        })
    }

    #[test]
    fn the_jwt_authorizers_claims_name_the_caller() {
        let req = http_api_event(json!({
            "jwt": {
                "claims": {
                    "aud": "https://api.example.com",
                    "exp": "1795446900",
                    "iat": "1795446000",
                    "iss": "https://api.example.com/prod",
                    "jti": "9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d",
                    "roles": "[user admin]",
                    "sid": "0b6f7c3e2f4a4d559a0e5c1d2e3f4a5b",
                    "sub": "6f1c2a7e-4d2b-4c8e-9a51-0b7c3d9e8f10",
                    "token_use": "access"
                },
                "scopes": null
            }
        }));
        assert_eq!(
            caller(&req),
            caller_of(
                "6f1c2a7e-4d2b-4c8e-9a51-0b7c3d9e8f10",
                &["user", "admin"],
                "0b6f7c3e2f4a4d559a0e5c1d2e3f4a5b"
            )
        );
    }

    #[test]
    fn jwt_roles_are_read_as_api_gateway_renders_them() {
        for (roles, expected) in [
            ("[user admin]", &["user", "admin"][..]),
            ("[user]", &["user"]),
            ("[]", &[]),
            ("", &[]),
        ] {
            let req = http_api_event(json!({
                "jwt": {"claims": {"sub": "u1", "sid": "s1", "roles": roles, "token_use": "access"}, "scopes": null}
            }));
            assert_eq!(caller(&req), caller_of("u1", expected, "s1"), "{roles:?}");
        }
    }

    #[test]
    fn brackets_are_only_the_jwt_renderings() {
        let req = http_api_event(json!({
            "lambda": {"sub": "u1", "roles": "[admin]", "sid": "s1"}
        }));
        assert_eq!(caller(&req), caller_of("u1", &["[admin]"], "s1"));
    }

    #[test]
    fn a_jwt_that_is_not_an_access_token_of_a_session_is_no_caller() {
        for claims in [
            json!({"sub": "u1", "sid": "s1"}),
            json!({"sub": "u1", "sid": "s1", "token_use": "refresh"}),
            json!({"sub": "u1", "sid": "s1", "token_use": "device"}),
            json!({"sub": "u1", "token_use": "access"}),
            json!({"sub": "u1", "sid": "", "token_use": "access"}),
        ] {
            let req = http_api_event(json!({"jwt": {"claims": claims, "scopes": null}}));
            assert_eq!(caller(&req), None, "{claims}");
        }
    }

    #[test]
    fn a_jwt_without_a_subject_is_no_caller() {
        for claims in [
            json!({"sid": "s1", "token_use": "access"}),
            json!({"sub": "", "sid": "s1", "token_use": "access"}),
            json!({}),
        ] {
            let req = http_api_event(json!({"jwt": {"claims": claims, "scopes": null}}));
            assert_eq!(caller(&req), None, "{claims}");
        }
    }

    #[test]
    fn the_lambda_authorizers_context_still_names_the_caller() {
        let req = http_api_event(json!({
            "lambda": {"sub": "u1", "roles": "user,admin", "sid": "s1", "jti": "j1"}
        }));
        assert_eq!(caller(&req), caller_of("u1", &["user", "admin"], "s1"));
        let unauthorized = http_api_event(Value::Null);
        assert_eq!(caller(&unauthorized), None);
    }
}
