//! What the CloudWatch metric adds to one audit log line: the same
//! `login_failure` line formatted by the production subscriber without a
//! namespace (`without`) and with one (`with`), to `std::io::sink`; the
//! difference of the medians is the cost per line. `unmapped_*` is a line
//! that maps to no metric (an authorizer allow) under both: the namespace
//! must cost it nothing measurable.
//!
//! Run with `cargo bench -p logging --bench emf` (or `make bench`).

use criterion::{Criterion, criterion_group, criterion_main};

fn audit_line() {
    tracing::info!(
        event = "login_failure",
        sub = "0b8e6f0c6f5d4f7e9a1b2c3d4e5f6a7b",
        reason = "wrong_password",
        "login refused"
    );
}

fn allow_line() {
    tracing::info!(
        event_shape = "http_api",
        decision = "allow",
        sub = "0b8e6f0c6f5d4f7e9a1b2c3d4e5f6a7b",
        jti = "6f0c6f5d4f7e9a1b2c3d4e5f6a7b0b8e",
        "authorizer decision"
    );
}

fn emf(c: &mut Criterion) {
    let plain = tracing::Dispatch::new(logging::subscriber_with(
        std::io::sink,
        &logging::Settings::default(),
    ));
    let settings = logging::Settings::with_namespace("ServerlessAuth").expect("valid namespace");
    let with = tracing::Dispatch::new(logging::subscriber_with(std::io::sink, &settings));

    let mut group = c.benchmark_group("emf");
    for (name, dispatch, line) in [
        ("without", &plain, audit_line as fn()),
        ("with", &with, audit_line),
        ("unmapped_without", &plain, allow_line),
        ("unmapped_with", &with, allow_line),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            group.bench_function(name, |b| b.iter(line));
        });
    }
    group.finish();
}

criterion_group!(benches, emf);
criterion_main!(benches);
