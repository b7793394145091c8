//! template.yaml declares the tables the code expects: the same keys,
//! indexes, attribute types and TTL attribute as `accounts::schema`.

use std::collections::BTreeSet;

use accounts::schema::{KeyAttr, SESSIONS, TableDef, USERS};
use integration_tests::workspace_root;
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
        expected_keys(def.partition_key, None)
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

    let gsis = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert_eq!(gsis.len(), def.indexes.len(), "{} indexes", def.logical_id);
    for ix in def.indexes {
        let g = gsis
            .iter()
            .find(|g| g["IndexName"].as_str() == Some(ix.name))
            .unwrap_or_else(|| panic!("index {} missing", ix.name));
        assert_eq!(
            key_schema(&g["KeySchema"]),
            expected_keys(ix.partition_key, ix.sort_key)
        );
        assert_eq!(str_at(g, &["Projection", "ProjectionType"]), "ALL");
    }
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

/// Every variable `build` asks for, given a valid value for each required
/// one.
fn read_by(build: impl FnOnce(&Recording)) -> BTreeSet<String> {
    let r = Recording {
        values: [
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
        .into(),
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
fn reads<F: handlers::FromEnv>() -> BTreeSet<String> {
    read_by(|r| {
        F::from_source(r, client()).expect("a valid configuration");
    })
}

/// What each function's code reads, by its logical id in the template.
fn read_by_each_function() -> Vec<(&'static str, BTreeSet<String>)> {
    let authorizer = read_by(|r| {
        authorizer::Authorizer::from_source(r).expect("authorizer config");
    });
    vec![
        ("RegisterFunction", reads::<handlers::Register>()),
        ("LoginFunction", reads::<handlers::Login>()),
        ("RefreshFunction", reads::<handlers::Refresh>()),
        ("LogoutFunction", reads::<handlers::Logout>()),
        ("AuthorizerFunction", authorizer),
        ("MeFunction", BTreeSet::new()),
    ]
}

fn template_env(function: &str) -> BTreeSet<String> {
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
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        })
        .collect()
}

#[test]
fn each_function_gets_exactly_the_variables_its_code_reads() {
    for (function, reads) in read_by_each_function() {
        assert_eq!(template_env(function), reads, "{function}");
    }
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
    let checked: BTreeSet<&str> = read_by_each_function()
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

#[test]
fn secrets_are_no_echo_parameters_without_defaults() {
    let t = template();
    for p in ["JwtAccessSecret", "JwtRefreshSecret"] {
        let param = &t["Parameters"][p];
        assert_eq!(param["NoEcho"].as_bool(), Some(true), "{p}");
        assert!(
            param.get("Default").is_none(),
            "{p} must not have a default"
        );
        assert_eq!(param["MinLength"].as_u64(), Some(32), "{p}");
    }
    for p in ["JwtAccessSecretPrevious", "JwtRefreshSecretPrevious"] {
        let param = &t["Parameters"][p];
        assert_eq!(param["NoEcho"].as_bool(), Some(true), "{p}");
        assert_eq!(param["Default"].as_str(), Some(""), "{p}");
    }
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
