//! The authorizer, driven by the event files in `tests/events/` (the same
//! files `cargo lambda invoke --data-file` takes) with a real token put in
//! place of their `Bearer REPLACE_ME` placeholder.
//!
//! Every token and header cell of the matrix runs against all three event
//! shapes (modules `http_api`, `rest_token`, `rest_request`). REST answers
//! are judged the way API Gateway judges them: the IAM policy is evaluated
//! against the method ARN (explicit Deny wins, then Allow, else deny).

use std::collections::HashMap;
use std::sync::LazyLock;

use authorizer::{Authorizer, Unauthorized};
use integration_tests::authorize;
use proptest::prelude::*;
use serde_json::{Value, json};
use testkit::attack_tokens::{self, Expect, Keys};
use testkit::fixed::{Tokens, roles};
use testkit::jwt::{b64url as b64_encode, b64url_decode, kid, part as jwt_part, tamper};
use token::{AccessIssuer, RefreshGrant};

const NOW: u64 = 1_800_000_000;
const SECRET: &str = "authorizer-test-access-secret-0123456789abcdef";
const OTHER_SECRET: &str = "another-access-secret-0123456789abcdefghijk";
const REFRESH_SECRET: &str = "authorizer-test-refresh-secret-0123456789abc";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
const PLACEHOLDER: &str = "Bearer REPLACE_ME";
const STAGE_ARN_PROD: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
const STAGE_ARN_DEFAULT: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default";

// ---- configuration and tokens ----

/// The access tokens' algorithm of the running matrix cell (each `#[test]`
/// runs on its own thread): HS256 unless the cell runs under `es256::`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Hs256,
    Es256,
}

thread_local! {
    static ALG: std::cell::Cell<Alg> = const { std::cell::Cell::new(Alg::Hs256) };
}

fn alg() -> Alg {
    ALG.with(std::cell::Cell::get)
}

/// Runs one matrix cell with access tokens of `alg`.
fn run(alg: Alg, shape: Shape, cell: fn(Shape)) {
    ALG.with(|a| a.set(alg));
    cell(shape);
}

/// The variables that make another signing key, of the cell's algorithm.
fn other_signing_key() -> (&'static str, &'static str) {
    match alg() {
        Alg::Hs256 => ("JWT_ACCESS_SECRET", OTHER_SECRET),
        Alg::Es256 => (
            "JWT_ACCESS_PRIVATE_KEY",
            testkit::fixed::ES_PRIVATE_KEY_2.as_str(),
        ),
    }
}

/// The variable that makes that other key verify as the previous one.
fn other_key_as_previous() -> (&'static str, &'static str) {
    match alg() {
        Alg::Hs256 => ("JWT_ACCESS_SECRET_PREVIOUS", OTHER_SECRET),
        Alg::Es256 => (
            "JWT_ACCESS_PUBLIC_KEY_PREVIOUS",
            testkit::fixed::ES_PUBLIC_KEY_2.as_str(),
        ),
    }
}

fn env(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    // Every authorizer built here logs its decisions for the leak scan.
    integration_tests::capture::capture_logs();
    let mut m: HashMap<&str, &str> = [
        ("JWT_ACCESS_SECRET", SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]
    .into();
    if alg() == Alg::Es256 {
        m.remove("JWT_ACCESS_SECRET");
        m.extend([
            ("JWT_ACCESS_ALGORITHM", "ES256"),
            (
                "JWT_ACCESS_PRIVATE_KEY",
                testkit::fixed::ES_PRIVATE_KEY.as_str(),
            ),
            (
                "JWT_ACCESS_PUBLIC_KEY",
                testkit::fixed::ES_PUBLIC_KEY.as_str(),
            ),
        ]);
    }
    m.extend(extra.iter().copied());
    m.retain(|_, v| *v != "<unset>");
    m
}

fn authorizer_with_rules(rules: &'static str) -> Authorizer {
    Authorizer::from_source(&env(&[("AUTHZ_RULES", rules)])).unwrap()
}

fn authorizer() -> Authorizer {
    authorizer_with_rules("")
}

fn access_tokens(extra: &[(&'static str, &'static str)]) -> AccessIssuer {
    AccessIssuer::from_source(&env(extra)).unwrap()
}

/// A valid access token for `user-1` with `r`, issued at `at`.
fn mint_at(r: &[&str], at: u64) -> (String, String) {
    let issued = access_tokens(&[])
        .issue("user-1", "s1", &roles(r), at)
        .unwrap();
    (issued.token, issued.jti)
}

fn mint(r: &[&str]) -> String {
    mint_at(r, NOW).0
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---- JWT surgery for attack tokens (testkit::jwt) ----

fn b64_decode(s: &str) -> Vec<u8> {
    b64url_decode(s).unwrap()
}

#[test]
fn jwt_surgery_changes_only_what_it_is_asked_to() {
    for s in ["", "a", "ab", "abc", "abcd", "{\"alg\":\"HS256\"}"] {
        assert_eq!(b64_decode(&b64_encode(s.as_bytes())), s.as_bytes());
    }
    let t = mint(&["user"]);
    assert_eq!(jwt_part(&t, 0)["alg"], "HS256");
    // The control for every tampering cell: a no-op edit is still allowed.
    let same = tamper(&t, 1, "\"sub\":\"user-1\"", "\"sub\":\"user-1\"");
    assert_eq!(same, t);
    assert!(is_allowed(&decide(Shape::RestToken, Some(&bearer(&same)))));
}

// ---- events ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    HttpApi,
    RestToken,
    RestRequest,
}

const SHAPES: [Shape; 3] = [Shape::HttpApi, Shape::RestToken, Shape::RestRequest];

impl Shape {
    fn file(self) -> &'static str {
        match self {
            Shape::HttpApi => include_str!("../events/authorizer-v2.json"),
            Shape::RestToken => include_str!("../events/authorizer-rest-token.json"),
            Shape::RestRequest => include_str!("../events/authorizer-rest-request.json"),
        }
    }

    /// The event file with every placeholder replaced by `authorization`, or
    /// removed when it is `None`.
    fn event(self, authorization: Option<&str>) -> Value {
        let mut v: Value = serde_json::from_str(self.file()).unwrap();
        substitute(&mut v, authorization);
        v
    }

    /// Same event, for `method` and `path` (starting with `/`).
    fn event_for_route(self, authorization: Option<&str>, method: &str, path: &str) -> Value {
        let mut v = self.event(authorization);
        set_route(self, &mut v, method, path);
        v
    }

    /// What a bad or missing token gets.
    fn refused(self) -> Outcome {
        match self {
            Shape::HttpApi => Outcome::NotAuthorized,
            _ => Outcome::Unauthorized,
        }
    }

    /// What a valid token lacking a rule's role gets.
    fn forbidden(self) -> Outcome {
        match self {
            Shape::HttpApi => Outcome::NotAuthorized,
            _ => Outcome::Forbidden,
        }
    }
}

