//! What a cached REST authorizer answer lets through.
//!
//! API Gateway caches a REST authorizer's policy (per token for TOKEN
//! authorizers, per identity source for REQUEST ones) and reuses it for
//! other requests that share the cache key, judging each request's method
//! ARN against it with IAM's literal, case-sensitive matching. A backend
//! behind the API may read `/ADMIN/users`, `/%61dmin/users` or
//! `/x/../admin/users` as `/admin/users`, so no pattern of denied ARNs
//! covers a forbidden route: with `AUTHZ_RULES` set, every policy must name
//! exactly the request it was issued for.
//!
//! Here every policy the authorizer hands out for a token without the role is
//! collected, through both REST shapes, and judged by a small IAM evaluator
//! against many spellings of the routes the rules forbid.

use std::collections::HashMap;

use authorizer::Authorizer;
use integration_tests::authorize;
use serde_json::{Value, json};
use testkit::fixed::{NOW, env_with, roles};
use token::AccessIssuer;

const PLACEHOLDER: &str = "Bearer REPLACE_ME";
const RULES: &str = "GET /admin/*=admin;DELETE /*=admin;GET /reports/*=admin";

/// Requests a token without `admin` may make under [`RULES`].
const ALLOWED: [(&str, &str); 3] = [("GET", "/pets"), ("GET", "/pets/42"), ("POST", "/orders")];

/// `METHOD/path` after the stage ARN: spellings of routes [`RULES`] forbid
/// without `admin`, as a case-insensitive, percent-decoding, dot-resolving
/// backend would read them.
const FORBIDDEN: [&str; 11] = [
    "GET/ADMIN/users",
    "GET/Admin/users",
    "GET/%61dmin/users",
    "GET/x/../admin/users",
    "GET/./admin/users",
    "GET//admin/users",
    "GET/admin/users",
    "HEAD/admin/users",
    "DELETE/pets/1",
    "delete/pets/1",
    "GET/REPORTS/x",
];

// ---- the authorizer, tokens and events ----

fn config(rules: &'static str) -> HashMap<&'static str, &'static str> {
    // The authorizer logs its decisions; keep them for the leak scan.
    integration_tests::capture::capture_logs();
    env_with(&[("AUTHZ_RULES", rules)])
}

fn authorizer(rules: &'static str) -> Authorizer {
    Authorizer::from_source(&config(rules)).unwrap()
}

/// `Bearer <token>` for `user-1` with `r`.
fn bearer(r: &[&str]) -> String {
    let issued = AccessIssuer::from_source(&config(""))
        .unwrap()
        .issue("user-1", "s1", &roles(r), NOW)
        .unwrap();
    format!("Bearer {}", issued.token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    RestToken,
    RestRequest,
}

const SHAPES: [Shape; 2] = [Shape::RestToken, Shape::RestRequest];

impl Shape {
    fn file(self) -> &'static str {
        match self {
            Shape::RestToken => include_str!("../events/authorizer-rest-token.json"),
            Shape::RestRequest => include_str!("../events/authorizer-rest-request.json"),
        }
    }

    /// The event file with its token placeholder replaced.
    fn event(self, authorization: &str) -> Value {
        let mut v: Value = serde_json::from_str(self.file()).unwrap();
        substitute(&mut v, authorization);
        v
    }

    /// `arn:...:{api}/{stage}` of the event file's `methodArn`.
    fn stage_arn(self) -> String {
        let v: Value = serde_json::from_str(self.file()).unwrap();
        let arn = v["methodArn"].as_str().unwrap();
        let mut parts = arn.splitn(3, '/');
        let (api, stage) = (parts.next().unwrap(), parts.next().unwrap());
        format!("{api}/{stage}")
    }

    /// The event for `method` and `path` (starting with `/`), set everywhere
    /// API Gateway writes them, as `tests/tests/authorizer.rs` does.
    fn event_for_route(self, authorization: &str, method: &str, path: &str) -> Value {
        let mut v = self.event(authorization);
        v["methodArn"] = json!(format!("{}/{method}{path}", self.stage_arn()));
        if self == Shape::RestRequest {
            v["path"] = json!(path);
            v["httpMethod"] = json!(method);
            v["resource"] = json!("/{proxy+}");
            v["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
            v["requestContext"]["path"] = json!(format!("/prod{path}"));
            v["requestContext"]["resourcePath"] = json!("/{proxy+}");
            v["requestContext"]["httpMethod"] = json!(method);
        }
        v
    }
}

fn substitute(v: &mut Value, with: &str) {
    match v {
        Value::Object(map) => map.values_mut().for_each(|x| substitute(x, with)),
        Value::Array(items) => items.iter_mut().for_each(|x| substitute(x, with)),
        Value::String(s) if s == PLACEHOLDER => with.clone_into(s),
        _ => {}
    }
}

/// `METHOD/path` → (`METHOD`, `/path`).
fn split_route(route: &str) -> (&str, String) {
    let (method, path) = route.split_once('/').unwrap();
    (method, format!("/{path}"))
}

// ---- IAM, as API Gateway evaluates an authorizer's policy ----

/// IAM resource matching: literal and case-sensitive; `*` matches any run of
/// characters (none, and `/`, included), `?` exactly one.
fn iam_matches(pattern: &str, resource: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), resource.chars().collect());
    // matched[j]: the pattern so far matches the first j characters.
    let mut matched = vec![false; s.len() + 1];
    matched[0] = true;
    for c in p {
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            next[j] = match c {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && s[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[s.len()]
}

/// A JSON string or array of strings, as IAM allows for `Action` and
/// `Resource`.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().map(|i| i.as_str().unwrap()).collect(),
        other => panic!("not a string or a list of strings: {other}"),
    }
}

