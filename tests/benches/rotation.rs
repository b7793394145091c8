//! Median latency of a refresh rotation against DynamoDB Local, beside the
//! floor measured in the same run: one consistent GetItem on the same
//! emulator. Run with `cargo bench -p integration-tests --bench rotation`
//! (starts its own DynamoDB Local); CI only compiles it.

use accounts::{Rotation, Username};
use criterion::{Criterion, criterion_group, criterion_main};
use integration_tests::Ctx;
use token::{RefreshClaims, TokenUse, unix_now};

fn claims_of(s: &accounts::Session) -> RefreshClaims {
    RefreshClaims {
        iss: String::new(),
        aud: String::new(),
        sub: s.user_id.clone(),
        iat: s.rotated_at,
        exp: s.expires_at,
        jti: format!("{}.{}", s.sid, s.generation),
        sid: s.sid.clone(),
        generation: s.generation,
        token_use: TokenUse::Refresh,
    }
}

fn rotation(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let now = unix_now();
    let (ctx, username, session) = rt.block_on(async {
        let ctx = Ctx::new().await;
        let username = Username::parse("bench-user").expect("username");
        let user = ctx
            .store
            .users
            .create_user(&username, "not-a-real-hash".into(), now)
            .await
            .expect("user");
        let session = ctx
            .store
            .start_session(&user, ctx.start(None), now)
            .await
            .and_then(accounts::Started::into_session)
            .expect("session");
        (ctx, username, session)
    });

    let mut group = c.benchmark_group("dynamodb_local");
    group.bench_function("get_item_floor", |b| {
        b.iter(|| rt.block_on(ctx.store.users.find(&username)).expect("get"))
    });
    let mut current = claims_of(&session);
    group.bench_function("rotate", |b| {
        b.iter(|| {
            match rt.block_on(ctx.store.sessions.rotate(
                &current,
                ctx.policies.reuse_interval_secs,
                now,
            )) {
                Ok(Rotation::Rotated(next)) => current = claims_of(&next),
                other => panic!("rotation failed: {other:?}"),
            }
        })
    });
    group.finish();
}

criterion_group!(benches, rotation);
criterion_main!(benches);
