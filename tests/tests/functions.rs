//! The HTTP contract (docs/http-api.md), row by row, through the real handlers,
//! with requests built from real API Gateway events (HTTP API 2.0, REST 1.0
//! and function URLs) against DynamoDB Local.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::http::{
    FRONTS, Front, PASSWORD, TestApp, body, cookie_header, cookie_post, login_user, post,
    refresh_cookie, register_user, request, set_cookie,
};
use lambda_http::http::header;
use serde_json::json;

// ---- register ----

#[tokio::test]
async fn register_answers_201_with_username_and_roles_on_every_front() {
    let t = TestApp::new().await;
    for (i, front) in FRONTS.into_iter().enumerate() {
        let name = format!("Alice{i}");
        let res = handlers::register(
            &t.fns.register,
            post(
                front,
                "/auth/register",
                &json!({"username": name, "password": PASSWORD}),
            ),
        )
        .await;
        assert_eq!(res.status(), 201, "{front:?}");
        assert_eq!(body(&res), json!({"username": name, "roles": ["user"]}));
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn register_of_a_taken_username_in_any_case_is_409() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "bob").await;
    let res = handlers::register(
        &t.fns.register,
        post(
            Front::HttpApi,
            "/auth/register",
            &json!({"username": "BOB", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(body(&res)["error"], "username_taken");
}

#[tokio::test]
async fn register_when_disabled_is_403() {
    let t = TestApp::with(&[("REGISTRATION_ENABLED", "false")]).await;
    let res = handlers::register(
        &t.fns.register,
        post(
            Front::HttpApi,
            "/auth/register",
            &json!({"username": "carol", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(body(&res)["error"], "registration_disabled");
}

#[tokio::test]
async fn register_refuses_bad_input_with_400_invalid_request() {
    let t = TestApp::new().await;
    let cases = [
        json!({"username": "ab", "password": PASSWORD}),
        json!({"username": "has space", "password": PASSWORD}),
        json!({"username": "dave"}),
        json!({"username": 7, "password": PASSWORD}),
        json!(["dave", PASSWORD]),
    ];
    for c in cases {
        let res =
            handlers::register(&t.fns.register, post(Front::HttpApi, "/auth/register", &c)).await;
        assert_eq!(res.status(), 400, "{c}");
        assert_eq!(body(&res)["error"], "invalid_request", "{c}");
        assert!(body(&res)["message"].is_string());
    }
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_400() {
    let t = TestApp::new().await;
    let res = handlers::register(
        &t.fns.register,
        request(
            Front::RestApi,
            "POST",
            "/auth/register",
            &[],
            Some("{\"username\":"),
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    let form = request(
        Front::HttpApi,
        "POST",
        "/auth/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("username=a&password=b"),
    );
    let res = handlers::login(&t.fns.login, form).await;
    assert_eq!(res.status(), 400);
    assert_eq!(body(&res)["error"], "invalid_request");
}

#[tokio::test]
async fn bodies_over_16_kib_are_413() {
    let t = TestApp::new().await;
    let big = json!({"username": "erin", "password": "p".repeat(17 * 1024)});
    for front in FRONTS {
        let res = handlers::login(&t.fns.login, post(front, "/auth/login", &big)).await;
        assert_eq!(res.status(), 413, "{front:?}");
        assert_eq!(body(&res)["error"], "invalid_request");
    }
}

#[tokio::test]
async fn other_methods_are_405() {
    let t = TestApp::new().await;
    let res = handlers::login(
        &t.fns.login,
        request(Front::FunctionUrl, "GET", "/auth/login", &[], None),
    )
    .await;
    assert_eq!(res.status(), 405);
}

// ---- login ----

#[tokio::test]
async fn login_answers_tokens_and_the_refresh_cookie_on_every_front() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "frank").await;
    for front in FRONTS {
        let res = login_user(&t, front, "FRANK").await;
        assert_eq!(res.status(), 200, "{front:?}");
        let b = body(&res);
        assert_eq!(b["token_type"], "Bearer");
        assert_eq!(b["expires_in"], 900);
        assert!(
            b["access_token"]
                .as_str()
                .is_some_and(|s| s.split('.').count() == 3)
        );
        assert!(
            b.get("refresh_token").is_none(),
            "refresh token only in the cookie"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let cookie = set_cookie(&res).unwrap();
        assert!(cookie.starts_with("refresh_token=ey"), "{cookie}");
        assert!(
            cookie.ends_with("; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"),
            "{cookie}"
        );
        let claims = t
            .tokens
            .access
            .verify(b["access_token"].as_str().unwrap(), token::unix_now())
            .unwrap();
        assert_eq!(claims.roles, ["user"]);
    }
}

#[tokio::test]
async fn login_with_refresh_token_in_body_and_insecure_cookie() {
    let t = TestApp::with(&[
        ("REFRESH_TOKEN_IN_BODY", "true"),
        ("COOKIE_SECURE", "false"),
    ])
    .await;
    register_user(&t, Front::HttpApi, "grace").await;
    let res = login_user(&t, Front::HttpApi, "grace").await;
    let b = body(&res);
    assert_eq!(b["refresh_expires_in"], 604800);
    assert_eq!(b["refresh_token"].as_str(), refresh_cookie(&res).as_deref());
    assert!(!set_cookie(&res).unwrap().contains("Secure"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "heidi").await;
    let wrong = handlers::login(
        &t.fns.login,
        post(
            Front::HttpApi,
            "/auth/login",
            &json!({"username": "heidi", "password": "wrong password here"}),
        ),
    )
    .await;
    let unknown = handlers::login(
        &t.fns.login,
        post(
            Front::HttpApi,
            "/auth/login",
            &json!({"username": "nobody", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(body(&wrong), body(&unknown));
    assert_eq!(body(&wrong)["error"], "invalid_credentials");
    assert!(set_cookie(&wrong).is_none());
}

#[tokio::test]
async fn five_failures_lock_with_429_and_retry_after_even_for_the_right_password() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "ivan").await;
    let bad = json!({"username": "ivan", "password": "wrong password here"});
    for i in 1..=4 {
        let res = handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &bad)).await;
        assert_eq!(res.status(), 401, "failure {i}");
    }
    let res = handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &bad)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(body(&res)["error"], "too_many_attempts");
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    let right = login_user(&t, Front::HttpApi, "ivan").await;
    assert_eq!(right.status(), 429);
    assert!(right.headers().contains_key(header::RETRY_AFTER));
}

// ---- refresh ----

#[tokio::test]
async fn refresh_with_the_cookie_rotates_on_every_front() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "judy").await;
    for front in FRONTS {
        let first = refresh_cookie(&login_user(&t, front, "judy").await).unwrap();
        let req = request(
            front,
            "POST",
            "/auth/refresh",
            &[("cookie", &cookie_header(&first))],
            None,
        );
        let res = handlers::refresh(&t.fns.refresh, req).await;
        assert_eq!(res.status(), 200, "{front:?}: {:?}", body(&res));
        assert!(body(&res)["access_token"].is_string());
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let second = refresh_cookie(&res).unwrap();
        assert_ne!(second, first);
    }
}

#[tokio::test]
async fn refresh_with_the_token_in_the_body() {
    let t = TestApp::with(&[("REFRESH_TOKEN_IN_BODY", "true")]).await;
    register_user(&t, Front::HttpApi, "ken").await;
    let rt = body(&login_user(&t, Front::HttpApi, "ken").await)["refresh_token"].clone();
    let res = handlers::refresh(
        &t.fns.refresh,
        post(
            Front::RestApi,
            "/auth/refresh",
            &json!({"refresh_token": rt}),
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(body(&res)["refresh_token"].is_string());
}

#[tokio::test]
async fn refresh_refusals_are_401_invalid_token_and_clear_only_a_presented_cookie() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "leo").await;
    let access = body(&login_user(&t, Front::HttpApi, "leo").await)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(&str, bool, lambda_http::Request)> = vec![
        (
            "missing",
            false,
            request(Front::HttpApi, "POST", "/auth/refresh", &[], None),
        ),
        (
            "garbage cookie",
            true,
            request(
                Front::HttpApi,
                "POST",
                "/auth/refresh",
                &[("cookie", "refresh_token=not.a.jwt")],
                None,
            ),
        ),
        (
            "access token as refresh",
            true,
            request(
                Front::RestApi,
                "POST",
                "/auth/refresh",
                &[("Cookie", &cookie_header(&access))],
                None,
            ),
        ),
        (
            "body garbage",
            false,
            post(
                Front::FunctionUrl,
                "/auth/refresh",
                &json!({"refresh_token": "x"}),
            ),
        ),
    ];
    for (what, with_cookie, req) in cases {
        let res = handlers::refresh(&t.fns.refresh, req).await;
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(body(&res)["error"], "invalid_token", "{what}");
        if with_cookie {
            assert_eq!(
                set_cookie(&res).as_deref(),
                Some("refresh_token=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0"),
                "{what}"
            );
        } else {
            assert_eq!(set_cookie(&res), None, "{what}: nothing to clear");
        }
    }
}

#[tokio::test]
async fn reuse_after_the_interval_revokes_the_session() {
    let t = TestApp::with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    register_user(&t, Front::HttpApi, "mallory").await;
    let first = refresh_cookie(&login_user(&t, Front::HttpApi, "mallory").await).unwrap();
    let with = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    let second = refresh_cookie(&handlers::refresh(&t.fns.refresh, with(&first)).await).unwrap();
    let reuse = handlers::refresh(&t.fns.refresh, with(&first)).await;
    assert_eq!(reuse.status(), 401);
    let successor = handlers::refresh(&t.fns.refresh, with(&second)).await;
    assert_eq!(successor.status(), 401, "the whole session is revoked");
}

#[tokio::test]
async fn a_retry_within_the_interval_gets_the_same_successor() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "nina").await;
    let first = refresh_cookie(&login_user(&t, Front::HttpApi, "nina").await).unwrap();
    let with = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    let a = refresh_cookie(&handlers::refresh(&t.fns.refresh, with(&first)).await).unwrap();
    let b = refresh_cookie(&handlers::refresh(&t.fns.refresh, with(&first)).await).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        handlers::refresh(&t.fns.refresh, with(&a)).await.status(),
        200
    );
}

#[tokio::test]
async fn cookie_refresh_from_a_foreign_origin_is_refused_but_allowed_origins_get_cors() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "oscar").await;
    let rt = refresh_cookie(&login_user(&t, Front::HttpApi, "oscar").await).unwrap();
    let cookie = cookie_header(&rt);
    let evil = request(
        Front::HttpApi,
        "POST",
        "/auth/refresh",
        &[("cookie", &cookie), ("origin", "https://evil.example")],
        None,
    );
    let res = handlers::refresh(&t.fns.refresh, evil).await;
    assert_eq!(res.status(), 403);
    assert_eq!(body(&res)["error"], "forbidden_origin");
    assert_eq!(set_cookie(&res), None, "a foreign page never clears it");

    let good = request(
        Front::HttpApi,
        "POST",
        "/auth/refresh",
        &[("cookie", &cookie), ("origin", "https://app.example.com")],
        None,
    );
    let res = handlers::refresh(&t.fns.refresh, good).await;
    assert_eq!(
        res.status(),
        200,
        "the refused call did not consume the token"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS],
        "Retry-After"
    );
}

#[tokio::test]
async fn a_foreign_page_without_the_cookie_can_neither_clear_it_nor_end_anything() {
    // What a cross-site form POST or fetch brings: the browser withholds the
    // SameSite=Strict cookie, so the request carries none.
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "olga").await;
    let rt = refresh_cookie(&login_user(&t, Front::HttpApi, "olga").await).unwrap();
    for path in ["/auth/refresh", "/auth/logout"] {
        for content_type in ["application/x-www-form-urlencoded", "text/plain"] {
            let req = request(
                Front::HttpApi,
                "POST",
                path,
                &[
                    ("origin", "https://evil.example"),
                    ("content-type", content_type),
                ],
                None,
            );
            let res = if path == "/auth/refresh" {
                handlers::refresh(&t.fns.refresh, req).await
            } else {
                handlers::logout(&t.fns.logout, req).await
            };
            assert!(
                [401, 204].contains(&res.status().as_u16()),
                "{path}: {}",
                res.status()
            );
            assert_eq!(set_cookie(&res), None, "{path} {content_type}");
            assert!(
                res.headers()
                    .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                    .is_none(),
                "{path}: the page cannot read the answer"
            );
        }
    }
    let res = handlers::refresh(
        &t.fns.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", &rt),
    )
    .await;
    assert_eq!(res.status(), 200, "the session is untouched");
}

#[tokio::test]
async fn cookies_follow_cookie_path_under_a_base_path() {
    let t = TestApp::with(&[("COOKIE_PATH", "/prod/auth")]).await;
    register_user(&t, Front::HttpApi, "pablo").await;
    let res = login_user(&t, Front::HttpApi, "pablo").await;
    let cookie = set_cookie(&res).unwrap();
    assert!(cookie.contains("; Path=/prod/auth; Max-Age="), "{cookie}");
    let rt = refresh_cookie(&res).unwrap();
    let res = handlers::logout(
        &t.fns.logout,
        cookie_post(Front::HttpApi, "/prod/auth/logout", &rt),
    )
    .await;
    assert_eq!(
        set_cookie(&res).as_deref(),
        Some("refresh_token=; HttpOnly; Secure; SameSite=Strict; Path=/prod/auth; Max-Age=0")
    );
}

#[tokio::test]
async fn preflight_is_answered_for_allowed_origins_only() {
    let t = TestApp::new().await;
    let ok = request(
        Front::HttpApi,
        "OPTIONS",
        "/auth/refresh",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    let res = handlers::refresh(&t.fns.refresh, ok).await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
        "POST, OPTIONS"
    );
    let bad = request(
        Front::HttpApi,
        "OPTIONS",
        "/auth/refresh",
        &[("origin", "https://evil.example")],
        None,
    );
    assert_eq!(handlers::refresh(&t.fns.refresh, bad).await.status(), 403);
}

// ---- logout ----

#[tokio::test]
async fn logout_ends_the_session_clears_the_cookie_and_is_idempotent() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "peggy").await;
    for front in FRONTS {
        let rt = refresh_cookie(&login_user(&t, front, "peggy").await).unwrap();
        let with = |path: &str| {
            request(
                front,
                "POST",
                path,
                &[("cookie", &cookie_header(&rt))],
                None,
            )
        };
        let res = handlers::logout(&t.fns.logout, with("/auth/logout")).await;
        assert_eq!(res.status(), 204, "{front:?}");
        assert!(set_cookie(&res).unwrap().contains("Max-Age=0"));
        assert_eq!(
            handlers::refresh(&t.fns.refresh, with("/auth/refresh"))
                .await
                .status(),
            401
        );
        assert_eq!(
            handlers::logout(&t.fns.logout, with("/auth/logout"))
                .await
                .status(),
            204
        );
    }
    let nothing = request(Front::HttpApi, "POST", "/auth/logout", &[], None);
    assert_eq!(handlers::logout(&t.fns.logout, nothing).await.status(), 204);
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "quinn").await;
    register_user(&t, Front::HttpApi, "rupert").await;
    let laptop = refresh_cookie(&login_user(&t, Front::HttpApi, "quinn").await).unwrap();
    let phone = refresh_cookie(&login_user(&t, Front::RestApi, "quinn").await).unwrap();
    let other = refresh_cookie(&login_user(&t, Front::HttpApi, "rupert").await).unwrap();
    let all = request(
        Front::HttpApi,
        "POST",
        "/auth/logout",
        &[
            ("cookie", &cookie_header(&laptop)),
            ("content-type", "application/json"),
        ],
        Some(r#"{"all": true}"#),
    );
    assert_eq!(handlers::logout(&t.fns.logout, all).await.status(), 204);
    let refresh = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh(&phone))
            .await
            .status(),
        401
    );
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh(&other))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logout_with_a_malformed_body_is_400() {
    let t = TestApp::new().await;
    let res = handlers::logout(
        &t.fns.logout,
        request(
            Front::HttpApi,
            "POST",
            "/auth/logout",
            &[],
            Some("{all: yes}"),
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    let res = handlers::logout(
        &t.fns.logout,
        post(Front::HttpApi, "/auth/logout", &json!({"all": "yes"})),
    )
    .await;
    assert_eq!(res.status(), 400);
}

// ---- me ----

#[tokio::test]
async fn me_answers_the_authorizer_context_from_either_api_flavour() {
    for file in ["http-api-v2-me.json", "rest-api-v1-me.json"] {
        let ev = integration_tests::http::event_file(file);
        let req = lambda_http::request::from_str(&ev.to_string()).unwrap();
        let res = me::me(req).await;
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(
            body(&res),
            json!({
                "sub": "6f1c2a7e-4d2b-4c8e-9a51-0b7c3d9e8f10",
                "roles": ["user", "admin"],
                "sid": "0b6f7c3e2f4a4d559a0e5c1d2e3f4a5b"
            }),
            "{file}"
        );
    }
}

#[tokio::test]
async fn me_without_an_authorizer_context_is_401() {
    let res = me::me(request(Front::FunctionUrl, "GET", "/me", &[], None)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        body(&res)["error"],
        "invalid_token",
        "answered through the one error mapping"
    );
}

// ---- DynamoDB down ----

#[tokio::test]
async fn dynamodb_down_answers_503_temporarily_unavailable_in_bounded_time() {
    let app = integration_tests::http::unreachable_functions();
    let creds = json!({"username": "trent", "password": PASSWORD});
    let refresh_token = {
        let grant = token::RefreshGrant {
            sub: "u1",
            sid: "s1",
            generation: 0,
            issued_at: token::unix_now(),
            session_ends_at: token::unix_now() + 3600,
        };
        testkit::fixed::Tokens::from_source(&integration_tests::http::vars(&[]))
            .refresh
            .issue(&grant)
            .unwrap()
            .token
    };
    let cookie = cookie_header(&refresh_token);
    let started = std::time::Instant::now();
    let answers = [
        (
            "register",
            handlers::register(
                &app.register,
                post(Front::HttpApi, "/auth/register", &creds),
            )
            .await,
        ),
        (
            "login",
            handlers::login(&app.login, post(Front::RestApi, "/auth/login", &creds)).await,
        ),
        (
            "refresh",
            handlers::refresh(
                &app.refresh,
                request(
                    Front::FunctionUrl,
                    "POST",
                    "/auth/refresh",
                    &[("cookie", &cookie)],
                    None,
                ),
            )
            .await,
        ),
        (
            "logout",
            handlers::logout(
                &app.logout,
                request(
                    Front::HttpApi,
                    "POST",
                    "/auth/logout",
                    &[("cookie", &cookie)],
                    None,
                ),
            )
            .await,
        ),
    ];
    for (what, res) in answers {
        assert_eq!(res.status(), 503, "{what}");
        assert_eq!(body(&res)["error"], "temporarily_unavailable", "{what}");
        assert_eq!(res.headers()[header::RETRY_AFTER], "1", "{what}");
        let text = body(&res).to_string();
        assert!(
            !text.contains("127.0.0.1") && !text.contains("dispatch"),
            "{what} leaks internals: {text}"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_outrun_the_lockout() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "yara").await;
    let guesses = (0..20).map(|i| {
        let body = json!({"username": "yara", "password": format!("wrong guess number {i}")});
        handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &body))
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|r| r.status() == 401).count();
    let refused = answers.iter().filter(|r| r.status() == 429).count();
    assert_eq!(checked + refused, 20);
    assert!(
        checked <= 4,
        "at most 5 passwords checked, the 5th locks: {checked} 401s"
    );
    let right = login_user(&t, Front::HttpApi, "yara").await;
    assert_eq!(right.status(), 429, "locked even for the right password");
}

#[tokio::test]
async fn logout_all_with_the_token_of_an_ended_session_ends_nothing_else() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "zack").await;
    let old = refresh_cookie(&login_user(&t, Front::HttpApi, "zack").await).unwrap();
    let current = refresh_cookie(&login_user(&t, Front::HttpApi, "zack").await).unwrap();
    let logout = |c: &str, body: Option<&str>| {
        request(
            Front::HttpApi,
            "POST",
            "/auth/logout",
            &[
                ("cookie", &cookie_header(c)),
                ("content-type", "application/json"),
            ],
            body,
        )
    };
    assert_eq!(
        handlers::logout(&t.fns.logout, logout(&old, None))
            .await
            .status(),
        204
    );
    // The ended session's token, still correctly signed, asks to end all.
    let replay = handlers::logout(&t.fns.logout, logout(&old, Some(r#"{"all": true}"#))).await;
    assert_eq!(replay.status(), 204);
    let refresh = cookie_post(Front::HttpApi, "/auth/refresh", &current);
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh).await.status(),
        200,
        "the live session survives"
    );
}

#[tokio::test]
async fn logout_all_with_a_rotated_away_token_ends_only_its_own_session() {
    let t = TestApp::with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    register_user(&t, Front::HttpApi, "zelda").await;
    let stale = refresh_cookie(&login_user(&t, Front::HttpApi, "zelda").await).unwrap();
    let other = refresh_cookie(&login_user(&t, Front::HttpApi, "zelda").await).unwrap();
    let rotated = handlers::refresh(
        &t.fns.refresh,
        cookie_post(Front::HttpApi, "/auth/refresh", &stale),
    )
    .await;
    assert_eq!(rotated.status(), 200);
    let successor = refresh_cookie(&rotated).unwrap();

    // An older token of a live session (say, from a stolen backup) asks to
    // end everything: its own session ends, the user's others do not.
    let logout = request(
        Front::HttpApi,
        "POST",
        "/auth/logout",
        &[
            ("cookie", &cookie_header(&stale)),
            ("content-type", "application/json"),
        ],
        Some(r#"{"all": true}"#),
    );
    assert_eq!(handlers::logout(&t.fns.logout, logout).await.status(), 204);
    let refresh = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh(&successor))
            .await
            .status(),
        401,
        "its own session ended"
    );
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh(&other))
            .await
            .status(),
        200,
        "the user's other session survives"
    );
}