/// Whether `answer`'s policy lets `execute-api:Invoke` on `arn` through: an
/// explicit Deny beats any Allow, and nothing is allowed by default.
fn allows(answer: &Value, arn: &str) -> bool {
    let policy = &answer["policyDocument"];
    assert_eq!(policy["Version"], "2012-10-17", "{answer}");
    let statements = policy["Statement"].as_array().unwrap();
    let applies = |s: &Value| {
        strings(&s["Action"])
            .iter()
            .any(|a| iam_matches(a, "execute-api:Invoke"))
            && strings(&s["Resource"]).iter().any(|r| iam_matches(r, arn))
    };
    let hit = |effect: &str| {
        statements
            .iter()
            .any(|s| s["Effect"] == effect && applies(s))
    };
    !hit("Deny") && hit("Allow")
}

#[test]
fn the_iam_evaluator_matches_as_iam_does() {
    assert!(iam_matches("a/*", "a/"));
    assert!(iam_matches("a/*", "a/b/c"));
    assert!(iam_matches("*", ""));
    assert!(iam_matches("a/*/c", "a/b/x/c"));
    assert!(iam_matches("a/?", "a/b"));
    assert!(!iam_matches("a/?", "a/"));
    assert!(!iam_matches("a/?", "a/bc"));
    assert!(!iam_matches("a/b", "a/B"));
    assert!(!iam_matches("a/b", "a/b/"));
    assert!(!iam_matches("a/*", "a"));

    let policy = |statements: Value| json!({"policyDocument": {"Version": "2012-10-17", "Statement": statements}});
    let allow_all = json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "s/*"});
    let deny_x = json!({"Action": ["execute-api:*"], "Effect": "Deny", "Resource": ["s/x"]});
    assert!(allows(&policy(json!([allow_all])), "s/y"));
    assert!(!allows(&policy(json!([allow_all, deny_x])), "s/x"));
    assert!(!allows(&policy(json!([deny_x, allow_all])), "s/x"));
    assert!(!allows(&policy(json!([deny_x])), "s/y"));
    assert!(!allows(&policy(json!([])), "s/y"));
    let other_action =
        json!({"Action": "execute-api:ManageConnections", "Effect": "Allow", "Resource": "*"});
    assert!(!allows(&policy(json!([other_action])), "s/y"));
}

// ---- the contract ----

