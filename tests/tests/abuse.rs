//! Abuse resistance through the real login handler against DynamoDB Local:
//! device tokens instead of a lockout anyone can trigger, each device's own
//! limit, the source IP's limit across accounts (from API Gateway's request
//! context only), counters that stay exact under parallel failures, and the
//! login's source IP kept with its session.

use accounts::{Counter, Limit, Reservation};
use integration_tests::http::{
    Front, PASSWORD, TestApp, body, register_user, request_from, set_cookie,
};
use lambda_http::http::header;
use lambda_http::{Body, Request, Response};
use serde_json::json;

const WRONG: &str = "wrong password here";
const HOME: &str = "198.51.100.23";
const ATTACKER: &str = "203.0.113.66";

/// A login of `username` with `password` from `ip`, presenting `device`
/// (a device token) in the `device` cookie, and `headers` besides.
fn login_from(
    ip: &str,
    username: &str,
    password: &str,
    device: Option<&str>,
    headers: &[(&str, &str)],
) -> Request {
    let cookie = device.map(|d| format!("device={d}"));
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(c) = &cookie {
        all.push(("cookie", c));
    }
    let body = json!({"username": username, "password": password}).to_string();
    request_from(
        Front::HttpApi,
        Some(ip),
        "POST",
        "/auth/login",
        &all,
        Some(&body),
    )
}

async fn login(t: &TestApp, req: Request) -> Response<Body> {
    handlers::login(&t.fns.login, req).await
}

/// The device token a login answer sets, if any.
fn device_cookie(res: &Response<Body>) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("device="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Logs in from `ip` with the right password; returns the device token.
async fn device_of(t: &TestApp, ip: &str, username: &str, device: Option<&str>) -> String {
    let res = login(t, login_from(ip, username, PASSWORD, device, &[])).await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    device_cookie(&res).expect("a device cookie")
}

/// Five wrong passwords from the attacker's address and no device token:
/// the account is locked for unknown devices.
async fn lock_out(t: &TestApp, username: &str) {
    for _ in 0..5 {
        login(t, login_from(ATTACKER, username, WRONG, None, &[])).await;
    }
    let res = login(t, login_from(ATTACKER, username, PASSWORD, None, &[])).await;
    assert_eq!(res.status(), 429, "locked for unknown devices");
}

#[tokio::test]
async fn the_device_cookie_is_http_only_strict_and_scoped_to_login_for_a_year() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "amy").await;
    let res = login(&t, login_from(HOME, "amy", PASSWORD, None, &[])).await;
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("device="))
        .expect("a device cookie")
        .to_owned();
    assert!(
        cookie.ends_with("; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age=31536000"),
        "{cookie}"
    );
    // The refresh cookie is still the one the refresh route reads.
    assert!(set_cookie(&res).unwrap().starts_with("refresh_token="));
    // Without REFRESH_TOKEN_IN_BODY the token is not in the body.
    assert!(body(&res).get("device_token").is_none());
}

