//! One fixed configuration for tests, and the token issuers and verifiers
//! built from it. Tests that need a variation pass their own variables on top
//! ([`env_with`]).

use std::collections::HashMap;

use config::Source;
use token::{
    AccessClaims, AccessIssuer, AccessVerifier, Issued, RefreshClaims, RefreshGrant, RefreshIssuer,
    RefreshVerifier, TokenError,
};

/// The clock tests verify at, epoch seconds (2027-01-15).
pub const NOW: u64 = 1_800_000_000;
pub const ACCESS_SECRET: &str = "kit-access-secret-0123456789abcdefghijkl";
pub const REFRESH_SECRET: &str = "kit-refresh-secret-0123456789abcdefghijk";
pub const ISSUER: &str = "https://auth.example.com";
pub const AUDIENCE: &str = "https://api.example.com";
/// The password every test user registers with.
pub const PASSWORD: &str = "correct horse battery staple";

pub use crate::keys::{
    ES_PRIVATE_KEY, ES_PRIVATE_KEY_2, ES_PUBLIC_KEY, ES_PUBLIC_KEY_2, P384_PRIVATE_KEY,
    P384_PUBLIC_KEY, SEC1_PRIVATE_KEY,
};

/// Access-token lifetime and leeway of the fixed configuration (the
/// defaults of `ACCESS_TOKEN_TTL` and `JWT_LEEWAY`).
pub const ACCESS_TTL: u64 = 900;
pub const LEEWAY: u64 = 5;

/// The fixed configuration: both secrets, issuer and audience.
pub fn env() -> HashMap<&'static str, &'static str> {
    env_with(&[])
}

/// [`env`] with `extra` on top; a value of `"<unset>"` removes the variable.
pub fn env_with(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    let mut m: HashMap<&'static str, &'static str> = [
        ("JWT_ACCESS_SECRET", ACCESS_SECRET),
        ("JWT_REFRESH_SECRET", REFRESH_SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]
    .into();
    m.extend(extra.iter().copied());
    m.retain(|_, v| *v != "<unset>");
    m
}

/// The fixed configuration with ES256 access tokens: the private key and
/// the public key in place of the access secret.
pub fn es256_env() -> HashMap<&'static str, &'static str> {
    env_with(&[
        ("JWT_ACCESS_ALGORITHM", "ES256"),
        ("JWT_ACCESS_SECRET", "<unset>"),
        ("JWT_ACCESS_PRIVATE_KEY", ES_PRIVATE_KEY.as_str()),
        ("JWT_ACCESS_PUBLIC_KEY", ES_PUBLIC_KEY.as_str()),
    ])
}

/// Every issuer and verifier of one configuration, for tests that both mint
/// and check tokens. Production functions hold only the parts they use.
pub struct Tokens {
    pub access: Access,
    pub refresh: Refresh,
}

/// Access tokens: issue and verify.
pub struct Access {
    pub issuer: AccessIssuer,
    pub verifier: AccessVerifier,
}

/// Refresh tokens: issue and verify.
pub struct Refresh {
    pub issuer: RefreshIssuer,
    pub verifier: RefreshVerifier,
}

impl Tokens {
    /// From the fixed configuration.
    pub fn fixed() -> Self {
        Self::from_source(&env())
    }

    /// # Panics
    /// When `src` is not a valid configuration (a test bug).
    pub fn from_source(src: &impl Source) -> Self {
        Self {
            access: Access {
                issuer: AccessIssuer::from_source(src).expect("access issuer"),
                verifier: AccessVerifier::from_source(src).expect("access verifier"),
            },
            refresh: Refresh {
                issuer: RefreshIssuer::from_source(src).expect("refresh issuer"),
                verifier: RefreshVerifier::from_source(src).expect("refresh verifier"),
            },
        }
    }
}

impl Access {
    pub fn issue(
        &self,
        sub: &str,
        sid: &str,
        roles: &[String],
        now: u64,
    ) -> Result<Issued, TokenError> {
        self.issuer.issue(sub, sid, roles, now)
    }

    pub fn verify(&self, token: &str, now: u64) -> Result<AccessClaims, TokenError> {
        self.verifier.verify(token, now)
    }
}

impl Refresh {
    pub fn issue(&self, grant: &RefreshGrant<'_>) -> Result<Issued, TokenError> {
        self.issuer.issue(grant)
    }

    pub fn verify(&self, token: &str, now: u64) -> Result<RefreshClaims, TokenError> {
        self.verifier.verify(token, now)
    }
}

/// `["user", ...]` as owned strings.
pub fn roles(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| (*s).to_owned()).collect()
}
