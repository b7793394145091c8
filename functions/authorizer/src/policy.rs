//! execute-api ARNs and the IAM policy answered to REST authorizer calls.
//!
//! API Gateway caches a REST authorizer's policy per token (TOKEN
//! authorizers) or per identity source (REQUEST authorizers), not per route,
//! and reuses it for every method of the API. So the policy must be right for
//! every route, not only the one that triggered it: it allows the whole stage
//! (`{api}/{stage}/*/*`) and explicitly denies every `AUTHZ_RULES` route whose
//! role the token lacks. An explicit Deny overrides any Allow in IAM.

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

/// The policy for a valid token: allow the stage, deny `denied` (patterns
/// relative to the stage, from the rules) and, when the current route itself
/// is forbidden, its exact ARN as well so the answer is 403 even where the
/// generous rule matching saw a route that the patterns miss.
pub fn policy(
    arn: &MethodArn<'_>,
    denied: &[String],
    deny_current: bool,
) -> ApiGatewayCustomAuthorizerPolicy {
    let mut statements = vec![statement(
        IamPolicyEffect::Allow,
        vec![arn.under_stage("*/*")],
    )];
    let mut deny: Vec<String> = denied.iter().map(|p| arn.under_stage(p)).collect();
    if deny_current && !deny.iter().any(|d| d == arn.full) {
        deny.push(arn.full.to_owned());
    }
    if !deny.is_empty() {
        statements.push(statement(IamPolicyEffect::Deny, deny));
    }
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some(POLICY_VERSION.to_owned());
    policy.statement = statements;
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
    fn policy_allows_the_stage_and_denies_the_rules() {
        let a = MethodArn::parse(ARN).unwrap();
        let p = policy(&a, &["GET/admin".into(), "GET/admin/*".into()], false);
        let json = serde_json::to_value(&p).unwrap();
        let base = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
        assert_eq!(
            json,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{base}/*/*")]},
                    {"Action": ["execute-api:Invoke"], "Effect": "Deny",
                     "Resource": [format!("{base}/GET/admin"), format!("{base}/GET/admin/*")]},
                ]
            })
        );
    }

    #[test]
    fn forbidden_current_route_is_denied_by_its_own_arn() {
        let a = MethodArn::parse(ARN).unwrap();
        let p = policy(&a, &[], true);
        assert_eq!(p.statement.len(), 2);
        assert_eq!(p.statement[1].effect, IamPolicyEffect::Deny);
        assert_eq!(p.statement[1].resource, [ARN]);
        let no_rules = policy(&a, &[], false);
        assert_eq!(no_rules.statement.len(), 1);
    }
}