#[test]
fn the_forbidden_spellings_are_forbidden_when_asked_for_directly() {
    // The rules themselves see through every spelling: asked for any of
    // them, the authorizer answers with a policy that does not allow it.
    let a = authorizer(RULES);
    let token = bearer(&["user"]);
    for shape in SHAPES {
        for route in FORBIDDEN {
            let (method, path) = split_route(route);
            let event = shape.event_for_route(&token, method, &path);
            let answer = authorize(&a, &event, NOW).unwrap();
            let arn = event["methodArn"].as_str().unwrap();
            assert!(!allows(&answer, arn), "{shape:?} {route}: {answer}");
        }
    }
}

#[test]
fn no_rest_policy_with_rules_allows_a_forbidden_route_under_any_spelling() {
    let a = authorizer(RULES);
    let token = bearer(&["user"]);
    for shape in SHAPES {
        let stage = shape.stage_arn();
        // Every policy handed out for this token: API Gateway may cache any
        // of them and judge a later request by it.
        let mut policies = Vec::new();
        for (method, path) in ALLOWED {
            let event = shape.event_for_route(&token, method, path);
            let answer = authorize(&a, &event, NOW).unwrap();
            let arn = event["methodArn"].as_str().unwrap();
            assert!(allows(&answer, arn), "{shape:?} {method} {path}: {answer}");
            policies.push((format!("{method} {path}"), answer));
        }
        // The answers to forbidden requests are cached as well.
        for route in FORBIDDEN {
            let (method, path) = split_route(route);
            let event = shape.event_for_route(&token, method, &path);
            let answer = authorize(&a, &event, NOW).unwrap();
            policies.push((format!("{method} {path}"), answer));
        }
        let mut holes = Vec::new();
        for (issued_for, policy) in &policies {
            for route in FORBIDDEN {
                if allows(policy, &format!("{stage}/{route}")) {
                    holes.push(format!("cached from {issued_for}, then {route}"));
                }
            }
        }
        assert!(
            holes.is_empty(),
            "{shape:?}: {} cached policies open forbidden routes:\n{}",
            holes.len(),
            holes.join("\n")
        );
    }
}

#[test]
fn with_rules_a_rest_policy_names_exactly_the_method_arn() {
    let a = authorizer(RULES);
    for (have, method, path, effect) in [
        (&["user"][..], "GET", "/pets/42", "Allow"),
        (&["user"][..], "GET", "/Admin/users", "Deny"),
        (&["user", "admin"][..], "GET", "/admin/users", "Allow"),
    ] {
        let token = bearer(have);
        for shape in SHAPES {
            let event = shape.event_for_route(&token, method, path);
            let arn = event["methodArn"].as_str().unwrap();
            let answer = authorize(&a, &event, NOW).unwrap();
            assert_eq!(
                answer["policyDocument"],
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": ["execute-api:Invoke"],
                        "Effect": effect,
                        "Resource": [arn],
                    }]
                }),
                "{shape:?} {have:?} {method} {path}"
            );
            assert_eq!(answer["principalId"], "user-1");
            assert_eq!(answer["context"]["sub"], "user-1");
            assert_eq!(answer["context"]["roles"], have.join(","));
            // Even an admin's policy opens nothing but its own request.
            let other = format!("{}/GET/pets/7", shape.stage_arn());
            assert!(!allows(&answer, &other), "{shape:?} {method} {path}");
        }
    }
}

#[test]
fn without_rules_a_rest_policy_allows_the_whole_stage() {
    // No rule forbids anything, so one cached answer may serve every route.
    let a = authorizer("");
    let token = bearer(&["user"]);
    for shape in SHAPES {
        let stage = shape.stage_arn();
        for (method, path) in ALLOWED {
            let event = shape.event_for_route(&token, method, path);
            let answer = authorize(&a, &event, NOW).unwrap();
            assert_eq!(
                answer["policyDocument"],
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": ["execute-api:Invoke"],
                        "Effect": "Allow",
                        "Resource": [format!("{stage}/*/*")],
                    }]
                }),
                "{shape:?} {method} {path}"
            );
            for route in FORBIDDEN.iter().chain(&["GET/pets", "POST/orders"]) {
                let arn = format!("{stage}/{route}");
                assert!(allows(&answer, &arn), "{shape:?}: {arn}");
            }
            let other_stage = stage.replace("/prod", "/dev");
            assert!(!allows(&answer, &format!("{other_stage}/GET/pets")));
        }
    }
}
