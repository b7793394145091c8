//! What the functions log over a whole flow: the audit events, and never a
//! token, a password or a secret. Its own test binary, so that the capturing
//! subscriber is the process-wide one and sees every thread.

use integration_tests::http::{
    Front, PASSWORD, TestApp, body, cookie_post, login_user, post, refresh_cookie, register_user,
};
use serde_json::json;

#[tokio::test]
async fn a_whole_flow_logs_audit_events_and_never_a_token_password_or_secret() {
    let logs = integration_tests::http::CapturedLogs::default();
    logs.install_global();
    let t = TestApp::with(&[
        ("REFRESH_REUSE_INTERVAL", "0"),
        ("REFRESH_TOKEN_IN_BODY", "true"),
    ])
    .await;
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        "wrong password here".into(),
        integration_tests::http::ACCESS_SECRET.into(),
        integration_tests::http::REFRESH_SECRET.into(),
    ];

    register_user(&t, Front::HttpApi, "victor").await;
    let bad = json!({"username": "victor", "password": "wrong password here"});
    handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &bad)).await;
    let res = login_user(&t, Front::RestApi, "victor").await;
    let first = refresh_cookie(&res).unwrap();
    secrets.push(body(&res)["access_token"].as_str().unwrap().to_owned());
    secrets.push(first.clone());
    let with = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    let res = handlers::refresh(&t.fns.refresh, with(&first)).await;
    let second = refresh_cookie(&res).unwrap();
    secrets.push(body(&res)["access_token"].as_str().unwrap().to_owned());
    secrets.push(second.clone());
    handlers::refresh(&t.fns.refresh, with(&first)).await; // reuse: revokes
    let res = login_user(&t, Front::HttpApi, "victor").await;
    let third = refresh_cookie(&res).unwrap();
    secrets.push(third.clone());
    handlers::logout(
        &t.fns.logout,
        cookie_post(Front::HttpApi, "/auth/logout", &third),
    )
    .await;

    let text = logs.text();
    for s in &secrets {
        for piece in std::iter::once(s.as_str()).chain(s.split('.').filter(|p| p.len() > 20)) {
            assert!(!text.contains(piece), "a secret value appears in the logs");
        }
    }
    let events: Vec<String> = logs
        .lines()
        .iter()
        .filter_map(|l| l["event"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "register",
        "login_failure",
        "login_success",
        "refresh",
        "refresh_reuse_detected",
        "logout",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "no {expected} event in {events:?}"
        );
    }
    let reuse = logs
        .lines()
        .into_iter()
        .find(|l| l["event"] == "refresh_reuse_detected")
        .unwrap();
    assert!(
        reuse["sub"].is_string() && reuse["sid"].is_string(),
        "{reuse}"
    );
}
