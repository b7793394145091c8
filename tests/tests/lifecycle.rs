//! Changes that must reach sessions (logging out everywhere, a new password,
//! new roles, a disable, a deletion) against DynamoDB Local: what each one
//! leaves behind, what it costs, and each one racing logins with real
//! concurrency.

use std::time::Duration;

use accounts::LockoutPolicy;
use accounts::{Attempt, Refusal, Rotation, Session, StoreError, User, Username};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use integration_tests::{Ctx, POLICIES, Policies};
use testkit::fixed::Tokens;
use token::RefreshClaims;

const NOW: u64 = 1_800_000_000;

async fn register(ctx: &Ctx, name: &str) -> User {
    let username = Username::parse(name).unwrap();
    ctx.store
        .users
        .create_user(&username, "$argon2id$stand-in".into(), NOW)
        .await
        .unwrap()
}

async fn start(ctx: &Ctx, user: &User, at: u64) -> Session {
    ctx.store
        .start_session(user, ctx.start(Some("test-agent/1.0")), at)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap()
}

async fn current(ctx: &Ctx, user: &User) -> User {
    ctx.store.users.get(&user.user_id).await.unwrap().unwrap()
}

/// The claims a refresh token of `session`'s current generation carries.
fn claims(session: &Session) -> RefreshClaims {
    let t = Tokens::fixed();
    let issued = t.refresh.issue(&session.grant()).unwrap();
    t.refresh.verify(&issued.token, session.rotated_at).unwrap()
}

async fn refresh(ctx: &Ctx, session: &Session) -> Rotation {
    ctx.store
        .sessions
        .rotate(&claims(session), ctx.policies.reuse_interval_secs, NOW + 1)
        .await
        .unwrap()
}

async fn sids(ctx: &Ctx, user: &User) -> Vec<String> {
    let mut sids: Vec<String> = ctx
        .store
        .sessions
        .list(&user.user_id, NOW)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    sids.sort();
    sids
}

// ---- costs ----

#[tokio::test]
async fn a_refresh_is_one_request_and_one_write_unit() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "alice").await;
    let session = start(&ctx, &user, NOW).await;
    let ((r, units), n) = ctx
        .requests
        .during(ctx.requests.units.during(refresh(&ctx, &session)))
        .await;
    assert!(matches!(r, Rotation::Rotated(_)), "{r:?}");
    assert_eq!(n, 1);
    assert_eq!(units, 1.0, "no index writes it again");
}

#[tokio::test]
async fn a_user_is_found_by_sub_in_one_read() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "bob").await;
    let (found, n) = ctx
        .requests
        .during(ctx.store.users.get(&user.user_id))
        .await;
    assert_eq!(found.unwrap(), Some(user));
    assert_eq!(n, 1);
    assert_eq!(ctx.store.users.get("no-such-user").await.unwrap(), None);
}

#[tokio::test]
async fn sessions_are_listed_newest_first_in_one_request() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "carol").await;
    let older = start(&ctx, &user, NOW).await;
    let newer = start(&ctx, &user, NOW + 10).await;
    let ended = start(&ctx, &user, NOW + 20).await;
    ctx.store
        .sessions
        .revoke(&user.user_id, &ended.sid)
        .await
        .unwrap();
    let other = register(&ctx, "carl").await;
    start(&ctx, &other, NOW).await;
    let (listed, n) = ctx
        .requests
        .during(ctx.store.sessions.list(&user.user_id, NOW + 30))
        .await;
    let listed: Vec<String> = listed.unwrap().into_iter().map(|s| s.sid).collect();
    assert_eq!(listed, [newer.sid, older.sid]);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn each_change_costs_a_user_write_a_query_and_a_write_per_25_sessions() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "dave").await;
    for _ in 0..3 {
        start(&ctx, &user, NOW).await;
    }
    let (r, n) = ctx
        .requests
        .during(ctx.store.end_sessions(&user.user_id, None))
        .await;
    assert_eq!((r.unwrap(), n), (3, 3), "bump, query, one batch");
    for _ in 0..3 {
        start(&ctx, &current(&ctx, &user).await, NOW).await;
    }
    let (r, n) = ctx
        .requests
        .during(ctx.store.set_roles(&user.user_id, &["admin".into()]))
        .await;
    r.unwrap();
    assert_eq!(n, 5, "bump, query, one update per session");
    let (r, n) = ctx
        .requests
        .during(ctx.store.change_password(&user.user_id, "$new", None, None))
        .await;
    assert_eq!((r.unwrap(), n), (3, 3), "bump, query, one batch");
    let user = current(&ctx, &user).await;
    for _ in 0..3 {
        start(&ctx, &user, NOW).await;
    }
    let (r, n) = ctx
        .requests
        .during(ctx.store.delete_user(&user, None))
        .await;
    r.unwrap();
    assert_eq!(n, 4, "disable, query, one batch, one transaction");
}

