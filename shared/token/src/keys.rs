//! Keys with ids, for both algorithms. The current key signs and verifies;
//! the previous one (during a rotation) only verifies. The key id is derived
//! from the key (a labelled hash of an HS256 secret, the RFC 7638 thumbprint
//! of an ES256 public key), so changing a key changes the id and a verifier
//! can pick the key without trying each one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use config::{ConfigError, Source};
use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::config::Algorithm;
use crate::ec;

/// Minimum length of a signing secret, in bytes (RFC 7518 §3.2: a key of the
/// same size as the hash output, 256 bits, at least).
pub const MIN_SECRET_BYTES: usize = 32;

/// A signing secret. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The raw key bytes, for building keys.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret in `var`, if set. An unset or empty variable is absent.
    /// Surrounding whitespace (a trailing newline from a file or a
    /// copy-paste) is not part of the secret, so every function derives the
    /// same key whichever way it was given; what remains must be long enough.
    pub fn read(src: &impl Source, var: &'static str) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = src.get(var).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let trimmed = raw.trim();
        if trimmed.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::SecretTooShort {
                var,
                min: MIN_SECRET_BYTES,
            });
        }
        Ok(Some(Secret(trimmed.as_bytes().to_vec())))
    }

    /// The secret in `var`, which must be set.
    pub fn required(src: &impl Source, var: &'static str) -> Result<Self, ConfigError> {
        Self::read(src, var)?.ok_or(ConfigError::Missing { var })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The secrets a verifier of one kind accepts: the current one and, during
/// a rotation, the previous one.
#[derive(Debug, Clone)]
pub struct KeySecrets {
    pub current: Secret,
    pub previous: Option<Secret>,
}

impl KeySecrets {
    /// Reads `current` (required) and `previous` (optional, and never equal
    /// to the current one).
    pub fn read(
        src: &impl Source,
        current: &'static str,
        previous: &'static str,
    ) -> Result<Self, ConfigError> {
        let cur = Secret::required(src, current)?;
        let prev = Secret::read(src, previous)?;
        if prev.as_ref() == Some(&cur) {
            return Err(ConfigError::SecretReused {
                a: current,
                b: previous,
            });
        }
        Ok(Self {
            current: cur,
            previous: prev,
        })
    }
}

/// A key a function holds: the variable it came from and its id.
pub type HeldKey = (&'static str, String);

/// A key of one kind must never be a key of the other: otherwise a refresh
/// token could be re-labelled as an access token and still verify. A
/// function that holds keys of both kinds checks, at cold start, every
/// access key it holds against every refresh key it holds (by key id: equal
/// secrets have equal ids).
pub fn ensure_distinct(access: &[HeldKey], refresh: &[HeldKey]) -> Result<(), ConfigError> {
    for (a, akid) in access {
        if let Some((r, _)) = refresh.iter().find(|(_, rkid)| rkid == akid) {
            return Err(ConfigError::SecretReused { a, b: r });
        }
    }
    Ok(())
}

/// Domain separation for key ids: the id is a hash of this label and the
/// secret, never of the secret alone.
const KID_LABEL: &[u8] = b"serverless-auth/kid/v1\0";

/// Derives the `kid` of a secret: base64url of the first 9 bytes of
/// SHA-256(label || secret), 12 characters. A truncated, labelled hash of a
/// secret of 32 bytes or more tells an attacker nothing usable about it.
pub fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(KID_LABEL)
        .chain_update(secret)
        .finalize();
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// One prepared key: its id, the header we write for it, and what checks a
/// signature: the HMAC-SHA256 state after the secret has been absorbed (so
/// verifying a token only hashes the token), or a P-256 public point.
pub struct Key {
    pub(crate) kid: String,
    /// The header segment this service writes for this key, base64url: a
    /// token that carries exactly it needs no header parsing.
    header: String,
    check: Check,
}

enum Check {
    Hmac(Hmac<Sha256>),
    Es256(ec::PublicKey),
}

impl Key {
    fn hmac(secret: &Secret) -> Self {
        let kid = key_id(secret.expose());
        Self {
            header: header_segment(Algorithm::Hs256, &kid),
            kid,
            // HMAC takes keys of any length; the config refuses short ones.
            check: Check::Hmac(
                Hmac::new_from_slice(secret.expose()).expect("HMAC accepts any key length"),
            ),
        }
    }

    fn es256(key: ec::PublicKey) -> Self {
        let kid = ec::thumbprint(&key);
        Self {
            header: header_segment(Algorithm::Es256, &kid),
            kid,
            check: Check::Es256(key),
        }
    }

    /// Whether `signature` (already the algorithm's length) signs `signed`
    /// under this key. HMACs compare in constant time; an ES256 signature
    /// must be `r || s` with both in `[1, n - 1]` (`ring` refuses anything
    /// else before the curve arithmetic runs).
    pub(crate) fn signs(&self, signed: &[u8], signature: &[u8]) -> bool {
        match &self.check {
            Check::Hmac(mac) => {
                let mut mac = mac.clone();
                mac.update(signed);
                mac.verify_slice(signature).is_ok()
            }
            Check::Es256(key) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.point())
                .verify(signed, signature)
                .is_ok(),
        }
    }

    /// The key's id, as it appears in a token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, for a JWKS; `None` for a secret.
    pub fn public(&self) -> Option<&ec::PublicKey> {
        match &self.check {
            Check::Es256(key) => Some(key),
            Check::Hmac(_) => None,
        }
    }
}

/// The header segment this service writes: `jsonwebtoken`'s for HS256
/// (`{"typ":"JWT","alg":..,"kid":..}`), the same shape for ES256.
pub(crate) fn header_segment(alg: Algorithm, kid: &str) -> String {
    let alg = match alg {
        Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
        Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
    };
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(kid.to_owned());
    let json = serde_json::to_vec(&header).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The key that signs one kind of token, prepared once at cold start.
pub(crate) struct SigningKey {
    pub(crate) var: &'static str,
    pub(crate) kid: String,
    pub(crate) with: Signing,
}

pub(crate) enum Signing {
    /// Through `jsonwebtoken`.
    Hmac(EncodingKey),
    /// With `ring` directly, and the header segment written once.
    Es256 {
        key: Box<ec::PrivateKey>,
        header: String,
    },
}

impl SigningKey {
    pub(crate) fn hmac(var: &'static str, secret: &Secret) -> Self {
        Self {
            var,
            kid: key_id(secret.expose()),
            with: Signing::Hmac(EncodingKey::from_secret(secret.expose())),
        }
    }

    pub(crate) fn es256(var: &'static str, key: ec::PrivateKey) -> Self {
        let kid = ec::thumbprint(&key.public);
        Self {
            var,
            with: Signing::Es256 {
                header: header_segment(Algorithm::Es256, &kid),
                key: Box::new(key),
            },
            kid,
        }
    }
}

/// The keys that verify one kind of token, prepared once at cold start.
pub struct KeySet {
    pub(crate) alg: Algorithm,
    current: Key,
    previous: Option<Key>,
    /// The variables the keys came from, current first.
    vars: [&'static str; 2],
}

impl KeySet {
    pub fn new(secrets: &KeySecrets, vars: [&'static str; 2]) -> Self {
        Self {
            alg: Algorithm::Hs256,
            current: Key::hmac(&secrets.current),
            previous: secrets.previous.as_ref().map(Key::hmac),
            vars,
        }
    }

    pub fn es256(
        current: ec::PublicKey,
        previous: Option<ec::PublicKey>,
        vars: [&'static str; 2],
    ) -> Self {
        Self {
            alg: Algorithm::Es256,
            current: Key::es256(current),
            previous: previous.map(Key::es256),
            vars,
        }
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// Each key with the variable it came from.
    pub fn held(&self) -> Vec<HeldKey> {
        self.keys()
            .zip(self.vars)
            .map(|(k, var)| (var, k.kid.clone()))
            .collect()
    }

    /// The keys, current first.
    pub fn all(&self) -> impl Iterator<Item = &Key> {
        self.keys()
    }

    /// The key a token's `kid` names, if it is one of ours.
    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.keys().find(|k| k.kid == kid)
    }

    /// The key whose own header segment is exactly `segment`, if any.
    pub(crate) fn by_header(&self, segment: &str) -> Option<&Key> {
        self.keys().find(|k| k.header == segment)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const A: &str = "access-secret-0123456789abcdefghijklmnop";
    const R: &str = "refresh-secret-0123456789abcdefghijklmno";

    fn map(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_a_secret() {
        let plain = "0123456789abcdef0123456789abcdef";
        let padded = format!("  {plain}\n");
        let read = |v: &str| {
            let m: HashMap<&str, &str> = [("S", v)].into();
            Secret::read(&m, "S").unwrap().unwrap().expose().to_vec()
        };
        assert_eq!(read(&padded), read(plain));
    }

    #[test]
    fn secret_of_31_bytes_is_refused_and_32_accepted() {
        let short = "s".repeat(31);
        let m: HashMap<&str, &str> = [("S", short.as_str())].into();
        let e = Secret::read(&m, "S").unwrap_err();
        assert_eq!(e, ConfigError::SecretTooShort { var: "S", min: 32 });
        assert!(!e.to_string().contains(&short));
        let exact = "s".repeat(32);
        let m: HashMap<&str, &str> = [("S", exact.as_str())].into();
        assert!(Secret::read(&m, "S").unwrap().is_some());
    }

    #[test]
    fn whitespace_padding_does_not_make_a_secret_long_enough() {
        let padded = format!("{:^40}", "short");
        let m: HashMap<&str, &str> = [("S", padded.as_str())].into();
        assert!(matches!(
            Secret::read(&m, "S"),
            Err(ConfigError::SecretTooShort { var: "S", .. })
        ));
    }

    #[test]
    fn a_missing_or_empty_required_secret_is_missing() {
        for m in [map(&[]), map(&[("S", "")])] {
            assert_eq!(
                Secret::required(&m, "S"),
                Err(ConfigError::Missing { var: "S" })
            );
        }
    }

    #[test]
    fn previous_equal_to_current_is_refused() {
        let m = map(&[("C", A), ("P", A)]);
        assert_eq!(
            KeySecrets::read(&m, "C", "P").unwrap_err(),
            ConfigError::SecretReused { a: "C", b: "P" }
        );
        let p = "previous-access-secret-0123456789abcdefgh";
        let m = map(&[("C", A), ("P", p)]);
        let read = KeySecrets::read(&m, "C", "P").unwrap();
        assert_eq!(read.previous.unwrap().expose(), p.as_bytes());
    }

    #[test]
    fn an_access_key_equal_to_any_refresh_key_is_refused() {
        let held = |var: &'static str, secret: &str| (var, key_id(secret.as_bytes()));
        let access = [held("JWT_ACCESS_SECRET", A)];
        assert_eq!(
            ensure_distinct(&access, &[held("JWT_REFRESH_SECRET", A)]),
            Err(ConfigError::SecretReused {
                a: "JWT_ACCESS_SECRET",
                b: "JWT_REFRESH_SECRET"
            })
        );
        let refresh = [
            held("JWT_REFRESH_SECRET", R),
            held("JWT_REFRESH_SECRET_PREVIOUS", A),
        ];
        assert_eq!(
            ensure_distinct(&access, &refresh),
            Err(ConfigError::SecretReused {
                a: "JWT_ACCESS_SECRET",
                b: "JWT_REFRESH_SECRET_PREVIOUS"
            })
        );
        assert!(ensure_distinct(&access, &refresh[..1]).is_ok());
    }

    #[test]
    fn secret_debug_is_redacted() {
        let m = map(&[("S", A)]);
        let shown = format!("{:?}", Secret::read(&m, "S").unwrap());
        assert!(!shown.contains(A));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn key_id_is_short_url_safe_and_stable() {
        let kid = key_id(b"0123456789abcdef0123456789abcdef");
        assert_eq!(kid.len(), 12);
        assert!(
            kid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(kid, key_id(b"0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn changing_the_secret_changes_the_key_id() {
        assert_ne!(
            key_id(b"0123456789abcdef0123456789abcdef"),
            key_id(b"0123456789abcdef0123456789abcdeg")
        );
    }

    #[test]
    fn key_id_is_not_a_plain_hash_of_the_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let plain = URL_SAFE_NO_PAD.encode(&Sha256::digest(secret)[..9]);
        assert_ne!(key_id(secret), plain);
    }
}
