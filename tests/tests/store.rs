//! The store against DynamoDB Local: every rule of "Sessions and rotation"
//! and of users, success and failure, with request counts where the design
//! promises them.

use std::time::{Duration, Instant};

use accounts::{Attempt, LockoutPolicy, Refusal, Rotation, Session, StoreError, User, Username};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use futures::future::join_all;
use integration_tests::{Ctx, POLICIES, Policies, RequestCounter, client_for, free_port};
use testkit::fixed::Tokens;
use token::RefreshClaims;

const NOW: u64 = 1_800_000_000;
const PASSWORD: &str = "correct horse battery staple";

fn tokens() -> Tokens {
    Tokens::fixed()
}

async fn register(ctx: &Ctx, name: &str) -> (User, Username) {
    let username = Username::parse(name).unwrap();
    let hash = password::hash(PASSWORD).unwrap();
    let user = ctx
        .store
        .users
        .create_user(&username, hash, NOW)
        .await
        .unwrap();
    (user, username)
}

async fn login(ctx: &Ctx, name: &str) -> (User, Username, Session) {
    let (user, username) = register(ctx, name).await;
    let session = ctx
        .store
        .start_session(&user, ctx.start(Some("test-agent/1.0")), NOW)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap();
    (user, username, session)
}

/// The claims a refresh token of `session`'s current generation carries.
fn claims(session: &Session) -> RefreshClaims {
    let t = tokens();
    let issued = t.refresh.issue(&session.grant()).unwrap();
    t.refresh.verify(&issued.token, session.rotated_at).unwrap()
}

fn rotated(r: Rotation) -> Session {
    match r {
        Rotation::Rotated(s) => s,
        other => panic!("expected a rotation, got {other:?}"),
    }
}

// ---- users ----

#[tokio::test]
async fn registered_user_is_found_by_any_case() {
    let ctx = Ctx::new().await;
    let (user, _) = register(&ctx, "Alice.Smith").await;
    assert_eq!(user.roles, ["user"]);
    let found = ctx
        .store
        .users
        .find(&Username::parse("alice.SMITH").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(found.username, "Alice.Smith");
}

#[tokio::test]
async fn unknown_user_is_none() {
    let ctx = Ctx::new().await;
    let nobody = Username::parse("nobody").unwrap();
    assert_eq!(ctx.store.users.find(&nobody).await.unwrap(), None);
}

#[tokio::test]
async fn usernames_are_unique_without_regard_to_case() {
    let ctx = Ctx::new().await;
    register(&ctx, "bob").await;
    for again in ["bob", "BOB", "Bob"] {
        let err = ctx
            .store
            .users
            .create_user(&Username::parse(again).unwrap(), "x".into(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UsernameTaken), "{again}: {err:?}");
    }
}

#[tokio::test]
async fn registration_is_one_request() {
    let ctx = Ctx::new().await;
    let u = Username::parse("carol").unwrap();
    let (r, n) = ctx
        .requests
        .during(ctx.store.users.create_user(&u, "h".into(), NOW))
        .await;
    r.unwrap();
    assert_eq!(n, 1);
}

/// What one wrong-password login did to the account.
#[derive(Debug, PartialEq)]
enum Failure {
    /// Counted; not locked.
    Counted,
    /// This failure locked the account until the given time.
    LockedNow(u64),
    /// Refused before any password check.
    Refused { retry_after: u64 },
}

/// One login with a wrong password at `at`, as the login handler runs it,
/// and the number of DynamoDB requests it took.
async fn fail(ctx: &Ctx, username: &Username, at: u64) -> (Failure, usize) {
    ctx.requests
        .during(async {
            match ctx
                .store
                .users
                .count_login(username, ctx.policies.lockout, at)
                .await
                .unwrap()
            {
                Attempt::Proceed(user) => {
                    match ctx
                        .store
                        .users
                        .record_login_failure(Some(&user), ctx.policies.lockout, at)
                        .await
                        .unwrap()
                    {
                        Some(until) => Failure::LockedNow(until),
                        None => Failure::Counted,
                    }
                }
                Attempt::Locked { retry_after } => Failure::Refused { retry_after },
                Attempt::UnknownUser => panic!("the user exists"),
            }
        })
        .await
}

#[tokio::test]
async fn an_unknown_user_costs_the_two_requests_a_known_one_does() {
    let ctx = Ctx::new().await;
    let nobody = Username::parse("nobody").unwrap();
    let (r, n) = ctx
        .requests
        .during(
            ctx.store
                .users
                .count_login(&nobody, ctx.policies.lockout, NOW),
        )
        .await;
    assert_eq!(r.unwrap(), Attempt::UnknownUser);
    assert_eq!(n, 2, "the name, then an attempt against no user");
}

#[tokio::test]
async fn failures_below_the_limit_do_not_lock() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "dave").await;
    for i in 0..4 {
        assert_eq!(
            fail(&ctx, &username, NOW + i).await.0,
            Failure::Counted,
            "failure {}",
            i + 1
        );
    }
    let user = ctx.store.users.find(&username).await.unwrap().unwrap();
    assert_eq!((user.failed_logins, user.failed_since), (4, NOW));
    assert_eq!(user.locked_for(NOW + 4), None);
}

