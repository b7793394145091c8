//! Driving the handlers as API Gateway would: each function's dependencies
//! built from a test environment over a test's own tables (the very
//! `from_source` its `main.rs` runs), and requests built from the real event
//! files (`testkit::events`).

use std::collections::HashMap;

use accounts::client::LazyClient;
use handlers::{Account, FromEnv, Login, Logout, Refresh, Register};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
pub use testkit::events::{
    FRONTS, Front, body, cookie_header, cookie_post, event_file, post, refresh_cookie, request,
    request_from, set_cookie,
};
pub use testkit::fixed::PASSWORD;
use testkit::fixed::Tokens;

use crate::{Ctx, Policies};

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

/// The auth functions, each built from exactly what its `main.rs` builds
/// it from.
pub struct Functions {
    pub register: Register,
    pub login: Login,
    pub refresh: Refresh,
    pub logout: Logout,
    pub account: Account,
}

impl Functions {
    /// From `vars` (which must name the tables) over `client`.
    ///
    /// # Panics
    /// When `vars` is not a valid configuration (a test bug).
    pub fn from_source(vars: &HashMap<&str, &str>, client: impl Into<LazyClient>) -> Self {
        let client = client.into();
        Self {
            register: Register::from_source(vars, client.clone()).expect("register config"),
            login: Login::from_source(vars, client.clone()).expect("login config"),
            refresh: Refresh::from_source(vars, client.clone()).expect("refresh config"),
            logout: Logout::from_source(vars, client.clone()).expect("logout config"),
            account: Account::from_source(vars, client).expect("account config"),
        }
    }
}

/// [`BASE_ENV`] with `env` on top.
pub fn vars<'a>(env: &[(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
    let mut vars: HashMap<&str, &str> = BASE_ENV.iter().copied().collect();
    vars.extend(env.iter().copied());
    vars
}

/// The functions over a test's own tables, with [`BASE_ENV`] plus `env`
/// overrides, and the tokens of the same configuration (to mint and check).
pub struct TestApp {
    pub ctx: Ctx,
    pub fns: Functions,
    pub tokens: Tokens,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(env: &[(&str, &str)]) -> Self {
        let mut vars = vars(env);
        let lockout = accounts::LockoutPolicy::from_source(&vars).expect("lockout");
        let policies = Policies {
            lockout,
            reuse_interval_secs: accounts::reuse_interval_secs(&vars).expect("reuse interval"),
            max_lifetime_secs: accounts::session_max_lifetime_secs(&vars).expect("lifetime"),
        };
        let ctx = Ctx::with(policies).await;
        let tables = ctx.tables.clone();
        vars.extend(tables.env());
        Self {
            fns: Functions::from_source(&vars, ctx.client.clone()),
            tokens: Tokens::from_source(&vars),
            ctx,
        }
    }
}

/// The functions over a DynamoDB whose endpoint is a closed port: DynamoDB
/// is down.
pub fn unreachable_functions() -> Functions {
    crate::capture::capture_logs();
    let mut vars = vars(&[]);
    vars.extend([("USERS_TABLE", "users"), ("SESSIONS_TABLE", "sessions")]);
    let client = crate::client_for(
        &format!("http://127.0.0.1:{}", crate::free_port()),
        &crate::RequestCounter::default(),
    );
    Functions::from_source(&vars, client)
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

/// Registers `username` with [`PASSWORD`] through `front`; must succeed.
pub async fn register_user(t: &TestApp, front: Front, username: &str) {
    let res = handlers::register(
        &t.fns.register,
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
        &t.fns.login,
        post(
            front,
            "/auth/login",
            &json!({"username": username, "password": PASSWORD}),
        ),
    )
    .await
}

/// A user's signed-in session: its access token and refresh token.
pub struct SignedIn {
    pub access: String,
    pub refresh: String,
}

impl SignedIn {
    /// `Authorization: Bearer <access>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }
}

/// Logs `username` in with [`PASSWORD`] through `front`; must succeed.
pub async fn sign_in(t: &TestApp, front: Front, username: &str) -> SignedIn {
    let res = login_user(t, front, username).await;
    assert_eq!(res.status(), 200, "{:?}", body(&res));
    SignedIn {
        access: body(&res)["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
        refresh: refresh_cookie(&res).expect("refresh cookie"),
    }
}
