//! DynamoDB faults, scripted against DynamoDB Local through the real
//! handlers with production's client settings (`accounts::client`): a
//! DynamoDB that stops mid-flow and comes back, requests cut between a
//! handler's two writes, answers lost after DynamoDB applied the write, and
//! a DynamoDB slower than the attempt timeout.
//!
//! Every 503 must come within a bound derived from the client's timeouts,
//! after the expected number of attempts; each case prints what it measured
//! (`cargo test --test faults -- --nocapture`).

use std::future::Future;
use std::time::{Duration, Instant};

use accounts::client::{ATTEMPT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::faults::{Fault, Proxy, StoppableDynamoDb};
use integration_tests::http::{
    Front, Functions, PASSWORD, body, cookie_post, post, refresh_cookie, vars,
};
use integration_tests::{Ctx, RequestCounter, Tables, client_for, lenient_client_for};
use lambda_http::http::header;
use lambda_http::{Body, Response};
use serde_json::json;

type Answer = Response<Body>;

/// Handler work besides DynamoDB (one argon2id hash, signing) and the
/// scheduling noise of a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(1);

/// The longest a handler may take to answer 503 when every attempt of its
/// first DynamoDB call fails: the operation timeout caps attempts and
/// back-offs together.
const UNAVAILABLE_BOUND: Duration = OPERATION_TIMEOUT.saturating_add(SLACK);

/// The functions with production's client (timeouts, retries) pointed at
/// `endpoint`, over `tables`, counting every attempt in `attempts`.
fn app_via(endpoint: &str, tables: &Tables, attempts: &RequestCounter) -> Functions {
    let mut vars = vars(&[]);
    vars.extend(tables.env());
    Functions::from_source(&vars, client_for(endpoint, attempts))
}

/// A test's own tables in the shared DynamoDB Local, a proxy to it, and an
/// app through the proxy with its attempt counter.
async fn behind_a_proxy() -> (Ctx, Proxy, RequestCounter, Functions) {
    let ctx = Ctx::new().await;
    let proxy = Proxy::start(&integration_tests::endpoint())
        .await
        .expect("proxy");
    let attempts = RequestCounter::default();
    let app = app_via(&proxy.endpoint(), &ctx.tables, &attempts);
    (ctx, proxy, attempts, app)
}

/// Fresh tables on `endpoint`, created with a patient client.
async fn create_tables(endpoint: &str) -> (Client, Tables) {
    let client = lenient_client_for(endpoint, &RequestCounter::default());
    let tables = integration_tests::create_tables(&client).await;
    (client, tables)
}

/// An answer, how long it took, and how many DynamoDB attempts it made.
async fn measure(
    attempts: &RequestCounter,
    answer: impl Future<Output = Answer>,
) -> (Answer, Duration, usize) {
    let started = Instant::now();
    let (res, n) = attempts.during(answer).await;
    (res, started.elapsed(), n)
}

/// `503 temporarily_unavailable`, `Retry-After`, and nothing of the cause.
fn assert_unavailable(what: &str, res: &Answer) {
    assert_eq!(res.status(), 503, "{what}: {:?}", body(res));
    let b = body(res);
    assert_eq!(b["error"], "temporarily_unavailable", "{what}");
    assert_eq!(res.headers()[header::RETRY_AFTER], "1", "{what}");
    let keys: Vec<&String> = b
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["error", "message"], "{what}: {b}");
    let text = b.to_string().to_ascii_lowercase();
    for internal in [
        "127.0.0.1",
        "dynamodb",
        "dispatch",
        "timeout",
        "connect",
        "error:",
    ] {
        assert!(!text.contains(internal), "{what} leaks {internal:?}: {b}");
    }
}

/// A 503 as [`assert_unavailable`], within [`UNAVAILABLE_BOUND`], after
/// exactly `MAX_ATTEMPTS` attempts of the one DynamoDB call that failed.
fn unavailable_after_every_attempt(case: &str, res: &Answer, took: Duration, attempts: usize) {
    unavailable_after_every_attempt_of(case, res, took, attempts, 1);
}

