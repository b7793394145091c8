//! execute-api ARNs and the IAM policy answered to REST authorizer calls.
//!
//! API Gateway caches a REST authorizer's policy per token (TOKEN
//! authorizers) or per identity source (REQUEST authorizers), not per route,
//! and judges later requests that share the cache key against it. IAM
//! matches a method ARN literally and case-sensitively (`*` is any run of
//! characters, `/` included; `?` one character), while a backend may read
//! `/ADMIN/users`, `/%61dmin/users` or `/x/../admin/users` as
//! `/admin/users`: no list of denied patterns covers every spelling of a
//! route the rules forbid, so a stage-wide Allow beside them is a hole.
//!
//! So with `AUTHZ_RULES` set a policy names exactly the request's method ARN
//! ([`exact`]): Allow when the rules allow the request, else Deny. A cached
//! answer then only ever serves that ARN, and docs/deploy.md says to key REST
//! caching by route (REQUEST identity sources `context.httpMethod`,
//! `context.resourcePath`) or turn it off (TOKEN). Without rules every route
//! is allowed to any valid token, so the policy covers the stage
//! ([`stage`]) and one cached answer serves every route.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};

/// IAM policy language version.
const POLICY_VERSION: &str = "2012-10-17";
/// The only action an authorizer policy speaks about.
const INVOKE: &str = "execute-api:Invoke";

/// A parsed `arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `arn:{partition}:execute-api:{region}:{account}:{api}/{stage}`.
    stage_arn: &'a str,
    /// The HTTP method, as API Gateway wrote it.
    pub method: &'a str,
    /// The request path after the method, without the leading `/`.
    pub path: &'a str,
    /// The ARN as given.
    pub full: &'a str,
}

impl<'a> MethodArn<'a> {
    /// Parses a method or route ARN; `None` for anything else.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("execute-api"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let resource = parts.next()?;
        let mut rest = resource.splitn(4, '/');
        let (Some(api), Some(stage), Some(method)) = (rest.next(), rest.next(), rest.next()) else {
            return None;
        };
        let path = rest.next().unwrap_or("");
        let fields = [partition, region, account, api, stage, method];
        if fields.iter().any(|f| f.is_empty()) {
            return None;
        }
        // The stage ARN is the prefix of the input up to the end of `stage`.
        let stage_len = arn.len() - resource.len() + api.len() + 1 + stage.len();
        Some(Self {
            stage_arn: arn.get(..stage_len)?,
            method,
            path,
            full: arn,
        })
    }

    /// `{stage_arn}/{pattern}`.
    pub fn under_stage(&self, pattern: &str) -> String {
        format!("{}/{pattern}", self.stage_arn)
    }
}

/// The policy without rules: allow every method and path of the stage
/// (`{api}/{stage}/*/*`), for any route a cached answer is reused for.
pub fn stage(arn: &MethodArn<'_>) -> ApiGatewayCustomAuthorizerPolicy {
    document(statement(
        IamPolicyEffect::Allow,
        vec![arn.under_stage("*/*")],
    ))
}

/// The policy with rules: `effect` on exactly the method ARN as given, and
/// nothing else, so no cached answer opens another route or another
/// spelling of this one.
pub fn exact(arn: &MethodArn<'_>, effect: IamPolicyEffect) -> ApiGatewayCustomAuthorizerPolicy {
    document(statement(effect, vec![arn.full.to_owned()]))
}

fn document(statement: IamPolicyStatement) -> ApiGatewayCustomAuthorizerPolicy {
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some(POLICY_VERSION.to_owned());
    policy.statement = vec![statement];
    policy
}

fn statement(effect: IamPolicyEffect, resource: Vec<String>) -> IamPolicyStatement {
    let mut s = IamPolicyStatement::default();
    s.action = vec![INVOKE.to_owned()];
    s.effect = effect;
    s.resource = resource;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/pets/42";

    #[test]
    fn method_arn_parts() {
        let a = MethodArn::parse(ARN).unwrap();
        assert_eq!(a.method, "GET");
        assert_eq!(a.path, "pets/42");
        assert_eq!(
            a.under_stage("*/*"),
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*"
        );
    }

    #[test]
    fn root_and_wildcard_stage_arns_parse() {
        let root = MethodArn::parse("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/")
            .unwrap();
        assert_eq!((root.method, root.path), ("GET", ""));
        assert_eq!(
            root.under_stage("x"),
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/x"
        );
        let bare =
            MethodArn::parse("arn:aws-cn:execute-api:cn-north-1:1:api/$default/POST").unwrap();
        assert_eq!((bare.method, bare.path), ("POST", ""));
        assert_eq!(
            bare.under_stage("*/*"),
            "arn:aws-cn:execute-api:cn-north-1:1:api/$default/*/*"
        );
    }

    #[test]
    fn other_arns_are_refused() {
        for bad in [
            "",
            "arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:f",
            "arn:aws:execute-api:eu-west-1:123456789012:api",
            "arn:aws:execute-api:eu-west-1:123456789012:api/prod",
            "arn:aws:execute-api::123456789012:api/prod/GET/x",
            "arn:aws:execute-api:eu-west-1:123456789012:/prod/GET/x",
            "arn:aws:execute-api:eu-west-1:123456789012:api//GET/x",
            "arn:aws:execute-api:eu-west-1:123456789012:api/prod//x",
            "urn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/x",
        ] {
            assert_eq!(MethodArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn stage_policy_allows_every_route_of_the_stage() {
        let a = MethodArn::parse(ARN).unwrap();
        let json = serde_json::to_value(stage(&a)).unwrap();
        let base = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
        assert_eq!(
            json,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{base}/*/*")]},
                ]
            })
        );
    }

    #[test]
    fn exact_policy_names_only_the_method_arn() {
        let a = MethodArn::parse(ARN).unwrap();
        for (effect, name) in [
            (IamPolicyEffect::Allow, "Allow"),
            (IamPolicyEffect::Deny, "Deny"),
        ] {
            let json = serde_json::to_value(exact(&a, effect)).unwrap();
            assert_eq!(
                json,
                serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Action": ["execute-api:Invoke"], "Effect": name, "Resource": [ARN]},
                    ]
                })
            );
        }
    }
}
