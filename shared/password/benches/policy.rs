//! The password policy's cost per register or password change: NFKC, the
//! length, the blocklist's binary search and the username. Run with
//! `cargo bench -p password --bench policy`; CI only compiles it.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use password::Policy;

fn policy(c: &mut Criterion) {
    let policy = Policy { min_chars: 8 };
    let mut group = c.benchmark_group("policy");
    group.bench_function("check_common", |b| {
        b.iter(|| policy.check(black_box("password1234"), black_box("alice")))
    });
    group.bench_function("check_passphrase", |b| {
        b.iter(|| {
            policy.check(
                black_box("violet tractor ember quietly 42 lanterns"),
                black_box("alice"),
            )
        })
    });
    group.bench_function("check_cjk", |b| {
        b.iter(|| {
            policy.check(
                black_box("春眠不觉晓处处闻啼鸟夜来风雨声"),
                black_box("alice"),
            )
        })
    });
    group.bench_function("is_common_hit", |b| {
        b.iter(|| password::is_common(black_box("trustno1")))
    });
    group.bench_function("is_common_miss", |b| {
        b.iter(|| password::is_common(black_box("violet tractor ember")))
    });
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);
