//! The account routes (docs/http-api.md) through the real handler, with
//! requests built from real API Gateway events against DynamoDB Local: every
//! success and every refusal, and what each leaves in the tables.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::http::{
    FRONTS, Front, PASSWORD, SignedIn, TestApp, body, cookie_header, cookie_post, post,
    register_user, request, set_cookie, sign_in,
};
use lambda_http::http::header;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a different phrase, long enough";

async fn call(
    t: &TestApp,
    front: Front,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Response<Body> {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(b) = bearer {
        headers.push(("authorization", b));
    }
    let text = body.map(Value::to_string);
    handlers::account(
        &t.fns.account,
        request(front, method, path, &headers, text.as_deref()),
    )
    .await
}

async fn sessions(t: &TestApp, who: &SignedIn) -> Vec<Value> {
    let res = call(
        t,
        Front::HttpApi,
        "GET",
        "/auth/sessions",
        Some(&who.bearer()),
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    body(&res)["sessions"].as_array().unwrap().clone()
}

async fn refresh_status(t: &TestApp, who: &SignedIn) -> u16 {
    handlers::refresh(
        &t.fns.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", &who.refresh),
    )
    .await
    .status()
    .as_u16()
}

async fn login_status(t: &TestApp, username: &str, password: &str) -> (u16, Value) {
    let res = handlers::login(
        &t.fns.login,
        post(
            Front::HttpApi,
            "/auth/login",
            &json!({"username": username, "password": password}),
        ),
    )
    .await;
    (res.status().as_u16(), body(&res))
}

fn change(current: &str, new: &str) -> Value {
    json!({"current_password": current, "new_password": new})
}

fn assert_error(res: &Response<Body>, status: u16, code: &str) {
    assert_eq!(res.status(), status, "{:?}", body(res));
    assert_eq!(body(res)["error"], code);
    assert!(body(res)["message"].is_string());
}

// ---- GET /auth/sessions ----

#[tokio::test]
async fn sessions_are_listed_newest_first_with_the_callers_marked_on_every_front() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "alice").await;
    register_user(&t, Front::HttpApi, "bob").await;
    let first = sign_in(&t, Front::HttpApi, "alice").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = sign_in(&t, Front::HttpApi, "alice").await;
    sign_in(&t, Front::HttpApi, "bob").await;
    for front in FRONTS {
        let res = call(
            &t,
            front,
            "GET",
            "/auth/sessions",
            Some(&first.bearer()),
            None,
        )
        .await;
        assert_eq!(res.status(), 200, "{front:?}");
        let listed = body(&res)["sessions"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 2, "{front:?}: only alice's");
        let second_sid = t
            .tokens
            .access
            .verify(&second.access, token::unix_now())
            .unwrap()
            .sid;
        assert_eq!(listed[0]["sid"], second_sid.as_str(), "newest first");
        assert_eq!(
            listed
                .iter()
                .map(|s| s["current"].clone())
                .collect::<Vec<_>>(),
            [json!(false), json!(true)]
        );
        for s in &listed {
            assert!(
                s["created_at"].is_u64() && s["last_used_at"].is_u64(),
                "{s}"
            );
            assert!(s.get("user_agent").is_some(), "{s}");
            let keys = s.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(
                keys,
                [
                    "created_at",
                    "current",
                    "last_used_at",
                    "sid",
                    "source_ip",
                    "user_agent"
                ],
                "nothing more (no token, no generation)"
            );
        }
    }
}

// ---- the bearer token ----