#[tokio::test]
async fn the_fifth_failure_in_the_window_locks_for_the_lockout() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "erin").await;
    for i in 0..4 {
        let (f, n) = fail(&ctx, &username, NOW + i).await;
        assert_eq!(f, Failure::Counted);
        assert!(
            n <= 3,
            "a failure reads the name, counts the attempt and writes at most once more"
        );
    }
    assert_eq!(
        fail(&ctx, &username, NOW + 4).await.0,
        Failure::LockedNow(NOW + 4 + 900)
    );
    assert_eq!(
        ctx.store
            .users
            .count_login(&username, ctx.policies.lockout, NOW + 5)
            .await
            .unwrap(),
        Attempt::Locked { retry_after: 899 },
        "refused without a password check"
    );
    assert!(matches!(
        ctx.store
            .users
            .count_login(&username, ctx.policies.lockout, NOW + 4 + 900)
            .await
            .unwrap(),
        Attempt::Proceed(_)
    ));
}

#[tokio::test]
async fn failures_older_than_the_window_stop_counting() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "frank").await;
    for at in [NOW, NOW + 1, NOW + 2, NOW + 3, NOW + 900, NOW + 901] {
        assert_eq!(
            fail(&ctx, &username, at).await.0,
            Failure::Counted,
            "at +{}",
            at - NOW
        );
    }
    let user = ctx.store.users.find(&username).await.unwrap().unwrap();
    assert_eq!((user.failed_logins, user.failed_since), (2, NOW + 900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_attempts_beyond_the_limit_are_refused_before_any_password_check() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "grace").await;
    let attempts = join_all((0..20).map(|_| {
        ctx.store
            .users
            .count_login(&username, ctx.policies.lockout, NOW)
    }))
    .await;
    let proceeding = attempts
        .iter()
        .filter(|a| matches!(a, Ok(Attempt::Proceed(_))))
        .count();
    let refused = attempts
        .iter()
        .filter(|a| matches!(a, Ok(Attempt::Locked { .. })))
        .count();
    assert_eq!(
        (proceeding, refused),
        (5, 15),
        "at most LOGIN_MAX_FAILURES checks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_attempts_are_all_counted() {
    let ctx = Ctx::with(Policies {
        lockout: LockoutPolicy {
            max_failures: 100,
            lockout_secs: 900,
        },
        ..POLICIES
    })
    .await;
    let (_, username) = register(&ctx, "grace2").await;
    for r in join_all((0..20).map(|_| {
        ctx.store
            .users
            .count_login(&username, ctx.policies.lockout, NOW)
    }))
    .await
    {
        assert!(matches!(r.unwrap(), Attempt::Proceed(_)));
    }
    let user = ctx.store.users.find(&username).await.unwrap().unwrap();
    assert_eq!(user.failed_logins, 20);
}

#[tokio::test]
async fn attempts_in_flight_hold_the_limit_until_they_go_stale() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "hank").await;
    for _ in 0..5 {
        // Counted, then never finished (as if the function crashed).
        assert!(matches!(
            ctx.store
                .users
                .count_login(&username, ctx.policies.lockout, NOW)
                .await
                .unwrap(),
            Attempt::Proceed(_)
        ));
    }
    assert_eq!(
        ctx.store
            .users
            .count_login(&username, ctx.policies.lockout, NOW + 1)
            .await
            .unwrap(),
        Attempt::Locked { retry_after: 899 }
    );
    let (r, n) = ctx
        .requests
        .during(
            ctx.store
                .users
                .count_login(&username, ctx.policies.lockout, NOW + 900),
        )
        .await;
    let Attempt::Proceed(user) = r.unwrap() else {
        panic!("stale attempts should restart the count");
    };
    assert_eq!(
        (user.failed_logins, n),
        (1, 3),
        "read the name, find the count stale, restart it"
    );
}

