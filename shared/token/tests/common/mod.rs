//! Helpers for the token crate's integration tests: a fixed configuration
//! and a way to sign arbitrary headers and payloads, as an attacker would.

#![allow(dead_code)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use token::{TokenConfig, Tokens};

pub const NOW: u64 = 1_800_000_000;
pub const ACCESS: &str = "access-secret-0123456789abcdefghijklmnop";
pub const REFRESH: &str = "refresh-secret-0123456789abcdefghijklmno";
pub const ISS: &str = "https://auth.example.com";
pub const AUD: &str = "https://api.example.com";

pub fn tokens() -> Tokens {
    let m: HashMap<&str, &str> = [
        ("JWT_ACCESS_SECRET", ACCESS),
        ("JWT_REFRESH_SECRET", REFRESH),
        ("JWT_ISSUER", ISS),
        ("JWT_AUDIENCE", AUD),
    ]
    .into();
    Tokens::new(&TokenConfig::from_source(&m).unwrap())
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn access_kid() -> String {
    token::keys::key_id(ACCESS.as_bytes())
}

pub fn refresh_kid() -> String {
    token::keys::key_id(REFRESH.as_bytes())
}

pub fn header(kid: &str) -> Value {
    json!({"alg": "HS256", "typ": "JWT", "kid": kid})
}

pub fn access_claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "u1", "iat": NOW, "exp": NOW + 900,
        "jti": "j1", "roles": ["user"], "token_use": "access"
    })
}

/// `header.payload` of raw bytes, base64url-encoded.
pub fn signing_input(header: &[u8], payload: &[u8]) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// HS256 over any signing input with any secret.
pub fn hs256(input: &str, secret: &[u8]) -> String {
    jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap()
}

/// A complete token: any header and payload JSON, signed HS256 with `secret`.
pub fn forge(header: &Value, payload: &Value, secret: &[u8]) -> String {
    forge_raw(
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
        secret,
    )
}

/// Like [`forge`] but over raw bytes, for payloads that are not valid JSON.
pub fn forge_raw(header: &[u8], payload: &[u8], secret: &[u8]) -> String {
    let input = signing_input(header, payload);
    let sig = hs256(&input, secret);
    format!("{input}.{sig}")
}
