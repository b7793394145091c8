//! One authorizer invocation in process: event JSON in, response JSON out,
//! as the runtime hands it over, beside the HMAC floor (one HMAC-SHA256 over
//! the token's signing input, key prepared once) measured in the same group.
//! `*_logged` runs with the production JSON log subscriber writing to a sink,
//! with a metrics namespace (`logging::subscriber_with`), so the decision's
//! log line is formatted as in Lambda.
//!
//! The `authorizer_es256` group runs the HTTP API invocation with an ES256
//! token beside the raw P-256 verification of its signing input with the
//! backend (`ring`): the ES256 floor. `scripts/peers` times the same kind of
//! token through Node `jose` and `aws-jwt-verify`.
//!
//! Run with `cargo bench -p authorizer` (or `make bench`); CI only compiles it.

use std::hint::black_box;

use authorizer::Authorizer;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use sha2::Sha256;
use testkit::fixed::{ACCESS_SECRET as SECRET, NOW, env, es256_env};

fn event(file: &str, token: &str) -> Vec<u8> {
    file.replace("REPLACE_ME", token).into_bytes()
}

fn handler(c: &mut Criterion) {
    let authorizer = Authorizer::from_source(&env()).expect("bench config");
    let tokens = token::AccessIssuer::from_source(&env()).expect("bench config");
    let roles = vec!["user".to_owned(), "admin".to_owned()];
    let token = tokens.issue("user-0001", "s1", &roles, NOW).unwrap().token;
    let (signed, _) = token.rsplit_once('.').expect("three segments");
    let mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");

    let events = [
        (
            "http_api",
            event(
                include_str!("../../../tests/events/authorizer-v2.json"),
                &token,
            ),
        ),
        (
            "rest_request",
            event(
                include_str!("../../../tests/events/authorizer-rest-request.json"),
                &token,
            ),
        ),
        (
            "rest_token",
            event(
                include_str!("../../../tests/events/authorizer-rest-token.json"),
                &token,
            ),
        ),
    ];
    for (name, bytes) in &events {
        let answer = authorizer.invoke(bytes, NOW).expect("allowed");
        let text = answer.get();
        assert!(
            text.contains(r#""isAuthorized":true"#) || text.contains(r#""Effect":"Allow""#),
            "{name}: the bench must measure an allow: {text}"
        );
    }

    let mut group = c.benchmark_group("authorizer");
    group.bench_function("hmac_floor", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(signed.as_bytes()));
            m.finalize().into_bytes()
        })
    });
    for (name, bytes) in &events {
        group.bench_function(*name, |b| {
            b.iter(|| authorizer.invoke(black_box(bytes), NOW))
        });
    }
    // As deployed: with a metrics namespace (an allow line carries no
    // metric, so this measures that the namespace costs it nothing).
    let settings = logging::Settings::with_namespace("ServerlessAuth").expect("valid namespace");
    let dispatch = tracing::Dispatch::new(logging::subscriber_with(std::io::sink, &settings));
    tracing::dispatcher::with_default(&dispatch, || {
        for (name, bytes) in &events {
            group.bench_function(format!("{name}_logged"), |b| {
                b.iter(|| authorizer.invoke(black_box(bytes), NOW))
            });
        }
    });
    group.finish();
}

fn es256(c: &mut Criterion) {
    let authorizer = Authorizer::from_source(&es256_env()).expect("bench config");
    let tokens = token::AccessIssuer::from_source(&es256_env()).expect("bench config");
    let roles = vec!["user".to_owned(), "admin".to_owned()];
    let token = tokens.issue("user-0001", "s1", &roles, NOW).unwrap().token;
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .expect("base64url");
    let key = token::ec::read_public(&es256_env(), "JWT_ACCESS_PUBLIC_KEY")
        .expect("test key")
        .expect("set");
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, *key.point());
    let bytes = event(
        include_str!("../../../tests/events/authorizer-v2.json"),
        &token,
    );
    let answer = authorizer.invoke(&bytes, NOW).expect("allowed");
    assert!(answer.get().contains(r#""isAuthorized":true"#));

    let mut group = c.benchmark_group("authorizer_es256");
    group.bench_function("raw_verify", |b| {
        b.iter(|| public.verify(black_box(signed.as_bytes()), black_box(&sig)))
    });
    group.bench_function("http_api", |b| {
        b.iter(|| authorizer.invoke(black_box(&bytes), NOW))
    });
    group.finish();
}

criterion_group!(benches, handler, es256);
criterion_main!(benches);