#[tokio::test]
async fn a_lock_written_while_a_login_checks_its_password_refuses_its_session() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "heidi").await;
    let Attempt::Proceed(slow) = ctx
        .store
        .users
        .count_login(&username, ctx.policies.lockout, NOW)
        .await
        .unwrap()
    else {
        panic!("first attempt proceeds");
    };
    let mut last = Failure::Counted;
    for _ in 0..4 {
        last = fail(&ctx, &username, NOW).await.0;
    }
    assert_eq!(last, Failure::LockedNow(NOW + 900));
    let err = ctx
        .store
        .start_session(&slow, ctx.start(None), NOW)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountLocked { .. }), "{err:?}");
}

#[tokio::test]
async fn login_clears_failures_in_the_same_three_requests() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "ivy").await;
    fail(&ctx, &username, NOW).await;
    let ((), n) = ctx
        .requests
        .during(async {
            let Attempt::Proceed(user) = ctx
                .store
                .users
                .count_login(&username, ctx.policies.lockout, NOW)
                .await
                .unwrap()
            else {
                panic!("second attempt proceeds");
            };
            assert_eq!(user.failed_logins, 2);
            ctx.store
                .start_session(&user, ctx.start(None), NOW)
                .await
                .and_then(accounts::Started::into_session)
                .unwrap();
        })
        .await;
    assert_eq!(
        n, 3,
        "read the name, count the attempt, then one transaction"
    );
    let user = ctx.store.users.find(&username).await.unwrap().unwrap();
    assert_eq!(
        (user.failed_logins, user.failed_since, user.locked_until),
        (0, 0, 0)
    );
}

// ---- sessions ----

#[tokio::test]
async fn login_is_three_requests() {
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "ivan").await;
    let (session, n) = ctx
        .requests
        .during(async {
            let Attempt::Proceed(user) = ctx
                .store
                .users
                .count_login(&username, ctx.policies.lockout, NOW)
                .await
                .unwrap()
            else {
                panic!("attempt proceeds");
            };
            ctx.store
                .start_session(&user, ctx.start(None), NOW)
                .await
                .and_then(accounts::Started::into_session)
        })
        .await;
    let session = session.unwrap();
    assert_eq!(
        n, 3,
        "read the name, count the attempt, then one transaction"
    );
    assert_eq!(session.generation, 0);
    assert_eq!(session.expires_at, NOW + 30 * 86400);
}

