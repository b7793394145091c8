//! template.yaml declares the tables the code expects: the same keys,
//! indexes, attribute types and TTL attribute as `accounts::schema`.

use std::collections::BTreeSet;

use accounts::schema::{KeyAttr, SESSIONS, TableDef, USERS};
use integration_tests::workspace_root;
// The audit metrics the functions emit (EMF, namespace METRICS_NAMESPACE, no
// dimensions): the alarms and the dashboard name these.
use logging::Audit;
use serde_yaml_ng::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml"))
        .expect("template.yaml at the workspace root");
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_else(|| panic!("missing string at {path:?}"))
}

fn key_schema(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| {
            (
                str_at(k, &["AttributeName"]).to_owned(),
                str_at(k, &["KeyType"]).to_owned(),
            )
        })
        .collect()
}

fn expected_keys(pk: KeyAttr, sk: Option<KeyAttr>) -> Vec<(String, String)> {
    let mut v = vec![(pk.name.to_owned(), "HASH".to_owned())];
    v.extend(sk.map(|k| (k.name.to_owned(), "RANGE".to_owned())));
    v
}

fn check(def: TableDef) {
    let t = template();
    let res = &t["Resources"][def.logical_id];
    assert_eq!(
        str_at(res, &["Type"]),
        "AWS::DynamoDB::Table",
        "{}",
        def.logical_id
    );
    let p = &res["Properties"];
    assert_eq!(str_at(p, &["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        str_at(p, &["TimeToLiveSpecification", "AttributeName"]),
        def.ttl_attribute
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        key_schema(&p["KeySchema"]),
        expected_keys(def.partition_key, def.sort_key)
    );

    let declared: BTreeSet<(String, String)> = p["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                str_at(a, &["AttributeName"]).to_owned(),
                str_at(a, &["AttributeType"]).to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = def
        .key_attributes()
        .into_iter()
        .map(|k| (k.name.to_owned(), k.kind.to_owned()))
        .collect();
    assert_eq!(
        declared, expected,
        "{} attribute definitions",
        def.logical_id
    );

    assert!(
        p.get("GlobalSecondaryIndexes").is_none(),
        "{}: no index (every read that ends or checks sessions is consistent)",
        def.logical_id
    );
}

#[test]
fn users_table_matches_the_schema() {
    check(USERS);
}

#[test]
fn sessions_table_matches_the_schema() {
    check(SESSIONS);
}

#[test]
fn every_table_in_the_template_is_one_the_code_knows() {
    let t = template();
    let tables: BTreeSet<&str> = t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .filter_map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        tables,
        BTreeSet::from([USERS.logical_id, SESSIONS.logical_id])
    );
}

/// A configuration source that records every variable the code asks for.
struct Recording {
    values: std::collections::HashMap<&'static str, &'static str>,
    asked: std::cell::RefCell<BTreeSet<String>>,
}

impl config::Source for Recording {
    fn get(&self, var: &str) -> Option<String> {
        self.asked.borrow_mut().insert(var.to_owned());
        self.values.get(var).map(|v| (*v).to_owned())
    }
}

/// The access tokens' algorithm a reading or a template is evaluated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Hs256,
    Es256,
}

const ALGS: [Alg; 2] = [Alg::Hs256, Alg::Es256];

/// Every variable `build` asks for, given a valid value for each required
/// one, with access tokens of `alg`.
fn read_by(alg: Alg, build: impl FnOnce(&Recording)) -> BTreeSet<String> {
    let mut values: std::collections::HashMap<&'static str, &'static str> = [
        (
            "JWT_ACCESS_SECRET",
            "template-test-access-secret-0123456789ab",
        ),
        (
            "JWT_REFRESH_SECRET",
            "template-test-refresh-secret-0123456789a",
        ),
        ("JWT_ISSUER", "https://auth.example.com"),
        ("JWT_AUDIENCE", "https://api.example.com"),
        ("USERS_TABLE", "u"),
        ("SESSIONS_TABLE", "s"),
    ]
    .into();
    if alg == Alg::Es256 {
        values.extend([
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
    let r = Recording {
        values,
        asked: Default::default(),
    };
    build(&r);
    r.asked.into_inner()
}

/// A client that is never built: reading the configuration makes no call.
fn client() -> accounts::client::LazyClient {
    accounts::client::LazyClient::new(accounts::client::Settings {
        region: "eu-west-1".into(),
        endpoint: None,
    })
}

/// Every variable function `F` reads when it starts.
/// The functions with audit events also read the metrics' namespace
/// (`logging::init`); `me` and `jwks` log none.
fn reads<F: handlers::FromEnv>(alg: Alg) -> BTreeSet<String> {
    read_by(alg, |r| {
        logging::Settings::from_source(r).expect("logging config");
        F::from_source(r, client()).expect("a valid configuration");
    })
}

/// What each function's code reads, by its logical id in the template.
fn read_by_each_function(alg: Alg) -> Vec<(&'static str, BTreeSet<String>)> {
    let authorizer = read_by(alg, |r| {
        logging::Settings::from_source(r).expect("logging config");
        authorizer::Authorizer::from_source(r).expect("authorizer config");
    });
    let jwks = read_by(alg, |r| {
        token::Published::from_source(r).expect("jwks config");
    });
    vec![
        ("RegisterFunction", reads::<handlers::Register>(alg)),
        ("LoginFunction", reads::<handlers::Login>(alg)),
        ("RefreshFunction", reads::<handlers::Refresh>(alg)),
        ("LogoutFunction", reads::<handlers::Logout>(alg)),
        ("AccountFunction", reads::<handlers::Account>(alg)),
        ("AuthorizerFunction", authorizer),
        ("JwksFunction", jwks),
        ("MeFunction", BTreeSet::new()),
    ]
}

/// A variable's template value when the stack uses `alg`: `!If
/// [UsesES256|UsesHS256, a, b]` is evaluated, and `!Ref AWS::NoValue` is no
/// value at all.
fn value_for(alg: Alg, value: &Value) -> Option<&Value> {
    let value = match value {
        Value::Tagged(t) if t.tag == "!If" => {
            let args = t.value.as_sequence().expect("!If arguments");
            let es256 = match args[0].as_str() {
                Some("UsesES256") => true,
                Some("UsesHS256") => false,
                _ => return Some(value),
            };
            &args[if es256 == (alg == Alg::Es256) { 1 } else { 2 }]
        }
        other => other,
    };
    let no_value = matches!(value, Value::Tagged(t)
        if t.tag == "!Ref" && t.value.as_str() == Some("AWS::NoValue"));
    (!no_value).then_some(value)
}

fn template_env_for(function: &str, alg: Alg) -> BTreeSet<String> {
    let t = template();
    let global = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .cloned();
    let own = t["Resources"][function]["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .cloned();
    global
        .into_iter()
        .chain(own)
        .flat_map(|m| {
            m.into_iter()
                .filter(|(_, v)| value_for(alg, v).is_some())
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        })
        .collect()
}

/// A function's variables with the default (HS256) parameters.
fn template_env(function: &str) -> BTreeSet<String> {
    template_env_for(function, Alg::Hs256)
}

#[test]
fn each_function_gets_exactly_the_variables_its_code_reads_with_either_algorithm() {
    for alg in ALGS {
        for (function, reads) in read_by_each_function(alg) {
            assert_eq!(template_env_for(function, alg), reads, "{function} {alg:?}");
        }
    }
}

#[test]
fn only_the_signing_functions_receive_the_private_key_and_no_es256_function_a_secret() {
    // Login and refresh sign access tokens; account signs a
    // reauthentication's.
    for (function, _) in read_by_each_function(Alg::Es256) {
        let env = template_env_for(function, Alg::Es256);
        assert_eq!(
            env.contains("JWT_ACCESS_PRIVATE_KEY"),
            ["LoginFunction", "RefreshFunction", "AccountFunction"].contains(&function),
            "{function}"
        );
        assert!(!env.contains("JWT_ACCESS_SECRET"), "{function}");
        assert!(!env.contains("JWT_ACCESS_SECRET_PREVIOUS"), "{function}");
    }
    let jwks = template_env_for("JwksFunction", Alg::Es256);
    assert_eq!(
        jwks,
        BTreeSet::from(
            [
                "JWT_ISSUER",
                "JWT_ACCESS_ALGORITHM",
                "JWT_ACCESS_PUBLIC_KEY",
                "JWT_ACCESS_PUBLIC_KEY_PREVIOUS"
            ]
            .map(str::to_owned)
        )
    );
    let t = template();
    let jwks_policies = &t["Resources"]["JwksFunction"]["Properties"]["Policies"];
    assert!(
        jwks_policies.is_null(),
        "the jwks function needs no IAM action"
    );
}

#[test]
fn every_function_of_the_template_is_checked() {
    let t = template();
    let functions: BTreeSet<&str> = t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|(k, _)| k.as_str())
        .collect();
    let checked: BTreeSet<&str> = read_by_each_function(Alg::Hs256)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(functions, checked);
}

#[test]
fn register_holds_no_signing_key_and_logout_nothing_that_signs_access_tokens() {
    let register = template_env("RegisterFunction");
    assert!(
        !register.iter().any(|v| v.starts_with("JWT_")),
        "{register:?}"
    );
    let logout = template_env("LogoutFunction");
    assert!(
        !logout.iter().any(|v| v.starts_with("JWT_ACCESS")),
        "{logout:?}"
    );
}

#[test]
fn the_authorizer_never_receives_the_refresh_secret() {
    let env = template_env("AuthorizerFunction");
    assert!(!env.iter().any(|v| v.starts_with("JWT_REFRESH")), "{env:?}");
    assert!(env.contains("JWT_ACCESS_SECRET"));
}

/// The `!Tag` and its argument of a short-form intrinsic.
fn tagged<'a>(v: &'a Value, tag: &str) -> &'a Value {
    match v {
        Value::Tagged(t) if t.tag == tag => &t.value,
        other => panic!("expected {tag}, found {other:?}"),
    }
}

#[test]
fn signing_secrets_are_generated_by_the_stack_never_typed_at_deploy() {
    let t = template();
    for p in ["JwtAccessSecret", "JwtRefreshSecret"] {
        assert!(t["Parameters"].get(p).is_none(), "no parameter {p}");
    }
    for (secret, var) in [
        ("AccessTokenSecret", "JWT_ACCESS_SECRET"),
        ("RefreshTokenSecret", "JWT_REFRESH_SECRET"),
    ] {
        let r = &t["Resources"][secret];
        assert_eq!(str_at(r, &["Type"]), "AWS::SecretsManager::Secret");
        let g = &r["Properties"]["GenerateSecretString"];
        assert!(g["PasswordLength"].as_u64().unwrap() >= 32, "{secret}");
        let reference = format!("{{{{resolve:secretsmanager:${{{secret}}}:SecretString}}}}");
        for function in functions() {
            let value =
                &t["Resources"][function.as_str()]["Properties"]["Environment"]["Variables"][var];
            if let Some(value) = value_for(Alg::Hs256, value).filter(|v| !v.is_null()) {
                assert_eq!(
                    tagged(value, "!Sub").as_str(),
                    Some(reference.as_str()),
                    "{function}"
                );
            }
        }
    }
    for p in ["JwtAccessSecretPrevious", "JwtRefreshSecretPrevious"] {
        let param = &t["Parameters"][p];
        assert_eq!(param["NoEcho"].as_bool(), Some(true), "{p}");
        assert_eq!(param["Default"].as_str(), Some(""), "{p}");
    }
}

/// Every `AWS::Serverless::Function` of the template, by logical id.
fn functions() -> Vec<String> {
    let t = template();
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect()
}

/// The branches of `v` when it is `!If [condition, a, b]` (without `!Ref
/// AWS::NoValue`), else `v` itself.
fn branches(v: &Value) -> Vec<&Value> {
    match v {
        Value::Tagged(t) if t.tag == "!If" => t.value.as_sequence().expect("!If arguments")[1..]
            .iter()
            .filter(|b| !is_ref(b, "AWS::NoValue"))
            .collect(),
        other => vec![other],
    }
}

/// Every route, whatever the conditions: (function, method, path, the
/// authorizer it names). Each `HttpApi` event (its `Auth.Authorizer`), and
/// each Lambda integration of the HttpApi's OpenAPI body (the first name of
/// its `security`; the function of its `uri`).
fn routes() -> Vec<(String, String, String, Option<String>)> {
    let t = template();
    let mut out = Vec::new();
    let paths = &t["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["paths"];
    for (path, item) in paths.as_mapping().expect("paths").iter() {
        for item in branches(item) {
            for (method, op) in item.as_mapping().into_iter().flatten() {
                // `parameters` and the like: not a route.
                let Some(integration) = op.get("x-amazon-apigateway-integration") else {
                    continue;
                };
                let sub = tagged(&integration["uri"], "!Sub")
                    .as_str()
                    .expect("a !Sub uri");
                let function = sub
                    .split("${")
                    .find_map(|s| s.split_once(".Arn}"))
                    .map(|(f, _)| f.to_owned())
                    .expect("${Function.Arn}");
                let security = op["security"].as_sequence().cloned().unwrap_or_default();
                let authorizer = security
                    .first()
                    .and_then(Value::as_mapping)
                    .and_then(|m| m.keys().next())
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                out.push((
                    function,
                    method.as_str().unwrap().to_ascii_uppercase(),
                    path.as_str().unwrap().to_owned(),
                    authorizer,
                ));
            }
        }
    }
    for f in functions() {
        let events = t["Resources"][f.as_str()]["Properties"]["Events"]
            .as_mapping()
            .cloned();
        for (_, e) in events.into_iter().flatten() {
            assert_eq!(
                e["Type"].as_str(),
                Some("HttpApi"),
                "{f}: HTTP API events only"
            );
            let p = &e["Properties"];
            out.push((
                f.clone(),
                str_at(p, &["Method"]).to_owned(),
                str_at(p, &["Path"]).to_owned(),
                p["Auth"]["Authorizer"].as_str().map(str::to_owned),
            ));
        }
    }
    out
}

#[test]
fn every_route_is_behind_the_authorizer_unless_it_is_a_public_auth_route() {
    let t = template();
    let auth = &t["Resources"]["HttpApi"]["Properties"]["Auth"];
    assert_eq!(auth["DefaultAuthorizer"].as_str(), Some("TokenAuthorizer"));
    let public = [
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ];
    let routes = routes();
    assert!(routes.iter().any(|(_, _, p, _)| p == "/me"), "{routes:?}");
    for (f, method, path, authorizer) in &routes {
        assert_ne!(
            method, "OPTIONS",
            "{f}: preflights are the gateway's (CORS), never a route"
        );
        // The account function verifies the Bearer token itself (with the
        // authorizer's verifier), to answer 401 invalid_token everywhere.
        let verifies_itself = f == "AccountFunction";
        match authorizer.as_deref() {
            Some("NONE") => assert!(
                public.contains(&path.as_str()) || verifies_itself,
                "{f} {path} must not be open"
            ),
            None => assert!(
                !public.contains(&path.as_str()) && !verifies_itself,
                "{f} {path}"
            ),
            // API Gateway's JWT authorizer, chosen per route: the example.
            Some("GatewayJwt") => assert_eq!(
                (f.as_str(), path.as_str()),
                ("MeFunction", "/me/gateway-jwt")
            ),
            Some(other) => panic!("{f} {path}: unexpected authorizer {other}"),
        }
    }
    for path in [
        "/auth/sessions",
        "/auth/sessions/{sid}",
        "/auth/password",
        "/auth/account",
    ] {
        assert!(
            routes
                .iter()
                .any(|(f, _, p, _)| f == "AccountFunction" && p == path),
            "{path}"
        );
    }
}

#[test]
fn the_gateway_jwt_authorizer_checks_our_issuer_and_audience() {
    let t = template();
    let scheme = &t["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["components"]["securitySchemes"]
        ["GatewayJwt"];
    let jwt = &branches(scheme)[0]["x-amazon-apigateway-authorizer"];
    assert_eq!(str_at(jwt, &["type"]), "jwt");
    assert_eq!(
        str_at(jwt, &["identitySource"]),
        "$request.header.Authorization"
    );
    let config = &jwt["jwtConfiguration"];
    assert_eq!(
        tagged(&config["issuer"], "!Ref").as_str(),
        Some("JwtIssuer")
    );
    let audience = config["audience"].as_sequence().expect("a list");
    assert_eq!(audience.len(), 1);
    assert_eq!(tagged(&audience[0], "!Ref").as_str(), Some("JwtAudience"));
}

/// `v` as the stack has it with access tokens of `alg`: every `!If
/// [UsesES256|UsesHS256, a, b]` (short or long form) taken, `!Ref
/// AWS::NoValue` removed (`None` at the top); anything else as written.
fn resolved_for(alg: Alg, v: &Value) -> Option<Value> {
    let if_args = match v {
        Value::Tagged(t) if t.tag == "!If" => t.value.as_sequence(),
        Value::Mapping(m) if m.len() == 1 => m.get("Fn::If").and_then(Value::as_sequence),
        _ => None,
    };
    if let Some(args) = if_args {
        let es256 = match args[0].as_str() {
            Some("UsesES256") => Some(true),
            Some("UsesHS256") => Some(false),
            _ => None,
        };
        if let Some(es256) = es256 {
            let taken = if es256 == (alg == Alg::Es256) { 1 } else { 2 };
            return resolved_for(alg, &args[taken]);
        }
    }
    if is_ref(v, "AWS::NoValue") || v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
        return None;
    }
    Some(match v {
        Value::Sequence(items) => items.iter().filter_map(|i| resolved_for(alg, i)).collect(),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), resolved_for(alg, v)?)))
                .collect(),
        ),
        Value::Tagged(t) => Value::Tagged(Box::new(serde_yaml_ng::value::TaggedValue {
            tag: t.tag.clone(),
            value: resolved_for(alg, &t.value).unwrap_or(Value::Null),
        })),
        other => other.clone(),
    })
}

