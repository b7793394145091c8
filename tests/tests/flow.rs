//! One user's whole session through every function, as API Gateway would run
//! it: register, login, the authorizer allows the access token and hands its
//! context to `me`, refresh with the cookie, reuse of the old refresh token
//! revokes the session, logout.

use integration_tests::http::{
    Front, TestApp, body, cookie_header, cookie_post, event_file, login_user, refresh_cookie,
    register_user, request,
};
use serde_json::{Value, json};

fn authorizer() -> authorizer::Authorizer {
    authorizer::Authorizer::from_source(&integration_tests::http::vars(&[]))
        .expect("authorizer config")
}

/// The HTTP API authorizer event for `GET /me` with `access_token`.
fn authorize_event(access_token: &str) -> Value {
    let mut ev = event_file("authorizer-v2.json");
    let header = format!("Bearer {access_token}");
    ev["identitySource"] = json!([header]);
    ev["headers"]["authorization"] = json!(header);
    ev
}

/// The `GET /me` request API Gateway builds once the authorizer allowed it.
fn me_request(context: &Value) -> lambda_http::Request {
    let mut ev = event_file("http-api-v2-me.json");
    ev["requestContext"]["authorizer"] = json!({ "lambda": context });
    lambda_http::request::from_str(&ev.to_string()).expect("me event")
}

#[tokio::test]
async fn a_whole_session_from_register_to_logout() {
    let t = TestApp::with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let authz = authorizer();
    let now = token::unix_now();

    register_user(&t, Front::HttpApi, "Wendy").await;
    let res = login_user(&t, Front::HttpApi, "wendy").await;
    assert_eq!(res.status(), 200);
    let access = body(&res)["access_token"].as_str().unwrap().to_owned();
    let first_refresh = refresh_cookie(&res).unwrap();

    let verdict =
        integration_tests::authorize(&authz, &authorize_event(&access), now).expect("allowed");
    assert_eq!(verdict["isAuthorized"], true);
    let context = &verdict["context"];
    let me = me::me(me_request(context)).await;
    assert_eq!(me.status(), 200);
    assert_eq!(body(&me)["roles"], json!(["user"]));
    let sub = body(&me)["sub"].as_str().unwrap().to_owned();
    assert_eq!(context["sub"], sub);

    let refresh = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    let res = handlers::refresh(&t.fns.refresh, refresh(&first_refresh)).await;
    assert_eq!(res.status(), 200);
    let second_refresh = refresh_cookie(&res).unwrap();
    let new_access = body(&res)["access_token"].as_str().unwrap().to_owned();
    let verdict =
        integration_tests::authorize(&authz, &authorize_event(&new_access), now).expect("allowed");
    assert_eq!(verdict["context"]["sub"], sub);

    // The old refresh token again, after the (zero) reuse interval: reuse.
    let reuse = handlers::refresh(&t.fns.refresh, refresh(&first_refresh)).await;
    assert_eq!(reuse.status(), 401);
    let revoked = handlers::refresh(&t.fns.refresh, refresh(&second_refresh)).await;
    assert_eq!(revoked.status(), 401, "reuse revoked the whole session");

    // A new login, then logout ends it.
    let third = refresh_cookie(&login_user(&t, Front::RestApi, "WENDY").await).unwrap();
    let logout = request(
        Front::RestApi,
        "POST",
        "/auth/logout",
        &[("Cookie", &cookie_header(&third))],
        None,
    );
    assert_eq!(handlers::logout(&t.fns.logout, logout).await.status(), 204);
    assert_eq!(
        handlers::refresh(&t.fns.refresh, refresh(&third))
            .await
            .status(),
        401
    );

    // Access tokens stay valid until they expire: stateless by design.
    assert_eq!(
        integration_tests::authorize(&authz, &authorize_event(&new_access), now).unwrap()["isAuthorized"],
        true
    );
    // ...and not a second past `exp` plus the 5 s leeway.
    let exp = t.tokens.access.verify(&new_access, now).unwrap().exp;
    let last =
        integration_tests::authorize(&authz, &authorize_event(&new_access), exp + 4).unwrap();
    assert_eq!(last["isAuthorized"], true);
    let expired =
        integration_tests::authorize(&authz, &authorize_event(&new_access), exp + 5).unwrap();
    assert_eq!(expired["isAuthorized"], false);
}
