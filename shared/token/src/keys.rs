//! HS256 keys with ids. The current key signs and verifies; the previous one
//! (during a rotation) only verifies. The key id is derived from the secret,
//! so changing a secret changes the id and a verifier can pick the key
//! without trying each one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

use crate::config::{KeySecrets, Secret};

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

/// One prepared key: its id and the HMAC-SHA256 state after the key has
/// been absorbed, so that verifying a token only hashes the token.
pub struct Key {
    pub(crate) kid: String,
    /// The header segment this service writes for this key, base64url: a
    /// token that carries exactly it needs no header parsing.
    header: String,
    mac: Hmac<Sha256>,
}

impl Key {
    fn new(secret: &Secret) -> Self {
        let kid = key_id(secret.expose());
        Self {
            header: header_segment(&kid),
            kid,
            // HMAC takes keys of any length; the config refuses short ones.
            mac: Hmac::new_from_slice(secret.expose()).expect("HMAC accepts any key length"),
        }
    }

    /// Whether `signature` is the HMAC-SHA256 of `signed` under this key,
    /// compared in constant time.
    pub(crate) fn signs(&self, signed: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_slice(signature).is_ok()
    }

    /// The key's id, as it appears in a token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The header segment `jsonwebtoken` writes for an HS256 token with `kid`.
fn header_segment(kid: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let json = serde_json::to_vec(&header).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The keys of one token kind, prepared once at cold start.
pub struct KeySet {
    current: Key,
    signing: EncodingKey,
    previous: Option<Key>,
}

impl KeySet {
    pub fn new(secrets: &KeySecrets) -> Self {
        Self {
            current: Key::new(&secrets.current),
            signing: EncodingKey::from_secret(secrets.current.expose()),
            previous: secrets.previous.as_ref().map(Key::new),
        }
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> &Key {
        &self.current
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.signing
    }

    /// The key a token's `kid` names, if it is one of ours.
    pub fn find(&self, kid: &str) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.kid == kid)
    }

    /// The key whose own header segment is exactly `segment`, if any.
    pub(crate) fn by_header(&self, segment: &str) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.header == segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