#[tokio::test]
async fn every_route_refuses_a_missing_or_invalid_bearer_with_401() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "carol").await;
    let carol = sign_in(&t, Front::HttpApi, "carol").await;
    let other_key = testkit::fixed::Tokens::from_source(&integration_tests::http::vars(&[
        (
            "JWT_ACCESS_SECRET",
            "another-access-secret-0123456789abcdefgh",
        ),
        (
            "JWT_REFRESH_SECRET",
            "another-refresh-secret-0123456789abcdefg",
        ),
    ]));
    let (sub, sid) = {
        let c = t
            .tokens
            .access
            .verify(&carol.access, token::unix_now())
            .unwrap();
        (c.sub, c.sid)
    };
    let forged = other_key
        .access
        .issue(&sub, &sid, &["admin".into()], token::unix_now())
        .unwrap()
        .token;
    let expired = t
        .tokens
        .access
        .issue(&sub, &sid, &["user".into()], token::unix_now() - 3600)
        .unwrap()
        .token;
    let bad: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some(format!("Basic {}", carol.access)),
        Some(format!("Bearer {}", carol.refresh)),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {}x", carol.access)),
        Some("Bearer not.a.jwt".into()),
    ];
    let sid_path = format!("/auth/sessions/{sid}");
    let routes = [
        ("GET", "/auth/sessions", None),
        ("DELETE", sid_path.as_str(), None),
        (
            "POST",
            "/auth/password",
            Some(change(PASSWORD, NEW_PASSWORD)),
        ),
        (
            "DELETE",
            "/auth/account",
            Some(json!({"password": PASSWORD})),
        ),
    ];
    for (method, path, payload) in &routes {
        for b in &bad {
            let res = call(
                &t,
                Front::HttpApi,
                method,
                path,
                b.as_deref(),
                payload.as_ref(),
            )
            .await;
            assert_error(&res, 401, "invalid_token");
            assert!(
                !body(&res).to_string().contains(&carol.access[..20]),
                "no token echoed"
            );
        }
    }
    // Nothing changed: carol's session and password are as they were.
    assert_eq!(refresh_status(&t, &carol).await, 200);
    assert_eq!(login_status(&t, "carol", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "cleo").await;
    let cleo = sign_in(&t, Front::HttpApi, "cleo").await;
    // A REST event's multiValueHeaders carry both values to the handler.
    let mut ev = testkit::events::event_file("rest-api-v1.json");
    ev["path"] = json!("/auth/sessions");
    ev["httpMethod"] = json!("GET");
    ev["multiValueHeaders"]["authorization"] = json!([cleo.bearer(), cleo.bearer()]);
    let req = lambda_http::request::from_str(&ev.to_string()).unwrap();
    let res = handlers::account(&t.fns.account, req).await;
    assert_error(&res, 401, "invalid_token");
}

// ---- DELETE /auth/sessions/{sid} ----

#[tokio::test]
async fn ending_a_session_ends_it_and_is_idempotent() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "dave").await;
    let here = sign_in(&t, Front::HttpApi, "dave").await;
    let there = sign_in(&t, Front::HttpApi, "dave").await;
    let there_sid = t
        .tokens
        .access
        .verify(&there.access, token::unix_now())
        .unwrap()
        .sid;
    let path = format!("/auth/sessions/{there_sid}");
    for front in FRONTS {
        let res = call(&t, front, "DELETE", &path, Some(&here.bearer()), None).await;
        assert_eq!(res.status(), 204, "{front:?}: also when already ended");
    }
    assert_eq!(refresh_status(&t, &there).await, 401);
    assert_eq!(refresh_status(&t, &here).await, 200);
    assert_eq!(sessions(&t, &here).await.len(), 1);
}

#[tokio::test]
async fn another_users_session_counts_as_absent() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "erin").await;
    register_user(&t, Front::HttpApi, "eve").await;
    let erin = sign_in(&t, Front::HttpApi, "erin").await;
    let eve = sign_in(&t, Front::HttpApi, "eve").await;
    let erin_sid = t
        .tokens
        .access
        .verify(&erin.access, token::unix_now())
        .unwrap()
        .sid;
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        &format!("/auth/sessions/{erin_sid}"),
        Some(&eve.bearer()),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(refresh_status(&t, &erin).await, 200, "erin's session lives");
}

#[tokio::test]
async fn a_sid_that_is_not_a_session_id_is_400() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "fay").await;
    let fay = sign_in(&t, Front::HttpApi, "fay").await;
    for sid in [
        "x",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0",
        "-0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdeg",
    ] {
        let res = call(
            &t,
            Front::HttpApi,
            "DELETE",
            &format!("/auth/sessions/{sid}"),
            Some(&fay.bearer()),
            None,
        )
        .await;
        assert_eq!(res.status(), 400, "{sid}");
        assert_error(&res, 400, "invalid_request");
    }
    assert_eq!(sessions(&t, &fay).await.len(), 1);
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_are_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "gil").await;
    let gil = sign_in(&t, Front::HttpApi, "gil").await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/sessions",
        Some(&gil.bearer()),
        None,
    )
    .await;
    assert_error(&res, 405, "method_not_allowed");
    assert_eq!(res.headers()[header::ALLOW], "GET, OPTIONS");
    let res = call(
        &t,
        Front::HttpApi,
        "GET",
        "/auth/account",
        Some(&gil.bearer()),
        None,
    )
    .await;
    assert_error(&res, 405, "method_not_allowed");
    let res = call(
        &t,
        Front::HttpApi,
        "GET",
        "/auth/elsewhere",
        Some(&gil.bearer()),
        None,
    )
    .await;
    assert_error(&res, 404, "not_found");
}

