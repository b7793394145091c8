//! ES256 keys: a P-256 private key that signs (login and refresh only) and
//! the public keys that verify (the authorizer, `account`, `jwks`). The
//! signature arithmetic is `ring`'s (ARCHITECTURE.md, "Dependencies", has
//! the measurements: 4.4x faster than `p256` per verification, 1.5 MB
//! smaller than `aws-lc-rs`); a public key's SPKI is decoded and its point
//! checked on the curve by RustCrypto's `p256`, once at cold start. This
//! module reads keys, names them and publishes them.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use config::{ConfigError, Source};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::DecodePublicKey as _;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The DER inside the first PEM block labelled `label`. Tolerates what
/// deploy tooling does to a multi-line value: `\n` written as two
/// characters, or the lines run together with spaces.
fn pem_der(text: &str, label: &str) -> Option<Vec<u8>> {
    let text = text.replace("\\n", "\n");
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.split_once(&begin)?.1.split_once(&end)?.0;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// A P-256 public key, as its uncompressed SEC1 point (`04 || x || y`),
/// known to be on the curve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 65]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", thumbprint(self))
    }
}

impl PublicKey {
    /// From a SEC1 point (compressed or not), if it is a point of P-256.
    pub fn from_sec1(bytes: &[u8]) -> Option<Self> {
        let key = p256::PublicKey::from_sec1_bytes(bytes).ok()?;
        Self::of(&key)
    }

    fn of(key: &p256::PublicKey) -> Option<Self> {
        key.to_encoded_point(false)
            .as_bytes()
            .try_into()
            .ok()
            .map(Self)
    }

    /// The uncompressed point, what `ring` verifies with.
    pub fn point(&self) -> &[u8; 65] {
        &self.0
    }

    fn x(&self) -> &[u8] {
        &self.0[1..33]
    }

    fn y(&self) -> &[u8] {
        &self.0[33..]
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(public {:?})", self.public)
    }
}

/// A signing key: `ring`'s key pair (RFC 6979 is not used; `ring` draws
/// each nonce from the system's generator, hedged with the key) and its
/// public key.
pub struct PrivateKey {
    pub(crate) pair: EcdsaKeyPair,
    pub(crate) rng: SystemRandom,
    pub public: PublicKey,
}

/// The private key in `var`: PKCS#8 PEM of a P-256 key. Anything else (an
/// RSA key, another curve, a public key, SEC1 `EC PRIVATE KEY`) refuses to
/// start, naming the variable and never showing the value.
pub fn read_private(src: &impl Source, var: &'static str) -> Result<PrivateKey, ConfigError> {
    let text = src
        .get(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing { var })?;
    let rng = SystemRandom::new();
    let pair = pem_der(&text, "PRIVATE KEY").and_then(|der| {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).ok()
    });
    let public = pair
        .as_ref()
        .and_then(|p| PublicKey::from_sec1(p.public_key().as_ref()));
    match (pair, public) {
        (Some(pair), Some(public)) => Ok(PrivateKey { pair, rng, public }),
        _ => Err(ConfigError::Invalid {
            var,
            expected: "a P-256 private key, PKCS#8 PEM (BEGIN PRIVATE KEY)",
        }),
    }
}

/// The public key in `var`, if set: SPKI PEM of a P-256 key.
pub fn read_public(src: &impl Source, var: &'static str) -> Result<Option<PublicKey>, ConfigError> {
    let Some(text) = src.get(var).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    // A bundle that also holds the private key would ship it to every
    // verifier: refused, whatever else it holds.
    if text.contains("PRIVATE KEY") {
        return Err(ConfigError::Invalid {
            var,
            expected: "a public key only (this value also holds a private key)",
        });
    }
    pem_der(&text, "PUBLIC KEY")
        .and_then(|der| p256::PublicKey::from_public_key_der(&der).ok())
        .and_then(|key| PublicKey::of(&key))
        .map(Some)
        .ok_or(ConfigError::Invalid {
            var,
            expected: "a P-256 public key, SPKI PEM (BEGIN PUBLIC KEY)",
        })
}

