//! The token crate as the functions use it, and the promise that it stays
//! pure: no AWS SDK and no async runtime in its dependency tree.

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

#[test]
fn token_crate_links_no_aws_crate_and_no_tokio() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "token", "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.starts_with("token "), "unexpected tree output: {tree}");
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|l| l.starts_with("aws-") || l.starts_with("tokio "))
        .collect();
    assert!(offenders.is_empty(), "token depends on {offenders:?}");
}
