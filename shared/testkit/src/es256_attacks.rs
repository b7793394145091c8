//! Attack tokens on an ES256 verifier, one table per class, with controls.
//! The token crate's `tests/attacks.rs` runs them against
//! `AccessVerifier::verify`; the authorizer's matrix runs them through its
//! three event shapes. Tokens are signed here with `p256` directly (or
//! `jsonwebtoken` for the other curve), never with the code under test.
//!
//! The classes are the ones an asymmetric verifier is known to fall to:
//! the public key used as an HMAC secret (in each form it is published in),
//! `alg` switched with the signature kept, signatures in the wrong encoding
//! or length, scalars out of range (including the all-zero "psychic"
//! signature), another key or another curve under our `kid`, and a refresh
//! token presented as an access token.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use token::TokenError;

use crate::attack_tokens::{Attack, Obj, Table, b64, bad_alg, bad_sig, s, sign_input};

/// What the ES256 verifier under test is configured with.
#[derive(Debug, Clone, Copy)]
pub struct EsKeys<'a> {
    /// PKCS#8 PEM of the key the verifier's public key belongs to.
    pub private_pem: &'a str,
    /// Another P-256 key the verifier does not hold.
    pub other_private_pem: &'a str,
    /// A P-384 key.
    pub p384_private_pem: &'a str,
    pub refresh_secret: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub now: u64,
}

/// The order of P-256's base point, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

struct Ctx {
    key: SigningKey,
    other: SigningKey,
    kid: String,
    refresh_secret: String,
    issuer: String,
    audience: String,
    now: u64,
}

fn signing_key(pem: &str) -> SigningKey {
    SigningKey::from_pkcs8_pem(pem).expect("a P-256 PKCS#8 test key")
}

/// The token crate's view of a key's public half.
fn public(key: &SigningKey) -> token::ec::PublicKey {
    token::ec::PublicKey::from_sec1(key.verifying_key().to_encoded_point(false).as_bytes())
        .expect("a P-256 point")
}

impl Ctx {
    fn new(k: &EsKeys<'_>) -> Self {
        let key = signing_key(k.private_pem);
        Self {
            kid: token::ec::thumbprint(&public(&key)),
            other: signing_key(k.other_private_pem),
            key,
            refresh_secret: k.refresh_secret.to_owned(),
            issuer: k.issuer.to_owned(),
            audience: k.audience.to_owned(),
            now: k.now,
        }
    }

    fn header(&self, alg: &str, kid: &str) -> Obj {
        Obj::default()
            .set("typ", s("JWT"))
            .set("alg", s(alg))
            .set("kid", s(kid))
    }

    /// Exactly the header `AccessIssuer::issue` writes for ES256.
    fn our_header(&self) -> Obj {
        self.header("ES256", &self.kid)
    }

    fn claims(&self) -> Obj {
        let now = self.now;
        Obj::default()
            .set("iss", s(&self.issuer))
            .set("aud", s(&self.audience))
            .set("sub", s("u1"))
            .set("iat", now.to_string())
            .set("exp", (now + crate::attack_tokens::TTL).to_string())
            .set("jti", s("j1"))
            .set("sid", s("s1"))
            .set("roles", r#"["user"]"#)
            .set("token_use", s("access"))
    }

    fn input(&self, header: &Obj, claims: &Obj) -> String {
        format!(
            "{}.{}",
            b64(header.text().as_bytes()),
            b64(claims.text().as_bytes())
        )
    }

    /// `input` signed with `key`: the raw `r || s`.
    fn signature(key: &SigningKey, input: &str) -> Signature {
        key.sign(input.as_bytes())
    }

    fn signed_by(&self, key: &SigningKey, header: &Obj, claims: &Obj) -> String {
        let input = self.input(header, claims);
        let sig = Self::signature(key, &input);
        format!("{input}.{}", b64(&sig.to_bytes()))
    }

    fn valid(&self) -> String {
        self.signed_by(&self.key, &self.our_header(), &self.claims())
    }

    /// Our header and claims with `signature` bytes in place of the real one.
    fn with_signature(&self, signature: &[u8]) -> String {
        format!(
            "{}.{}",
            self.input(&self.our_header(), &self.claims()),
            b64(signature)
        )
    }
}

/// DER `INTEGER` of a big-endian unsigned value.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut body = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        vec![0]
    } else {
        Vec::new()
    };
    body.extend(if trimmed.is_empty() { vec![0] } else { trimmed });
    let mut out = vec![0x02, u8::try_from(body.len()).expect("short")];
    out.extend(body);
    out
}