/// The template's resources that exist with access tokens of `alg` (a
/// `Condition: UsesES256|UsesHS256` decided; any other condition kept), as
/// `resolved_for` has them.
fn resources_for(alg: Alg) -> Vec<(String, Value)> {
    let t = template();
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| match r["Condition"].as_str() {
            Some("UsesES256") => alg == Alg::Es256,
            Some("UsesHS256") => alg == Alg::Hs256,
            _ => true,
        })
        .filter_map(|(k, r)| Some((k.as_str()?.to_owned(), resolved_for(alg, r)?)))
        .collect()
}

/// API Gateway's JWT authorizers and who may reach a function through them,
/// with access tokens of one algorithm.
#[derive(Debug, Default)]
struct JwtShape {
    /// SAM `Auth.Authorizers` with a `JwtConfiguration`, OpenAPI security
    /// schemes of type `jwt`, `AWS::ApiGatewayV2::Authorizer`s of type `JWT`.
    authorizers: BTreeSet<String>,
    /// The routes (`GET /path`) that use one of them.
    routes: BTreeSet<String>,
    /// Routes of functions' `HttpApi` events (SAM adds their permission).
    event_routes: BTreeSet<String>,
    /// Routes an explicit `AWS::Lambda::Permission` lets API Gateway invoke.
    permitted: BTreeSet<String>,
}