#[tokio::test]
async fn a_victim_logs_in_from_their_device_while_the_account_is_locked_for_others() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "vera").await;
    let device = device_of(&t, HOME, "vera", None).await;
    lock_out(&t, "vera").await;

    let res = login(&t, login_from(HOME, "vera", PASSWORD, Some(&device), &[])).await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    // The same device keeps its id, with a token good for another year.
    let renewed = device_cookie(&res).unwrap();
    let d = &t.fns.login.devices;
    let now = token::unix_now();
    assert_eq!(
        d.verify(&renewed, now).unwrap().jti,
        d.verify(&device, now).unwrap().jti
    );
    // A wrong password from the device is the device's failure, not a lock
    // of the account for it.
    let res = login(&t, login_from(HOME, "vera", WRONG, Some(&device), &[])).await;
    assert_eq!(res.status(), 401);
    // Still locked for everyone else.
    let res = login(&t, login_from(ATTACKER, "vera", PASSWORD, None, &[])).await;
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn a_password_change_or_logout_everywhere_makes_every_device_unknown_again() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "gus").await;
    // Whoever logged in before the change (the user, or a thief who knew
    // the password then) holds a device token.
    let before = device_of(&t, HOME, "gus", None).await;
    let res = login(&t, login_from(HOME, "gus", PASSWORD, None, &[])).await;
    let access = body(&res)["access_token"].as_str().unwrap().to_owned();
    let new = "a different phrase, long enough";
    let change = json!({"current_password": PASSWORD, "new_password": new}).to_string();
    let req = request_from(
        Front::HttpApi,
        Some(HOME),
        "POST",
        "/auth/password",
        &[
            ("authorization", &format!("Bearer {access}")),
            ("content-type", "application/json"),
        ],
        Some(&change),
    );
    assert_eq!(handlers::account(&t.fns.account, req).await.status(), 204);
    // The account is locked for unknown devices; the old token is one.
    for _ in 0..5 {
        login(&t, login_from(ATTACKER, "gus", WRONG, None, &[])).await;
    }
    let res = login(&t, login_from(ATTACKER, "gus", WRONG, Some(&before), &[])).await;
    assert_eq!(res.status(), 429, "no guess budget of its own any more");
    let res = login(&t, login_from(HOME, "gus", new, Some(&before), &[])).await;
    assert_eq!(res.status(), 429, "locked like any unknown device");
}

#[tokio::test]
async fn each_device_has_its_own_failure_limit() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "dora").await;
    let laptop = device_of(&t, HOME, "dora", None).await;
    let phone = device_of(&t, HOME, "dora", None).await;
    for i in 1..=4 {
        let res = login(&t, login_from(HOME, "dora", WRONG, Some(&laptop), &[])).await;
        assert_eq!(res.status(), 401, "failure {i}");
    }
    let fifth = login(&t, login_from(HOME, "dora", WRONG, Some(&laptop), &[])).await;
    assert_eq!(fifth.status(), 429, "the fifth failure locks the laptop");
    let right = login(&t, login_from(HOME, "dora", PASSWORD, Some(&laptop), &[])).await;
    assert_eq!(right.status(), 429, "locked even for the right password");
    assert!(right.headers().contains_key(header::RETRY_AFTER));
    // The phone, and the account for unknown devices, are untouched.
    let res = login(&t, login_from(HOME, "dora", PASSWORD, Some(&phone), &[])).await;
    assert_eq!(res.status(), 200);
    let res = login(&t, login_from(HOME, "dora", PASSWORD, None, &[])).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_device_token_of_one_user_does_not_help_another() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "ann").await;
    register_user(&t, Front::HttpApi, "ben").await;
    let anns = device_of(&t, HOME, "ann", None).await;
    lock_out(&t, "ben").await;
    let res = login(&t, login_from(HOME, "ben", PASSWORD, Some(&anns), &[])).await;
    assert_eq!(res.status(), 429, "ann's device is no device of ben's");
}