// ---- what each change leaves ----

#[tokio::test]
async fn logging_out_everywhere_but_here_keeps_only_this_session() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "erin").await;
    let here = start(&ctx, &user, NOW).await;
    let there = start(&ctx, &user, NOW).await;
    let ended = ctx
        .store
        .end_sessions(&user.user_id, Some(&here.sid))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(sids(&ctx, &user).await, std::slice::from_ref(&here.sid));
    assert_eq!(
        refresh(&ctx, &there).await,
        Rotation::Refused(Refusal::Unknown)
    );
    assert!(matches!(refresh(&ctx, &here).await, Rotation::Rotated(_)));
}

#[tokio::test]
async fn a_new_role_reaches_every_session_at_its_next_refresh() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "frank").await;
    let a = start(&ctx, &user, NOW).await;
    let b = start(&ctx, &user, NOW).await;
    let roles = vec!["admin".to_string(), "user".to_string()];
    let changed = ctx.store.set_roles(&user.user_id, &roles).await.unwrap();
    assert_eq!(changed.roles, roles);
    assert_eq!(changed.version, user.version + 1);
    let mut next = Vec::new();
    for s in [&a, &b] {
        let Rotation::Rotated(s1) = refresh(&ctx, s).await else {
            panic!("the session goes on");
        };
        assert_eq!(s1.roles, roles);
        next.push(s1);
    }
    // And a role taken away is gone at the next refresh too.
    ctx.store
        .set_roles(&user.user_id, &["user".into()])
        .await
        .unwrap();
    let Rotation::Rotated(a2) = refresh(&ctx, &next[0]).await else {
        panic!("the session goes on");
    };
    assert_eq!(a2.roles, ["user"]);
}

#[tokio::test]
async fn a_disabled_user_keeps_no_session_and_starts_none() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "grace").await;
    let s = start(&ctx, &user, NOW).await;
    assert_eq!(ctx.store.disable(&user.user_id).await.unwrap(), 1);
    assert_eq!(refresh(&ctx, &s).await, Rotation::Refused(Refusal::Unknown));
    let disabled = current(&ctx, &user).await;
    assert!(disabled.disabled);
    let err = ctx
        .store
        .start_session(&disabled, ctx.start(None), NOW)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountDisabled), "{err:?}");

    let enabled = ctx.store.enable(&user.user_id).await.unwrap();
    assert!(!enabled.disabled);
    start(&ctx, &enabled, NOW).await;
}

#[tokio::test]
async fn a_deleted_user_leaves_nothing_and_frees_the_name() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "heidi").await;
    let here = start(&ctx, &user, NOW).await;
    let there = start(&ctx, &user, NOW).await;
    ctx.store.delete_user(&user, Some(&here.sid)).await.unwrap();
    assert_eq!(ctx.store.users.get(&user.user_id).await.unwrap(), None);
    assert!(sids(&ctx, &user).await.is_empty());
    for s in [&here, &there] {
        assert_eq!(refresh(&ctx, s).await, Rotation::Refused(Refusal::Unknown));
    }
    let again = register(&ctx, "HEIDI").await;
    assert_ne!(again.user_id, user.user_id, "a new user, not the old one");
    // A repeat of the deletion (a retry) is harmless.
    ctx.store.delete_user(&user, None).await.unwrap();
    assert_eq!(current(&ctx, &again).await, again);
}

#[tokio::test]
async fn a_password_change_conditioned_on_an_old_hash_is_a_conflict() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "ivan").await;
    let err = ctx
        .store
        .change_password(&user.user_id, "$new", Some("$not-the-stored-one"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(current(&ctx, &user).await, user, "nothing written");

    ctx.store.disable(&user.user_id).await.unwrap();
    let err = ctx
        .store
        .change_password(&user.user_id, "$new", Some(&user.password_hash), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AccountDisabled), "{err:?}");
}

// ---- a login that read the user before a change ----

