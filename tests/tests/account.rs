//! The account routes (README.md, "HTTP API") through the real handler, with
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
async fn wrong_current_passwords_lock_like_logins_with_429() {
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
    // The right password is refused too, before it is checked; and logins.
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
    assert_eq!(login_status(&t, "lena", PASSWORD).await.0, 429);
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
async fn deleting_without_a_cookie_sets_none() {
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
    assert_eq!(set_cookie(&res), None);
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
async fn wrong_passwords_on_deletion_lock_like_logins_with_429() {
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
    // The right password is refused too while locked, and nothing is deleted.
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
    let user = t
        .ctx
        .store
        .users
        .find(&accounts::Username::parse("walt").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.failed_logins, 1, "one guess, one count");
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