// ---- POST /auth/password ----

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_keeps_the_callers() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "hana").await;
    let here = sign_in(&t, Front::HttpApi, "hana").await;
    let there = sign_in(&t, Front::HttpApi, "hana").await;
    let res = call(
        &t,
        Front::RestApi,
        "POST",
        "/auth/password",
        Some(&here.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    assert_eq!(refresh_status(&t, &there).await, 401);
    assert_eq!(refresh_status(&t, &here).await, 200);
    assert_eq!(login_status(&t, "hana", PASSWORD).await.0, 401);
    assert_eq!(login_status(&t, "hana", NEW_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_password_change_with_the_wrong_current_password_is_401_and_changes_nothing() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "ivy").await;
    let here = sign_in(&t, Front::HttpApi, "ivy").await;
    let there = sign_in(&t, Front::HttpApi, "ivy").await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&here.bearer()),
        Some(&change("not the password at all", NEW_PASSWORD)),
    )
    .await;
    assert_error(&res, 401, "invalid_credentials");
    assert_eq!(refresh_status(&t, &there).await, 200);
    assert_eq!(login_status(&t, "ivy", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_weak_new_password_is_400_with_a_reason_and_changes_nothing() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "jack").await;
    let jack = sign_in(&t, Front::HttpApi, "jack").await;
    let other = sign_in(&t, Front::HttpApi, "jack").await;
    for (weak, reason) in [
        ("short one", "at least 15"),
        ("密码密码密码密码", "at least 15"),
        ("1qaz2wsx3edc4rfv", "common"),
        ("my name is JACK, remember it", "username"),
        (&*"x".repeat(257), "at most 256"),
    ] {
        let res = call(
            &t,
            Front::HttpApi,
            "POST",
            "/auth/password",
            Some(&jack.bearer()),
            Some(&change(PASSWORD, weak)),
        )
        .await;
        assert_error(&res, 400, "weak_password");
        let message = body(&res)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(reason), "{weak:?}: {message}");
        assert!(!message.contains(weak), "never the password: {message}");
    }
    assert_eq!(refresh_status(&t, &other).await, 200);
    assert_eq!(login_status(&t, "jack", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn malformed_password_bodies_are_400_and_oversized_ones_413() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "kai").await;
    let kai = sign_in(&t, Front::HttpApi, "kai").await;
    for bad in [
        json!({}),
        json!({"current_password": PASSWORD}),
        json!({"new_password": NEW_PASSWORD}),
        json!({"current_password": 1, "new_password": NEW_PASSWORD}),
        json!({"current_password": PASSWORD, "new_password": null}),
        json!([PASSWORD, NEW_PASSWORD]),
        json!("text"),
    ] {
        let res = call(
            &t,
            Front::HttpApi,
            "POST",
            "/auth/password",
            Some(&kai.bearer()),
            Some(&bad),
        )
        .await;
        assert_error(&res, 400, "invalid_request");
    }
    let res = handlers::account(
        &t.fns.account,
        request(
            Front::HttpApi,
            "POST",
            "/auth/password",
            &[("authorization", &kai.bearer())],
            Some("{\"current_password\":"),
        ),
    )
    .await;
    assert_error(&res, 400, "invalid_request");
    let big = change(PASSWORD, &"p".repeat(17 * 1024));
    for front in FRONTS {
        let res = call(
            &t,
            front,
            "POST",
            "/auth/password",
            Some(&kai.bearer()),
            Some(&big),
        )
        .await;
        assert_error(&res, 413, "invalid_request");
    }
    assert_eq!(login_status(&t, "kai", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn wrong_current_passwords_are_counted_per_session_with_429() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "lena").await;
    let lena = sign_in(&t, Front::HttpApi, "lena").await;
    let wrong = change("not the password at all", NEW_PASSWORD);
    for _ in 0..4 {
        let res = call(
            &t,
            Front::HttpApi,
            "POST",
            "/auth/password",
            Some(&lena.bearer()),
            Some(&wrong),
        )
        .await;
        assert_error(&res, 401, "invalid_credentials");
    }
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&lena.bearer()),
        Some(&wrong),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    // The right password is refused too on this session, before it is
    // checked; the account is not locked (logins go on), and another
    // session has its own count.
    let right = change(PASSWORD, NEW_PASSWORD);
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&lena.bearer()),
        Some(&right),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    let other = sign_in(&t, Front::HttpApi, "lena").await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&other.bearer()),
        Some(&right),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
}

