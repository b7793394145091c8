//! Who the authorizer says the caller is, from the request context of
//! either API flavour: REST puts the authorizer's context directly under
//! `requestContext.authorizer`, HTTP API under `requestContext.authorizer.lambda`.

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
/// not pass through our authorizer.
pub fn caller(req: &Request) -> Option<Caller> {
    let fields = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => &ctx.authorizer.fields,
        RequestContext::ApiGatewayV2(ctx) => &ctx.authorizer.as_ref()?.fields,
        _ => return None,
    };
    let text = |k: &str| match fields.get(k) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let sub = text("sub").filter(|s| !s.is_empty())?;
    let roles = text("roles")
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    Some(Caller {
        sub: sub.to_owned(),
        roles,
        sid: text("sid").unwrap_or_default().to_owned(),
    })
}
