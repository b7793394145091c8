//! Races through the real handlers, with real concurrency against DynamoDB
//! Local: a login racing a change that leaves it valid answers 200 (never
//! 503), and failed logins racing an account's deletion leave nothing keyed
//! by the user behind.

use std::time::Duration;

use futures::future::join_all;
use integration_tests::http::{
    CapturedLogs, Front, PASSWORD, TestApp, body, login_user, register_user, request, sign_in,
};
use serde_json::json;

/// Every item of a test's tables that names `user_id` anywhere (its key or
/// any string attribute): what must be gone after a deletion.
async fn items_naming(t: &TestApp, user_id: &str) -> Vec<String> {
    let mut found = Vec::new();
    for table in [&t.ctx.tables.users, &t.ctx.tables.sessions] {
        let items = t
            .ctx
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default();
        for item in items {
            let names = item
                .iter()
                .any(|(_, v)| v.as_s().is_ok_and(|s| s.contains(user_id)));
            if names {
                found.push(format!("{table}: {item:?}"));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_racing_changes_that_leave_it_valid_answers_200_never_503() {
    let logs = CapturedLogs::default();
    logs.install_global();
    // Eight logins in flight at once stay under the account's limit (its
    // count includes attempts still checking their password).
    let t = TestApp::with(&[("LOGIN_MAX_FAILURES", "100")]).await;
    register_user(&t, Front::HttpApi, "rae").await;
    let user = t
        .ctx
        .store
        .users
        .find(&accounts::Username::parse("rae").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut statuses = Vec::new();
    for round in 0..6 {
        let logins = join_all((0..8u64).map(|i| {
            let t = &t;
            async move {
                tokio::time::sleep(Duration::from_millis(3 * i)).await;
                login_user(t, Front::HttpApi, "rae").await
            }
        }));
        // Logging out everywhere and a role change move the user's version
        // on while the logins check the password.
        let changes = async {
            for at in [4u64, 14, 24] {
                tokio::time::sleep(Duration::from_millis(if at == 4 { 4 } else { 10 })).await;
                if (at + round) % 2 == 0 {
                    t.ctx.store.end_sessions(&user.user_id, None).await.unwrap();
                } else {
                    let roles = vec!["user".to_owned(), format!("r{at}")];
                    t.ctx.store.set_roles(&user.user_id, &roles).await.unwrap();
                }
            }
        };
        let (answers, ()) = tokio::join!(logins, changes);
        statuses.extend(answers.iter().map(|r| {
            let error = body(r)["error"].as_str().map(str::to_owned);
            (r.status().as_u16(), error)
        }));
    }
    assert!(
        statuses.iter().all(|(s, _)| *s == 200),
        "every login answers 200: {statuses:?}"
    );
    let retried = logs.text().matches("starting its session again").count();
    assert!(
        retried > 0,
        "no login read the user before a change and started again after it: the race never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_racing_a_deletion_leave_nothing_keyed_by_the_user() {
    for round in 0..4 {
        let t = TestApp::new().await;
        let name = format!("gone{round}");
        register_user(&t, Front::HttpApi, &name).await;
        let here = sign_in(&t, Front::HttpApi, &name).await;
        let sub = t
            .tokens
            .access
            .verifier
            .verify(&here.access, token::unix_now())
            .unwrap()
            .sub;
        // A device of the user (its counter must not be keyed by the user).
        let res = login_user(&t, Front::HttpApi, &name).await;
        assert_eq!(res.status(), 200);
        let wrong = json!({"username": name, "password": "not the password at all"}).to_string();
        let failures = join_all((0..12u64).map(|i| {
            let (t, wrong) = (&t, &wrong);
            async move {
                tokio::time::sleep(Duration::from_millis(2 * i)).await;
                handlers::login(
                    &t.fns.login,
                    request(
                        Front::HttpApi,
                        "POST",
                        "/auth/login",
                        &[("content-type", "application/json")],
                        Some(wrong),
                    ),
                )
                .await
                .status()
            }
        }));
        let deletion = async {
            tokio::time::sleep(Duration::from_millis(6)).await;
            handlers::account(
                &t.fns.account,
                request(
                    Front::HttpApi,
                    "DELETE",
                    "/auth/account",
                    &[
                        ("content-type", "application/json"),
                        ("authorization", &here.bearer()),
                    ],
                    Some(&json!({"password": PASSWORD}).to_string()),
                ),
            )
            .await
            .status()
        };
        let (statuses, deleted) = tokio::join!(failures, deletion);
        assert_eq!(deleted, 204, "round {round}");
        assert!(
            statuses.iter().all(|s| *s == 401 || *s == 429),
            "round {round}: {statuses:?}"
        );
        let left = items_naming(&t, &sub).await;
        assert!(left.is_empty(), "round {round}: {left:#?}");
    }
}