fn substitute(v: &mut Value, with: Option<&str>) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| with.is_some() || x.as_str() != Some(PLACEHOLDER));
            map.values_mut().for_each(|x| substitute(x, with));
        }
        Value::Array(items) => {
            items.retain(|x| with.is_some() || x.as_str() != Some(PLACEHOLDER));
            items.iter_mut().for_each(|x| substitute(x, with));
        }
        Value::String(s) if s == PLACEHOLDER => {
            if let Some(w) = with {
                *s = w.to_owned();
            }
        }
        _ => {}
    }
}

fn set_route(shape: Shape, v: &mut Value, method: &str, path: &str) {
    match shape {
        Shape::HttpApi => {
            v["routeArn"] = json!(format!("{STAGE_ARN_DEFAULT}/{method}{path}"));
            v["rawPath"] = json!(path);
            v["requestContext"]["http"]["method"] = json!(method);
            v["requestContext"]["http"]["path"] = json!(path);
            v["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
        }
        Shape::RestToken => {
            v["methodArn"] = json!(format!("{STAGE_ARN_PROD}/{method}{path}"));
        }
        Shape::RestRequest => {
            v["methodArn"] = json!(format!("{STAGE_ARN_PROD}/{method}{path}"));
            v["path"] = json!(path);
            v["httpMethod"] = json!(method);
            v["resource"] = json!("/{proxy+}");
            v["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
            v["requestContext"]["path"] = json!(format!("/prod{path}"));
            v["requestContext"]["resourcePath"] = json!("/{proxy+}");
            v["requestContext"]["httpMethod"] = json!(method);
        }
    }
}

/// The ARN API Gateway checks a REST policy against.
fn method_arn(event: &Value) -> String {
    event["methodArn"].as_str().unwrap().to_owned()
}

// ---- outcomes, as API Gateway would see them ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Allowed; the context the protected Lambda receives.
    Allowed(Value),
    /// HTTP API `{"isAuthorized": false}` (and nothing else).
    NotAuthorized,
    /// REST error `Unauthorized`: 401.
    Unauthorized,
    /// REST policy that does not allow this method ARN: 403.
    Forbidden,
}

/// IAM ARN matching: `*` is any run of characters (`/` included), `?` one.
fn iam_matches(pattern: &str, arn: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    let mut dp = vec![vec![false; s.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=s.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == s[j - 1],
            };
        }
    }
    dp[p.len()][s.len()]
}

/// What a REST policy decides for `arn`: explicit Deny, then Allow.
fn policy_allows(response: &Value, arn: &str) -> bool {
    let statements = response["policyDocument"]["Statement"].as_array().unwrap();
    let hits = |effect: &str| {
        statements.iter().any(|s| {
            assert_eq!(s["Action"], json!(["execute-api:Invoke"]));
            s["Effect"] == effect
                && s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| iam_matches(r.as_str().unwrap(), arn))
        })
    };
    !hits("Deny") && hits("Allow")
}

fn outcome(shape: Shape, event: &Value, answer: Result<Value, Unauthorized>) -> Outcome {
    match (shape, answer) {
        (Shape::HttpApi, Err(e)) => panic!("HTTP API answers are never errors: {e}"),
        (Shape::HttpApi, Ok(v)) if v == json!({"isAuthorized": false}) => Outcome::NotAuthorized,
        (Shape::HttpApi, Ok(v)) => {
            assert_eq!(v["isAuthorized"], true, "{v}");
            assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
            Outcome::Allowed(v["context"].clone())
        }
        (_, Err(e)) => {
            assert_eq!(e.to_string(), "Unauthorized");
            Outcome::Unauthorized
        }
        (_, Ok(v)) => {
            assert_eq!(v["principalId"], v["context"]["sub"], "{v}");
            assert_eq!(v["policyDocument"]["Version"], "2012-10-17");
            if policy_allows(&v, &method_arn(event)) {
                Outcome::Allowed(v["context"].clone())
            } else {
                Outcome::Forbidden
            }
        }
    }
}

fn decide_with(a: &Authorizer, shape: Shape, event: Value, now: u64) -> Outcome {
    let answer = authorize(a, &event, now);
    outcome(shape, &event, answer)
}

fn decide(shape: Shape, authorization: Option<&str>) -> Outcome {
    decide_with(&authorizer(), shape, shape.event(authorization), NOW)
}

fn is_allowed(o: &Outcome) -> bool {
    matches!(o, Outcome::Allowed(_))
}

// ---- the matrix: every cell for every shape ----

