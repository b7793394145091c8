//! The tests' elliptic-curve keys, as PEM. They are derived at first use
//! from fixed labels (the private scalar is a hash of the label), so every
//! run uses the same keys and no private key is ever committed: a scanner
//! that finds `BEGIN PRIVATE KEY` in a repository is right to complain.

use std::ops::Deref;
use std::sync::LazyLock;

use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256, Sha384};

/// A PEM text made at first use.
pub struct Pem(LazyLock<String>);

impl Pem {
    const fn new(make: fn() -> String) -> Self {
        Self(LazyLock::new(make))
    }

    /// The text, for the `&'static str` maps tests configure with.
    pub fn as_str(&'static self) -> &'static str {
        &self.0
    }
}

impl Deref for Pem {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn p256_key(label: &str) -> p256::SecretKey {
    p256::SecretKey::from_slice(&Sha256::digest(label.as_bytes())).expect("a P-256 scalar")
}

fn p384_key(label: &str) -> p384::SecretKey {
    p384::SecretKey::from_slice(&Sha384::digest(label.as_bytes())).expect("a P-384 scalar")
}

fn pkcs8(key: &impl EncodePrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF)
        .expect("PKCS#8 PEM")
        .to_string()
}

fn spki(key: &impl EncodePublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF).expect("SPKI PEM")
}

const FIRST: &str = "serverless-auth testkit P-256 key 1";
const SECOND: &str = "serverless-auth testkit P-256 key 2";
const OTHER_CURVE: &str = "serverless-auth testkit P-384 key";

/// The ES256 signing key of the fixed ES256 configuration (PKCS#8).
pub static ES_PRIVATE_KEY: Pem = Pem::new(|| pkcs8(&p256_key(FIRST)));
/// Its public key (SPKI).
pub static ES_PUBLIC_KEY: Pem = Pem::new(|| spki(&p256_key(FIRST).public_key()));
/// A second P-256 key: the previous key of a rotation, or an attacker's.
pub static ES_PRIVATE_KEY_2: Pem = Pem::new(|| pkcs8(&p256_key(SECOND)));
/// Its public key.
pub static ES_PUBLIC_KEY_2: Pem = Pem::new(|| spki(&p256_key(SECOND).public_key()));
/// A key on another curve (P-384), which no ES256 variable accepts.
pub static P384_PRIVATE_KEY: Pem = Pem::new(|| pkcs8(&p384_key(OTHER_CURVE)));
/// Its public key.
pub static P384_PUBLIC_KEY: Pem = Pem::new(|| spki(&p384_key(OTHER_CURVE).public_key()));
/// The first P-256 key in SEC1 form (`BEGIN EC PRIVATE KEY`), not PKCS#8.
pub static SEC1_PRIVATE_KEY: Pem = Pem::new(|| {
    p256_key(FIRST)
        .to_sec1_pem(LineEnding::LF)
        .expect("SEC1 PEM")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_the_same_every_run_and_of_their_kinds() {
        assert!(ES_PRIVATE_KEY.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(ES_PUBLIC_KEY.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(SEC1_PRIVATE_KEY.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        assert_ne!(ES_PUBLIC_KEY.as_str(), ES_PUBLIC_KEY_2.as_str());
        assert_ne!(ES_PUBLIC_KEY.as_str(), P384_PUBLIC_KEY.as_str());
        assert_eq!(pkcs8(&p256_key(FIRST)), ES_PRIVATE_KEY.as_str());
    }
}