fn jwt_shape(alg: Alg) -> JwtShape {
    let resources = resources_for(alg);
    let of_type = |ty: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r["Type"].as_str() == Some(ty))
    };
    let mut authorizers = BTreeSet::new();
    let mut schemes_routes: Vec<(String, Value)> = Vec::new();
    for (_, api) in of_type("AWS::Serverless::HttpApi") {
        let p = &api["Properties"];
        for (name, a) in p["Auth"]["Authorizers"].as_mapping().into_iter().flatten() {
            if a.get("JwtConfiguration").is_some() {
                authorizers.insert(name.as_str().unwrap().to_owned());
            }
        }
        let body = &p["DefinitionBody"];
        let schemes = body["components"]["securitySchemes"].as_mapping();
        for (name, s) in schemes.into_iter().flatten() {
            let kind = s["x-amazon-apigateway-authorizer"]["type"].as_str();
            if kind.is_some_and(|k| k.eq_ignore_ascii_case("jwt")) {
                authorizers.insert(name.as_str().unwrap().to_owned());
            }
        }
        for (path, item) in body["paths"].as_mapping().into_iter().flatten() {
            for (method, op) in item.as_mapping().into_iter().flatten() {
                let route = format!(
                    "{} {}",
                    method.as_str().unwrap().to_ascii_uppercase(),
                    path.as_str().unwrap()
                );
                schemes_routes.push((route, op["security"].clone()));
            }
        }
    }
    for (id, a) in of_type("AWS::ApiGatewayV2::Authorizer") {
        if a["Properties"]["AuthorizerType"].as_str() == Some("JWT") {
            authorizers.insert(id.clone());
        }
    }
    let mut routes = BTreeSet::new();
    let mut event_routes = BTreeSet::new();
    for (route, security) in schemes_routes {
        let names = security.as_sequence().cloned().unwrap_or_default();
        if names.iter().any(|s| {
            s.as_mapping()
                .is_some_and(|m| m.keys().any(|k| authorizers.contains(k.as_str().unwrap())))
        }) {
            routes.insert(route);
        }
    }
    for (_, f) in of_type("AWS::Serverless::Function") {
        for (_, e) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let p = &e["Properties"];
            let route = format!(
                "{} {}",
                str_at(p, &["Method"]).to_ascii_uppercase(),
                str_at(p, &["Path"])
            );
            if p["Auth"]["Authorizer"]
                .as_str()
                .is_some_and(|a| authorizers.contains(a))
            {
                routes.insert(route.clone());
            }
            event_routes.insert(route);
        }
    }
    for (_, r) in of_type("AWS::ApiGatewayV2::Route") {
        if r["Properties"]["AuthorizationType"].as_str() == Some("JWT") {
            routes.insert(str_at(&r["Properties"], &["RouteKey"]).to_owned());
        }
    }
    let mut permitted = BTreeSet::new();
    for (_, p) in of_type("AWS::Lambda::Permission") {
        let arn = &p["Properties"]["SourceArn"];
        let text = match arn {
            Value::Tagged(t) if t.tag == "!Sub" => t.value.as_str(),
            other => other.as_str(),
        };
        // .../${HttpApi}/<stage>/<METHOD>/<path>
        if let Some(text) = text {
            let parts: Vec<&str> = text.splitn(4, '/').collect();
            if let [_, _, method, path] = parts.as_slice() {
                permitted.insert(format!("{method} /{path}"));
            }
        }
    }
    JwtShape {
        authorizers,
        routes,
        event_routes,
        permitted,
    }
}