/// A login that read the user, then (while it checked the password) the
/// change ran: its session must not start.
async fn a_login_that_read_before(
    change: impl AsyncFnOnce(&Ctx, &User),
    expected: fn(&StoreError) -> bool,
) {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "judy").await;
    let Attempt::Proceed(read) = ctx
        .store
        .users
        .count_login(&Username::parse("judy").unwrap(), ctx.policies.lockout, NOW)
        .await
        .unwrap()
    else {
        panic!("the attempt proceeds");
    };
    change(&ctx, &user).await;
    let err = ctx
        .store
        .start_session(&read, ctx.start(None), NOW)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap_err();
    assert!(expected(&err), "{err:?}");
    assert!(sids(&ctx, &user).await.is_empty());
}

#[tokio::test]
async fn a_login_that_read_before_a_logout_everywhere_starts_no_session() {
    a_login_that_read_before(
        async |ctx, user| {
            ctx.store.end_sessions(&user.user_id, None).await.unwrap();
        },
        |e| matches!(e, StoreError::Conflict),
    )
    .await;
}

#[tokio::test]
async fn a_login_that_read_before_a_password_change_starts_no_session() {
    a_login_that_read_before(
        async |ctx, user| {
            ctx.store
                .change_password(&user.user_id, "$new", None, None)
                .await
                .unwrap();
        },
        |e| matches!(e, StoreError::Conflict),
    )
    .await;
}

#[tokio::test]
async fn a_login_that_read_before_a_disable_starts_no_session() {
    a_login_that_read_before(
        async |ctx, user| {
            ctx.store.disable(&user.user_id).await.unwrap();
        },
        |e| matches!(e, StoreError::AccountDisabled),
    )
    .await;
}

#[tokio::test]
async fn a_login_that_read_before_a_deletion_starts_no_session() {
    a_login_that_read_before(
        async |ctx, user| {
            ctx.store.delete_user(user, None).await.unwrap();
        },
        |e| matches!(e, StoreError::UserGone),
    )
    .await;
}

#[tokio::test]
async fn a_login_that_read_before_a_role_change_starts_no_session_with_old_roles() {
    a_login_that_read_before(
        async |ctx, user| {
            ctx.store
                .set_roles(&user.user_id, &["admin".into()])
                .await
                .unwrap();
        },
        |e| matches!(e, StoreError::Conflict),
    )
    .await;
}

// ---- races, with real concurrency ----

/// What one racing login came to: the user's version it read, and its
/// session or why it has none.
struct Raced {
    read_version: Option<u64>,
    outcome: Result<Session, StoreError>,
}

/// A login as the handler runs it: count the attempt (reading the user),
/// check the password (here: wait as long as a hash takes), start the
/// session conditioned on what it read.
async fn racing_login(ctx: &Ctx, username: &Username, delay: Duration) -> Raced {
    tokio::time::sleep(delay).await;
    let read = match ctx
        .store
        .users
        .count_login(username, ctx.policies.lockout, NOW)
        .await
    {
        Ok(Attempt::Proceed(user)) => user,
        Ok(Attempt::UnknownUser) => {
            return Raced {
                read_version: None,
                outcome: Err(StoreError::UserGone),
            };
        }
        other => panic!("unexpected attempt: {other:?}"),
    };
    tokio::time::sleep(Duration::from_millis(25)).await;
    Raced {
        read_version: Some(read.version),
        outcome: ctx
            .store
            .start_session(&read, ctx.start(None), NOW)
            .await
            .and_then(accounts::Started::into_session),
    }
}