/// [`unavailable_after_every_attempt`] for a handler whose first `calls`
/// DynamoDB calls run at once (login: the source IP's reservation and the
/// username's claim), each to its last attempt.
fn unavailable_after_every_attempt_of(
    case: &str,
    res: &Answer,
    took: Duration,
    attempts: usize,
    calls: usize,
) {
    report(case, res, took, attempts);
    assert_unavailable(case, res);
    assert!(took < UNAVAILABLE_BOUND, "{case} took {took:?}");
    assert_eq!(
        attempts,
        calls * MAX_ATTEMPTS as usize,
        "{case}: every attempt, no more"
    );
}

fn report(case: &str, res: &Answer, took: Duration, attempts: usize) {
    eprintln!(
        "fault: {case}: {} in {} ms after {attempts} DynamoDB attempt(s)",
        res.status().as_u16(),
        took.as_millis()
    );
}

fn credentials(username: &str) -> serde_json::Value {
    json!({"username": username, "password": PASSWORD})
}

async fn register(app: &Functions, username: &str) -> Answer {
    handlers::register(
        &app.register,
        post(Front::HttpApi, "/auth/register", &credentials(username)),
    )
    .await
}

async fn login(app: &Functions, username: &str) -> Answer {
    handlers::login(
        &app.login,
        post(Front::HttpApi, "/auth/login", &credentials(username)),
    )
    .await
}

async fn refresh(app: &Functions, token: &str) -> Answer {
    handlers::refresh(
        &app.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", token),
    )
    .await
}

async fn logout(app: &Functions, token: &str) -> Answer {
    handlers::logout(
        &app.logout,
        cookie_post(Front::HttpApi, "/auth/logout", token),
    )
    .await
}

/// The refresh token a 200 answer set, failing with the answer otherwise.
fn issued(what: &str, res: &Answer) -> String {
    assert_eq!(res.status(), 200, "{what}: {:?}", body(res));
    refresh_cookie(res).unwrap_or_else(|| panic!("{what}: no refresh cookie"))
}

/// The session items of `user_id`, read consistently with a scan.
async fn sessions_of(client: &Client, tables: &Tables, user_id: &str) -> Vec<u64> {
    let out = client
        .scan()
        .table_name(&tables.sessions)
        .consistent_read(true)
        .send()
        .await
        .expect("scan sessions");
    out.items()
        .iter()
        .filter(|i| i.get("user_id") == Some(&AttributeValue::S(user_id.to_owned())))
        .map(|i| match i.get("gen") {
            Some(AttributeValue::N(g)) => g.parse().expect("gen is a number"),
            other => panic!("session without gen: {other:?}"),
        })
        .collect()
}

/// A registered user, read consistently.
async fn user(app: &Functions, username: &str) -> accounts::User {
    let name = accounts::Username::parse(username).expect("username");
    let user = app.login.store.users.find(&name).await;
    user.expect("read user").expect("user exists")
}