#[test]
fn the_jwt_authorizer_and_every_route_using_it_exist_only_under_es256() {
    // Under HS256 JwtIssuer is only a label: a JWT authorizer would trust
    // whatever serves <JwtIssuer>/.well-known/openid-configuration.
    let hs256 = jwt_shape(Alg::Hs256);
    let es256 = jwt_shape(Alg::Es256);
    assert!(
        hs256.authorizers.is_empty(),
        "HS256: no JWT authorizer, found {:?}",
        hs256.authorizers
    );
    assert!(
        hs256.routes.is_empty(),
        "HS256: no route behind one, found {:?}",
        hs256.routes
    );
    assert_eq!(es256.authorizers, BTreeSet::from(["GatewayJwt".to_owned()]));
    assert_eq!(
        es256.routes,
        BTreeSet::from(["GET /me/gateway-jwt".to_owned()])
    );
    for route in &es256.routes {
        // ES256: API Gateway may invoke the function behind the route...
        assert!(
            es256.event_routes.contains(route) || es256.permitted.contains(route),
            "ES256: nothing lets API Gateway invoke {route}"
        );
        // ...and under HS256 neither the route nor its permission exists.
        assert!(!hs256.event_routes.contains(route), "HS256: {route}");
        assert!(
            !hs256.permitted.contains(route),
            "HS256: a permission for {route}"
        );
    }
}