/// The DER `ECDSA-Sig-Value` of `sig` (what OpenSSL and Java produce, and
/// what JWS forbids).
fn der(sig: &Signature) -> Vec<u8> {
    let raw = sig.to_bytes();
    let mut body = der_integer(&raw[..32]);
    body.extend(der_integer(&raw[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).expect("short")];
    out.extend(body);
    out
}

/// Every ES256 class, controls included.
pub fn all(keys: &EsKeys<'_>) -> Vec<Attack> {
    let c = Ctx::new(keys);
    [
        controls(&c),
        public_key_as_hmac_secret(&c),
        alg_switched(&c),
        signature_encodings(&c),
        scalars_out_of_range(&c),
        other_keys(&c, keys),
        refresh_tokens(&c),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn controls(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 controls");
    t.accept("our header and claims, hand-signed", c.valid());
    t.accept(
        "two roles",
        c.signed_by(
            &c.key,
            &c.our_header(),
            &c.claims().set("roles", r#"["user","admin"]"#),
        ),
    );
    // ECDSA is malleable: (r, n - s) verifies as (r, s) does. JWS does not
    // forbid it and no verifier we know does (jose, PyJWT); it forges
    // nothing (the signed bytes are ours), and nothing is keyed on a
    // token's signature. This row shows the behaviour, so a change to it
    // is seen.
    let input = c.input(&c.our_header(), &c.claims());
    let raw = Ctx::signature(&c.key, &input).to_bytes().to_vec();
    let high_s = [&raw[..32], &negate(&raw[32..])[..]].concat();
    t.accept(
        "the same signature with s replaced by n - s (malleability)",
        format!("{input}.{}", b64(&high_s)),
    );
    t.accept(
        "header members in another order",
        c.signed_by(
            &c.key,
            &Obj::default()
                .set("kid", s(&c.kid))
                .set("alg", s("ES256"))
                .set("typ", s("JWT")),
            &c.claims(),
        ),
    );
    t.rows
}

/// HS256 keyed with the public key, in every form an attacker can copy it
/// from: the PEM we are configured with, its DER, the JWK our JWKS serves,
/// the thumbprint's canonical JWK, the raw point.
fn public_key_as_hmac_secret(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 public key as HMAC secret");
    let verifying = c.key.verifying_key();
    let pem = verifying
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM of a public key");
    let der = verifying.to_public_key_der().expect("DER").into_vec();
    let ours = public(&c.key);
    let jwk = serde_json::to_string(&token::ec::jwk(&ours)).expect("JWK");
    let published = serde_json::json!({ "keys": [token::ec::jwk(&ours)] }).to_string();
    let j = token::ec::jwk(&ours);
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        j.x, j.y
    );
    let point = ours.point().to_vec();
    let forms: Vec<(&str, Vec<u8>)> = vec![
        ("PEM", pem.clone().into_bytes()),
        (
            "PEM without its last newline",
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("PEM with CRLF", pem.replace('\n', "\r\n").into_bytes()),
        ("DER (SPKI)", der.clone()),
        ("base64 of the DER", STANDARD.encode(&der).into_bytes()),
        ("JWK JSON", jwk.into_bytes()),
        ("the JWKS document", published.into_bytes()),
        ("the thumbprint's canonical JWK", canonical.into_bytes()),
        ("uncompressed point", point),
    ];
    for (form, secret) in forms {
        let input = c.input(&c.header("HS256", &c.kid), &c.claims());
        t.refuse(
            format!("HS256 keyed with the {form}"),
            sign_input(&input, &secret),
            vec![TokenError::WrongAlgorithm],
        );
    }
    t.rows
}

/// A valid ES256 token whose `alg` is changed and its signature kept.
fn alg_switched(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 alg switched, signature kept");
    let valid = c.valid();
    let signature = valid.rsplit_once('.').expect("three parts").1;
    for alg in [
        "HS256", "none", "None", "RS256", "PS256", "ES384", "ES512", "ES256K", "EdDSA", "es256",
        "ES256 ",
    ] {
        let input = c.input(&c.header(alg, &c.kid), &c.claims());
        t.refuse(
            format!("alg {alg:?}"),
            format!("{input}.{signature}"),
            bad_alg(),
        );
    }
    let input = c.input(&c.header("none", &c.kid), &c.claims());
    t.refuse("alg none, no signature", format!("{input}."), bad_alg());
    t.rows
}

/// The right signature in the wrong encoding, and wrong lengths.
fn signature_encodings(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 signature encodings");
    let input = c.input(&c.our_header(), &c.claims());
    let sig = Ctx::signature(&c.key, &input);
    let raw = sig.to_bytes().to_vec();
    t.refuse(
        "DER-encoded (ASN.1 SEQUENCE of two INTEGERs)",
        c.with_signature(&der(&sig)),
        bad_sig(),
    );
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("r only (32 bytes)", raw[..32].to_vec()),
        ("63 bytes", raw[..63].to_vec()),
        (
            "65 bytes (a zero appended)",
            [raw.as_slice(), &[0]].concat(),
        ),
        (
            "65 bytes (a zero prepended)",
            [&[0u8][..], raw.as_slice()].concat(),
        ),
        (
            "96 bytes (ES384's length)",
            [raw.as_slice(), &raw[..32]].concat(),
        ),
        (
            "132 bytes (ES512's length)",
            [raw.as_slice(), &raw, &raw[..4]].concat(),
        ),
    ] {
        t.refuse(what, c.with_signature(&bytes), bad_sig());
    }
    let spelled = |sig: String| format!("{input}.{sig}");
    t.refuse(
        "padded base64url",
        spelled(format!("{}==", b64(&raw))),
        bad_sig(),
    );
    t.refuse(
        "base64 with padding, standard alphabet",
        spelled(STANDARD.encode(&raw)),
        bad_sig(),
    );
    t.refuse(
        "base64url padded",
        spelled(URL_SAFE.encode(&raw)),
        bad_sig(),
    );
    // 64 bytes take 86 characters with 4 bits to spare: setting one spells
    // the same bytes non-canonically.
    let canonical = b64(&raw);
    let last = canonical.chars().last().expect("not empty");
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let v = ALPHABET.find(last).expect("base64url");
    let mut trailing = canonical[..canonical.len() - 1].to_owned();
    trailing.push(ALPHABET.as_bytes()[v | 1] as char);
    assert_ne!(trailing, canonical);
    t.refuse("non-canonical trailing bits", spelled(trailing), bad_sig());
    t.rows
}

/// `n - s`, big-endian, for `0 < s < n`.
fn negate(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).expect("a byte");
    }
    out
}

/// `r` or `s` zero, equal to the group order, or above it.
fn scalars_out_of_range(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 scalars out of range");
    let input = c.input(&c.our_header(), &c.claims());
    let raw = Ctx::signature(&c.key, &input).to_bytes().to_vec();
    let (r, sv) = raw.split_at(32);
    let zero = [0u8; 32];
    let max = [0xffu8; 32];
    let mut n_plus_1 = N;
    n_plus_1[31] += 1;
    for (what, r, s) in [
        ("r = s = 0 (psychic signature)", &zero[..], &zero[..]),
        ("r = 0", &zero[..], sv),
        ("s = 0", r, &zero[..]),
        ("r = n", &N[..], sv),
        ("s = n", r, &N[..]),
        ("r = n + 1", &n_plus_1[..], sv),
        ("s = 2^256 - 1", r, &max[..]),
        ("r = s = n", &N[..], &N[..]),
    ] {
        t.refuse(
            what,
            c.with_signature(&[r, s].concat()),
            vec![TokenError::BadSignature],
        );
    }
    t.rows
}

/// Another key's signature under our `kid`, another key's `kid`, another
/// curve, and an embedded key.
fn other_keys(c: &Ctx, k: &EsKeys<'_>) -> Vec<Attack> {
    let mut t = Table::new("es256 other keys");
    t.refuse(
        "our kid, another P-256 key's signature",
        c.signed_by(&c.other, &c.our_header(), &c.claims()),
        vec![TokenError::BadSignature],
    );
    let other_kid = token::ec::thumbprint(&public(&c.other));
    t.refuse(
        "another key's kid and signature",
        c.signed_by(&c.other, &c.header("ES256", &other_kid), &c.claims()),
        vec![TokenError::UnknownKey],
    );
    let embedded = c.our_header().set(
        "jwk",
        serde_json::to_string(&token::ec::jwk(&public(&c.other))).expect("JWK"),
    );
    t.refuse(
        "the signer's own key embedded in the header (jwk)",
        c.signed_by(&c.other, &embedded, &c.claims()),
        vec![TokenError::Malformed],
    );
    // A P-384 key (what ES384 uses) under our kid: its signatures are 96
    // bytes and its curve is not ours, whatever the header says.
    let body: String = k
        .p384_private_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let p384 = jsonwebtoken::EncodingKey::from_ec_der(&STANDARD.decode(body).expect("base64"));
    for alg in ["ES256", "ES384"] {
        let input = c.input(&c.header(alg, &c.kid), &c.claims());
        let sig =
            jsonwebtoken::crypto::sign(input.as_bytes(), &p384, jsonwebtoken::Algorithm::ES384)
                .expect("ES384 signs");
        t.refuse(
            format!("a P-384 key's signature, alg {alg}"),
            format!("{input}.{sig}"),
            if alg == "ES256" {
                bad_sig()
            } else {
                vec![TokenError::WrongAlgorithm]
            },
        );
    }
    t.rows
}

/// A refresh token is never an access token: the real one (HS256, the
/// refresh secret) and one signed with the access key.
fn refresh_tokens(c: &Ctx) -> Vec<Attack> {
    let mut t = Table::new("es256 refresh tokens");
    let refresh_claims = c
        .claims()
        .without("roles")
        .set("jti", s("s1.1"))
        .set("gen", "1")
        .set("token_use", s("refresh"));
    let refresh_kid = token::keys::key_id(c.refresh_secret.as_bytes());
    let input = c.input(&c.header("HS256", &refresh_kid), &refresh_claims);
    t.refuse(
        "a refresh token (HS256, the refresh secret)",
        sign_input(&input, c.refresh_secret.as_bytes()),
        vec![TokenError::WrongAlgorithm],
    );
    t.refuse(
        "refresh claims signed with the access key",
        c.signed_by(&c.key, &c.our_header(), &refresh_claims),
        vec![TokenError::WrongTokenUse { expected: "access" }],
    );
    t.rows
}