/// One `#[test]` per algorithm, cell and shape:
/// `es256::http_api::expired_token_is_refused`...
macro_rules! for_each_shape {
    ($($cell:ident),* $(,)?) => {
        for_each_shape!(@alg hs256, Hs256, $($cell),*);
        for_each_shape!(@alg es256, Es256, $($cell),*);
    };
    (@alg $m:ident, $alg:ident, $($cell:ident),*) => {
        mod $m {
            mod http_api {
                $( #[test] fn $cell() {
                    crate::run(crate::Alg::$alg, crate::Shape::HttpApi, crate::cells::$cell);
                } )*
            }
            mod rest_token {
                $( #[test] fn $cell() {
                    crate::run(crate::Alg::$alg, crate::Shape::RestToken, crate::cells::$cell);
                } )*
            }
            mod rest_request {
                $( #[test] fn $cell() {
                    crate::run(crate::Alg::$alg, crate::Shape::RestRequest, crate::cells::$cell);
                } )*
            }
        }
    };
}

for_each_shape!(
    valid_token_is_allowed_with_sub_roles_and_jti,
    token_without_roles_is_allowed_with_empty_roles,
    expired_token_is_refused,
    token_not_yet_valid_is_refused,
    wrong_issuer_is_refused,
    wrong_audience_is_refused,
    refresh_token_is_refused_as_an_access_token,
    alg_none_is_refused,
    tampered_payload_is_refused,
    every_attack_token_is_refused_and_every_control_allowed,
    signature_from_another_secret_is_refused,
    token_signed_by_the_previous_secret_is_allowed_during_rotation,
    missing_token_is_refused,
    empty_token_is_refused,
    wrong_scheme_is_refused,
    lowercase_bearer_is_allowed,
    extra_spaces_around_the_token_are_allowed,
    anything_after_the_token_is_refused,
    oversized_header_is_refused,
    rule_protected_route_without_the_role_is_forbidden,
    rule_protected_route_with_the_role_is_allowed,
    every_matching_rule_must_be_satisfied,
    rules_for_other_routes_do_not_affect_this_one,
);

mod cells {
    use super::*;

    pub fn valid_token_is_allowed_with_sub_roles_and_jti(shape: Shape) {
        let (token, jti) = mint_at(&["user", "admin"], NOW);
        assert_eq!(
            decide(shape, Some(&bearer(&token))),
            Outcome::Allowed(
                json!({"sub": "user-1", "roles": "user,admin", "jti": jti, "sid": "s1"})
            )
        );
    }

    pub fn token_without_roles_is_allowed_with_empty_roles(shape: Shape) {
        let (token, jti) = mint_at(&[], NOW);
        assert_eq!(
            decide(shape, Some(&bearer(&token))),
            Outcome::Allowed(json!({"sub": "user-1", "roles": "", "jti": jti, "sid": "s1"}))
        );
    }

    pub fn expired_token_is_refused(shape: Shape) {
        let (token, _) = mint_at(&["user"], NOW - 3600);
        assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
        // And exactly at the edge: TTL 900 s plus the default 5 s leeway.
        let (token, _) = mint_at(&["user"], NOW - 905);
        assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
        let (token, _) = mint_at(&["user"], NOW - 904);
        assert!(is_allowed(&decide(shape, Some(&bearer(&token)))));
    }

    pub fn token_not_yet_valid_is_refused(shape: Shape) {
        let (token, _) = mint_at(&["user"], NOW + 3600);
        assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
    }

    pub fn wrong_issuer_is_refused(shape: Shape) {
        let token = access_tokens(&[("JWT_ISSUER", "https://evil.example.com")])
            .issue("user-1", "s1", &roles(&["admin"]), NOW)
            .unwrap()
            .token;
        assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
    }

    pub fn wrong_audience_is_refused(shape: Shape) {
        let token = access_tokens(&[("JWT_AUDIENCE", "https://other-api.example.com")])
            .issue("user-1", "s1", &roles(&["admin"]), NOW)
            .unwrap()
            .token;
        assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
    }

    pub fn refresh_token_is_refused_as_an_access_token(shape: Shape) {
        let tokens = Tokens::from_source(&env(&[("JWT_REFRESH_SECRET", REFRESH_SECRET)]));
        let refresh = tokens
            .refresh
            .issue(&RefreshGrant {
                sub: "user-1",
                sid: "session-1",
                generation: 1,
                issued_at: NOW,
                session_ends_at: NOW + 86_400,
            })
            .unwrap()
            .token;
        assert_eq!(decide(shape, Some(&bearer(&refresh))), shape.refused());
        // Even re-labelled with the access key's kid it does not verify.
        let relabelled = tamper(&refresh, 0, &kid(&refresh), &kid(&mint(&[])));
        assert_eq!(decide(shape, Some(&bearer(&relabelled))), shape.refused());
    }

    pub fn alg_none_is_refused(shape: Shape) {
        let valid = mint(&["admin"]);
        let ours = match alg() {
            Alg::Hs256 => "\"alg\":\"HS256\"",
            Alg::Es256 => "\"alg\":\"ES256\"",
        };
        let header = tamper(&valid, 0, ours, "\"alg\":\"none\"");
        let mut parts: Vec<&str> = header.split('.').collect();
        for signature in ["", "x"] {
            parts[2] = signature;
            let token = parts.join(".");
            assert_eq!(decide(shape, Some(&bearer(&token))), shape.refused());
        }
    }