#[tokio::test]
async fn a_retried_password_change_finishes_ending_sessions() {
    // The first try stored the new password, then DynamoDB failed before
    // every session ended (as the fault tests provoke): the same request
    // again finishes the job instead of answering 401.
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "mona").await;
    let here = sign_in(&t, Front::HttpApi, "mona").await;
    let there = sign_in(&t, Front::HttpApi, "mona").await;
    let user = t
        .ctx
        .store
        .users
        .find(&accounts::Username::parse("mona").unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = password::hash(NEW_PASSWORD).unwrap();
    let here_sid = t
        .tokens
        .access
        .verify(&here.access, token::unix_now())
        .unwrap()
        .sid;
    t.ctx
        .client
        .update_item()
        .table_name(&t.ctx.tables.users)
        .key("pk", AttributeValue::S(format!("user#{}", user.user_id)))
        .update_expression("SET password_hash = :h, password_set_by = :sid")
        .expression_attribute_values(":h", AttributeValue::S(hash))
        .expression_attribute_values(":sid", AttributeValue::S(here_sid))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refresh_status(&t, &there).await,
        200,
        "still alive: half-done"
    );
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&here.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    assert_eq!(refresh_status(&t, &there).await, 401);
    assert_eq!(refresh_status(&t, &here).await, 200);
}

// ---- DELETE /auth/account ----

#[tokio::test]
async fn deleting_the_account_removes_everything_clears_the_cookie_and_frees_the_name() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "nina").await;
    let here = sign_in(&t, Front::HttpApi, "nina").await;
    let there = sign_in(&t, Front::HttpApi, "nina").await;
    let res = handlers::account(
        &t.fns.account,
        request(
            Front::HttpApi,
            "DELETE",
            "/auth/account",
            &[
                ("authorization", &here.bearer()),
                ("cookie", &cookie_header(&here.refresh)),
            ],
            Some(&json!({"password": PASSWORD}).to_string()),
        ),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    let cleared = set_cookie(&res).expect("the presented cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for who in [&here, &there] {
        assert_eq!(refresh_status(&t, who).await, 401);
    }
    assert_eq!(login_status(&t, "nina", PASSWORD).await.0, 401);
    // The still-valid access token no longer manages anything.
    let res = call(
        &t,
        Front::HttpApi,
        "GET",
        "/auth/sessions",
        Some(&here.bearer()),
        None,
    )
    .await;
    assert_error(&res, 401, "invalid_token");
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&here.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_error(&res, 401, "invalid_token");
    register_user(&t, Front::HttpApi, "NINA").await;
}

#[tokio::test]
async fn deleting_without_a_cookie_clears_only_the_device_cookie() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "omar").await;
    let omar = sign_in(&t, Front::HttpApi, "omar").await;
    let res = call(
        &t,
        Front::FunctionUrl,
        "DELETE",
        "/auth/account",
        Some(&omar.bearer()),
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let cookies: Vec<_> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        cookies,
        ["device=; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age=0"],
        "the device cookie always, at its own path; no refresh cookie to clear"
    );
}

#[tokio::test]
async fn deleting_with_the_wrong_password_is_401_and_deletes_nothing() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "pia").await;
    let pia = sign_in(&t, Front::HttpApi, "pia").await;
    for bad in [json!({}), json!({"password": 5}), json!({"pass": PASSWORD})] {
        let res = call(
            &t,
            Front::HttpApi,
            "DELETE",
            "/auth/account",
            Some(&pia.bearer()),
            Some(&bad),
        )
        .await;
        assert_error(&res, 400, "invalid_request");
    }
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        "/auth/account",
        Some(&pia.bearer()),
        Some(&json!({"password": "not the password at all"})),
    )
    .await;
    assert_error(&res, 401, "invalid_credentials");
    assert_eq!(refresh_status(&t, &pia).await, 200);
    assert_eq!(login_status(&t, "pia", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn wrong_passwords_on_deletion_are_counted_per_session_with_429() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "yuri").await;
    let yuri = sign_in(&t, Front::HttpApi, "yuri").await;
    let wrong = json!({"password": "not the password at all"});
    for _ in 0..4 {
        let res = call(
            &t,
            Front::HttpApi,
            "DELETE",
            "/auth/account",
            Some(&yuri.bearer()),
            Some(&wrong),
        )
        .await;
        assert_error(&res, 401, "invalid_credentials");
    }
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        "/auth/account",
        Some(&yuri.bearer()),
        Some(&wrong),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    // The right password is refused too on this session, and nothing is
    // deleted; the account itself is not locked.
    let right = json!({"password": PASSWORD});
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        "/auth/account",
        Some(&yuri.bearer()),
        Some(&right),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    assert_eq!(refresh_status(&t, &yuri).await, 200);
    assert_eq!(login_status(&t, "yuri", PASSWORD).await.0, 200);
}

