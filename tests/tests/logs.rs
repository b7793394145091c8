//! What the functions log over a whole flow: the audit events, and never a
//! token, a password or a secret. Its own test binary, so that the capturing
//! subscriber is the process-wide one and sees every thread.

use integration_tests::http::{
    Front, PASSWORD, TestApp, body, cookie_post, login_user, post, refresh_cookie, register_user,
    request,
};
use serde_json::{Value, json};

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

/// The units the EMF specification lists (CloudWatch's `StandardUnit`).
const EMF_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// What `line` (the raw text) breaks of the CloudWatch Embedded Metric
/// Format specification and its JSON schema: the root a JSON object with no
/// data around it (≤ 256 KB); `_aws` an object of exactly `Timestamp` (an
/// integer, epoch milliseconds) and `CloudWatchMetrics` (an array of
/// MetricDirectives); each directive exactly `Namespace` (1–255 chars),
/// `Dimensions` (≥ 1 DimensionSet, each ≤ 30 keys of 1–255 chars, each key
/// a top-level member with a string value) and `Metrics` (≤ 100
/// MetricDefinitions: `Name` 1–255 chars, optional `Unit` among
/// [`EMF_UNITS`], optional `StorageResolution` 1 or 60, nothing else), each
/// metric name a top-level member that is a number or an array of at most
/// 100 numbers.
fn emf_violations(line: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut fail = |why: String| bad.push(why);
    if line.len() > 256 * 1024 {
        fail(format!("{} bytes: over the 256 KB event limit", line.len()));
    }
    let root: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return vec![format!("not one JSON value: {e}")],
    };
    let Some(root) = root.as_object() else {
        return vec!["the root is not an object".into()];
    };
    let Some(aws) = root.get("_aws").and_then(Value::as_object) else {
        return vec!["no _aws object".into()];
    };
    let len_ok = |s: &str| (1..=255).contains(&s.chars().count());
    for k in aws.keys() {
        if k != "Timestamp" && k != "CloudWatchMetrics" {
            fail(format!("_aws has an extra member {k}"));
        }
    }
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.is_u64() => {
            let ms = n.as_u64().unwrap_or_default();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default();
            if ms.abs_diff(now) > 3_600_000 {
                fail(format!("Timestamp {ms} is not epoch milliseconds of now"));
            }
        }
        other => fail(format!("Timestamp must be an integer: {other:?}")),
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        fail("CloudWatchMetrics must be an array".into());
        return bad;
    };
    for d in directives {
        let Some(d) = d.as_object() else {
            fail(format!("a MetricDirective is not an object: {d}"));
            continue;
        };
        for k in d.keys() {
            if !matches!(k.as_str(), "Namespace" | "Dimensions" | "Metrics") {
                fail(format!("a MetricDirective has an extra member {k}"));
            }
        }
        match d.get("Namespace").and_then(Value::as_str) {
            Some(ns) if len_ok(ns) => {}
            other => fail(format!("Namespace must be 1-255 chars: {other:?}")),
        }
        match d.get("Dimensions").and_then(Value::as_array) {
            Some(sets) if !sets.is_empty() => {
                for set in sets {
                    let Some(keys) = set.as_array() else {
                        fail(format!("a DimensionSet is not an array: {set}"));
                        continue;
                    };
                    if keys.len() > 30 {
                        fail(format!("a DimensionSet has {} keys (max 30)", keys.len()));
                    }
                    for key in keys {
                        match key.as_str() {
                            Some(k) if len_ok(k) => {
                                if !root.get(k).is_some_and(Value::is_string) {
                                    fail(format!("dimension {k} is not a top-level string"));
                                }
                            }
                            _ => fail(format!("a dimension key must be 1-255 chars: {key}")),
                        }
                    }
                }
            }
            other => fail(format!("Dimensions must be a non-empty array: {other:?}")),
        }
        let Some(metrics) = d.get("Metrics").and_then(Value::as_array) else {
            fail("Metrics must be an array".into());
            continue;
        };
        if metrics.len() > 100 {
            fail(format!("{} MetricDefinitions (max 100)", metrics.len()));
        }
        for m in metrics {
            let Some(m) = m.as_object() else {
                fail(format!("a MetricDefinition is not an object: {m}"));
                continue;
            };
            for k in m.keys() {
                if !matches!(k.as_str(), "Name" | "Unit" | "StorageResolution") {
                    fail(format!("a MetricDefinition has an extra member {k}"));
                }
            }
            if let Some(unit) = m.get("Unit")
                && !unit.as_str().is_some_and(|u| EMF_UNITS.contains(&u))
            {
                fail(format!("Unit {unit} is not a CloudWatch unit"));
            }
            if let Some(r) = m.get("StorageResolution")
                && !(r == 1 || r == 60)
            {
                fail(format!("StorageResolution {r} is not 1 or 60"));
            }
            let Some(name) = m.get("Name").and_then(Value::as_str).filter(|n| len_ok(n)) else {
                fail(format!("Name must be 1-255 chars: {:?}", m.get("Name")));
                continue;
            };
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                other => fail(format!(
                    "metric {name} is not a top-level number: {other:?}"
                )),
            }
        }
    }
    bad
}

/// The metric a line counts by the contract: its `event`, else its
/// `decision`.
fn expected_metric(line: &Value) -> Option<&'static str> {
    ["event", "decision"].iter().find_map(|field| {
        line[*field]
            .as_str()
            .and_then(|v| logging::metrics::metric_for(field, v))
    })
}