#[tokio::test]
async fn rotation_of_the_current_token_is_exactly_one_request() {
    let ctx = Ctx::new().await;
    let (_, _, session) = login(&ctx, "judy").await;
    let (r, n) = ctx
        .requests
        .during(ctx.store.sessions.rotate(
            &claims(&session),
            ctx.policies.reuse_interval_secs,
            NOW + 60,
        ))
        .await;
    assert_eq!(n, 1);
    let next = rotated(r.unwrap());
    assert_eq!(next.generation, 1);
    assert_eq!(next.rotated_at, NOW + 60);
    assert_eq!(next.sid, session.sid);
    assert_eq!(next.roles, ["user"]);
}

#[tokio::test]
async fn the_rotated_token_stops_working_and_its_successor_works() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "ken").await;
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 100)
            .await
            .unwrap(),
    );
    let s2 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s1), ctx.policies.reuse_interval_secs, NOW + 200)
            .await
            .unwrap(),
    );
    assert_eq!(s2.generation, 2);
}

#[tokio::test]
async fn previous_token_within_the_interval_gets_the_same_successor() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "leo").await;
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 100)
            .await
            .unwrap(),
    );
    let (replay, n) = ctx
        .requests
        .during(ctx.store.sessions.rotate(
            &claims(&s0),
            ctx.policies.reuse_interval_secs,
            NOW + 109,
        ))
        .await;
    assert_eq!(n, 1);
    let Rotation::Replayed(again) = replay.unwrap() else {
        panic!("expected a replay");
    };
    assert_eq!(again, s1);
    let t = tokens();
    assert_eq!(
        t.refresh.issue(&again.grant()).unwrap().token,
        t.refresh.issue(&s1.grant()).unwrap().token,
        "re-signed deterministically"
    );
    // The successor still works: the replay did not fork or advance it.
    assert_eq!(
        rotated(
            ctx.store
                .sessions
                .rotate(&claims(&s1), ctx.policies.reuse_interval_secs, NOW + 110)
                .await
                .unwrap()
        )
        .generation,
        2
    );
}

#[tokio::test]
async fn previous_token_after_the_interval_is_reuse_and_revokes_the_session() {
    let ctx = Ctx::new().await;
    let (user, _, s0) = login(&ctx, "mallory").await;
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 100)
            .await
            .unwrap(),
    );
    let r = ctx
        .store
        .sessions
        .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 110)
        .await
        .unwrap();
    assert_eq!(
        r,
        Rotation::Refused(Refusal::Reused {
            user_id: user.user_id.clone(),
            sid: s0.sid.clone()
        })
    );
    assert_eq!(
        ctx.store
            .sessions
            .rotate(&claims(&s1), ctx.policies.reuse_interval_secs, NOW + 111)
            .await
            .unwrap(),
        Rotation::Refused(Refusal::Unknown),
        "the successor is refused too"
    );
    assert!(
        ctx.store
            .sessions
            .list(&user.user_id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_older_token_is_reuse_even_within_the_interval() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "nina").await;
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
    );
    let s2 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s1), ctx.policies.reuse_interval_secs, NOW + 2)
            .await
            .unwrap(),
    );
    let r = ctx
        .store
        .sessions
        .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 3)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Refused(Refusal::Reused { .. })),
        "{r:?}"
    );
    assert_eq!(
        ctx.store
            .sessions
            .rotate(&claims(&s2), ctx.policies.reuse_interval_secs, NOW + 4)
            .await
            .unwrap(),
        Rotation::Refused(Refusal::Unknown)
    );
}