// ---- disabled users ----

#[tokio::test]
async fn a_disabled_user_is_told_so_only_after_the_right_password() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "quinn").await;
    let quinn = sign_in(&t, Front::HttpApi, "quinn").await;
    let user_id = t
        .tokens
        .access
        .verify(&quinn.access, token::unix_now())
        .unwrap()
        .sub;
    t.ctx.store.disable(&user_id).await.unwrap();

    assert_eq!(refresh_status(&t, &quinn).await, 401, "its sessions ended");
    let (status, answer) = login_status(&t, "quinn", PASSWORD).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("account_disabled"))
    );
    let (status, answer) = login_status(&t, "quinn", "not the password at all").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
    // Its access token, valid for minutes more, manages nothing: its
    // session ended with the disable.
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&quinn.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_error(&res, 401, "invalid_token");
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        "/auth/account",
        Some(&quinn.bearer()),
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_error(&res, 401, "invalid_token");

    t.ctx.store.enable(&user_id).await.unwrap();
    assert_eq!(login_status(&t, "quinn", PASSWORD).await.0, 200);
}

// ---- passwords at register and login ----

#[tokio::test]
async fn register_refuses_weak_passwords_with_a_reason() {
    let t = TestApp::new().await;
    for (weak, reason) in [
        ("fourteen chars", "at least 15"),
        ("密码密码密码密码", "at least 15"),
        ("1qaz2wsx3edc4rfv", "common"),
        ("1QAZ2WSX3EDC4RFV", "common"),
        ("ｒｏｓａ-likes-long-passwords", "username"),
    ] {
        let res = handlers::register(
            &t.fns.register,
            post(
                Front::HttpApi,
                "/auth/register",
                &json!({"username": "rosa", "password": weak}),
            ),
        )
        .await;
        assert_error(&res, 400, "weak_password");
        let message = body(&res)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(reason), "{weak:?}: {message}");
    }
    let (status, _) = login_status(&t, "rosa", PASSWORD).await;
    assert_eq!(status, 401, "nothing was registered");
}

#[tokio::test]
async fn register_honours_password_min_length() {
    let t = TestApp::with(&[("PASSWORD_MIN_LENGTH", "20")]).await;
    let res = handlers::register(
        &t.fns.register,
        post(
            Front::HttpApi,
            "/auth/register",
            &json!({"username": "sam", "password": "nineteen characters"}),
        ),
    )
    .await;
    assert_error(&res, 400, "weak_password");
    assert!(
        body(&res)["message"]
            .as_str()
            .unwrap()
            .contains("at least 20")
    );
}

#[tokio::test]
async fn a_password_typed_in_nfd_logs_in_to_one_set_in_nfc() {
    let t = TestApp::new().await;
    let nfc = "Ångström über café naïve";
    let nfd = "A\u{30a}ngstro\u{308}m u\u{308}ber cafe\u{301} nai\u{308}ve";
    assert_ne!(nfc.as_bytes(), nfd.as_bytes());
    let res = handlers::register(
        &t.fns.register,
        post(
            Front::HttpApi,
            "/auth/register",
            &json!({"username": "tove", "password": nfc}),
        ),
    )
    .await;
    assert_eq!(res.status(), 201, "{:?}", body(&res));
    assert_eq!(login_status(&t, "tove", nfd).await.0, 200);
    assert_eq!(login_status(&t, "tove", nfc).await.0, 200);
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_upgraded_at_the_next_login() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let t = TestApp::new().await;
    let old = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 3, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    let username = accounts::Username::parse("uma").unwrap();
    t.ctx
        .store
        .users
        .create_user(&username, old.clone(), token::unix_now())
        .await
        .unwrap();
    // A wrong password upgrades nothing.
    assert_eq!(
        login_status(&t, "uma", "not the password at all").await.0,
        401
    );
    let stored = t.ctx.store.users.find(&username).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, old);

    assert_eq!(login_status(&t, "uma", PASSWORD).await.0, 200);
    let stored = t.ctx.store.users.find(&username).await.unwrap().unwrap();
    assert!(
        stored
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.password_hash
    );
    assert!(!password::needs_rehash(&stored.password_hash));
    assert_eq!(login_status(&t, "uma", PASSWORD).await.0, 200);
}