#[tokio::test]
async fn forged_expired_foreign_or_oversized_device_tokens_count_as_none_and_are_never_echoed() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "eve").await;
    let good = device_of(&t, HOME, "eve", None).await;
    lock_out(&t, "eve").await;
    let d = &t.fns.login.devices;
    let expired = d
        .issue(
            &d.verify(&good, token::unix_now()).unwrap().sub,
            "old-device",
            0,
            token::unix_now() - 2 * token::DEVICE_TOKEN_SECS,
        )
        .unwrap()
        .token;
    let foreign = token::DeviceTokens::from_source(&integration_tests::http::vars(&[(
        "JWT_REFRESH_SECRET",
        "another-refresh-secret-0123456789abcdefg",
    )]))
    .unwrap()
    .issue("eve", "x", 0, token::unix_now())
    .unwrap()
    .token;
    let forged = format!("{}x", &good[..good.len() - 1]);
    let refresh_token = integration_tests::http::refresh_cookie(
        &login(&t, login_from(HOME, "eve", PASSWORD, Some(&good), &[])).await,
    )
    .unwrap();
    let huge = "a".repeat(20_000);
    let logs = integration_tests::http::CapturedLogs::default();
    logs.install_global();
    for (what, token) in [
        ("forged", forged.as_str()),
        ("expired", expired.as_str()),
        ("of another deployment", foreign.as_str()),
        ("a refresh token", refresh_token.as_str()),
        ("oversized", huge.as_str()),
        ("garbage", "not-a-token"),
    ] {
        let res = login(&t, login_from(HOME, "eve", PASSWORD, Some(token), &[])).await;
        assert_eq!(res.status(), 429, "{what}: the account lockout applies");
        let text = format!("{:?} {:?}", res.headers(), body(&res));
        assert!(!text.contains(token), "{what} echoed");
    }
    // Each is logged by why it was refused, and none of them is logged.
    let reasons: Vec<String> = logs
        .lines()
        .iter()
        .filter(|l| l["event"] == "device_token_refused")
        .filter_map(|l| l["reason"].as_str().map(str::to_owned))
        .collect();
    for reason in [
        "bad_signature",
        "expired",
        "unknown_key",
        "wrong_token_use",
        "too_large",
    ] {
        assert!(reasons.iter().any(|r| r == reason), "{reason}: {reasons:?}");
    }
    let text = logs.text();
    for token in [&forged, &expired, &foreign, &refresh_token] {
        assert!(!text.contains(token.as_str()));
    }
}

#[tokio::test]
async fn native_clients_get_and_present_the_device_token_in_the_body() {
    let t = TestApp::with(&[("REFRESH_TOKEN_IN_BODY", "true")]).await;
    register_user(&t, Front::HttpApi, "nat").await;
    let res = login(&t, login_from(HOME, "nat", PASSWORD, None, &[])).await;
    let device = body(&res)["device_token"].as_str().unwrap().to_owned();
    assert_eq!(Some(&device), device_cookie(&res).as_ref());
    lock_out(&t, "nat").await;
    let with_body = json!({"username": "nat", "password": PASSWORD, "device_token": device});
    let req = request_from(
        Front::HttpApi,
        Some(HOME),
        "POST",
        "/auth/login",
        &[],
        Some(&with_body.to_string()),
    );
    assert_eq!(login(&t, req).await.status(), 200);
}

#[tokio::test]
async fn password_spraying_from_one_address_is_refused_and_a_forwarded_for_header_changes_nothing()
{
    let t = TestApp::with(&[("LOGIN_MAX_FAILURES_PER_IP", "5")]).await;
    for name in ["usr1", "usr2", "usr3", "usr4", "usr5", "usr6"] {
        register_user(&t, Front::HttpApi, name).await;
    }
    // One guess per account, then an unknown username: every one counts.
    for name in ["usr1", "usr2", "usr3", "usr4", "nobody"] {
        let res = login(&t, login_from(ATTACKER, name, WRONG, None, &[])).await;
        assert_eq!(res.status(), 401, "{name}");
    }
    let res = login(&t, login_from(ATTACKER, "usr5", WRONG, None, &[])).await;
    assert_eq!(res.status(), 429, "the sixth failure from one address");
    assert_eq!(body(&res)["error"], "too_many_attempts");
    // Even the right password of an account never guessed, and whatever
    // the client says its address is.
    let spoofed = [("x-forwarded-for", HOME), ("x-real-ip", HOME)];
    let res = login(&t, login_from(ATTACKER, "usr6", PASSWORD, None, &spoofed)).await;
    assert_eq!(res.status(), 429);
    // Another address is not affected, and the accounts are not locked.
    let res = login(&t, login_from(HOME, "usr1", PASSWORD, None, &[])).await;
    assert_eq!(res.status(), 200);
    let ip = t
        .fns
        .login
        .store
        .users
        .failures(Counter::Ip(ATTACKER), token::unix_now())
        .await
        .unwrap();
    assert_eq!(ip, 5, "refused attempts are not counted past the limit");
}