#[tokio::test]
async fn two_different_refresh_cookies_are_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "zoe2").await;
    let mine = refresh_cookie(&login_user(&t, Front::HttpApi, "zoe2").await).unwrap();
    let planted = format!("refresh_token=planted.by.sibling; {}", cookie_header(&mine));
    let res = handlers::refresh(
        &t.fns.refresh,
        request(
            Front::HttpApi,
            "POST",
            "/auth/refresh",
            &[("cookie", &planted)],
            None,
        ),
    )
    .await;
    assert_eq!(res.status(), 401);
}

#[test]
fn a_replayed_successors_cookie_lives_only_until_its_token_expires() {
    let app = integration_tests::http::unreachable_functions();
    let now = 1_800_000_000;
    // The successor was issued 8 s ago (a retry within the reuse interval).
    let session = accounts::Session {
        sid: "s1".into(),
        user_id: "u1".into(),
        roles: vec!["user".into()],
        user_version: 0,
        generation: 3,
        rotated_at: now - 8,
        created_at: now - 100,
        expires_at: now + 30 * 86400,
        user_agent: None,
        source_ip: None,
        auth: token::Authentication::password(now - 100),
    };
    let res = app.login.issuing.answer(&session, now).unwrap();
    let cookie = set_cookie(&res).unwrap();
    assert!(cookie.ends_with("Max-Age=604792"), "{cookie}");
}

