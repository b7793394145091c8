//! What the fuzz targets share: one fixed configuration (the seeds under
//! `seeds/` are signed with it, at [`NOW`]), and the oracle that says whether
//! an authorizer event carries a token that really verifies.

use std::collections::HashMap;

use serde_json::Value;
use testkit::fixed::Tokens;
use token::{AccessClaims, AccessVerifier};

/// The clock every target verifies at; the seed tokens are issued at it.
pub const NOW: u64 = 1_800_000_000;
pub const ACCESS_SECRET: &str = "fuzz-access-secret-0123456789abcdefghijkl";
pub const REFRESH_SECRET: &str = "fuzz-refresh-secret-0123456789abcdefghijk";
pub const ISSUER: &str = "https://auth.example.com";
pub const AUDIENCE: &str = "https://api.example.com";
/// Route rules for the authorizer target, so role checks are reached too.
pub const AUTHZ_RULES: &str = "GET /admin/*=admin; * /pets/*=user";

fn source() -> HashMap<&'static str, &'static str> {
    [
        ("JWT_ACCESS_SECRET", ACCESS_SECRET),
        ("JWT_REFRESH_SECRET", REFRESH_SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        ("AUTHZ_RULES", AUTHZ_RULES),
    ]
    .into()
}

/// Access and refresh tokens of the fixed configuration.
///
/// # Panics
/// If the fixed configuration is refused: a bug in this file, found at once.
pub fn tokens() -> Tokens {
    Tokens::from_source(&source())
}

/// The access side alone, as the authorizer builds it.
///
/// # Panics
/// As [`tokens`].
pub fn access_tokens() -> AccessVerifier {
    AccessVerifier::from_source(&source()).expect("fuzz access config")
}

/// An ES256 access verifier with the same issuer and audience (testkit's
/// ES256 key; the `tok-es256` seeds are signed with it).
///
/// # Panics
/// As [`tokens`].
pub fn es256_access() -> AccessVerifier {
    let mut m = source();
    m.remove("JWT_ACCESS_SECRET");
    m.extend([
        ("JWT_ACCESS_ALGORITHM", "ES256"),
        ("JWT_ACCESS_PUBLIC_KEY", testkit::fixed::ES_PUBLIC_KEY.as_str()),
    ]);
    AccessVerifier::from_source(&m).expect("fuzz ES256 config")
}

/// The authorizer of the fixed configuration, with [`AUTHZ_RULES`].
///
/// # Panics
/// As [`tokens`].
pub fn authorizer() -> authorizer::Authorizer {
    authorizer::Authorizer::from_source(&source()).expect("fuzz authorizer config")
}

/// Every string in `event` (keys and values, at any depth).
fn strings<'a>(event: &'a Value, out: &mut Vec<&'a str>) {
    match event {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k);
            strings(v, out);
        }),
        _ => {}
    }
}

/// The claims of every access token found in `event` that verifies at
/// [`NOW`]: each maximal run of base64url-and-dot characters in any string is
/// tried. An allow is only right if its subject is among these.
pub fn verified_tokens_in(event: &Value, tokens: &AccessVerifier) -> Vec<AccessClaims> {
    let mut all = Vec::new();
    strings(event, &mut all);
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    all.iter()
        .flat_map(|s| s.split(|c: char| !is_token_char(c)))
        .filter(|candidate| candidate.starts_with("eyJ"))
        .filter_map(|candidate| tokens.verify(candidate, NOW).ok())
        .collect()
}
