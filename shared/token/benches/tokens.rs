//! Issuing and verifying an access token, keys prepared once as at cold
//! start. Run with `cargo bench -p token`; CI only compiles it.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use token::{TokenConfig, Tokens};

const NOW: u64 = 1_800_000_000;

fn tokens() -> Tokens {
    let m: HashMap<&str, &str> = [
        (
            "JWT_ACCESS_SECRET",
            "bench-access-secret-0123456789abcdefghijk",
        ),
        (
            "JWT_REFRESH_SECRET",
            "bench-refresh-secret-0123456789abcdefghij",
        ),
        ("JWT_ISSUER", "https://auth.example.com"),
        ("JWT_AUDIENCE", "https://api.example.com"),
    ]
    .into();
    Tokens::new(&TokenConfig::from_source(&m).expect("bench config"))
}

fn access_token(c: &mut Criterion) {
    let t = tokens();
    let roles = vec!["user".to_owned(), "admin".to_owned()];
    let token = t
        .access
        .issue("user-0001", &roles, NOW)
        .expect("issue")
        .token;

    let mut group = c.benchmark_group("access_token");
    group.bench_function("issue", |b| {
        b.iter(|| {
            t.access
                .issue(black_box("user-0001"), black_box(&roles), NOW)
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| t.access.verify(black_box(&token), NOW))
    });
    group.finish();
}

criterion_group!(benches, access_token);
criterion_main!(benches);