// ---- refresh attacks ----
//
// Each refused refresh is `401 invalid_token` with the presented cookie
// cleared, and leaves every legitimate session as the rules say it should be.

/// A refused refresh of a token presented in the cookie, as the contract
/// answers it: `401 invalid_token`, the cookie cleared.
fn assert_refused(res: &lambda_http::Response<lambda_http::Body>, what: &str) {
    assert_refused_without_clearing(res, what);
    assert_eq!(
        refresh_cookie(res).as_deref(),
        Some(""),
        "{what}: cookie cleared"
    );
}

/// `401 invalid_token`, whatever happens to the cookie.
fn assert_refused_without_clearing(res: &lambda_http::Response<lambda_http::Body>, what: &str) {
    assert_eq!(res.status(), 401, "{what}: {:?}", body(res));
    assert_eq!(body(res)["error"], "invalid_token", "{what}");
}

/// The claims of a refresh token the app issued.
fn refresh_claims(t: &TestApp, token: &str) -> token::RefreshClaims {
    t.tokens.refresh.verify(token, token::unix_now()).unwrap()
}

/// The stored session `sid` (of whichever user), read consistently; `None`
/// once it is gone.
async fn stored(t: &TestApp, sid: &str) -> Option<accounts::Session> {
    let out = t
        .ctx
        .client
        .scan()
        .table_name(&t.ctx.tables.sessions)
        .filter_expression("sid = :sid")
        .expression_attribute_values(":sid", AttributeValue::S(sid.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items()
        .first()
        .map(|i| accounts::Session::try_from(i).unwrap())
}

fn refresh_with(token: &str) -> lambda_http::Request {
    cookie_post(Front::HttpApi, "/auth/refresh", token)
}

#[tokio::test]
async fn attack_replay_after_rotation_is_refused_and_revokes_the_session() {
    let t = TestApp::with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    register_user(&t, Front::HttpApi, "replay.victim").await;
    let first = refresh_cookie(&login_user(&t, Front::HttpApi, "replay.victim").await).unwrap();
    let sid = refresh_claims(&t, &first).sid;
    let second =
        refresh_cookie(&handlers::refresh(&t.fns.refresh, refresh_with(&first)).await).unwrap();
    assert_eq!(stored(&t, &sid).await.unwrap().generation, 1);

    assert_refused(
        &handlers::refresh(&t.fns.refresh, refresh_with(&first)).await,
        "replay",
    );
    assert_eq!(
        stored(&t, &sid).await,
        None,
        "reuse revokes the whole session"
    );
    assert_refused(
        &handlers::refresh(&t.fns.refresh, refresh_with(&second)).await,
        "the successor of a replayed token",
    );
}

#[tokio::test]
async fn attack_reuse_after_logout_is_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "logout.victim").await;
    let other = refresh_cookie(&login_user(&t, Front::HttpApi, "logout.victim").await).unwrap();
    let first = refresh_cookie(&login_user(&t, Front::HttpApi, "logout.victim").await).unwrap();
    let sid = refresh_claims(&t, &first).sid;
    let second =
        refresh_cookie(&handlers::refresh(&t.fns.refresh, refresh_with(&first)).await).unwrap();
    let out = handlers::logout(
        &t.fns.logout,
        cookie_post(Front::HttpApi, "/auth/logout", &second),
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(stored(&t, &sid).await, None);

    for (what, token) in [
        ("the logged-out token", &second),
        ("its predecessor", &first),
    ] {
        assert_refused(
            &handlers::refresh(&t.fns.refresh, refresh_with(token)).await,
            what,
        );
        assert_eq!(stored(&t, &sid).await, None, "{what}: nothing comes back");
    }
    let res = handlers::refresh(&t.fns.refresh, refresh_with(&other)).await;
    assert_eq!(res.status(), 200, "the user's other session lives on");
}

#[tokio::test]
async fn attack_refresh_token_of_a_revoked_session_is_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "revoked.victim").await;
    let revoked = refresh_cookie(&login_user(&t, Front::HttpApi, "revoked.victim").await).unwrap();
    let kept = refresh_cookie(&login_user(&t, Front::RestApi, "revoked.victim").await).unwrap();
    let c = refresh_claims(&t, &revoked);
    assert!(
        t.ctx
            .store
            .sessions
            .revoke(&c.sub, &c.sid)
            .await
            .unwrap()
            .is_some()
    );

    // Still correctly signed, unexpired and of the current generation.
    assert_refused(
        &handlers::refresh(&t.fns.refresh, refresh_with(&revoked)).await,
        "revoked",
    );
    assert_eq!(
        stored(&t, &c.sid).await,
        None,
        "the refusal writes nothing back"
    );
    let kept_sid = refresh_claims(&t, &kept).sid;
    assert_eq!(stored(&t, &kept_sid).await.unwrap().generation, 0);
    let res = handlers::refresh(&t.fns.refresh, refresh_with(&kept)).await;
    assert_eq!(res.status(), 200, "the other session is untouched");
    assert_eq!(stored(&t, &kept_sid).await.unwrap().generation, 1);
}

