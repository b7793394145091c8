//! What each crate may link, checked on the real dependency trees
//! (`cargo tree`): the token crate stays pure (no AWS SDK, no async
//! runtime), the authorizer, jwks and me link no AWS SDK, and only the
//! functions that keep state link the DynamoDB SDK. Plus the token crate as
//! the functions use it.

use std::collections::HashMap;
use std::process::Command;

use token::{AccessIssuer, AccessVerifier, TokenError, unix_now};

const ACCESS: &str = "it-access-secret-0123456789abcdefghijklmn";
const REFRESH: &str = "it-refresh-secret-0123456789abcdefghijklm";

#[test]
fn authorizer_config_verifies_what_the_login_config_issues() {
    let parties = [
        ("JWT_ISSUER", "https://auth.example.com"),
        ("JWT_AUDIENCE", "https://api.example.com"),
    ];
    let mut login: HashMap<&str, &str> = [
        ("JWT_ACCESS_SECRET", ACCESS),
        ("JWT_REFRESH_SECRET", REFRESH),
    ]
    .into();
    login.extend(parties);
    let login = AccessIssuer::from_source(&login).unwrap();
    let mut only_access: HashMap<&str, &str> = [("JWT_ACCESS_SECRET", ACCESS)].into();
    only_access.extend(parties);
    let authorizer = AccessVerifier::from_source(&only_access).unwrap();

    let now = unix_now();
    let issued = login.issue("u1", "s1", &["user".into()], now).unwrap();
    assert_eq!(authorizer.verify(&issued.token, now).unwrap().sub, "u1");
    assert_eq!(
        authorizer.verify(&issued.token, now + 900 + 5),
        Err(TokenError::Expired)
    );
}

/// The crates `package` links in normal builds, one name per line
/// (`name vX.Y.Z`).
fn tree(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(
        tree.starts_with(&format!("{package} ")),
        "unexpected tree output: {tree}"
    );
    tree.lines().map(str::to_owned).collect()
}

fn links(tree: &[String], prefix: &str) -> Vec<String> {
    tree.iter()
        .filter(|l| l.starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn token_crate_links_no_aws_crate_and_no_tokio() {
    let tree = tree("token");
    let mut offenders = links(&tree, "aws-");
    offenders.extend(links(&tree, "tokio "));
    assert!(offenders.is_empty(), "token depends on {offenders:?}");
}

#[test]
fn the_stateless_functions_link_no_aws_sdk() {
    // The authorizer only verifies; jwks serves documents rendered at cold
    // start; me reads what the authorizer passed on.
    for function in ["authorizer", "jwks", "me"] {
        let tree = tree(function);
        let sdk: Vec<String> = ["aws-sdk-", "aws-config", "aws-smithy", "aws-runtime"]
            .iter()
            .flat_map(|p| links(&tree, p))
            .collect();
        assert!(sdk.is_empty(), "{function} links {sdk:?}");
        assert!(
            links(&tree, "accounts ").is_empty(),
            "{function} links the store"
        );
    }
}

#[test]
fn only_the_functions_that_keep_state_link_dynamodb() {
    for (function, needs) in [
        ("register", true),
        ("login", true),
        ("refresh", true),
        ("logout", true),
        ("account", true),
        ("authorizer", false),
        ("jwks", false),
        ("me", false),
    ] {
        let links_it = !links(&tree(function), "aws-sdk-dynamodb ").is_empty();
        assert_eq!(links_it, needs, "{function}");
    }
}