    /// The token crate's attack rows (every class: alg, keys, headers,
    /// claims, JSON, base64, structure, tampering), crafted for this
    /// authorizer's secret, issuer and audience, through this event shape.
    pub fn every_attack_token_is_refused_and_every_control_allowed(shape: Shape) {
        let a = authorizer();
        let keys = Keys {
            access_secret: SECRET,
            refresh_secret: REFRESH_SECRET,
            issuer: ISSUER,
            audience: AUDIENCE,
            now: NOW,
        };
        let rows = match alg() {
            Alg::Hs256 => attack_tokens::all(&keys),
            Alg::Es256 => testkit::es256_attacks::all(&testkit::es256_attacks::EsKeys {
                private_pem: testkit::fixed::ES_PRIVATE_KEY.as_str(),
                other_private_pem: testkit::fixed::ES_PRIVATE_KEY_2.as_str(),
                p384_private_pem: testkit::fixed::P384_PRIVATE_KEY.as_str(),
                refresh_secret: REFRESH_SECRET,
                issuer: ISSUER,
                audience: AUDIENCE,
                now: NOW,
            }),
        };
        let failures: Vec<String> = rows
            .iter()
            .filter_map(|row| {
                let event = shape.event(Some(&bearer(&row.token)));
                let got = decide_with(&a, shape, event, NOW);
                let ok = match row.expect {
                    Expect::Accept => is_allowed(&got),
                    Expect::Refuse(_) => got == shape.refused(),
                };
                (!ok).then(|| format!("{}: {got:?}", row.label()))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} rows failed:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        );
        assert!(rows.iter().filter(|r| r.is_control()).count() >= 3);
    }

    pub fn tampered_payload_is_refused(shape: Shape) {
        let valid = mint(&["user"]);
        let edits = [
            (
                "\"roles\":[\"user\"]",
                "\"roles\":[\"user\",\"admin\"]".to_owned(),
            ),
            ("\"sub\":\"user-1\"", "\"sub\":\"user-2\"".to_owned()),
            (
                &format!("\"exp\":{}", NOW + 900),
                format!("\"exp\":{}", NOW + 86_400),
            ),
        ];
        for (from, to) in edits {
            let tampered = tamper(&valid, 1, from, &to);
            assert_eq!(
                decide(shape, Some(&bearer(&tampered))),
                shape.refused(),
                "{to}"
            );
        }
    }

    pub fn signature_from_another_secret_is_refused(shape: Shape) {
        let foreign = access_tokens(&[other_signing_key()])
            .issue("user-1", "s1", &roles(&["admin"]), NOW)
            .unwrap()
            .token;
        assert_eq!(decide(shape, Some(&bearer(&foreign))), shape.refused());
        // With our kid in the header, the signature itself is what fails.
        let disguised = tamper(&foreign, 0, &kid(&foreign), &kid(&mint(&[])));
        assert_eq!(decide(shape, Some(&bearer(&disguised))), shape.refused());
        // A valid token's signature on another token's body.
        let a = mint(&["user"]);
        let b = foreign.split('.').take(2).collect::<Vec<_>>().join(".");
        let spliced = format!("{b}.{}", a.split('.').nth(2).unwrap());
        assert_eq!(decide(shape, Some(&bearer(&spliced))), shape.refused());
    }

    pub fn token_signed_by_the_previous_secret_is_allowed_during_rotation(shape: Shape) {
        let old = access_tokens(&[other_signing_key()])
            .issue("user-1", "s1", &roles(&["user"]), NOW)
            .unwrap()
            .token;
        let rotated = Authorizer::from_source(&env(&[other_key_as_previous()])).unwrap();
        let event = shape.event(Some(&bearer(&old)));
        assert!(is_allowed(&decide_with(&rotated, shape, event, NOW)));
        // Without it, the old key is unknown.
        let event = shape.event(Some(&bearer(&old)));
        assert_eq!(
            decide_with(&authorizer(), shape, event, NOW),
            shape.refused()
        );
    }

    pub fn missing_token_is_refused(shape: Shape) {
        assert_eq!(decide(shape, None), shape.refused());
    }

    pub fn empty_token_is_refused(shape: Shape) {
        for value in ["", " ", "Bearer", "Bearer ", "Bearer    "] {
            assert_eq!(decide(shape, Some(value)), shape.refused(), "{value:?}");
        }
    }

    pub fn wrong_scheme_is_refused(shape: Shape) {
        let token = mint(&["admin"]);
        for value in [
            "Basic dXNlcjpwYXNzd29yZA==".to_owned(),
            format!("Basic {token}"),
            format!("Token {token}"),
            format!("Bearer: {token}"),
            format!("Bearer\t{token}"),
            token.clone(),
        ] {
            assert_eq!(decide(shape, Some(&value)), shape.refused(), "{value:?}");
        }
    }

    pub fn lowercase_bearer_is_allowed(shape: Shape) {
        let token = mint(&["user"]);
        for scheme in ["bearer", "BEARER", "bEaReR"] {
            let value = format!("{scheme} {token}");
            assert!(is_allowed(&decide(shape, Some(&value))), "{scheme}");
        }
    }

    pub fn extra_spaces_around_the_token_are_allowed(shape: Shape) {
        let token = mint(&["user"]);
        for value in [
            format!("Bearer   {token}"),
            format!("  Bearer {token}  "),
            format!("\tBearer  {token}\t"),
        ] {
            assert!(is_allowed(&decide(shape, Some(&value))), "{value:?}");
        }
    }

    pub fn anything_after_the_token_is_refused(shape: Shape) {
        let token = mint(&["user"]);
        for value in [
            format!("Bearer {token} extra"),
            format!("Bearer {token} {token}"),
            format!("Bearer {token},Bearer {token}"),
            format!("Bearer {token}\tx"),
            format!("Bearer {token}."),
        ] {
            assert_eq!(decide(shape, Some(&value)), shape.refused(), "{value:?}");
        }
    }

    pub fn oversized_header_is_refused(shape: Shape) {
        let junk = format!("Bearer {}", "a".repeat(9 * 1024));
        assert_eq!(decide(shape, Some(&junk)), shape.refused());
        // The limit holds before trimming: a valid token padded past 8 KiB.
        let token = mint(&["user"]);
        let padded = format!("Bearer {token}{}", " ".repeat(8 * 1024));
        assert_eq!(decide(shape, Some(&padded)), shape.refused());
    }