#[tokio::test]
async fn a_known_device_is_held_to_its_own_limit_not_its_address() {
    // Behind one NAT: a stranger there exhausts the address's budget; a
    // user who logs in from a device they used before is not refused, and
    // their own attempts neither count against the address nor are refused
    // by it: only the device's limit applies.
    let t = TestApp::with(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    register_user(&t, Front::HttpApi, "nat").await;
    let device = device_of(&t, HOME, "nat", None).await;
    for name in ["nat1", "nat2", "nat3"] {
        let res = login(&t, login_from(HOME, name, WRONG, None, &[])).await;
        assert_eq!(res.status(), 401, "{name}");
    }
    let users = &t.fns.login.store.users;
    assert_eq!(
        users
            .failures(Counter::Ip(HOME), token::unix_now())
            .await
            .unwrap(),
        3
    );
    let res = login(&t, login_from(HOME, "nat", PASSWORD, None, &[])).await;
    assert_eq!(
        res.status(),
        429,
        "the address is spent for unknown devices"
    );
    let res = login(&t, login_from(HOME, "nat", PASSWORD, Some(&device), &[])).await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    for _ in 0..4 {
        let res = login(&t, login_from(HOME, "nat", WRONG, Some(&device), &[])).await;
        assert_eq!(
            res.status(),
            401,
            "the device's own count, not the address's"
        );
    }
    let res = login(&t, login_from(HOME, "nat", WRONG, Some(&device), &[])).await;
    assert_eq!(res.status(), 429, "the device's fifth failure");
    assert_eq!(
        users
            .failures(Counter::Ip(HOME), token::unix_now())
            .await
            .unwrap(),
        3,
        "the device's failures did not count against the address"
    );
}

#[tokio::test]
async fn successful_logins_do_not_count_against_their_address() {
    let t = TestApp::with(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    register_user(&t, Front::HttpApi, "sam").await;
    for i in 0..8 {
        let res = login(&t, login_from(HOME, "sam", PASSWORD, None, &[])).await;
        assert_eq!(res.status(), 200, "login {i}");
    }
    let users = &t.fns.login.store.users;
    let now = token::unix_now();
    assert_eq!(users.failures(Counter::Ip(HOME), now).await.unwrap(), 0);
    login(&t, login_from(HOME, "sam", WRONG, None, &[])).await;
    assert_eq!(users.failures(Counter::Ip(HOME), now).await.unwrap(), 1);
}

#[tokio::test]
async fn counters_are_exact_under_32_parallel_failures() {
    let t = TestApp::with(&[("LOGIN_MAX_FAILURES_PER_IP", "1000")]).await;
    // Through the handler: 32 parallel wrong logins for 32 unknown users.
    let t = &t;
    let guesses = (0..32).map(|i| {
        let name = format!("ghost{i}");
        async move { login(t, login_from(ATTACKER, &name, WRONG, None, &[])).await }
    });
    let answers = futures::future::join_all(guesses).await;
    assert!(answers.iter().all(|r| r.status() == 401));
    let users = &t.fns.login.store.users;
    let now = token::unix_now();
    assert_eq!(
        users.failures(Counter::Ip(ATTACKER), now).await.unwrap(),
        32
    );

    // At the store: 32 parallel reservations against a limit of 10 reserve
    // exactly 10, counted 1 to 10, and refuse the rest.
    let limit = Limit {
        max: 10,
        window_secs: 900,
    };
    let counter = Counter::Ip("192.0.2.99");
    let results =
        futures::future::join_all((0..32).map(|_| users.reserve(counter, limit, now))).await;
    let mut counts: Vec<u64> = results
        .iter()
        .filter_map(|r| match r.as_ref().unwrap() {
            Reservation::Reserved { count, .. } => Some(*count),
            Reservation::Limited { .. } => None,
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<_>>());
    assert_eq!(users.failures(counter, now).await.unwrap(), 10);
}

#[tokio::test]
async fn a_window_that_is_over_starts_again() {
    let t = TestApp::new().await;
    let users = &t.fns.login.store.users;
    let limit = Limit {
        max: 2,
        window_secs: 60,
    };
    let c = Counter::Ip("192.0.2.7");
    let now = 1_800_000_000;
    for _ in 0..2 {
        assert!(matches!(
            users.reserve(c, limit, now).await.unwrap(),
            Reservation::Reserved { .. }
        ));
    }
    assert_eq!(
        users.reserve(c, limit, now + 10).await.unwrap(),
        Reservation::Limited { retry_after: 50 }
    );
    assert_eq!(
        users.reserve(c, limit, now + 60).await.unwrap(),
        Reservation::Reserved {
            count: 1,
            window_ends: now + 120
        }
    );
}

#[tokio::test]
async fn a_session_keeps_the_login_source_ip_and_the_list_shows_it() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "ida").await;
    let spoofed = [("x-forwarded-for", "10.9.8.7")];
    let res = login(&t, login_from(HOME, "ida", PASSWORD, None, &spoofed)).await;
    let access = body(&res)["access_token"].as_str().unwrap().to_owned();
    let req = request_from(
        Front::HttpApi,
        Some(HOME),
        "GET",
        "/auth/sessions",
        &[("authorization", &format!("Bearer {access}"))],
        None,
    );
    let res = handlers::account(&t.fns.account, req).await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    assert_eq!(body(&res)["sessions"][0]["source_ip"], HOME);
}

/// DynamoDB requests per login with the counters, counted by the SDK
/// interceptor: what BENCHMARKS.md lists.
#[tokio::test]
async fn requests_per_login_with_the_counters() {
    let ctx = integration_tests::Ctx::new().await;
    let counter = integration_tests::RequestCounter::default();
    let mut vars = integration_tests::http::vars(&[]);
    vars.extend(ctx.tables.env());
    let client = integration_tests::lenient_client_for(&integration_tests::endpoint(), &counter);
    let fns = integration_tests::http::Functions::from_source(&vars, client);
    let reg = json!({"username": "rita", "password": PASSWORD}).to_string();
    let req = request_from(
        Front::HttpApi,
        Some(HOME),
        "POST",
        "/auth/register",
        &[],
        Some(&reg),
    );
    assert_eq!(handlers::register(&fns.register, req).await.status(), 201);
    let login = |password: &'static str, device: Option<String>| {
        let fns = &fns;
        async move {
            handlers::login(
                &fns.login,
                login_from(HOME, "rita", password, device.as_deref(), &[]),
            )
            .await
        }
    };

    let (res, first) = counter.during(login(PASSWORD, None)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        first, 5,
        "unknown device: claim + address, account count, transaction, refund"
    );
    let device = device_cookie(&res);
    let (res, known) = counter.during(login(PASSWORD, device.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        known, 5,
        "known device: claim, user + device (no address), transaction, refund"
    );
    let (res, failed) = counter.kinds_during(login(WRONG, None)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        failed,
        ["GetItem", "UpdateItem", "UpdateItem", "UpdateItem"],
        "claim + address, account count, the window's start"
    );
    let (res, again) = counter.kinds_during(login(WRONG, None)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(again, failed, "claim + address, account count, the failure");
    let (res, from_device) = counter.during(login(WRONG, device)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(from_device, 3, "claim, user + device");
    let unknown = json!({"username": "nobody", "password": WRONG}).to_string();
    let req = request_from(
        Front::HttpApi,
        Some(HOME),
        "POST",
        "/auth/login",
        &[],
        Some(&unknown),
    );
    let (res, kinds) = counter.kinds_during(handlers::login(&fns.login, req)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        kinds, failed,
        "an unknown user costs what a known one's first failure does, in count and kind"
    );
}
