//! argon2id with the OWASP parameters: the cost of one login. Sets the
//! login function's memory size (Lambda CPU scales with memory). Run with
//! `cargo bench -p password`; CI only compiles it.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn argon2id(c: &mut Criterion) {
    let phc = password::hash("correct horse battery staple").expect("hash");
    let mut group = c.benchmark_group("argon2id_m19456_t2_p1");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.iter(|| password::hash(black_box("correct horse battery staple")))
    });
    group.bench_function("verify", |b| {
        b.iter(|| password::verify(black_box("correct horse battery staple"), Some(&phc)))
    });
    group.bench_function("verify_unknown_user", |b| {
        b.iter(|| password::verify(black_box("correct horse battery staple"), None))
    });
    group.finish();
}

criterion_group!(benches, argon2id);
criterion_main!(benches);
