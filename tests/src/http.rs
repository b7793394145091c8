//! Driving the handlers as API Gateway would: requests built from the real
//! event files in `tests/events/` for each front, and an [`App`] wired to a
//! test's own tables.

use std::collections::HashMap;

use accounts::{SessionPolicy, Store, StoreConfig};
use handlers::App;
use lambda_http::http::header;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use token::{TokenConfig, Tokens};
use web::HttpConfig;

use crate::{Ctx, workspace_root};

/// The fronts an HTTP function can sit behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    HttpApi,
    RestApi,
    FunctionUrl,
}

pub const FRONTS: [Front; 3] = [Front::HttpApi, Front::RestApi, Front::FunctionUrl];

/// Secrets and settings every test app starts from.
pub const ACCESS_SECRET: &str = "fn-test-access-secret-0123456789abcdefgh";
pub const REFRESH_SECRET: &str = "fn-test-refresh-secret-0123456789abcdefg";
pub const BASE_ENV: &[(&str, &str)] = &[
    ("JWT_ACCESS_SECRET", ACCESS_SECRET),
    ("JWT_REFRESH_SECRET", REFRESH_SECRET),
    ("JWT_ISSUER", "https://auth.test"),
    ("JWT_AUDIENCE", "https://api.test"),
    ("ALLOWED_ORIGINS", "https://app.example.com"),
];

/// An event file from `tests/events/`.
pub fn event_file(name: &str) -> Value {
    let path = workspace_root().join("tests/events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A request as `front` delivers it: method, path, headers (name, value;
/// `cookie` goes where that front puts cookies) and an optional body.
pub fn request(
    front: Front,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let mut ev = match front {
        Front::HttpApi => event_file("http-api-v2.json"),
        Front::RestApi => event_file("rest-api-v1.json"),
        Front::FunctionUrl => event_file("function-url.json"),
    };
    match front {
        Front::HttpApi | Front::FunctionUrl => {
            ev["rawPath"] = json!(path);
            ev["requestContext"]["http"]["method"] = json!(method);
            ev["requestContext"]["http"]["path"] = json!(path);
            if front == Front::HttpApi {
                ev["routeKey"] = json!(format!("{method} {path}"));
                ev["requestContext"]["routeKey"] = ev["routeKey"].clone();
            }
            let h = ev["headers"].as_object_mut().expect("headers");
            h.remove("content-length");
            let mut cookies = Vec::new();
            for (k, v) in headers {
                if k.eq_ignore_ascii_case("cookie") {
                    cookies.extend(v.split("; ").map(|c| json!(c)));
                } else {
                    h.insert(k.to_ascii_lowercase(), json!(v));
                }
            }
            if !cookies.is_empty() {
                ev["cookies"] = Value::Array(cookies);
            }
        }
        Front::RestApi => {
            ev["path"] = json!(path);
            ev["resource"] = json!(path);
            ev["httpMethod"] = json!(method);
            ev["requestContext"]["httpMethod"] = json!(method);
            ev["requestContext"]["resourcePath"] = json!(path);
            for (k, v) in headers {
                ev["headers"][*k] = json!(v);
                ev["multiValueHeaders"][*k] = json!([v]);
            }
        }
    }
    ev["body"] = body.map_or(Value::Null, |b| json!(b));
    if body.is_none() && front != Front::RestApi {
        ev.as_object_mut().map(|o| o.remove("body"));
    }
    lambda_http::request::from_str(&ev.to_string()).expect("event parses as a request")
}

/// A JSON POST to `path` with `body`.
pub fn post(front: Front, path: &str, body: &Value) -> Request {
    request(front, "POST", path, &[], Some(&body.to_string()))
}

/// An app over a test's own tables, with `BASE_ENV` plus `env` overrides.
pub struct TestApp {
    pub ctx: Ctx,
    pub app: App,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(env: &[(&str, &str)]) -> Self {
        let mut vars: HashMap<&str, &str> = BASE_ENV.iter().copied().collect();
        vars.extend(env.iter().copied());
        let tokens = Tokens::new(&TokenConfig::from_source(&vars).expect("token config"));
        let http = HttpConfig::from_source(&vars).expect("http config");
        let policy = SessionPolicy::from(&tokens);
        let probe = StoreConfig::from_source(
            &vars
                .iter()
                .map(|(k, v)| (*k, *v))
                .chain([("USERS_TABLE", "x"), ("SESSIONS_TABLE", "x")])
                .collect::<HashMap<_, _>>(),
        )
        .expect("store config");
        let ctx = Ctx::with(probe.lockout, policy).await;
        let store: Store = ctx.store.clone();
        Self {
            ctx,
            app: App {
                tokens,
                store,
                http,
            },
        }
    }
}

/// An app whose DynamoDB endpoint is a closed port: DynamoDB is down.
pub fn unreachable_app() -> App {
    crate::capture::capture_logs();
    let vars: HashMap<&str, &str> = BASE_ENV.iter().copied().collect();
    let tokens = Tokens::new(&TokenConfig::from_source(&vars).expect("token config"));
    let client = crate::client_for(
        &format!("http://127.0.0.1:{}", crate::free_port()),
        &crate::RequestCounter::default(),
    );
    let store = Store::new(
        client,
        StoreConfig {
            tables: accounts::Tables {
                users: "users".into(),
                sessions: "sessions".into(),
            },
            lockout: crate::LOCKOUT,
        },
        SessionPolicy::from(&tokens),
    );
    App {
        tokens,
        store,
        http: HttpConfig::from_source(&vars).expect("http config"),
    }
}

/// Everything logged through the production JSON subscriber, from the
/// moment [`CapturedLogs::install_global`] is called.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Reads along with the process-wide capturing subscriber
    /// ([`crate::capture`]; installed now if no test did yet), which also
    /// keeps every line for the suite's leak scan. Process-wide, not
    /// thread-local: tracing caches callsite interest globally, so a
    /// thread-local subscriber beside other tests can miss events.
    pub fn install_global(&self) {
        assert!(
            crate::capture::read_along(self.0.clone()),
            "another subscriber was installed first"
        );
    }

    /// The captured lines, each a JSON object.
    pub fn lines(&self) -> Vec<Value> {
        let text = self
            .0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({"unparsed": l})))
            .collect()
    }

    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