// ---- review findings ----

#[tokio::test]
async fn an_ended_sessions_access_token_no_longer_manages_the_account() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "vera").await;
    let stolen = sign_in(&t, Front::HttpApi, "vera").await;
    let owner = sign_in(&t, Front::HttpApi, "vera").await;
    let stolen_sid = t
        .tokens
        .access
        .verify(&stolen.access, token::unix_now())
        .unwrap()
        .sid;
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        &format!("/auth/sessions/{stolen_sid}"),
        Some(&owner.bearer()),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    // The ended session's access token is still signed and unexpired.
    let owner_sid = t
        .tokens
        .access
        .verify(&owner.access, token::unix_now())
        .unwrap()
        .sid;
    for (method, path, payload) in [
        ("GET", "/auth/sessions".to_owned(), None),
        ("DELETE", format!("/auth/sessions/{owner_sid}"), None),
        (
            "POST",
            "/auth/password".to_owned(),
            Some(change(PASSWORD, NEW_PASSWORD)),
        ),
        (
            "DELETE",
            "/auth/account".to_owned(),
            Some(json!({"password": PASSWORD})),
        ),
    ] {
        let res = call(
            &t,
            Front::HttpApi,
            method,
            &path,
            Some(&stolen.bearer()),
            payload.as_ref(),
        )
        .await;
        assert_error(&res, 401, "invalid_token");
    }
    assert_eq!(
        refresh_status(&t, &owner).await,
        200,
        "the owner's session lives"
    );
    assert_eq!(login_status(&t, "vera", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_wrong_current_password_tries_no_second_guess() {
    // The retry path checks the new password only for the session that set
    // the current one: otherwise every request would be two guesses.
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "walt").await;
    let walt = sign_in(&t, Front::HttpApi, "walt").await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&walt.bearer()),
        Some(&change("not the password at all", PASSWORD)),
    )
    .await;
    assert_error(&res, 401, "invalid_credentials");
    let claims = t
        .tokens
        .access
        .verifier
        .verify(&walt.access, token::unix_now())
        .unwrap();
    let item = t
        .ctx
        .client
        .get_item()
        .table_name(&t.ctx.tables.sessions)
        .key("user_id", AttributeValue::S(claims.sub))
        .key("sid", AttributeValue::S(claims.sid))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["proof_failures"],
        AttributeValue::N("1".into()),
        "one guess, one count, on the caller's session"
    );
}

#[tokio::test]
async fn a_password_change_after_the_account_was_deleted_is_401() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "xavi").await;
    let a = sign_in(&t, Front::HttpApi, "xavi").await;
    let user_id = t
        .tokens
        .access
        .verify(&a.access, token::unix_now())
        .unwrap()
        .sub;
    let user = t.ctx.store.users.get(&user_id).await.unwrap().unwrap();
    // Deleted by an operator while a's session is still stored.
    t.ctx
        .store
        .delete_user(&user, Some("0".repeat(32).as_str()))
        .await
        .unwrap();
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&a.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_error(&res, 401, "invalid_token");
}

// ---- step-up: auth_time, amr, reauthentication ----

/// An access token of `who`'s session whose user last proved a factor
/// `age` seconds ago (`None`: a token from before step-up, without
/// `auth_time` or `amr`).
fn token_aged(t: &TestApp, who: &SignedIn, age: Option<u64>) -> String {
    let now = token::unix_now();
    let claims = t.tokens.access.verifier.verify(&who.access, now).unwrap();
    let issuer = &t.tokens.access.issuer;
    let issued = match age {
        Some(age) => issuer.issue_authenticated(
            &claims.sub,
            &claims.sid,
            &claims.roles,
            &token::Authentication::password(now - age),
            now,
        ),
        None => issuer.issue(&claims.sub, &claims.sid, &claims.roles, now),
    };
    format!("Bearer {}", issued.unwrap().token)
}

