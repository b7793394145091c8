//! Issuing and verifying an access token, keys prepared once as at cold
//! start, beside two baselines measured in the same run:
//!
//! * `hmac_floor`: one HMAC-SHA256 over the token's signing input with the key
//!   prepared once, the least any HS256 verifier must do;
//! * `jsonwebtoken_decode`: `jsonwebtoken::decode` used well (key and
//!   validation prepared once, the header not parsed separately).
//!
//! The `es256` group does the same for ES256 access tokens, beside the raw
//! P-256 operations of the backend (`ring`) on the same signing input:
//!
//! * `raw_verify`: one ECDSA P-256/SHA-256 verification of the point;
//! * `raw_sign`: one signature, key pair parsed once;
//! * `jsonwebtoken_decode`: `jsonwebtoken::decode` with an ES256 key.
//!
//! Run with `cargo bench -p token` (or `make bench`); CI only compiles it.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use sha2::Sha256;
use testkit::fixed::{ACCESS_SECRET, ES_PRIVATE_KEY, NOW, Tokens, es256_env};

fn tokens() -> Tokens {
    Tokens::fixed()
}

fn access_token(c: &mut Criterion) {
    let t = tokens();
    let roles = vec!["user".to_owned(), "admin".to_owned()];
    let token = t
        .access
        .issue("user-0001", "s1", &roles, NOW)
        .expect("issue")
        .token;
    let (signed, _) = token.rsplit_once('.').expect("three segments");
    eprintln!(
        "access token: {} bytes, signing input {} bytes",
        token.len(),
        signed.len()
    );

    let mac = Hmac::<Sha256>::new_from_slice(ACCESS_SECRET.as_bytes()).expect("any key length");
    let key = jsonwebtoken::DecodingKey::from_secret(ACCESS_SECRET.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["https://auth.example.com"]);
    validation.set_audience(&["https://api.example.com"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Our clock is fixed in the past of the system's: time is not its job here.
    validation.validate_exp = false;
    let decoded = jsonwebtoken::decode::<token::AccessClaims>(&token, &key, &validation);
    assert!(decoded.is_ok(), "the baseline must accept the token");
    assert!(t.access.verify(&token, NOW).is_ok());

    let mut group = c.benchmark_group("access_token");
    group.bench_function("hmac_floor", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(signed.as_bytes()));
            m.finalize().into_bytes()
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| t.access.verify(black_box(&token), NOW))
    });
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<token::AccessClaims>(black_box(&token), &key, &validation))
    });
    group.bench_function("issue", |b| {
        b.iter(|| {
            t.access
                .issue(black_box("user-0001"), "s1", black_box(&roles), NOW)
        })
    });
    group.finish();
}

fn es256(c: &mut Criterion) {
    let t = Tokens::from_source(&es256_env());
    let roles = vec!["user".to_owned(), "admin".to_owned()];
    let token = t
        .access
        .issue("user-0001", "s1", &roles, NOW)
        .expect("issue")
        .token;
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let der: String = ES_PRIVATE_KEY
        .as_str()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, der).expect("base64");
    let rng = ring::rand::SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).expect("test key");
    let point = pair.public_key().as_ref().to_vec();
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.clone());
    let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .expect("base64url");
    assert!(public.verify(signed.as_bytes(), &sig).is_ok());
    assert!(t.access.verify(&token, NOW).is_ok());

    let decoding = jsonwebtoken::DecodingKey::from_ec_der(&point);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&["https://auth.example.com"]);
    validation.set_audience(&["https://api.example.com"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    assert!(
        jsonwebtoken::decode::<token::AccessClaims>(&token, &decoding, &validation).is_ok(),
        "the baseline must accept the token"
    );

    let mut group = c.benchmark_group("es256");
    group.bench_function("raw_verify", |b| {
        b.iter(|| public.verify(black_box(signed.as_bytes()), black_box(&sig)))
    });
    group.bench_function("verify", |b| {
        b.iter(|| t.access.verify(black_box(&token), NOW))
    });
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<token::AccessClaims>(black_box(&token), &decoding, &validation)
        })
    });
    group.bench_function("raw_sign", |b| {
        b.iter(|| pair.sign(&rng, black_box(signed.as_bytes())))
    });
    group.bench_function("issue", |b| {
        b.iter(|| {
            t.access
                .issue(black_box("user-0001"), "s1", black_box(&roles), NOW)
        })
    });
    group.finish();
}

criterion_group!(benches, access_token, es256);
criterion_main!(benches);