    pub fn rule_protected_route_without_the_role_is_forbidden(shape: Shape) {
        let a = authorizer_with_rules("GET /admin/*=admin");
        let token = bearer(&mint(&["user"]));
        for path in ["/admin", "/admin/users", "/admin/users/7"] {
            let event = shape.event_for_route(Some(&token), "GET", path);
            assert_eq!(
                decide_with(&a, shape, event, NOW),
                shape.forbidden(),
                "{path}"
            );
        }
    }

    pub fn rule_protected_route_with_the_role_is_allowed(shape: Shape) {
        let a = authorizer_with_rules("GET /admin/*=admin");
        let (token, jti) = mint_at(&["user", "admin"], NOW);
        let event = shape.event_for_route(Some(&bearer(&token)), "GET", "/admin/users");
        assert_eq!(
            decide_with(&a, shape, event, NOW),
            Outcome::Allowed(
                json!({"sub": "user-1", "roles": "user,admin", "jti": jti, "sid": "s1"})
            )
        );
    }

    pub fn every_matching_rule_must_be_satisfied(shape: Shape) {
        let a = authorizer_with_rules("GET /admin/*=admin;* /admin/billing/*=billing");
        let path = "/admin/billing/invoices";
        for (have, allowed) in [
            (&["admin"][..], false),
            (&["billing"][..], false),
            (&["admin", "billing"][..], true),
        ] {
            let event = shape.event_for_route(Some(&bearer(&mint(have))), "GET", path);
            let got = decide_with(&a, shape, event, NOW);
            assert_eq!(is_allowed(&got), allowed, "{have:?}: {got:?}");
        }
    }

    pub fn rules_for_other_routes_do_not_affect_this_one(shape: Shape) {
        let a = authorizer_with_rules("GET /admin/*=admin;DELETE /*=admin");
        let token = bearer(&mint(&["user"]));
        for (method, path) in [
            ("GET", "/pets/42"),
            ("POST", "/pets"),
            ("GET", "/administrator"),
        ] {
            let event = shape.event_for_route(Some(&token), method, path);
            assert!(
                is_allowed(&decide_with(&a, shape, event, NOW)),
                "{method} {path}"
            );
        }
        let event = shape.event_for_route(Some(&token), "DELETE", "/pets/42");
        assert_eq!(decide_with(&a, shape, event, NOW), shape.forbidden());
    }
}

// ---- REST policy shape and caching ----

#[test]
fn rest_policy_with_rules_names_only_the_method_arn() {
    let a = authorizer_with_rules("GET /admin/*=admin;DELETE /*=admin;* /ops/*=ops");
    let (token, jti) = mint_at(&["user", "ops"], NOW);
    let expected = json!({
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": [format!("{STAGE_ARN_PROD}/GET/pets/42")]
                }
            ]
        },
        "context": {"sub": "user-1", "roles": "user,ops", "jti": jti, "sid": "s1"}
    });
    for shape in [Shape::RestToken, Shape::RestRequest] {
        let answer = authorize(&a, &shape.event(Some(&bearer(&token))), NOW).unwrap();
        assert_eq!(answer, expected, "{shape:?}");
    }
}

#[test]
fn rest_policy_without_rules_is_the_stage_wildcard_only() {
    let (token, jti) = mint_at(&["user"], NOW);
    for shape in [Shape::RestToken, Shape::RestRequest] {
        let answer = authorize(&authorizer(), &shape.event(Some(&bearer(&token))), NOW).unwrap();
        assert_eq!(
            answer,
            json!({
                "principalId": "user-1",
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": ["execute-api:Invoke"],
                        "Effect": "Allow",
                        "Resource": [format!("{STAGE_ARN_PROD}/*/*")]
                    }]
                },
                "context": {"sub": "user-1", "roles": "user", "jti": jti, "sid": "s1"}
            }),
            "{shape:?}"
        );
    }
}

#[test]
fn a_cached_rest_policy_stays_right_for_every_route() {
    // API Gateway caches the answer per token and reuses it for other routes:
    // with rules, it names only the route it was issued for.
    let a = authorizer_with_rules("GET /admin/*=admin;DELETE /*=admin;* /ops/*=ops");
    let token = bearer(&mint(&["user", "ops"]));
    for shape in [Shape::RestToken, Shape::RestRequest] {
        for (first_method, first_path) in [("GET", "/pets/42"), ("GET", "/admin/users")] {
            let event = shape.event_for_route(Some(&token), first_method, first_path);
            let cached = authorize(&a, &event, NOW).unwrap();
            let arn = |m: &str, p: &str| format!("{STAGE_ARN_PROD}/{m}{p}");
            for (method, path, allowed) in [
                ("GET", "/pets/42", true),
                ("POST", "/pets", true),
                ("GET", "/", true),
                ("GET", "/ops/deploys", true),
                ("POST", "/ops", true),
                ("GET", "/administrator", true),
                ("GET", "/admin", false),
                ("GET", "/admin/", false),
                ("GET", "/admin/users/7", false),
                ("HEAD", "/admin/users", false),
                ("DELETE", "/pets/42", false),
                ("DELETE", "/", false),
            ] {
                let same = (method, path) == (first_method, first_path);
                assert_eq!(
                    policy_allows(&cached, &arn(method, path)),
                    allowed && same,
                    "{shape:?} cached from {first_method} {first_path}, then {method} {path}"
                );
            }
            let other_stage = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/GET/pets";
            assert!(!policy_allows(&cached, other_stage));
            let other_api = "arn:aws:execute-api:eu-west-1:123456789012:zzzzzzzzzz/prod/GET/pets";
            assert!(!policy_allows(&cached, other_api));
        }
    }
}