/// The generation a refresh token carries.
fn generation(app: &Functions, token: &str) -> u64 {
    app.refresh
        .verifier
        .verify(token, token::unix_now())
        .expect("a valid refresh token")
        .generation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_dynamodb_answers_503_in_bounded_time_and_the_same_app_recovers() {
    let mut db = StoppableDynamoDb::start().expect("DynamoDB Local starts");
    let (_, tables) = create_tables(&db.endpoint()).await;
    let attempts = RequestCounter::default();
    // Built once, like a warm Lambda execution environment: it outlives the
    // outage with the same client and connection pool.
    let app = app_via(&db.endpoint(), &tables, &attempts);
    assert_eq!(register(&app, "ivan").await.status(), 201);
    let before = issued("login before the outage", &login(&app, "ivan").await);

    db.stop();
    // Each fails on its first DynamoDB call, after every attempt.
    let down = |what: &'static str| format!("stopped DynamoDB, {what}");
    let (res, took, n) = measure(&attempts, refresh(&app, &before)).await;
    unavailable_after_every_attempt(&down("refresh"), &res, took, n);
    let (res, took, n) = measure(&attempts, login(&app, "ivan")).await;
    unavailable_after_every_attempt_of(&down("login"), &res, took, n, 2);
    let (res, took, n) = measure(&attempts, logout(&app, &before)).await;
    unavailable_after_every_attempt(&down("logout"), &res, took, n);
    let (res, took, n) = measure(&attempts, register(&app, "judy")).await;
    unavailable_after_every_attempt(&down("register"), &res, took, n);

    db.restart().expect("DynamoDB Local restarts");
    // The emulator's own JVM warms up on its first requests (seconds on a
    // loaded machine); a real DynamoDB has no such start, so warm it with a
    // patient client before the app, which must not need rebuilding.
    lenient_client_for(&db.endpoint(), &RequestCounter::default())
        .scan()
        .table_name(&tables.sessions)
        .send()
        .await
        .expect("DynamoDB Local answers after the restart");
    let (res, took, n) = measure(&attempts, refresh(&app, &before)).await;
    report(
        "restarted DynamoDB, refresh of the pre-outage token",
        &res,
        took,
        n,
    );
    let after = issued("refresh after the restart", &res);
    assert_eq!(generation(&app, &after), 1, "the outage did not rotate it");
    issued("the successor refreshes", &refresh(&app, &after).await);
    let (res, took, n) = measure(&attempts, login(&app, "ivan")).await;
    report("restarted DynamoDB, login", &res, took, n);
    let again = issued("login after the restart", &res);
    assert_eq!(register(&app, "judy").await.status(), 201);
    assert_eq!(logout(&app, &again).await.status(), 204);
    assert_eq!(refresh(&app, &again).await.status(), 401, "logged out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_cut_between_its_two_writes_leaves_no_session_and_the_next_login_works() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "kim").await.status(), 201);
    let kim = user(&app, "kim").await.user_id;

    // The username's claim is read and the attempt counted (UpdateItem on
    // the user); then DynamoDB goes away before the transaction that writes
    // the session.
    proxy.set_for("TransactWriteItems", Fault::Refuse, usize::MAX);
    let (res, took, n) = measure(&attempts, login(&app, "kim")).await;
    report("login cut before its session write", &res, took, n);
    assert_unavailable("login", &res);
    assert!(took < UNAVAILABLE_BOUND, "took {took:?}");
    assert_eq!(
        proxy.seen("UpdateItem"),
        2,
        "one reservation on the address, one counted attempt"
    );
    // Register's own transaction, then every attempt of the login's.
    assert_eq!(proxy.seen("TransactWriteItems"), 1 + MAX_ATTEMPTS as usize);
    assert_eq!(n, 3 + MAX_ATTEMPTS as usize);
    assert!(sessions_of(&ctx.client, &ctx.tables, &kim).await.is_empty());

    proxy.set(Fault::Pass);
    let token = issued("the next login", &login(&app, "kim").await);
    assert_eq!(sessions_of(&ctx.client, &ctx.tables, &kim).await, [0]);
    issued("its token refreshes", &refresh(&app, &token).await);
}

/// A DynamoDB that cannot count fails closed, and the outage locks nobody
/// out: the source IP's reservation (the login's first write) refused
/// answers 503 before any password is checked; once DynamoDB writes again
/// the same login works, and nothing was counted against the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_dynamodb_cannot_write_refuses_the_login_and_locks_nobody_out() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "olga").await.status(), 201);
    let olga = user(&app, "olga").await.user_id;

    proxy.set_for("UpdateItem", Fault::Refuse, usize::MAX);
    for _ in 0..8 {
        let (res, took, n) = measure(&attempts, login(&app, "olga")).await;
        report("login whose counters cannot be written", &res, took, n);
        assert_unavailable("login", &res);
    }
    assert!(
        sessions_of(&ctx.client, &ctx.tables, &olga)
            .await
            .is_empty()
    );

    proxy.set(Fault::Pass);
    assert_eq!(user(&app, "olga").await.failed_logins, 0, "nothing counted");
    issued(
        "the login once DynamoDB writes again",
        &login(&app, "olga").await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_session_write_answer_is_lost_once_starts_exactly_one_session() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "lena").await.status(), 201);
    let lena = user(&app, "lena").await.user_id;

    // DynamoDB applies the transaction; its answer is lost; the SDK retries
    // with the same client request token, which DynamoDB recognises.
    proxy.set_for("TransactWriteItems", Fault::LoseResponse, 1);
    let (res, took, n) = measure(&attempts, login(&app, "lena")).await;
    report(
        "login whose session write answer is lost once",
        &res,
        took,
        n,
    );
    let token = issued("login", &res);
    assert_eq!(
        proxy.seen("TransactWriteItems"),
        3,
        "register's, then the login's and its one retry"
    );
    assert_eq!(
        n, 6,
        "the address's reservation, the claim, the count, the transaction twice, the refund"
    );
    assert_eq!(sessions_of(&ctx.client, &ctx.tables, &lena).await, [0]);
    issued("its token refreshes", &refresh(&app, &token).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_answer_is_lost_after_the_rotation_gets_the_same_successor_on_retry() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "mona").await.status(), 201);
    let mona = user(&app, "mona").await.user_id;
    let first = issued("login", &login(&app, "mona").await);

    // Lost once: the SDK's own retry presents generation 0 again, which is
    // now the previous token within the reuse interval, not reuse.
    proxy.set_for("UpdateItem", Fault::LoseResponse, 1);
    let (res, took, n) = measure(&attempts, refresh(&app, &first)).await;
    report(
        "refresh whose answer is lost once (SDK retry)",
        &res,
        took,
        n,
    );
    let second = issued("refresh", &res);
    assert_eq!(n, 2, "one retry");
    assert_eq!(generation(&app, &second), 1);
    assert_eq!(sessions_of(&ctx.client, &ctx.tables, &mona).await, [1]);

    // Lost on every attempt: the first applied the rotation, the client saw
    // a 503 and retries the same token itself.
    proxy.set_for("UpdateItem", Fault::LoseResponse, MAX_ATTEMPTS as usize);
    let (res, took, n) = measure(&attempts, refresh(&app, &second)).await;
    unavailable_after_every_attempt("refresh whose answers are all lost", &res, took, n);
    assert_eq!(sessions_of(&ctx.client, &ctx.tables, &mona).await, [2]);

    let (res, took, n) = measure(&attempts, refresh(&app, &second)).await;
    report("client's retry of the lost refresh", &res, took, n);
    let third = issued("the client's retry", &res);
    assert_eq!(generation(&app, &third), 2, "the successor DynamoDB stored");
    let again = issued("a second retry", &refresh(&app, &second).await);
    assert_eq!(again, third, "the same successor, not a fork");
    assert_eq!(sessions_of(&ctx.client, &ctx.tables, &mona).await, [2]);
    let fourth = issued("the successor refreshes", &refresh(&app, &third).await);
    assert_eq!(generation(&app, &fourth), 3, "the session is intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_slower_than_the_attempt_timeout_is_cut_off_within_the_operation_timeout() {
    let ctx = Ctx::new().await;
    let proxy = Proxy::start(&integration_tests::endpoint())
        .await
        .expect("proxy");
    let (login_attempts, refresh_attempts) = (RequestCounter::default(), RequestCounter::default());
    let login_app = app_via(&proxy.endpoint(), &ctx.tables, &login_attempts);
    let refresh_app = app_via(&proxy.endpoint(), &ctx.tables, &refresh_attempts);
    assert_eq!(register(&login_app, "nora").await.status(), 201);
    let token = issued("login", &login(&refresh_app, "nora").await);

    // Every answer comes a second after the attempt has given up on it.
    proxy.set(Fault::Delay(ATTEMPT_TIMEOUT + Duration::from_secs(1)));
    let ((login_res, login_took, login_n), (refresh_res, refresh_took, refresh_n)) = tokio::join!(
        measure(&login_attempts, login(&login_app, "nora")),
        measure(&refresh_attempts, refresh(&refresh_app, &token)),
    );
    for (what, res, took, n, calls) in [
        ("login", &login_res, login_took, login_n, 2),
        ("refresh", &refresh_res, refresh_took, refresh_n, 1),
    ] {
        unavailable_after_every_attempt_of(&format!("slow DynamoDB, {what}"), res, took, n, calls);
        // Two attempts waited out their timeout before the third began; the
        // operation timeout ended the third.
        assert!(
            took >= ATTEMPT_TIMEOUT * 2,
            "{what} gave up early: {took:?}"
        );
    }

    proxy.set(Fault::Pass);
    // The login's first requests (the username's claim, a read, and the
    // source IP's reservation) timed out: nothing was counted against the
    // account (the address may hold the reservations DynamoDB applied
    // after the client gave up: counted in the safe direction).
    assert_eq!(user(&login_app, "nora").await.failed_logins, 0);
    issued(
        "login once DynamoDB is fast again",
        &login(&login_app, "nora").await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_whose_answer_is_lost_once_still_answers_201() {
    let (_ctx, proxy, attempts, app) = behind_a_proxy().await;

    // The user is written; the SDK's retry carries the same client request
    // token, which DynamoDB answers as the success it was.
    proxy.set_for("TransactWriteItems", Fault::LoseResponse, 1);
    let (res, took, n) = measure(&attempts, register(&app, "olga")).await;
    report("register whose answer is lost once", &res, took, n);
    assert_eq!(res.status(), 201, "{:?}", body(&res));
    assert_eq!(n, 2, "one retry");
    issued("the new user logs in", &login(&app, "olga").await);
    assert_eq!(register(&app, "OLGA").await.status(), 409, "still unique");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_attempt_is_counted_once_however_often_its_answer_is_lost() {
    let (_ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "pia").await.status(), 201);
    let wrong = json!({"username": "pia", "password": "not the password at all"});

    // The count is written by each attempt DynamoDB receives; a retry of an
    // attempt whose answer was lost must not count it again, or an outage
    // locks out users who never failed LOGIN_MAX_FAILURES times.
    proxy.set_for(
        "UpdateItem",
        Fault::LoseResponse,
        (MAX_ATTEMPTS - 1) as usize,
    );
    let (res, took, n) = measure(
        &attempts,
        handlers::login(&app.login, post(Front::HttpApi, "/auth/login", &wrong)),
    )
    .await;
    report(
        "wrong-password login whose count answer is lost twice",
        &res,
        took,
        n,
    );
    assert_eq!(res.status(), 401, "{:?}", body(&res));
    assert_eq!(
        user(&app, "pia").await.failed_logins,
        1,
        "one attempt, counted once"
    );
}

/// An account route called with the access token a login answer carried.
async fn account(
    app: &Functions,
    login: &Answer,
    method: &str,
    path: &str,
    body_: &serde_json::Value,
) -> Answer {
    let access = body(login)["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    handlers::account(
        &app.account,
        integration_tests::http::request(
            Front::HttpApi,
            method,
            path,
            &[("authorization", &format!("Bearer {access}"))],
            Some(&body_.to_string()),
        ),
    )
    .await
}

const NEW_PASSWORD: &str = "a different phrase, long enough";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_cut_before_its_session_deletes_finishes_when_retried() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "nell").await.status(), 201);
    let nell = user(&app, "nell").await.user_id;
    let here = login(&app, "nell").await;
    let there = issued("another login", &login(&app, "nell").await);
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});

    // The new hash is stored; DynamoDB goes away before the other session
    // is deleted.
    proxy.set_for("BatchWriteItem", Fault::Refuse, usize::MAX);
    let (res, took, n) = measure(
        &attempts,
        account(&app, &here, "POST", "/auth/password", &change),
    )
    .await;
    report(
        "password change cut before its session deletes",
        &res,
        took,
        n,
    );
    assert_unavailable("password change", &res);
    assert_eq!(
        sessions_of(&ctx.client, &ctx.tables, &nell).await.len(),
        2,
        "half done"
    );

    // The client retries the same request: it finishes the job.
    proxy.set(Fault::Pass);
    let res = account(&app, &here, "POST", "/auth/password", &change).await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    assert_eq!(
        sessions_of(&ctx.client, &ctx.tables, &nell).await,
        [0],
        "the caller's only"
    );
    assert_eq!(refresh(&app, &there).await.status(), 401);
    issued(
        "the caller's session goes on",
        &refresh(&app, &refresh_cookie(&here).unwrap()).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_deletion_cut_before_its_last_step_finishes_when_retried() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "otto").await.status(), 201);
    let otto = user(&app, "otto").await.user_id;
    let here = login(&app, "otto").await;
    let there = issued("another login", &login(&app, "otto").await);
    let confirm = json!({"password": PASSWORD});

    // Disabled and the other session gone; DynamoDB goes away before the
    // transaction that deletes the user, the name and the caller's session.
    proxy.set_for("TransactWriteItems", Fault::Refuse, usize::MAX);
    let (res, took, n) = measure(
        &attempts,
        account(&app, &here, "DELETE", "/auth/account", &confirm),
    )
    .await;
    report("account deletion cut before its last step", &res, took, n);
    assert_unavailable("deletion", &res);
    assert_eq!(refresh(&app, &there).await.status(), 401, "ended already");
    assert_eq!(
        login(&app, "otto").await.status(),
        403,
        "disabled meanwhile"
    );

    proxy.set(Fault::Pass);
    let res = account(&app, &here, "DELETE", "/auth/account", &confirm).await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    assert!(
        sessions_of(&ctx.client, &ctx.tables, &otto)
            .await
            .is_empty()
    );
    assert_eq!(login(&app, "otto").await.status(), 401, "gone");
    assert_eq!(
        register(&app, "otto").await.status(),
        201,
        "the name is free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_everywhere_cut_half_way_finishes_when_retried() {
    let (ctx, proxy, attempts, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "pete").await.status(), 201);
    let pete = user(&app, "pete").await.user_id;
    let here = issued("login", &login(&app, "pete").await);
    let there = issued("another login", &login(&app, "pete").await);
    let all = || {
        handlers::logout(
            &app.logout,
            integration_tests::http::request(
                Front::HttpApi,
                "POST",
                "/auth/logout",
                &[
                    ("cookie", &integration_tests::http::cookie_header(&here)),
                    ("content-type", "application/json"),
                ],
                Some(r#"{"all": true}"#),
            ),
        )
    };

    // The version is moved on and the sessions read; DynamoDB goes away
    // before they are deleted.
    proxy.set_for("BatchWriteItem", Fault::Refuse, usize::MAX);
    let (res, took, n) = measure(&attempts, all()).await;
    report("logout-all cut before its deletes", &res, took, n);
    assert_unavailable("logout-all", &res);
    assert_eq!(
        sessions_of(&ctx.client, &ctx.tables, &pete).await.len(),
        2,
        "nothing ended yet"
    );

    proxy.set(Fault::Pass);
    assert_eq!(all().await.status(), 204);
    assert!(
        sessions_of(&ctx.client, &ctx.tables, &pete)
            .await
            .is_empty()
    );
    assert_eq!(refresh(&app, &there).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_overtaken_by_an_enable_and_a_login_leaves_no_orphan_session() {
    let (ctx, proxy, _, app) = behind_a_proxy().await;
    assert_eq!(register(&app, "quin").await.status(), 201);
    let quin = user(&app, "quin").await;

    // The deletion's last step is held back while an operator enables the
    // user (directly, not through the proxy) and the user logs in again.
    proxy.set_for(
        "TransactWriteItems",
        Fault::Hold(Duration::from_millis(1500)),
        1,
    );
    let deletion = app.account.store.delete_user(&quin, None);
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let enabled = ctx.store.enable(&quin.user_id).await.unwrap();
        ctx.store
            .start_session(&enabled, ctx.start(None), token::unix_now())
            .await
            .and_then(accounts::Started::into_session)
            .unwrap()
    };
    let (deleted, session) = tokio::join!(deletion, meanwhile);
    assert!(
        matches!(deleted, Err(accounts::StoreError::Conflict)),
        "{deleted:?}"
    );
    // Nothing was deleted: the user and its new session are whole.
    let still = ctx.store.users.get(&quin.user_id).await.unwrap().unwrap();
    assert!(!still.disabled);
    assert_eq!(
        sessions_of(&ctx.client, &ctx.tables, &quin.user_id).await,
        [0]
    );
    // Repeating the deletion now deletes everything.
    app.account.store.delete_user(&still, None).await.unwrap();
    assert!(
        sessions_of(&ctx.client, &ctx.tables, &quin.user_id)
            .await
            .is_empty()
    );
    assert_eq!(ctx.store.users.get(&quin.user_id).await.unwrap(), None);
    let _ = session;
}