#[test]
fn the_validator_accepts_the_specification_example_and_catches_breaks() {
    let ok = r#"{"_aws":{"Timestamp":TS,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds"}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let ok = ok.replace("TS", &now);
    assert_eq!(emf_violations(&ok), Vec::<String>::new());
    let no_dims = ok.replace(r#"[["functionVersion"]]"#, "[[]]");
    assert_eq!(emf_violations(&no_dims), Vec::<String>::new());
    for broken in [
        ok.replace(&now, "\"soon\""),
        ok.replace(&now, &format!("{now}.5")),
        ok.replace(&now, "1574109732"),
        ok.replace("\"time\":100", "\"time\":\"100\""),
        ok.replace("\"time\":100,", ""),
        ok.replace("Milliseconds", "Millis"),
        ok.replace("lambda-function-metrics", ""),
        ok.replace("lambda-function-metrics", &"n".repeat(256)),
        ok.replace(r#"[["functionVersion"]]"#, "[]"),
        ok.replace(r#""functionVersion":"$LATEST""#, r#""functionVersion":1"#),
        ok.replace(r#""Namespace""#, r#""Extra":1,"Namespace""#),
        ok.replace("CloudWatchMetrics", "CloudwatchMetrics"),
        format!("START {ok}"),
    ] {
        assert!(!emf_violations(&broken).is_empty(), "accepted: {broken}");
    }
}

#[tokio::test]
async fn every_audit_metric_line_follows_the_emf_specification_and_carries_no_secret() {
    let logs = integration_tests::http::CapturedLogs::default();
    logs.install_global();
    let t = TestApp::with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        "wrong password here".into(),
        "a different phrase, long enough".into(),
    ];

    register_user(&t, Front::HttpApi, "wendy").await;
    let bad = json!({"username": "wendy", "password": "wrong password here"});
    handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &bad)).await;
    let res = login_user(&t, Front::HttpApi, "wendy").await;
    let first = refresh_cookie(&res).unwrap();
    let access = body(&res)["access_token"].as_str().unwrap().to_owned();
    secrets.extend([first.clone(), access.clone()]);
    let with = |c: &str| cookie_post(Front::HttpApi, "/auth/refresh", c);
    let res = handlers::refresh(&t.fns.refresh, with(&first)).await;
    secrets.push(refresh_cookie(&res).unwrap());
    handlers::refresh(&t.fns.refresh, with(&first)).await; // reuse: revokes

    // The authorizer: one allow (no metric) and one deny (AuthorizerDeny).
    let authorizer =
        authorizer::Authorizer::from_source(&integration_tests::http::vars(&[])).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let v2 = include_str!("../events/authorizer-v2.json");
    let answer = authorizer
        .invoke(v2.replace("REPLACE_ME", &access).as_bytes(), now)
        .unwrap();
    assert!(answer.get().contains(r#""isAuthorized":true"#));
    let answer = authorizer
        .invoke(v2.replace("REPLACE_ME", "not-a-token").as_bytes(), now)
        .unwrap();
    assert!(answer.get().contains(r#""isAuthorized":false"#));

    // A password change, then the account's deletion, with a new session.
    let res = login_user(&t, Front::HttpApi, "wendy").await;
    let bearer = format!("Bearer {}", body(&res)["access_token"].as_str().unwrap());
    secrets.push(bearer[7..].to_owned());
    let change =
        json!({"current_password": PASSWORD, "new_password": "a different phrase, long enough"});
    let res = handlers::account(
        &t.fns.account,
        request(
            Front::HttpApi,
            "POST",
            "/auth/password",
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            Some(&change.to_string()),
        ),
    )
    .await;
    assert!(res.status().is_success(), "{:?}", body(&res));
    let login = json!({"username": "wendy", "password": "a different phrase, long enough"});
    let res = handlers::login(&t.fns.login, post(Front::HttpApi, "/auth/login", &login)).await;
    let bearer = format!("Bearer {}", body(&res)["access_token"].as_str().unwrap());
    secrets.push(bearer[7..].to_owned());
    let res = handlers::account(
        &t.fns.account,
        request(
            Front::HttpApi,
            "DELETE",
            "/auth/account",
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            Some(&json!({"password": "a different phrase, long enough"}).to_string()),
        ),
    )
    .await;
    assert_eq!(res.status(), 204, "{:?}", body(&res));

    let needles = integration_tests::leaks::needles(&integration_tests::workspace_root());
    let mut counted = std::collections::BTreeSet::new();
    for raw in logs.text().lines() {
        let line: Value = serde_json::from_str(raw).expect("every line is one JSON object");
        let expected = expected_metric(&line);
        let Some(metric) = expected else {
            assert!(
                line.get("_aws").is_none(),
                "a metric on an unmapped line: {raw}"
            );
            continue;
        };
        assert_eq!(emf_violations(raw), Vec::<String>::new(), "{raw}");
        let directive = &line["_aws"]["CloudWatchMetrics"];
        assert_eq!(
            *directive,
            json!([{
                "Namespace": integration_tests::capture::METRICS_NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }]),
            "{raw}"
        );
        assert_eq!(line[metric], 1, "{raw}");
        assert!(logging::Audit::metrics().any(|m| m == metric));
        assert_eq!(
            integration_tests::leaks::find_leak(raw, &needles),
            None,
            "{raw}"
        );
        for s in &secrets {
            assert!(!raw.contains(s.as_str()), "a secret value in an EMF line");
        }
        counted.insert(metric);
    }
    for metric in [
        "Register",
        "LoginFailure",
        "LoginSuccess",
        "Refresh",
        "RefreshReuseDetected",
        "AuthorizerDeny",
        "PasswordChanged",
        "AccountDeleted",
    ] {
        assert!(counted.contains(metric), "no {metric} line in {counted:?}");
    }
}