#[test]
fn rest_forbidden_answer_denies_the_exact_route_even_when_spelled_oddly() {
    // Rule matching is case-insensitive; IAM is not, so the answer denies the
    // exact method ARN, and allows nothing else.
    let a = authorizer_with_rules("GET /admin/*=admin");
    let token = bearer(&mint(&["user"]));
    for shape in [Shape::RestToken, Shape::RestRequest] {
        let event = shape.event_for_route(Some(&token), "GET", "/Admin/users");
        let answer = authorize(&a, &event, NOW).unwrap();
        assert!(!policy_allows(&answer, &method_arn(&event)), "{shape:?}");
        assert!(!policy_allows(
            &answer,
            &format!("{STAGE_ARN_PROD}/GET/pets")
        ));
    }
}

#[test]
fn http_api_denials_carry_no_context() {
    let a = authorizer_with_rules("GET /admin/*=admin");
    let token = bearer(&mint(&["user"]));
    let forbidden = Shape::HttpApi.event_for_route(Some(&token), "GET", "/admin/x");
    assert_eq!(
        authorize(&a, &forbidden, NOW).unwrap(),
        json!({"isAuthorized": false})
    );
    let invalid = Shape::HttpApi.event(Some("Bearer not.a.token"));
    assert_eq!(
        authorize(&a, &invalid, NOW).unwrap(),
        json!({"isAuthorized": false})
    );
}

#[test]
fn http_api_rules_see_the_path_behind_a_named_stage() {
    // With a named stage rawPath carries the stage; the route ARN does not.
    let a = authorizer_with_rules("GET /admin/*=admin");
    let token = bearer(&mint(&["user"]));
    let mut event = Shape::HttpApi.event(Some(&token));
    event["routeArn"] =
        json!("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/admin/users");
    event["rawPath"] = json!("/prod/admin/users");
    event["requestContext"]["http"]["path"] = json!("/prod/admin/users");
    event["requestContext"]["stage"] = json!("prod");
    assert_eq!(
        decide_with(&a, Shape::HttpApi, event, NOW),
        Outcome::NotAuthorized
    );
}

// ---- where the token is read from ----

#[test]
fn http_api_reads_the_header_when_there_is_no_identity_source() {
    let token = bearer(&mint(&["user"]));
    let mut event = Shape::HttpApi.event(Some(&token));
    event.as_object_mut().unwrap().remove("identitySource");
    assert!(is_allowed(&decide_with(
        &authorizer(),
        Shape::HttpApi,
        event,
        NOW
    )));
}

#[test]
fn http_api_prefers_the_identity_source_api_gateway_extracted() {
    let token = bearer(&mint(&["user"]));
    let mut event = Shape::HttpApi.event(Some(&token));
    event["headers"]["authorization"] = json!("Basic dXNlcjpwYXNz");
    assert!(is_allowed(&decide_with(
        &authorizer(),
        Shape::HttpApi,
        event,
        NOW
    )));

    let mut event = Shape::HttpApi.event(Some(&token));
    event["identitySource"] = json!(["Basic dXNlcjpwYXNz"]);
    assert_eq!(
        decide_with(&authorizer(), Shape::HttpApi, event, NOW),
        Outcome::NotAuthorized
    );
}

#[test]
fn rest_request_reads_the_authorization_header_in_any_case() {
    let token = bearer(&mint(&["user"]));
    for name in ["authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"] {
        let mut event = Shape::RestRequest.event(Some(&token));
        for map in ["headers", "multiValueHeaders"] {
            let headers = event[map].as_object_mut().unwrap();
            let value = headers.remove("Authorization").unwrap();
            headers.insert(name.to_owned(), value);
        }
        assert!(
            is_allowed(&decide_with(&authorizer(), Shape::RestRequest, event, NOW)),
            "{name}"
        );
    }
}

#[test]
fn rest_request_refuses_two_authorization_values() {
    let good = bearer(&mint(&["user"]));
    let other = bearer(&mint(&["admin"]));
    // Two spellings of the name in `headers`.
    let mut event = Shape::RestRequest.event(Some(&good));
    event["headers"]["authorization"] = json!(other);
    assert_eq!(
        decide_with(&authorizer(), Shape::RestRequest, event, NOW),
        Outcome::Unauthorized
    );
    // Two values in `multiValueHeaders`.
    let mut event = Shape::RestRequest.event(Some(&good));
    event["multiValueHeaders"]["Authorization"] = json!([good, other]);
    assert_eq!(
        decide_with(&authorizer(), Shape::RestRequest, event, NOW),
        Outcome::Unauthorized
    );
}

#[test]
fn rest_request_falls_back_to_multi_value_headers() {
    let token = bearer(&mint(&["user"]));
    let mut event = Shape::RestRequest.event(Some(&token));
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("Authorization");
    assert!(is_allowed(&decide_with(
        &authorizer(),
        Shape::RestRequest,
        event,
        NOW
    )));
}

// ---- unknown and broken events ----

#[test]
fn unknown_event_shapes_are_unauthorized() {
    let token = bearer(&mint(&["admin"]));
    for event in [
        json!(null),
        json!({}),
        json!([]),
        json!("Bearer x"),
        json!(42),
        json!({"type": "token", "authorizationToken": token, "methodArn": format!("{STAGE_ARN_PROD}/GET/")}),
        json!({"type": "WEBSOCKET"}),
        json!({"version": "1.0"}),
        json!({"version": 2.0, "headers": {"authorization": token}}),
        json!({"authorizationToken": token, "methodArn": format!("{STAGE_ARN_PROD}/GET/")}),
    ] {
        let answer = authorize(&authorizer(), &event, NOW);
        assert_eq!(answer, Err(Unauthorized), "{event}");
    }
}