#[tokio::test]
async fn zero_reuse_interval_makes_any_replay_reuse() {
    let ctx = Ctx::with(Policies {
        reuse_interval_secs: 0,
        ..POLICIES
    })
    .await;
    let (_, _, s0) = login(&ctx, "oscar").await;
    rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW)
            .await
            .unwrap(),
    );
    let r = ctx
        .store
        .sessions
        .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Refused(Refusal::Reused { .. })),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_refreshes_make_exactly_one_successor() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "peggy").await;
    let c = claims(&s0);
    let results = join_all((0..32).map(|_| {
        ctx.store
            .sessions
            .rotate(&c, ctx.policies.reuse_interval_secs, NOW + 5)
    }))
    .await;

    let mut winners = Vec::new();
    let mut successors = Vec::new();
    for r in results {
        match r.unwrap() {
            Rotation::Rotated(s) => winners.push(s),
            Rotation::Replayed(s) => successors.push(s),
            Rotation::Refused(refusal) => panic!("refused inside the interval: {refusal:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one new generation");
    let winner = &winners[0];
    assert_eq!(winner.generation, 1);
    assert!(
        successors.iter().all(|s| s == winner),
        "the session never forks"
    );
    let current = ctx.store.sessions.list(&winner.user_id, NOW).await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].generation, 1);
}

#[tokio::test]
async fn absolute_lifetime_caps_the_refresh_token_exp() {
    let ctx = Ctx::with(Policies {
        max_lifetime_secs: 3600,
        ..POLICIES
    })
    .await;
    let (_, _, s0) = login(&ctx, "quinn").await;
    assert_eq!(s0.expires_at, NOW + 3600);
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 3000)
            .await
            .unwrap(),
    );
    let issued = tokens().refresh.issue(&s1.grant()).unwrap();
    assert_eq!(issued.expires_at, NOW + 3600, "not NOW + 3000 + 7 days");
}