/// Runs `rounds` rounds of eight logins, staggered 4 ms apart, racing one
/// `change` that starts 12 ms in, and checks `survives` for every session
/// left. Asserts that some logins read the user before the change and were
/// refused after it: the race the design closes really happened.
async fn race(
    name: &str,
    rounds: usize,
    change: impl AsyncFn(&Ctx, &User) -> (),
    survives: impl Fn(&Ctx, &User, &Raced, &Session) -> bool,
) {
    // Eight attempts in flight at once stay under the failure limit.
    let ctx = Ctx::with(Policies {
        lockout: LockoutPolicy {
            max_failures: 100,
            ..POLICIES.lockout
        },
        ..POLICIES
    })
    .await;
    let mut caught = 0;
    for round in 0..rounds {
        let user = register(&ctx, &format!("{name}{round}")).await;
        let username = Username::parse(&user.username).unwrap();
        let logins = join_all(
            (0..8u64).map(|i| racing_login(&ctx, &username, Duration::from_millis(4 * i))),
        );
        let change = async {
            tokio::time::sleep(Duration::from_millis(12)).await;
            change(&ctx, &user).await;
        };
        let (raced, ()) = tokio::join!(logins, change);
        let left = ctx.store.sessions.list(&user.user_id, NOW).await.unwrap();
        for r in &raced {
            match &r.outcome {
                Ok(session) => {
                    let kept = left.iter().find(|s| s.sid == session.sid);
                    if let Some(kept) = kept {
                        assert!(
                            survives(&ctx, &user, r, kept),
                            "round {round}: a session escaped the change: read version {:?}, {kept:?}",
                            r.read_version
                        );
                    }
                }
                Err(StoreError::Conflict | StoreError::AccountDisabled | StoreError::UserGone) => {
                    if r.read_version == Some(user.version) {
                        caught += 1;
                    }
                }
                Err(e) => panic!("round {round}: unexpected: {e:?}"),
            }
        }
    }
    assert!(
        caught > 0,
        "no login read the user before the change and finished after it; the race never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_everywhere_racing_logins_leaves_only_later_sessions() {
    race(
        "kim",
        10,
        async |ctx, user| {
            ctx.store.end_sessions(&user.user_id, None).await.unwrap();
        },
        // Only a login that read the user after the change may keep its session.
        |_, user, r, _| r.read_version > Some(user.version),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_racing_logins_leaves_only_later_sessions() {
    race(
        "liam",
        10,
        async |ctx, user| {
            ctx.store
                .change_password(&user.user_id, "$new", Some(&user.password_hash), None)
                .await
                .unwrap();
        },
        |_, user, r, _| r.read_version > Some(user.version),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disable_racing_logins_leaves_no_session() {
    race(
        "mia",
        10,
        async |ctx, user| {
            ctx.store.disable(&user.user_id).await.unwrap();
        },
        |_, _, _, _| false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_racing_logins_leaves_no_session() {
    race(
        "noah",
        10,
        async |ctx, user| {
            ctx.store.delete_user(user, None).await.unwrap();
        },
        |_, _, _, _| false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_racing_logins_leaves_no_session_with_old_roles() {
    race(
        "olga",
        10,
        async |ctx, user| {
            ctx.store
                .set_roles(&user.user_id, &["admin".into()])
                .await
                .unwrap();
        },
        |_, _, _, kept| kept.roles == ["admin"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_password_changes_racing_exactly_one_wins() {
    let ctx = Ctx::new().await;
    for round in 0..10 {
        let user = register(&ctx, &format!("pat{round}")).await;
        let keep = start(&ctx, &user, NOW).await;
        let other = start(&ctx, &user, NOW).await;
        let proven = user.password_hash.as_str();
        let (a, b) = tokio::join!(
            ctx.store
                .change_password(&user.user_id, "$a", Some(proven), Some(&keep.sid)),
            ctx.store
                .change_password(&user.user_id, "$b", Some(proven), Some(&keep.sid)),
        );
        let winner = match (&a, &b) {
            (Ok(_), Err(StoreError::Conflict)) => "$a",
            (Err(StoreError::Conflict), Ok(_)) => "$b",
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(current(&ctx, &user).await.password_hash, winner);
        assert_eq!(sids(&ctx, &user).await, std::slice::from_ref(&keep.sid));
        assert_eq!(
            refresh(&ctx, &other).await,
            Rotation::Refused(Refusal::Unknown)
        );
    }
}

#[tokio::test]
async fn a_user_written_without_a_version_still_logs_in() {
    // An operator re-creating users by hand may leave `version` out.
    let ctx = Ctx::new().await;
    let user = register(&ctx, "quentin").await;
    ctx.client
        .update_item()
        .table_name(&ctx.tables.users)
        .key("pk", AttributeValue::S(format!("user#{}", user.user_id)))
        .update_expression("REMOVE version")
        .send()
        .await
        .unwrap();
    let read = current(&ctx, &user).await;
    assert_eq!(read.version, 0);
    start(&ctx, &read, NOW).await;
    // And the next change moves it on from there.
    ctx.store.end_sessions(&user.user_id, None).await.unwrap();
    assert_eq!(current(&ctx, &user).await.version, 1);
}

#[tokio::test]
async fn a_password_change_records_the_session_that_made_it() {
    let ctx = Ctx::new().await;
    let user = register(&ctx, "rita").await;
    let here = start(&ctx, &user, NOW).await;
    ctx.store
        .change_password(
            &user.user_id,
            "$a",
            Some(&user.password_hash),
            Some(&here.sid),
        )
        .await
        .unwrap();
    assert_eq!(
        current(&ctx, &user).await.password_set_by.as_deref(),
        Some(here.sid.as_str())
    );
    // An operator's reset records none.
    ctx.store
        .change_password(&user.user_id, "$b", None, None)
        .await
        .unwrap();
    assert_eq!(current(&ctx, &user).await.password_set_by, None);
}