#[tokio::test]
async fn attack_access_token_as_the_refresh_token_is_refused_and_harms_nothing() {
    let t = TestApp::with(&[("REFRESH_TOKEN_IN_BODY", "true")]).await;
    register_user(&t, Front::HttpApi, "access.victim").await;
    let login = login_user(&t, Front::HttpApi, "access.victim").await;
    let access = body(&login)["access_token"].as_str().unwrap().to_owned();
    let rt = refresh_cookie(&login).unwrap();
    let sid = refresh_claims(&t, &rt).sid;
    for front in FRONTS {
        let in_cookie = request(
            front,
            "POST",
            "/auth/refresh",
            &[("cookie", &cookie_header(&access))],
            None,
        );
        assert_refused(
            &handlers::refresh(&t.fns.refresh, in_cookie).await,
            "in the cookie",
        );
        let in_body = post(front, "/auth/refresh", &json!({"refresh_token": access}));
        let res = handlers::refresh(&t.fns.refresh, in_body).await;
        assert_refused_without_clearing(&res, "in the body");
        assert_eq!(set_cookie(&res), None, "no cookie came, none is cleared");
    }
    assert_eq!(
        stored(&t, &sid).await.unwrap().generation,
        0,
        "no rotation, no revocation"
    );
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh_with(&rt))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn attack_refresh_token_of_another_users_session_with_a_swapped_sub_is_refused() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "alice.sub").await;
    register_user(&t, Front::HttpApi, "mallory.sub").await;
    let alice0 = refresh_cookie(&login_user(&t, Front::HttpApi, "alice.sub").await).unwrap();
    let alice1 =
        refresh_cookie(&handlers::refresh(&t.fns.refresh, refresh_with(&alice0)).await).unwrap();
    let mallory = refresh_cookie(&login_user(&t, Front::HttpApi, "mallory.sub").await).unwrap();
    let a = refresh_claims(&t, &alice1);
    let m = refresh_claims(&t, &mallory);
    let before = stored(&t, &a.sid).await.unwrap();
    assert_eq!(before.generation, 1);

    // Alice's session under Mallory's `sub`, correctly signed (as if the
    // signing key had leaked): her current generation, and her previous one,
    // which for Alice herself would be reuse and revoke the session.
    let mut forged = Vec::new();
    for generation in [1, 0] {
        let grant = token::RefreshGrant {
            sub: &m.sub,
            sid: &a.sid,
            generation,
            issued_at: a.iat,
            session_ends_at: before.expires_at,
        };
        forged.push(t.tokens.refresh.issue(&grant).unwrap().token);
    }
    // And without the key: Alice's own token with the `sub` of its claims
    // swapped for Mallory's, signature kept.
    let mut parts: Vec<String> = alice1.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&testkit::jwt::b64url_decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!(m.sub);
    parts[1] = testkit::jwt::b64url(claims.to_string().as_bytes());
    forged.push(parts.join("."));

    for (i, token) in forged.iter().enumerate() {
        let what = format!("forged token {i}");
        assert_refused(
            &handlers::refresh(&t.fns.refresh, refresh_with(token)).await,
            &what,
        );
        assert_eq!(
            stored(&t, &a.sid).await.as_ref(),
            Some(&before),
            "{what}: Alice's session is untouched"
        );
    }
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh_with(&alice1))
            .await
            .status(),
        200
    );
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh_with(&mallory))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn attack_session_past_its_absolute_lifetime_is_refused_even_with_an_unexpired_token() {
    let t = TestApp::new().await;
    register_user(&t, Front::HttpApi, "old.session").await;
    let rt = refresh_cookie(&login_user(&t, Front::HttpApi, "old.session").await).unwrap();
    let c = refresh_claims(&t, &rt);
    // The session began SESSION_MAX_LIFETIME (30 days) and a second ago; its
    // item is still stored (TTL deletion is lazy) and the token's own `exp`
    // (7 days from its issue) has not come.
    let now = token::unix_now();
    t.ctx
        .client
        .update_item()
        .table_name(&t.ctx.tables.sessions)
        .key("user_id", AttributeValue::S(c.sub.clone()))
        .key("sid", AttributeValue::S(c.sid.clone()))
        .update_expression("SET created_at = :created, expires_at = :end")
        .expression_attribute_values(
            ":created",
            AttributeValue::N((now - 30 * 86400 - 1).to_string()),
        )
        .expression_attribute_values(":end", AttributeValue::N((now - 1).to_string()))
        .send()
        .await
        .unwrap();
    assert!(
        t.tokens.refresh.verify(&rt, now).is_ok(),
        "the token itself is valid"
    );
    let before = stored(&t, &c.sid).await.unwrap();

    assert_refused(
        &handlers::refresh(&t.fns.refresh, refresh_with(&rt)).await,
        "past the end",
    );
    assert_eq!(
        stored(&t, &c.sid).await,
        Some(before),
        "no rotation past the end"
    );
}
