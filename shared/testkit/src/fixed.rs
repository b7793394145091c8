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

/// The ES256 signing key of the fixed ES256 configuration (test only, PKCS#8).
pub const ES_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg33uHxUvZYoehXv9F
nK7iWhiIQfeSn2JgywmJHRbUQiyhRANCAAQnrdbFJ70Drt+3kc+ayAXkLc7xmjUf
xMq4IvQliUmXzOVMDl8nhxuttiiz6N46iisepZK5MxzFFgqmwfNBmWfR
-----END PRIVATE KEY-----
";
/// Its public key (SPKI).
pub const ES_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJ63WxSe9A67ft5HPmsgF5C3O8Zo1
H8TKuCL0JYlJl8zlTA5fJ4cbrbYos+jeOoorHqWSuTMcxRYKpsHzQZln0Q==
-----END PUBLIC KEY-----
";
/// A second P-256 key: the previous key of a rotation, or an attacker's.
pub const ES_PRIVATE_KEY_2: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgE7JBekwIeJXatgRL
MFRCgwwM0FD762Du29I5SQvdtVuhRANCAAT/fACcfZZYQOTn73sX2qeebhhXJdVc
hTtHy+X6Yqr+QcsTMtnkco+ThzxSQzyalCc2m3YkNJz1MTl15EPtt3dR
-----END PRIVATE KEY-----
";
/// Its public key.
pub const ES_PUBLIC_KEY_2: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/3wAnH2WWEDk5+97F9qnnm4YVyXV
XIU7R8vl+mKq/kHLEzLZ5HKPk4c8UkM8mpQnNpt2JDSc9TE5deRD7bd3UQ==
-----END PUBLIC KEY-----
";
/// A key on another curve (P-384), which no ES256 variable accepts.
pub const P384_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDBTKPtEfUe5b76hPO+
Dmg9F3ypItkmOSID+8AKodXlnoatv43p8jP1jmhsC1+A9X6hZANiAAQXD/DKAVvb
kvbelj4ufy3VsUtfG/HIM+S+DXvDZ1Ygr5AkIoy+P5yx2wU2gfTQdsw0kJApWJLx
f7+ZgXpJYxnclii7ztSaDIEnIXHGQ2AdLu0sE+abYYZc7xjajPatdqc=
-----END PRIVATE KEY-----
";
/// Its public key.
pub const P384_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEFw/wygFb25L23pY+Ln8t1bFLXxvxyDPk
vg17w2dWIK+QJCKMvj+csdsFNoH00HbMNJCQKViS8X+/mYF6SWMZ3JYou87UmgyB
JyFxxkNgHS7tLBPmm2GGXO8Y2oz2rXan
-----END PUBLIC KEY-----
";
/// A P-256 key in SEC1 form (`BEGIN EC PRIVATE KEY`), not PKCS#8.
pub const SEC1_PRIVATE_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINf2dVlrdUiZKJXYoR9uBzF5hv5yNki6ZoOU3FMbNhWvoAoGCCqGSM49
AwEHoUQDQgAEDBlijKt/t8p5AlU07pikBBOLI2OEq8RrDW6iyjkl/HBaAUK+fveZ
p8UxAORK+5ArZXGI5DxkBaj7wrtD3EcB8Q==
-----END EC PRIVATE KEY-----
";

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
        ("JWT_ACCESS_PRIVATE_KEY", ES_PRIVATE_KEY),
        ("JWT_ACCESS_PUBLIC_KEY", ES_PUBLIC_KEY),
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
