//! The fixed configuration of `testkit`, as the token crate's integration
//! tests use it.

#![allow(dead_code)]

pub use testkit::attack_tokens;
pub use testkit::fixed::{ACCESS_SECRET as ACCESS, NOW, REFRESH_SECRET as REFRESH, Tokens};

pub fn tokens() -> Tokens {
    Tokens::fixed()
}

/// What the attack tokens are crafted against: the keys of [`tokens`].
pub fn keys() -> attack_tokens::Keys<'static> {
    attack_tokens::Keys {
        access_secret: ACCESS,
        refresh_secret: REFRESH,
        issuer: testkit::fixed::ISSUER,
        audience: testkit::fixed::AUDIENCE,
        now: NOW,
    }
}

/// What the ES256 attack tokens are crafted against: the keys of
/// [`testkit::fixed::es256_env`].
pub fn es_keys() -> testkit::es256_attacks::EsKeys<'static> {
    use testkit::fixed::{ES_PRIVATE_KEY, ES_PRIVATE_KEY_2, P384_PRIVATE_KEY};
    testkit::es256_attacks::EsKeys {
        private_pem: ES_PRIVATE_KEY.as_str(),
        other_private_pem: ES_PRIVATE_KEY_2.as_str(),
        p384_private_pem: P384_PRIVATE_KEY.as_str(),
        refresh_secret: REFRESH,
        issuer: testkit::fixed::ISSUER,
        audience: testkit::fixed::AUDIENCE,
        now: NOW,
    }
}