/// The verifying keys of one deployment: the current one and, during a
/// rotation, the previous one (never the same key twice).
pub fn read_publics(
    src: &impl Source,
    current: &'static str,
    previous: &'static str,
) -> Result<(PublicKey, Option<PublicKey>), ConfigError> {
    let cur = read_public(src, current)?.ok_or(ConfigError::Missing { var: current })?;
    let prev = read_public(src, previous)?;
    if prev.as_ref() == Some(&cur) {
        return Err(ConfigError::SecretReused {
            a: current,
            b: previous,
        });
    }
    Ok((cur, prev))
}

/// A public key as a JWK (RFC 7517/7518): only the public members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub y: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// The key's id: its RFC 7638 JWK thumbprint, the SHA-256 of the required
/// members in lexical order with no whitespace, base64url (43 characters).
pub fn thumbprint(key: &PublicKey) -> String {
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(key.x()),
        URL_SAFE_NO_PAD.encode(key.y()),
    );
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The JWK a JWKS publishes for `key`.
pub fn jwk(key: &PublicKey) -> Jwk {
    Jwk {
        kty: "EC",
        crv: "P-256",
        x: URL_SAFE_NO_PAD.encode(key.x()),
        y: URL_SAFE_NO_PAD.encode(key.y()),
        kid: thumbprint(key),
        alg: "ES256",
        use_: "sig",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    // The P-256 key of RFC 7515 Appendix A.3. RFC 7638's own example is an
    // RSA key; the e2e run checks our `kid` against `jose`'s
    // `calculateJwkThumbprint` of the published key.
    const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn a3() -> PublicKey {
        let mut sec1 = vec![4u8];
        sec1.extend(URL_SAFE_NO_PAD.decode(A3_X).unwrap());
        sec1.extend(URL_SAFE_NO_PAD.decode(A3_Y).unwrap());
        PublicKey::from_sec1(&sec1).unwrap()
    }

    #[test]
    fn a_point_off_the_curve_is_no_key() {
        let mut sec1 = a3().point().to_vec();
        sec1[64] ^= 1;
        assert_eq!(PublicKey::from_sec1(&sec1), None);
    }

    #[test]
    fn the_jwk_has_the_coordinates_and_only_public_members() {
        let jwk = serde_json::to_value(jwk(&a3())).unwrap();
        assert_eq!(jwk["x"], A3_X);
        assert_eq!(jwk["y"], A3_Y);
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none());
        let members: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    }

    #[test]
    fn the_thumbprint_hashes_the_canonical_members() {
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{A3_X}","y":"{A3_Y}"}}"#);
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(thumbprint(&a3()), expected);
        assert_eq!(thumbprint(&a3()).len(), 43);
    }

    #[test]
    fn pem_survives_escaped_newlines_and_joined_lines() {
        let body = STANDARD.encode(b"0123456789");
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
        for text in [
            pem.clone(),
            pem.replace('\n', "\\n"),
            pem.replace('\n', " "),
        ] {
            assert_eq!(
                pem_der(&text, "PUBLIC KEY").as_deref(),
                Some(&b"0123456789"[..])
            );
        }
        assert_eq!(pem_der(&pem, "PRIVATE KEY"), None);
    }

    #[test]
    fn a_bad_key_names_the_variable_and_not_the_value() {
        let bad = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----";
        let m: HashMap<&str, &str> = [("K", bad)].into();
        let e = read_public(&m, "K").unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "K", .. }));
        assert!(!e.to_string().contains("bm90IGEga2V5"));
        let m: HashMap<&str, &str> = [("K", bad)].into();
        assert!(matches!(
            read_private(&m, "K"),
            Err(ConfigError::Invalid { var: "K", .. })
        ));
        // A real public key followed by its private key: refused whole.
        let private = testkit::fixed::ES_PRIVATE_KEY.as_str();
        let bundle = format!("{}{private}", testkit::fixed::ES_PUBLIC_KEY.as_str());
        let m: HashMap<&str, &str> = [("K", bundle.as_str())].into();
        let e = read_public(&m, "K").unwrap_err();
        assert!(e.to_string().contains("private key"), "{e}");
        let body = private.lines().nth(1).unwrap();
        assert!(!e.to_string().contains(body));
        let m: HashMap<&str, &str> = HashMap::new();
        assert_eq!(
            read_private(&m, "K").unwrap_err(),
            ConfigError::Missing { var: "K" }
        );
        assert_eq!(read_public(&m, "K"), Ok(None));
    }
}
