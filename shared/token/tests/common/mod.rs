//! Helpers for the token crate's integration tests: a fixed configuration
//! and the attack tokens (shared with the authorizer's tests).

#![allow(dead_code)]

pub mod attack_tokens;

use std::collections::HashMap;

use token::{TokenConfig, Tokens};

pub const NOW: u64 = 1_800_000_000;
pub const ACCESS: &str = "access-secret-0123456789abcdefghijklmnop";
pub const REFRESH: &str = "refresh-secret-0123456789abcdefghijklmno";
pub const ISS: &str = "https://auth.example.com";
pub const AUD: &str = "https://api.example.com";

/// The environment of [`tokens`]: default TTLs and leeway.
pub fn env() -> HashMap<&'static str, &'static str> {
    [
        ("JWT_ACCESS_SECRET", ACCESS),
        ("JWT_REFRESH_SECRET", REFRESH),
        ("JWT_ISSUER", ISS),
        ("JWT_AUDIENCE", AUD),
    ]
    .into()
}

pub fn tokens() -> Tokens {
    Tokens::new(&TokenConfig::from_source(&env()).unwrap())
}

/// What the attack tokens are crafted against: the keys of [`tokens`].
pub fn keys() -> attack_tokens::Keys<'static> {
    attack_tokens::Keys {
        access_secret: ACCESS,
        refresh_secret: REFRESH,
        issuer: ISS,
        audience: AUD,
        now: NOW,
    }
}