#[test]
fn broken_events_of_a_known_shape_are_denied() {
    let token = bearer(&mint(&["admin"]));
    let a = authorizer();
    // HTTP API without the fields its type requires.
    for event in [
        json!({"version": "2.0"}),
        json!({"version": "2.0", "identitySource": [token]}),
        json!({"version": "2.0", "identitySource": [token], "requestContext": {"http": {"method": 7}}}),
        json!({"version": "2.0", "identitySource": "not-an-array", "requestContext": {"http": {"method": "GET"}}}),
    ] {
        assert_eq!(
            authorize(&a, &event, NOW),
            Ok(json!({"isAuthorized": false})),
            "{event}"
        );
    }
    // REST with a valid token but no usable method ARN.
    for shape in [Shape::RestToken, Shape::RestRequest] {
        for arn in [
            json!(null),
            json!(""),
            json!("arn:aws:lambda:eu-west-1:1:function:f"),
            json!(7),
        ] {
            let mut event = shape.event(Some(&token));
            event["methodArn"] = arn.clone();
            assert_eq!(
                authorize(&a, &event, NOW),
                Err(Unauthorized),
                "{shape:?} {arn}"
            );
        }
    }
    // REST REQUEST without its request context, or with a header that is not text.
    let mut event = Shape::RestRequest.event(Some(&token));
    event.as_object_mut().unwrap().remove("requestContext");
    assert_eq!(authorize(&a, &event, NOW), Err(Unauthorized));
    let mut event = Shape::RestRequest.event(Some(&token));
    event["headers"]["Authorization"] = json!(12345);
    event["multiValueHeaders"]["Authorization"] = json!([12345]);
    assert_eq!(authorize(&a, &event, NOW), Err(Unauthorized));
    // TOKEN with a token that is not a string.
    let mut event = Shape::RestToken.event(Some(&token));
    event["authorizationToken"] = json!(["Bearer", "x"]);
    assert_eq!(authorize(&a, &event, NOW), Err(Unauthorized));
}

#[test]
fn unauthorized_error_message_is_exactly_unauthorized() {
    assert_eq!(Unauthorized.to_string(), "Unauthorized");
    let diagnostic = lambda_http::lambda_runtime::Diagnostic::from(Unauthorized);
    assert_eq!(
        serde_json::to_value(diagnostic).unwrap(),
        json!({"errorType": "Unauthorized", "errorMessage": "Unauthorized"})
    );
}

// ---- configuration ----

#[test]
fn configuration_needs_only_the_access_secret_issuer_and_audience() {
    let only = HashMap::from([
        ("JWT_ACCESS_SECRET", SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]);
    let a = Authorizer::from_source(&only).unwrap();
    assert!(a.rules().is_empty());
    for missing in ["JWT_ISSUER", "JWT_AUDIENCE"] {
        let mut without = only.clone();
        without.remove(missing);
        let err = Authorizer::from_source(&without).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!("{missing} is required but not set")
        );
    }
}

#[test]
fn missing_access_secret_refuses_to_start_naming_the_variable() {
    for value in ["<unset>", ""] {
        let err = Authorizer::from_source(&env(&[("JWT_ACCESS_SECRET", value)]))
            .err()
            .unwrap();
        assert!(err.to_string().contains("JWT_ACCESS_SECRET"), "{err}");
    }
}

#[test]
fn short_access_secret_refuses_to_start_without_printing_it() {
    let short = "short-but-secret-value";
    let err = Authorizer::from_source(&env(&[("JWT_ACCESS_SECRET", short)]))
        .err()
        .unwrap();
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(shown.contains("JWT_ACCESS_SECRET"), "{shown}");
    assert!(
        !shown.contains(short) && !debug.contains(short),
        "{shown} {debug}"
    );
}

#[test]
fn blank_or_whitespace_access_secret_refuses_to_start() {
    for value in [
        " ",
        "\t",
        "                                        ",
        "\n \t \r \n \t \r \n \t \r \n \t \r \n \t \r \n \t \r ",
    ] {
        let err = Authorizer::from_source(&env(&[("JWT_ACCESS_SECRET", value)]))
            .err()
            .unwrap_or_else(|| panic!("{value:?} was accepted"));
        assert!(err.to_string().contains("JWT_ACCESS_SECRET"), "{err}");
    }
}

#[test]
fn previous_secret_equal_to_the_current_one_is_refused_without_printing_it() {
    let err = Authorizer::from_source(&env(&[("JWT_ACCESS_SECRET_PREVIOUS", SECRET)]))
        .err()
        .unwrap();
    let shown = err.to_string();
    assert!(shown.contains("JWT_ACCESS_SECRET_PREVIOUS"), "{shown}");
    assert!(!shown.contains(SECRET) && !format!("{err:?}").contains(SECRET));
}

#[test]
fn good_rules_are_accepted() {
    for rules in [
        "",
        "   ",
        "GET /admin/*=admin;DELETE /*=admin",
        "GET /admin/*=admin;DELETE /*=admin;",
        "\n  get /admin/* = admin ;\n  ANY /ops=ops\n",
        "* /orgs/*/billing/*=billing",
        "PUT /=root",
    ] {
        assert!(
            Authorizer::from_source(&env(&[("AUTHZ_RULES", rules)])).is_ok(),
            "{rules:?}"
        );
    }
    assert_eq!(
        authorizer_with_rules("GET /a=x;POST /b=y")
            .rules()
            .rules()
            .len(),
        2
    );
}