#[test]
fn cors_is_the_gateways_from_allowed_origins_with_credentials_and_retry_after() {
    let t = template();
    let cors =
        &t["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-cors"];
    let args = tagged(cors, "!If").as_sequence().expect("!If arguments");
    assert_eq!(args[0].as_str(), Some("HasAllowedOrigins"));
    let on = &args[1];
    let split = tagged(&on["allowOrigins"], "!Split").as_sequence().unwrap();
    assert_eq!(split[0].as_str(), Some(","));
    assert_eq!(tagged(&split[1], "!Ref").as_str(), Some("AllowedOrigins"));
    assert_eq!(on["allowCredentials"].as_bool(), Some(true));
    let list = |k: &str| -> Vec<String> {
        on[k]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_ascii_lowercase())
            .collect()
    };
    assert!(list("exposeHeaders").contains(&"retry-after".to_owned()));
    for h in ["authorization", "content-type"] {
        assert!(list("allowHeaders").contains(&h.to_owned()), "{h}");
    }
    for m in ["get", "post", "delete"] {
        assert!(list("allowMethods").contains(&m.to_owned()), "{m}");
    }
    assert!(
        t["Resources"]["HttpApi"]["Properties"]
            .get("CorsConfiguration")
            .is_none()
    );
}

#[test]
fn iam_policies_name_exact_actions_on_exact_tables() {
    let t = template();
    for f in functions() {
        let policies = t["Resources"][f.as_str()]["Properties"]["Policies"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        for p in policies {
            let statements = p["Statement"]
                .as_sequence()
                .expect("inline statements only");
            for s in statements {
                for a in s["Action"].as_sequence().expect("Action list") {
                    let a = a.as_str().unwrap();
                    assert!(a.starts_with("dynamodb:") && !a.contains('*'), "{f}: {a}");
                }
                let resource = &s["Resource"];
                assert!(
                    !matches!(resource, Value::String(r) if r.contains('*')),
                    "{f}: {resource:?}"
                );
            }
        }
    }
}

#[test]
fn the_cookie_path_follows_the_base_path() {
    let t = template();
    let mut seen = 0;
    for f in functions() {
        let v =
            &t["Resources"][f.as_str()]["Properties"]["Environment"]["Variables"]["COOKIE_PATH"];
        if v.is_null() {
            continue;
        }
        seen += 1;
        let args = tagged(v, "!If").as_sequence().unwrap();
        assert_eq!(args[0].as_str(), Some("HasBasePath"), "{f}");
        assert_eq!(
            tagged(&args[1], "!Sub").as_str(),
            Some("/${BasePath}/auth"),
            "{f}"
        );
        assert_eq!(args[2].as_str(), Some("/auth"), "{f}");
    }
    assert!(
        seen >= 3,
        "login, refresh and logout set or clear the cookie"
    );
}

#[test]
fn a_custom_domain_maps_the_api_with_its_base_path() {
    let t = template();
    let r = &t["Resources"];
    assert_eq!(r["ApiDomain"]["Condition"].as_str(), Some("HasDomain"));
    assert_eq!(r["ApiMapping"]["Condition"].as_str(), Some("HasDomain"));
    assert_eq!(
        r["ApiDnsRecord"]["Condition"].as_str(),
        Some("HasHostedZone")
    );
    let key = tagged(&r["ApiMapping"]["Properties"]["ApiMappingKey"], "!If")
        .as_sequence()
        .unwrap();
    assert_eq!(key[0].as_str(), Some("HasBasePath"));
    assert!(t["Rules"]["DomainNeedsCertificate"].is_mapping());
}

#[test]
fn authorizer_caching_is_off_by_default_and_whenever_route_rules_are_set() {
    let t = template();
    assert_eq!(
        t["Parameters"]["AuthorizerCacheTtl"]["Default"].as_u64(),
        Some(0)
    );
    let identity = &t["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
        ["Identity"];
    let Value::Tagged(reauth) = &identity["ReauthorizeEvery"] else {
        panic!("ReauthorizeEvery must be !If [HasAuthzRules, 0, ...]");
    };
    assert_eq!(reauth.tag, "!If");
    let args = reauth.value.as_sequence().expect("!If arguments");
    assert_eq!(args[0].as_str(), Some("HasAuthzRules"));
    assert_eq!(args[1].as_u64(), Some(0));
    assert!(
        !t["Conditions"]["HasAuthzRules"].is_null(),
        "condition HasAuthzRules"
    );
}

/// The audit metrics that are a security signal: each must raise an alarm.
/// The metrics of the events an attack shows in: each needs an alarm.
fn alarmed_metrics() -> Vec<&'static str> {
    Audit::ALL
        .into_iter()
        .filter(|a| a.is_security_signal())
        .filter_map(Audit::metric)
        .collect()
}

/// Whether some audit event counts the metric `name`.
fn emitted(name: &str) -> bool {
    Audit::metrics().any(|m| m == name)
}

/// The functions that emit audit metrics, so read METRICS_NAMESPACE.
const EMITTING_FUNCTIONS: [&str; 6] = [
    "RegisterFunction",
    "LoginFunction",
    "RefreshFunction",
    "LogoutFunction",
    "AccountFunction",
    "AuthorizerFunction",
];

fn is_ref(v: &Value, name: &str) -> bool {
    matches!(v, Value::Tagged(t) if t.tag == "!Ref" && t.value.as_str() == Some(name))
}

/// Every `AWS::CloudWatch::Alarm`: (logical id, its properties).
fn alarms() -> Vec<(String, Value)> {
    let t = template();
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r["Properties"].clone()))
        .collect()
}

