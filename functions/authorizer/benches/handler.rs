//! One authorizer invocation in process: event JSON in, response JSON out,
//! as the runtime hands it over, beside the HMAC floor (one HMAC-SHA256 over
//! the token's signing input, key prepared once) measured in the same group.
//! `*_logged` runs with the production JSON log subscriber writing to a sink,
//! so the decision's log line is formatted as in Lambda.
//!
//! Run with `cargo bench -p authorizer` (or `make bench`); CI only compiles it.

use std::hint::black_box;

use authorizer::Authorizer;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use testkit::fixed::{ACCESS_SECRET as SECRET, NOW, env};

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
    let dispatch = tracing::Dispatch::new(logging::subscriber(std::io::sink));
    tracing::dispatcher::with_default(&dispatch, || {
        for (name, bytes) in &events {
            group.bench_function(format!("{name}_logged"), |b| {
                b.iter(|| authorizer.invoke(black_box(bytes), NOW))
            });
        }
    });
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