#[tokio::test]
async fn a_session_past_its_end_but_still_stored_is_refused() {
    let ctx = Ctx::with(Policies {
        max_lifetime_secs: 3600,
        ..POLICIES
    })
    .await;
    let (user, _, s0) = login(&ctx, "rupert").await;
    assert_eq!(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 3600)
            .await
            .unwrap(),
        Rotation::Refused(Refusal::Expired)
    );
    // The item is still there (TTL is lazy) but no longer listed as live.
    assert!(
        ctx.store
            .sessions
            .list(&user.user_id, NOW + 3600)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ctx.store
            .sessions
            .list(&user.user_id, NOW)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_token_with_another_users_sub_is_refused() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "sybil").await;
    let mut forged = claims(&s0);
    forged.sub = "someone-else".into();
    assert_eq!(
        ctx.store
            .sessions
            .rotate(&forged, ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
        Rotation::Refused(Refusal::Unknown)
    );
    rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 2)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn revoking_one_session_ends_it_in_one_request_and_is_idempotent() {
    let ctx = Ctx::new().await;
    let (user, _, s0) = login(&ctx, "trent").await;
    let other = ctx
        .store
        .start_session(&user, ctx.start(None), NOW)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap();
    let (r, n) = ctx
        .requests
        .during(ctx.store.sessions.revoke(&user.user_id, &s0.sid))
        .await;
    assert_eq!(r.unwrap(), Some(0), "it was live, at generation 0");
    assert_eq!(n, 1);
    assert_eq!(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
        Rotation::Refused(Refusal::Unknown)
    );
    assert_eq!(
        ctx.store
            .sessions
            .revoke(&user.user_id, &s0.sid)
            .await
            .unwrap(),
        None,
        "already gone"
    );
    rotated(
        ctx.store
            .sessions
            .rotate(&claims(&other), ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn another_user_cannot_revoke_a_session() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "uma").await;
    ctx.store
        .sessions
        .revoke("not-the-owner", &s0.sid)
        .await
        .unwrap();
    rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn revoking_all_sessions_ends_every_one_of_them_only() {
    let ctx = Ctx::new().await;
    let (user, _, _) = login(&ctx, "victor").await;
    for _ in 0..29 {
        ctx.store
            .start_session(&user, ctx.start(None), NOW)
            .await
            .and_then(accounts::Started::into_session)
            .unwrap();
    }
    let (_, _, bystander) = login(&ctx, "walter").await;
    let all = ctx.store.sessions.list(&user.user_id, NOW).await.unwrap();
    assert_eq!(all.len(), 30);

    let (ended, n) = ctx
        .requests
        .during(ctx.store.sessions.revoke_all(&user.user_id, None))
        .await;
    assert_eq!(ended.unwrap(), 30);
    assert_eq!(n, 3, "one query, two batches of at most 25");
    for s in &all {
        assert_eq!(
            ctx.store
                .sessions
                .rotate(&claims(s), ctx.policies.reuse_interval_secs, NOW + 1)
                .await
                .unwrap(),
            Rotation::Refused(Refusal::Unknown)
        );
    }
    rotated(
        ctx.store
            .sessions
            .rotate(
                &claims(&bystander),
                ctx.policies.reuse_interval_secs,
                NOW + 1,
            )
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn listing_shows_a_users_sessions_with_their_hints() {
    let ctx = Ctx::new().await;
    let (user, _, s0) = login(&ctx, "xena").await;
    login(&ctx, "yves").await;
    let listed = ctx.store.sessions.list(&user.user_id, NOW).await.unwrap();
    assert_eq!(listed, vec![s0]);
    assert_eq!(listed[0].user_agent.as_deref(), Some("test-agent/1.0"));
}

// ---- tables and faults ----

#[tokio::test]
async fn tables_have_ttl_on_expires_at_and_the_defined_keys() {
    let ctx = Ctx::new().await;
    for (name, def) in [
        (&ctx.tables.users, accounts::schema::USERS),
        (&ctx.tables.sessions, accounts::schema::SESSIONS),
    ] {
        let ttl = ctx
            .client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
        assert_eq!(ttl.attribute_name(), Some("expires_at"));

        let table = ctx
            .client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let table = table.table().unwrap();
        let keys: Vec<&str> = table
            .key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect();
        let expected: Vec<&str> = def.key_attributes().iter().map(|k| k.name).collect();
        assert_eq!(keys, expected);
        assert!(
            table.global_secondary_indexes().is_empty(),
            "no index: every read that ends or checks sessions is consistent"
        );
    }
}

#[tokio::test]
async fn a_closed_port_is_unavailable_within_seconds() {
    let requests = RequestCounter::default();
    let client = client_for(&format!("http://127.0.0.1:{}", free_port()), &requests);
    let users = accounts::Users::new(client, "u");
    let started = Instant::now();
    let err = users
        .find(&Username::parse("anyone").unwrap())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(requests.get(), 3, "three attempts, then give up");
}

#[tokio::test]
async fn a_missing_table_is_an_internal_error_not_unavailable() {
    let ctx = Ctx::new().await;
    let users = accounts::Users::new(ctx.client.clone(), "no-such-table");
    let err = users
        .find(&Username::parse("anyone").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}

#[tokio::test]
async fn no_item_holds_a_token_or_a_password_in_clear() {
    let ctx = Ctx::new().await;
    let (_, _, s0) = login(&ctx, "zoe").await;
    let t = tokens();
    let first = t.refresh.issue(&s0.grant()).unwrap().token;
    let s1 = rotated(
        ctx.store
            .sessions
            .rotate(&claims(&s0), ctx.policies.reuse_interval_secs, NOW + 1)
            .await
            .unwrap(),
    );
    let second = t.refresh.issue(&s1.grant()).unwrap().token;

    let mut secrets = vec![PASSWORD.to_owned()];
    for tok in [&first, &second] {
        secrets.push(tok.clone());
        secrets.extend(tok.split('.').map(str::to_owned));
    }
    for table in [&ctx.tables.users, &ctx.tables.sessions] {
        let items = ctx.client.scan().table_name(table).send().await.unwrap();
        assert!(!items.items().is_empty());
        for item in items.items() {
            let dump = format!("{item:?}");
            for s in &secrets {
                assert!(!dump.contains(s.as_str()), "{table} holds a secret value");
            }
            if let Some(AttributeValue::S(h)) = item.get("password_hash") {
                assert!(h.starts_with("$argon2id$"));
            }
        }
    }
}

/// A login that reserved on a counter in one window and succeeds after the
/// window was restarted by others gives nothing back into the new window,
/// and a refund never takes a count below zero: successes never buy extra
/// guesses.
#[tokio::test]
async fn a_refund_never_reaches_into_a_later_window_nor_below_zero() {
    use accounts::{Counter, Limit, Refund, Reservation};
    let ctx = Ctx::new().await;
    let users = &ctx.store.users;
    let counter = Counter::Ip("192.0.2.44");
    let limit = Limit {
        max: 10,
        window_secs: 60,
    };
    let reserve = |at| async move {
        match users.reserve(counter, limit, at).await.unwrap() {
            Reservation::Reserved { window_ends, .. } => Refund {
                key: counter.key(),
                window_ends,
            },
            Reservation::Limited { .. } => panic!("limited"),
        }
    };
    let straddling = reserve(NOW).await;
    // The window ends; two failures open and fill the next one.
    reserve(NOW + 61).await;
    reserve(NOW + 61).await;
    users.refund(&[straddling]).await.unwrap();
    assert_eq!(
        users.failures(counter, NOW + 61).await.unwrap(),
        2,
        "nothing of the new window forgiven"
    );
    // Within its own window a refund gives the reservation back, once.
    let own = reserve(NOW + 62).await;
    assert_eq!(users.failures(counter, NOW + 62).await.unwrap(), 3);
    users.refund(std::slice::from_ref(&own)).await.unwrap();
    assert_eq!(users.failures(counter, NOW + 62).await.unwrap(), 2);
    let fresh = Counter::Ip("192.0.2.45");
    let one = match users.reserve(fresh, limit, NOW).await.unwrap() {
        Reservation::Reserved { window_ends, .. } => Refund {
            key: fresh.key(),
            window_ends,
        },
        Reservation::Limited { .. } => panic!("limited"),
    };
    for _ in 0..3 {
        users.refund(std::slice::from_ref(&one)).await.unwrap();
    }
    assert_eq!(users.failures(fresh, NOW).await.unwrap(), 0);
    let raw = ctx
        .client
        .get_item()
        .table_name(&ctx.tables.users)
        .key("pk", AttributeValue::S(fresh.key()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.item().unwrap()["failures"],
        AttributeValue::N("0".into()),
        "never below zero"
    );
}

#[tokio::test]
async fn a_failure_recorded_after_the_user_was_deleted_recreates_nothing() {
    // A wrong password's login read the user (counting its attempt), then
    // the account was deleted, then the failure is recorded: no partial
    // user item may come back (its later reads would fail as corrupt).
    let ctx = Ctx::new().await;
    let (_, username) = register(&ctx, "ghost").await;
    let Attempt::Proceed(read) = ctx
        .store
        .users
        .count_login(&username, ctx.policies.lockout, NOW)
        .await
        .unwrap()
    else {
        panic!("the attempt proceeds");
    };
    ctx.store.delete_user(&read, None).await.unwrap();
    for at in [NOW, NOW + 901] {
        let locked = ctx
            .store
            .users
            .record_login_failure(Some(&read), ctx.policies.lockout, at)
            .await
            .unwrap();
        assert_eq!(locked, None);
    }
    let at_limit = User {
        failed_logins: 5,
        failed_since: NOW,
        ..read.clone()
    };
    ctx.store
        .users
        .record_login_failure(Some(&at_limit), ctx.policies.lockout, NOW)
        .await
        .unwrap();
    assert_eq!(ctx.store.users.get(&read.user_id).await.unwrap(), None);
    let items = ctx
        .client
        .scan()
        .table_name(&ctx.tables.users)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(items.is_empty(), "{items:?}");
}