/// The metrics an alarm watches: its own (Namespace, MetricName,
/// Dimensions), or each `MetricStat.Metric` of its metric math.
fn watched(alarm: &Value) -> Vec<Value> {
    match alarm["Metrics"].as_sequence() {
        Some(metrics) => metrics
            .iter()
            .filter(|m| m.get("MetricStat").is_some())
            .map(|m| m["MetricStat"]["Metric"].clone())
            .collect(),
        None => vec![alarm.clone()],
    }
}

/// Whether `metric` is `namespace`/`name` with exactly the one dimension
/// `dimension` = `!Ref target`.
fn is_metric_of(
    metric: &Value,
    namespace: &str,
    name: &str,
    dimension: &str,
    target: &str,
) -> bool {
    let dims = metric["Dimensions"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    metric["Namespace"].as_str() == Some(namespace)
        && metric["MetricName"].as_str() == Some(name)
        && dims.len() == 1
        && dims[0]["Name"].as_str() == Some(dimension)
        && is_ref(&dims[0]["Value"], target)
}

#[test]
fn every_alarm_on_an_audit_metric_names_one_the_code_emits_and_every_security_signal_has_one() {
    let mut alarmed = BTreeSet::new();
    for (id, alarm) in alarms() {
        for metric in watched(&alarm) {
            if metric["Namespace"]
                .as_str()
                .is_some_and(|ns| ns.starts_with("AWS/"))
            {
                continue;
            }
            assert!(
                is_ref(&metric["Namespace"], "MetricsNamespace"),
                "{id}: an audit metric is in !Ref MetricsNamespace"
            );
            let name = str_at(&metric, &["MetricName"]);
            assert!(emitted(name), "{id}: {name} is never emitted");
            assert!(
                metric.get("Dimensions").is_none(),
                "{id}: the audit metrics have no dimensions"
            );
            alarmed.insert(name.to_owned());
        }
    }
    let security = alarmed_metrics();
    assert!(security.contains(&"RefreshReuseDetected"), "{security:?}");
    for name in security {
        assert!(alarmed.contains(name), "no alarm on {name}");
    }
    let t = template();
    let ns = &t["Parameters"]["MetricsNamespace"];
    assert_eq!(ns["Default"].as_str(), Some("ServerlessAuth"));
}

#[test]
fn the_reuse_and_ip_limit_alarms_fire_on_the_first_event() {
    for (id, alarm) in alarms() {
        let name = alarm["MetricName"].as_str();
        if matches!(name, Some("RefreshReuseDetected" | "LoginRefusedByIpLimit")) {
            assert_eq!(alarm["Statistic"].as_str(), Some("Sum"), "{id}");
            assert_eq!(alarm["Threshold"].as_u64(), Some(1), "{id}");
            assert_eq!(
                alarm["ComparisonOperator"].as_str(),
                Some("GreaterThanOrEqualToThreshold"),
                "{id}"
            );
            assert!(alarm["Period"].as_u64().unwrap() <= 300, "{id}");
        }
    }
}

#[test]
fn every_function_has_an_errors_alarm_and_its_throttles_and_the_apis_5xx_are_alarmed() {
    let alarms = alarms();
    let any = |namespace: &str, name: &str, dimension: &str, target: &str| {
        alarms.iter().any(|(_, a)| {
            watched(a)
                .iter()
                .any(|m| is_metric_of(m, namespace, name, dimension, target))
        })
    };
    let functions = functions();
    assert_eq!(functions.len(), 8, "{functions:?}");
    for f in &functions {
        // Errors: an alarm of its own, named after the function.
        assert!(
            alarms.iter().any(|(_, a)| a.get("Metrics").is_none()
                && is_metric_of(a, "AWS/Lambda", "Errors", "FunctionName", f)),
            "{f}: no Errors alarm"
        );
        assert!(
            any("AWS/Lambda", "Throttles", "FunctionName", f),
            "{f}: no Throttles alarm"
        );
    }
    assert!(any("AWS/ApiGateway", "5xx", "ApiId", "HttpApi"), "API 5xx");
}

#[test]
fn alarms_notify_only_the_optional_topic_and_no_data_is_no_alarm() {
    let t = template();
    assert_eq!(
        t["Parameters"]["AlarmTopicArn"]["Default"].as_str(),
        Some("")
    );
    let not = tagged(&t["Conditions"]["HasAlarmTopic"], "!Not")
        .as_sequence()
        .unwrap();
    let equals = tagged(&not[0], "!Equals").as_sequence().unwrap();
    assert!(is_ref(&equals[0], "AlarmTopicArn"));
    assert_eq!(equals[1].as_str(), Some(""));

    let alarms = alarms();
    assert!(alarms.len() >= 14, "{}", alarms.len());
    for (id, alarm) in alarms {
        assert_eq!(
            alarm["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id}"
        );
        assert!(alarm.get("InsufficientDataActions").is_none(), "{id}");
        for key in ["AlarmActions", "OKActions"] {
            let args = tagged(&alarm[key], "!If").as_sequence().expect(key);
            assert_eq!(args[0].as_str(), Some("HasAlarmTopic"), "{id} {key}");
            let topics = args[1].as_sequence().expect("a list of topics");
            assert_eq!(topics.len(), 1, "{id} {key}");
            assert!(is_ref(&topics[0], "AlarmTopicArn"), "{id} {key}");
            assert!(is_ref(&args[2], "AWS::NoValue"), "{id} {key}");
        }
    }
}

#[test]
fn api_access_logs_are_json_lines_without_headers_or_bodies_kept_for_the_retention() {
    let t = template();
    let settings = &t["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let destination = tagged(&settings["DestinationArn"], "!GetAtt");
    assert_eq!(destination.as_str(), Some("ApiAccessLogGroup.Arn"));
    let group = &t["Resources"]["ApiAccessLogGroup"];
    assert_eq!(str_at(group, &["Type"]), "AWS::Logs::LogGroup");
    assert!(is_ref(
        &group["Properties"]["RetentionInDays"],
        "LogRetentionDays"
    ));

    let format: serde_json::Value =
        serde_json::from_str(str_at(settings, &["Format"])).expect("the format is JSON");
    let fields = format.as_object().expect("one JSON object per request");
    let variables: BTreeSet<&str> = fields
        .values()
        .map(|v| {
            let v = v.as_str().expect("every field a quoted string");
            v.strip_prefix("$context.")
                .unwrap_or_else(|| panic!("{v}: a $context variable, nothing else"))
        })
        .collect();
    for v in [
        "requestId",
        "identity.sourceIp",
        "routeKey",
        "status",
        "responseLatency",
        "integrationLatency",
        "identity.userAgent",
        "requestTime",
        "protocol",
        "authorizer.error",
    ] {
        assert!(variables.contains(v), "$context.{v} is logged");
    }
    for v in &variables {
        let lower = v.to_ascii_lowercase();
        assert!(
            !["header", "body", "claims", "querystring", "cookie", "path"]
                .iter()
                .any(|no| lower.contains(no)),
            "$context.{v}: no header, body, claim, query or path"
        );
    }
}

#[test]
fn the_dashboard_shows_every_audit_metric_and_each_functions_errors_throttles_and_duration() {
    let t = template();
    let dashboard = &t["Resources"]["Dashboard"];
    assert_eq!(str_at(dashboard, &["Type"]), "AWS::CloudWatch::Dashboard");
    let body = tagged(&dashboard["Properties"]["DashboardBody"], "!Sub")
        .as_str()
        .expect("!Sub of a JSON document");
    // `${...}` occur only inside JSON strings: the body parses as it is.
    let body: serde_json::Value = serde_json::from_str(body).expect("the dashboard is JSON");
    let rows: Vec<Vec<String>> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .flat_map(|w| {
            w["properties"]["metrics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|row| {
            row.as_array()
                .expect("a metric row")
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .collect();
    let has = |row: &[&str]| rows.iter().any(|r| r == row);
    for name in Audit::metrics() {
        assert!(has(&["${MetricsNamespace}", name]), "{name}");
    }
    for f in functions() {
        let f = format!("${{{f}}}");
        for metric in ["Errors", "Throttles", "Duration"] {
            assert!(
                has(&["AWS/Lambda", metric, "FunctionName", &f]),
                "{f} {metric}"
            );
        }
    }
    for metric in ["4xx", "5xx", "Latency", "Count"] {
        assert!(
            has(&["AWS/ApiGateway", metric, "ApiId", "${HttpApi}"]),
            "{metric}"
        );
    }
}

#[test]
fn metrics_namespace_goes_to_exactly_the_functions_that_emit_metrics() {
    let t = template();
    for f in functions() {
        let v = &t["Resources"][f.as_str()]["Properties"]["Environment"]["Variables"]["METRICS_NAMESPACE"];
        if EMITTING_FUNCTIONS.contains(&f.as_str()) {
            assert!(is_ref(v, "MetricsNamespace"), "{f}: {v:?}");
        } else {
            assert!(v.is_null(), "{f} emits no metric");
        }
    }
}

#[test]
fn route_throttles_are_far_above_what_one_modest_client_sends() {
    // HTTP API limits are per route, shared by every caller: a low one lets a
    // single client refuse a route to everyone (login at 20/s did).
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let limits = |s: &Value| {
        let rate = s["ThrottlingRateLimit"].as_u64().expect("a rate");
        let burst = s["ThrottlingBurstLimit"].as_u64().expect("a burst");
        assert!(burst >= rate, "{s:?}");
        assert!(
            rate <= 10_000 && burst <= 5_000,
            "within the account's quota"
        );
        rate
    };
    assert!(limits(&api["DefaultRouteSettings"]) >= 500);
    let routes = &api["RouteSettings"];
    assert!(limits(&routes["POST /auth/login"]) >= 200);
    assert!(limits(&routes["POST /auth/register"]) >= 50);
}