fn sid_of(t: &TestApp, who: &SignedIn) -> String {
    t.tokens
        .access
        .verifier
        .verify(&who.access, token::unix_now())
        .unwrap()
        .sid
}

#[tokio::test]
async fn access_tokens_carry_auth_time_and_amr_and_a_refresh_keeps_them() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "ada").await;
    let before = token::unix_now();
    let ada = sign_in(&t, Front::HttpApi, "ada").await;
    let claims = t
        .tokens
        .access
        .verifier
        .verify(&ada.access, token::unix_now())
        .unwrap();
    let auth_time = claims.auth_time.expect("auth_time");
    assert!(auth_time >= before && auth_time <= token::unix_now());
    assert_eq!(claims.amr, ["pwd"]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = handlers::refresh(
        &t.fns.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", &ada.refresh),
    )
    .await;
    assert_eq!(res.status(), 200);
    let refreshed = t
        .tokens
        .access
        .verifier
        .verify(
            body(&res)["access_token"].as_str().unwrap(),
            token::unix_now(),
        )
        .unwrap();
    assert!(refreshed.iat > claims.iat, "a new token");
    assert_eq!(
        (refreshed.auth_time, refreshed.amr),
        (Some(auth_time), claims.amr),
        "the login's, not the refresh's"
    );
}

#[tokio::test]
async fn ending_another_session_needs_a_recent_sign_in_or_the_password() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "bea").await;
    let thief = sign_in(&t, Front::HttpApi, "bea").await;
    let owner = sign_in(&t, Front::HttpApi, "bea").await;
    let path = format!("/auth/sessions/{}", sid_of(&t, &owner));
    // A stolen session's token is old (or from before step-up): it cannot
    // evict the owner without the password.
    for stale in [
        token_aged(&t, &thief, Some(601)),
        token_aged(&t, &thief, None),
    ] {
        let res = call(&t, Front::HttpApi, "DELETE", &path, Some(&stale), None).await;
        assert_error(&res, 401, "reauthentication_required");
        let wrong = json!({"password": "not the password at all"});
        let res = call(
            &t,
            Front::HttpApi,
            "DELETE",
            &path,
            Some(&stale),
            Some(&wrong),
        )
        .await;
        assert_error(&res, 401, "invalid_credentials");
        assert_eq!(
            refresh_status(&t, &owner).await,
            200,
            "the owner's session lives"
        );
    }
    // Its own session it may always end; with the password, any.
    let fresh = token_aged(&t, &thief, Some(599));
    let own = format!("/auth/sessions/{}", sid_of(&t, &thief));
    let stale = token_aged(&t, &thief, Some(3600));
    let right = json!({"password": PASSWORD});
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        &path,
        Some(&stale),
        Some(&right),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    let other = sign_in(&t, Front::HttpApi, "bea").await;
    let path = format!("/auth/sessions/{}", sid_of(&t, &other));
    let res = call(&t, Front::HttpApi, "DELETE", &path, Some(&fresh), None).await;
    assert_eq!(res.status(), 204, "a recent sign-in needs no proof");
    let res = call(&t, Front::HttpApi, "DELETE", &own, Some(&stale), None).await;
    assert_eq!(res.status(), 204, "its own session needs no step-up");
}

#[tokio::test]
async fn reauthenticating_gives_a_fresh_token_of_the_same_session_that_refreshes_keep() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "cleo").await;
    let cleo = sign_in(&t, Front::HttpApi, "cleo").await;
    let old = token_aged(&t, &cleo, None);
    let path = "/auth/reauthenticate";
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&old),
        Some(&json!({"password": "not the password at all"})),
    )
    .await;
    assert_error(&res, 401, "invalid_credentials");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = token::unix_now();
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&old),
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    assert!(
        !res.headers().contains_key(header::SET_COOKIE),
        "no new cookie"
    );
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    let answer = body(&res);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 900);
    assert!(answer.get("refresh_token").is_none());
    let fresh = t
        .tokens
        .access
        .verifier
        .verify(answer["access_token"].as_str().unwrap(), token::unix_now())
        .unwrap();
    assert_eq!(fresh.sid, sid_of(&t, &cleo), "the same session");
    assert!(fresh.auth_time.unwrap() >= before);
    assert_eq!(fresh.amr, ["pwd"]);
    // Stored with the session: the next refresh carries it.
    let res = handlers::refresh(
        &t.fns.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", &cleo.refresh),
    )
    .await;
    let refreshed = t
        .tokens
        .access
        .verifier
        .verify(
            body(&res)["access_token"].as_str().unwrap(),
            token::unix_now(),
        )
        .unwrap();
    assert_eq!(refreshed.auth_time, fresh.auth_time);
    // Bad bodies, and an ended session.
    for bad in [json!({}), json!({"password": 1})] {
        let res = call(&t, Front::HttpApi, "POST", path, Some(&old), Some(&bad)).await;
        assert_error(&res, 400, "invalid_request");
    }
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        None,
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_error(&res, 401, "invalid_token");
    let own = format!("/auth/sessions/{}", sid_of(&t, &cleo));
    call(&t, Front::HttpApi, "DELETE", &own, Some(&old), None).await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&old),
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_error(&res, 401, "invalid_token");
}