#[test]
fn malformed_rules_refuse_to_start_naming_authz_rules() {
    for rules in [
        "GET /admin/*",
        "GET /admin/*=",
        "/admin/*=admin",
        "GET admin=admin",
        "FETCH /admin=admin",
        "GET /admin/*=admin,root",
        "GET /admin/*=ad min",
        "GET /a b=admin",
        "GET /a?b=admin",
        "GET /a//b=admin",
        "GET /admin/*=admin;oops",
    ] {
        let err = Authorizer::from_source(&env(&[("AUTHZ_RULES", rules)]))
            .err()
            .unwrap_or_else(|| panic!("{rules:?} was accepted"));
        assert!(err.to_string().contains("AUTHZ_RULES"), "{err}");
    }
}

// ---- properties ----

static VALID: LazyLock<String> = LazyLock::new(|| mint(&["user", "admin"]));
static RULED: LazyLock<Authorizer> =
    LazyLock::new(|| authorizer_with_rules("GET /admin/*=admin;DELETE /*=admin"));

/// Keys the handler looks at, so random objects reach its deeper paths.
const KEYS: &[&str] = &[
    "version",
    "type",
    "authorizationToken",
    "methodArn",
    "routeArn",
    "identitySource",
    "headers",
    "multiValueHeaders",
    "authorization",
    "Authorization",
    "requestContext",
    "http",
    "method",
    "path",
    "rawPath",
    "routeKey",
    "httpMethod",
    "resourcePath",
];

fn json_ish() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(vec![
            "2.0",
            "TOKEN",
            "REQUEST",
            "GET",
            "Bearer a.b.c",
            "bearer x",
            "arn:aws:execute-api:eu-west-1:1:api/prod/GET/admin",
            "/admin/x",
            "",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
                        ".{0,8}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn never_allows(answer: &Result<Value, Unauthorized>) -> bool {
    match answer {
        Err(_) => true,
        Ok(v) => *v == json!({"isAuthorized": false}),
    }
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics_and_never_allows(event in json_ish()) {
        let answer = authorize(&RULED, &event, NOW);
        prop_assert!(never_allows(&answer), "{answer:?}");
    }

    #[test]
    fn arbitrary_shaped_json_never_panics_and_never_allows(
        kind in prop::sample::select(vec![
            json!({"version": "2.0"}),
            json!({"type": "TOKEN"}),
            json!({"type": "REQUEST"}),
        ]),
        body in json_ish(),
    ) {
        let mut event = kind;
        if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), body) {
            for (k, v) in extra {
                target.entry(k).or_insert(v);
            }
        }
        let answer = authorize(&RULED, &event, NOW);
        prop_assert!(never_allows(&answer), "{answer:?}");
    }

    #[test]
    fn arbitrary_authorization_values_never_panic_and_never_allow(
        value in prop_oneof![
            any::<String>(),
            "(?i)bearer {0,3}[ -~]{0,200}",
            "[ \t]{0,3}Bearer [A-Za-z0-9._~+/=-]{0,300}[ \t]{0,3}",
        ],
        shape in prop::sample::select(SHAPES.to_vec()),
    ) {
        let answer = authorize(&RULED, &shape.event(Some(&value)), NOW);
        prop_assert!(never_allows(&answer), "{value:?}: {answer:?}");
    }

    #[test]
    fn damaged_valid_tokens_never_allow(
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        shape in prop::sample::select(SHAPES.to_vec()),
    ) {
        let mut chars: Vec<char> = VALID.chars().collect();
        let i = position.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let damaged: String = chars.into_iter().collect();
        // Changing the last signature character can leave the decoded bytes
        // unchanged (unused low bits); anything else must be refused.
        let answer = authorize(&RULED, &shape.event(Some(&bearer(&damaged))), NOW);
        if i + 1 < VALID.len() {
            prop_assert!(never_allows(&answer), "{damaged}: {answer:?}");
        }
    }

    #[test]
    fn any_scheme_case_and_spacing_of_a_valid_token_is_allowed(
        scheme in "[bB][eE][aA][rR][eE][rR]",
        lead in "[ \t]{0,3}",
        gap in " {1,4}",
        trail in "[ \t]{0,3}",
        shape in prop::sample::select(SHAPES.to_vec()),
    ) {
        let value = format!("{lead}{scheme}{gap}{}{trail}", *VALID);
        let event = shape.event(Some(&value));
        prop_assert!(is_allowed(&decide_with(&RULED, shape, event, NOW)));
    }

    #[test]
    fn valid_events_with_a_field_replaced_never_panic(
        shape in prop::sample::select(SHAPES.to_vec()),
        key in any::<prop::sample::Index>(),
        replacement in json_ish(),
    ) {
        let mut event = shape.event(Some(&bearer(&VALID)));
        let object = event.as_object_mut().unwrap();
        let keys: Vec<String> = object.keys().cloned().collect();
        object.insert(keys[key.index(keys.len())].clone(), replacement);
        let _ = authorize(&RULED, &event, NOW);
    }
}

#[test]
fn the_event_files_are_what_api_gateway_sends() {
    for shape in SHAPES {
        let v: Value = serde_json::from_str(shape.file()).unwrap();
        assert!(shape.file().contains(PLACEHOLDER), "{shape:?}");
        match shape {
            Shape::HttpApi => {
                assert_eq!(v["version"], "2.0");
                assert_eq!(v["type"], "REQUEST");
                assert_eq!(v["identitySource"], json!([PLACEHOLDER]));
                assert_eq!(v["headers"]["authorization"], PLACEHOLDER);
                assert!(v["requestContext"]["http"]["method"].is_string());
            }
            Shape::RestToken => {
                assert_eq!(v["type"], "TOKEN");
                assert_eq!(v["authorizationToken"], PLACEHOLDER);
            }
            Shape::RestRequest => {
                assert_eq!(v["type"], "REQUEST");
                assert_eq!(v["headers"]["Authorization"], PLACEHOLDER);
                assert!(v.get("version").is_none());
            }
        }
        // The placeholder itself is refused, like any junk token.
        assert!(!is_allowed(&decide(shape, Some(PLACEHOLDER))));
    }
}