/// The JSON body of an answer.
pub fn body(res: &Response<Body>) -> Value {
    match res.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The `Set-Cookie` header of an answer.
pub fn set_cookie(res: &Response<Body>) -> Option<String> {
    res.headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The value of the refresh cookie an answer sets (empty when it clears it).
pub fn refresh_cookie(res: &Response<Body>) -> Option<String> {
    let c = set_cookie(res)?;
    let first = c.split(';').next()?;
    first.strip_prefix("refresh_token=").map(str::to_owned)
}

/// The password every test user registers with.
pub const PASSWORD: &str = "correct horse battery staple";

/// Registers `username` with [`PASSWORD`] through `front`; must succeed.
pub async fn register_user(t: &TestApp, front: Front, username: &str) {
    let res = handlers::register(
        &t.app,
        post(
            front,
            "/auth/register",
            &json!({"username": username, "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(res.status(), 201, "{:?}", body(&res));
}

/// Logs `username` in with [`PASSWORD`] through `front`.
pub async fn login_user(t: &TestApp, front: Front, username: &str) -> Response<Body> {
    handlers::login(
        &t.app,
        post(
            front,
            "/auth/login",
            &json!({"username": username, "password": PASSWORD}),
        ),
    )
    .await
}

/// A `Cookie` header value carrying a refresh token.
pub fn cookie_header(token: &str) -> String {
    format!("refresh_token={token}")
}

/// A body-less POST to `path` carrying `token` in the refresh cookie.
pub fn cookie_post(front: Front, path: &str, token: &str) -> Request {
    request(
        front,
        "POST",
        path,
        &[("cookie", &cookie_header(token))],
        None,
    )
}