#[tokio::test]
async fn proofs_on_account_routes_are_counted_per_session_not_on_the_account() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "dina").await;
    let dina = sign_in(&t, Front::HttpApi, "dina").await;
    let wrong = json!({"password": "not the password at all"});
    let path = "/auth/reauthenticate";
    for _ in 0..4 {
        let res = call(
            &t,
            Front::HttpApi,
            "POST",
            path,
            Some(&dina.bearer()),
            Some(&wrong),
        )
        .await;
        assert_error(&res, 401, "invalid_credentials");
    }
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&dina.bearer()),
        Some(&wrong),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    let right = json!({"password": PASSWORD});
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&dina.bearer()),
        Some(&right),
    )
    .await;
    assert_error(&res, 429, "too_many_attempts");
    // Neither the account nor the user's other sessions are held by it.
    assert_eq!(login_status(&t, "dina", PASSWORD).await.0, 200);
    let other = sign_in(&t, Front::HttpApi, "dina").await;
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        path,
        Some(&other.bearer()),
        Some(&right),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn strangers_locking_the_account_do_not_block_the_owners_account_routes() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "erik").await;
    let erik = sign_in(&t, Front::HttpApi, "erik").await;
    for _ in 0..5 {
        login_status(&t, "erik", "not the password at all").await;
    }
    assert_eq!(
        login_status(&t, "erik", PASSWORD).await.0,
        429,
        "locked for unknown devices"
    );
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/reauthenticate",
        Some(&erik.bearer()),
        Some(&json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    let res = call(
        &t,
        Front::HttpApi,
        "POST",
        "/auth/password",
        Some(&erik.bearer()),
        Some(&change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
    let res = call(
        &t,
        Front::HttpApi,
        "DELETE",
        "/auth/account",
        Some(&erik.bearer()),
        Some(&json!({"password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));
}

#[tokio::test]
async fn a_password_change_hands_the_caller_a_fresh_device_token() {
    for in_body in [false, true] {
        let t = TestApp::with(&[(
            "REFRESH_TOKEN_IN_BODY",
            if in_body { "true" } else { "false" },
        )])
        .await;
        register_user(&t, Front::HttpApi, "fred").await;
        let fred = sign_in(&t, Front::HttpApi, "fred").await;
        let res = call(
            &t,
            Front::HttpApi,
            "POST",
            "/auth/password",
            Some(&fred.bearer()),
            Some(&change(PASSWORD, NEW_PASSWORD)),
        )
        .await;
        let device = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("device="))
            .expect("a device cookie");
        assert!(
            device.ends_with(
                "; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age=31536000"
            ),
            "{device}"
        );
        let token = device["device=".len()..device.find(';').unwrap()].to_owned();
        if in_body {
            assert_eq!(res.status(), 200);
            assert_eq!(body(&res), json!({"device_token": token}));
        } else {
            assert_eq!(res.status(), 204);
        }
        // It is the user's current device: the account lockout does not
        // apply to a login presenting it.
        for _ in 0..5 {
            login_status(&t, "fred", "not the password at all").await;
        }
        let res = handlers::login(
            &t.fns.login,
            request(
                Front::HttpApi,
                "POST",
                "/auth/login",
                &[
                    ("content-type", "application/json"),
                    ("cookie", &format!("device={token}")),
                ],
                Some(&json!({"username": "fred", "password": NEW_PASSWORD}).to_string()),
            ),
        )
        .await;
        assert_eq!(res.status(), 200, "{:?}", body(&res));
    }
}
