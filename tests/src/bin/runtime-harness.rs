//! Cold start, first response and memory of the release binaries, measured
//! the way Lambda runs them: this program plays the Lambda Runtime API on
//! 127.0.0.1 (`GET /2018-06-01/runtime/invocation/next`, the `response` and
//! `error` posts, `init/error`) and spawns each function with a Lambda-like
//! environment pointed at DynamoDB Local.
//!
//! * **ready**: from just before `exec` to the function's first
//!   `GET .../invocation/next`, i.e. the whole init phase;
//! * **first response**: from handing out the first event to its response;
//! * **memory**: one process serves `--invocations` events in a row;
//!   `VmHWM` (peak RSS) at the end and `VmRSS` after invocation 100 and the
//!   last one, from `/proc/<pid>/status`.
//!
//! Every answer is checked (status codes, tokens, `isAuthorized`), so a
//! broken function cannot look fast. Writes a table to stdout and JSON to
//! `--out` (default `target/bench/runtime.json`); the functions' own logs go
//! to `target/bench/logs/`. `scripts/runtime-bench` builds the binaries and
//! runs this.
//!
//! `authorizer_es256` is the authorizer's binary with ES256 access tokens
//! (`JWT_ACCESS_ALGORITHM=ES256` and testkit's public key, no access
//! secret), given ES256 tokens carrying a login's claims, and measured as the
//! authorizer is, right after it; `jwks` serves the JWKS of the same ES256
//! configuration.
//!
//! `runtime-harness [--bin-dir DIR] [--runs N] [--invocations N] [--out FILE]
//! [--only f1,f2] [--env NAME=VALUE]...` (`--env` adds to every function's
//! environment, for experiments).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::http::{ACCESS_SECRET, REFRESH_SECRET, event_file};
use integration_tests::{Ctx, endpoint};
use serde_json::{Value, json};
use testkit::fixed::{ES_PRIVATE_KEY, ES_PUBLIC_KEY};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long one step (start, one invocation) may take before the run fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery staple";
const ISSUER: &str = "https://auth.bench";
const AUDIENCE: &str = "https://api.bench";

/// One measured function: the name it is reported and logged under, the
/// binary it runs, and what changes in its environment (`None` removes).
struct Function {
    name: &'static str,
    bin: &'static str,
    env: Vec<(&'static str, Option<&'static str>)>,
}

impl Function {
    fn plain(name: &'static str) -> Self {
        Self {
            name,
            bin: name,
            env: Vec::new(),
        }
    }

    /// `bin` with ES256 access tokens, as template.yaml configures a
    /// verifier with ES256: the public key, no access secret.
    fn es256(name: &'static str, bin: &'static str) -> Self {
        Self {
            name,
            bin,
            env: vec![
                ("JWT_ACCESS_ALGORITHM", Some("ES256")),
                ("JWT_ACCESS_PUBLIC_KEY", Some(ES_PUBLIC_KEY.as_str())),
                ("JWT_ACCESS_SECRET", None),
            ],
        }
    }
}

/// What the function told the Runtime API, with when it arrived.
enum Report {
    Next(Instant),
    Response(String, String, Instant),
    Error(String, String),
    InitError(String),
}

/// One event to hand out at the next `GET next`.
struct Invocation {
    id: String,
    payload: String,
    sent: Sender<Instant>,
}

/// A Runtime API for one process: its own port and queues, so nothing a
/// killed process left behind can take the next process's events.
struct RuntimeApi {
    addr: String,
    reports: Receiver<Report>,
    invocations: Sender<Invocation>,
}

impl RuntimeApi {
    fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let (report_tx, reports) = channel();
        let (invocations, inv_rx) = channel::<Invocation>();
        let inv_rx = Arc::new(Mutex::new(inv_rx));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let report_tx = report_tx.clone();
                let inv_rx = inv_rx.clone();
                std::thread::spawn(move || serve(stream, report_tx, inv_rx));
            }
        });
        Ok(Self {
            addr,
            reports,
            invocations,
        })
    }

    fn wait(&self, child: &mut Child) -> Result<Report, String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match self.reports.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => return Ok(r),
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!("the function exited: {status}"));
                    }
                    if Instant::now() > deadline {
                        return Err("no answer within 30 s".into());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err("runtime API stopped".into()),
            }
        }
    }

    /// Waits for the function's `GET next`; returns when it came.
    fn next(&self, child: &mut Child) -> Result<Instant, String> {
        match self.wait(child)? {
            Report::Next(at) => Ok(at),
            Report::InitError(body) => Err(format!("init error: {body}")),
            Report::Error(rid, body) => Err(format!("error for {rid} before any event: {body}")),
            Report::Response(..) => Err("response before any event".into()),
        }
    }

    /// Hands out one event (the function is already waiting for it) and
    /// returns its response body, the time it took and the time it was sent.
    fn invoke(
        &self,
        child: &mut Child,
        id: &str,
        payload: &Value,
    ) -> Result<(Value, Duration), String> {
        let (sent_tx, sent_rx) = channel();
        self.invocations
            .send(Invocation {
                id: id.into(),
                payload: payload.to_string(),
                sent: sent_tx,
            })
            .map_err(|_| "runtime API stopped")?;
        let report = self.wait(child)?;
        let sent = sent_rx.recv().map_err(|_| "event not sent")?;
        match report {
            Report::Response(rid, body, at) if rid == id => {
                let value =
                    serde_json::from_str(&body).map_err(|e| format!("response {e}: {body}"))?;
                Ok((value, at - sent))
            }
            Report::Response(rid, ..) => Err(format!("response for {rid}, expected {id}")),
            Report::Error(rid, body) => Err(format!("invocation {rid} failed: {body}")),
            Report::InitError(body) => Err(format!("init error: {body}")),
            Report::Next(_) => Err("GET next before the response".into()),
        }
    }
}

/// One connection from the function's runtime client (HTTP/1.1, keep-alive).
fn serve(
    stream: TcpStream,
    reports: Sender<Report>,
    invocations: Arc<Mutex<Receiver<Invocation>>>,
) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path, body)) = read_request(&mut reader) else {
            return;
        };
        let at = Instant::now();
        let reply = if method == "GET" && path == format!("{PREFIX}/invocation/next") {
            if reports.send(Report::Next(at)).is_err() {
                return;
            }
            let next = invocations.lock().ok().and_then(|rx| rx.recv().ok());
            let Some(inv) = next else { return };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-6741e5a0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0\r\n\
                 content-length: {}\r\n\r\n",
                inv.id,
                inv.payload.len()
            );
            let _ = inv.sent.send(Instant::now());
            let mut out = head.into_bytes();
            out.extend_from_slice(inv.payload.as_bytes());
            out
        } else if method == "POST" && path == format!("{PREFIX}/init/error") {
            let _ = reports.send(Report::InitError(body));
            accepted()
        } else if method == "POST" && path.starts_with(&format!("{PREFIX}/invocation/")) {
            let rest = &path[PREFIX.len() + "/invocation/".len()..];
            let report = match rest.split_once('/') {
                Some((id, "response")) => Report::Response(id.into(), body, at),
                Some((id, "error")) => Report::Error(id.into(), body),
                _ => return,
            };
            // Report before answering: the function's next `GET next` (on
            // this or another connection) must come after its response.
            if reports.send(report).is_err() {
                return;
            }
            accepted()
        } else {
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec()
        };
        if writer.write_all(&reply).is_err() {
            return;
        }
    }
}

fn accepted() -> Vec<u8> {
    b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}"
        .to_vec()
}

/// One HTTP/1.1 request: method, path and body (by length or chunked).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

/// The environment Lambda gives a `provided.al2023` function, plus ours.
struct Env {
    common: Vec<(String, String)>,
    log_dir: PathBuf,
}

impl Env {
    fn new(ctx: &Ctx, log_dir: PathBuf) -> Self {
        let pairs: Vec<(&str, String)> = vec![
            ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
            ("LANG", "en_US.UTF-8".into()),
            ("TZ", ":UTC".into()),
            ("LAMBDA_TASK_ROOT", "/var/task".into()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench".into()),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/23/[$LATEST]0123456789abcdef".into(),
            ),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "ASIABENCHLOCAL000000".into()),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
            ("AWS_SESSION_TOKEN", "local".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint()),
            ("JWT_ACCESS_SECRET", ACCESS_SECRET.into()),
            ("JWT_REFRESH_SECRET", REFRESH_SECRET.into()),
            ("JWT_ISSUER", ISSUER.into()),
            ("JWT_AUDIENCE", AUDIENCE.into()),
            ("USERS_TABLE", ctx.tables.users.clone()),
            ("SESSIONS_TABLE", ctx.tables.sessions.clone()),
            // The refresh token also comes back in the body: the harness
            // chains refreshes and logs sessions out with it.
            ("REFRESH_TOKEN_IN_BODY", "true".into()),
        ];
        Self {
            common: pairs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            log_dir,
        }
    }

    fn spawn(
        &self,
        bin_dir: &Path,
        f: &Function,
        api: &RuntimeApi,
    ) -> Result<(Child, Instant), String> {
        let name = f.name;
        let bin = bin_dir.join(f.bin);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("{name}.log")))
            .map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&bin);
        cmd.env_clear()
            .envs(self.common.iter().map(|(k, v)| (k, v)));
        for (k, v) in &f.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("_HANDLER", f.bin)
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let start = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        Ok((child, start))
    }
}

/// An API Gateway HTTP API (payload 2.0) request from the real event file.
fn http_event(method: &str, path: &str, body: Option<&Value>) -> Value {
    let mut ev = event_file("http-api-v2.json");
    ev["routeKey"] = json!(format!("{method} {path}"));
    ev["rawPath"] = json!(path);
    ev["requestContext"]["routeKey"] = ev["routeKey"].clone();
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["requestContext"]["http"]["path"] = json!(path);
    if let Some(h) = ev["headers"].as_object_mut() {
        h.remove("content-length");
    }
    match body {
        Some(b) => ev["body"] = json!(b.to_string()),
        None => {
            ev.as_object_mut().map(|o| o.remove("body"));
        }
    }
    ev
}

fn authorizer_event(access: &str) -> Value {
    let mut ev = event_file("authorizer-v2.json");
    let bearer = format!("Bearer {access}");
    ev["identitySource"] = json!([bearer]);
    ev["headers"]["authorization"] = json!(bearer);
    ev
}

/// The status and parsed JSON body of a lambda_http answer.
fn http_answer(v: &Value) -> Result<(u64, Value), String> {
    let status = v["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no statusCode: {v}"))?;
    let body = match v["body"].as_str() {
        Some(s) if !s.is_empty() => serde_json::from_str(s).unwrap_or(Value::String(s.into())),
        _ => Value::Null,
    };
    Ok((status, body))
}

fn expect_status(v: &Value, want: u64) -> Result<Value, String> {
    let (status, body) = http_answer(v)?;
    if status == want {
        Ok(body)
    } else {
        Err(format!("status {status}, expected {want}: {body}"))
    }
}

/// What one function gets, and what it must answer.
trait Workload {
    fn event(&mut self, i: usize) -> Value;
    fn check(&mut self, i: usize, answer: &Value) -> Result<(), String>;
}

struct Register;
impl Workload for Register {
    fn event(&mut self, i: usize) -> Value {
        http_event(
            "POST",
            "/auth/register",
            Some(&json!({"username": format!("bench-{i}"), "password": PASSWORD})),
        )
    }
    fn check(&mut self, i: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 201)?;
        if body["username"] == json!(format!("bench-{i}")) {
            Ok(())
        } else {
            Err(format!("register answered {body}"))
        }
    }
}

/// Logs `bench-0` in; keeps every token pair it gets.
#[derive(Default)]
struct Login {
    access: Vec<String>,
    refresh: Vec<String>,
}
impl Workload for Login {
    fn event(&mut self, _: usize) -> Value {
        http_event(
            "POST",
            "/auth/login",
            Some(&json!({"username": "bench-0", "password": PASSWORD})),
        )
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 200)?;
        match (
            body["access_token"].as_str(),
            body["refresh_token"].as_str(),
        ) {
            (Some(access), Some(refresh)) if body["token_type"] == "Bearer" => {
                self.access.push(access.into());
                self.refresh.push(refresh.into());
                Ok(())
            }
            _ => Err(format!("login answered {body}")),
        }
    }
}

/// Each refresh presents the token the previous one returned.
struct Refresh {
    token: String,
}
impl Workload for Refresh {
    fn event(&mut self, _: usize) -> Value {
        http_event(
            "POST",
            "/auth/refresh",
            Some(&json!({"refresh_token": self.token})),
        )
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 200)?;
        match body["refresh_token"].as_str() {
            Some(t) if body["access_token"].is_string() => {
                self.token = t.into();
                Ok(())
            }
            _ => Err(format!("refresh answered {body}")),
        }
    }
}

/// Each logout ends a different live session.
struct Logout {
    tokens: Vec<String>,
}
impl Workload for Logout {
    fn event(&mut self, i: usize) -> Value {
        let token = self.tokens.get(i).cloned().unwrap_or_default();
        http_event(
            "POST",
            "/auth/logout",
            Some(&json!({"refresh_token": token})),
        )
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        expect_status(a, 204).map(|_| ())
    }
}

struct Authorize {
    access: String,
}
impl Workload for Authorize {
    fn event(&mut self, _: usize) -> Value {
        authorizer_event(&self.access)
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        if a["isAuthorized"] == json!(true) && a["context"]["sub"].is_string() {
            Ok(())
        } else {
            Err(format!("authorizer answered {a}"))
        }
    }
}

/// `GET /auth/sessions` with a login's access token: the account function
/// verifies it and lists the user's sessions (one consistent query).
struct Account {
    access: String,
}
impl Workload for Account {
    fn event(&mut self, _: usize) -> Value {
        let mut ev = http_event("GET", "/auth/sessions", None);
        ev["headers"]["authorization"] = json!(format!("Bearer {}", self.access));
        ev
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 200)?;
        if body["sessions"].is_array() {
            Ok(())
        } else {
            Err(format!("account answered {body}"))
        }
    }
}

struct Me;
impl Workload for Me {
    fn event(&mut self, _: usize) -> Value {
        event_file("http-api-v2-me.json")
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 200)?;
        if body["sub"].is_string() {
            Ok(())
        } else {
            Err(format!("me answered {body}"))
        }
    }
}

/// `GET /.well-known/jwks.json`: the one ES256 public key, as a JWK.
struct Jwks;
impl Workload for Jwks {
    fn event(&mut self, _: usize) -> Value {
        http_event("GET", "/.well-known/jwks.json", None)
    }
    fn check(&mut self, _: usize, a: &Value) -> Result<(), String> {
        let body = expect_status(a, 200)?;
        match body["keys"].as_array().map(Vec::as_slice) {
            Some([key]) if key["kty"] == "EC" && key["kid"].is_string() => Ok(()),
            _ => Err(format!("jwks answered {body}")),
        }
    }
}

/// An ES256 access token with the claims of `access` (an HS256 token from
/// login), signed with the test key pair whose public half
/// [`Function::es256`] configures.
fn es256_access(access: &str) -> Result<String, String> {
    let hs256: HashMap<&str, &str> = [
        ("JWT_ACCESS_SECRET", ACCESS_SECRET),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]
    .into();
    let es256: HashMap<&str, &str> = [
        ("JWT_ACCESS_ALGORITHM", "ES256"),
        ("JWT_ACCESS_PRIVATE_KEY", ES_PRIVATE_KEY.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ]
    .into();
    let now = token::unix_now();
    let claims = token::AccessVerifier::from_source(&hs256)
        .map_err(|e| e.to_string())?
        .verify(access, now)
        .map_err(|e| format!("login's access token: {e}"))?;
    let issued = token::AccessIssuer::from_source(&es256)
        .map_err(|e| e.to_string())?
        .issue(&claims.sub, &claims.sid, &claims.roles, now)
        .map_err(|e| format!("ES256 issue: {e}"))?;
    Ok(issued.token)
}

/// One function's numbers.
#[derive(Default)]
struct Measured {
    ready_ms: Vec<f64>,
    first_ms: Vec<f64>,
    warm_ms: Vec<f64>,
    peak_rss_kib: Option<u64>,
    rss_100_kib: Option<u64>,
    rss_last_kib: Option<u64>,
    invocations: usize,
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    Some(s[s.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

struct Bench {
    env: Env,
    bin_dir: PathBuf,
}

impl Bench {
    /// `runs` cold starts, one event each.
    fn cold(
        &self,
        f: &Function,
        runs: usize,
        w: &mut dyn Workload,
        m: &mut Measured,
    ) -> Result<(), String> {
        let name = f.name;
        for i in 0..runs {
            let api = RuntimeApi::start().map_err(|e| e.to_string())?;
            let (mut child, start) = self.env.spawn(&self.bin_dir, f, &api)?;
            let result = (|| {
                let ready = api.next(&mut child)? - start;
                let (answer, first) = api.invoke(&mut child, &format!("cold-{i}"), &w.event(i))?;
                w.check(i, &answer)?;
                m.ready_ms.push(ms(ready));
                m.first_ms.push(ms(first));
                Ok::<_, String>(())
            })();
            stop(child);
            result.map_err(|e| format!("{name} cold start {i}: {e}"))?;
        }
        Ok(())
    }

    /// One process, `n` events in a row: warm latency and memory.
    fn warm(
        &self,
        f: &Function,
        n: usize,
        w: &mut dyn Workload,
        m: &mut Measured,
    ) -> Result<(), String> {
        let name = f.name;
        let api = RuntimeApi::start().map_err(|e| e.to_string())?;
        let (mut child, _) = self.env.spawn(&self.bin_dir, f, &api)?;
        let pid = child.id();
        let result = (|| {
            for i in 0..n {
                api.next(&mut child)?;
                // Idle between events, as Lambda freezes it: after 100 done.
                if i == 100 {
                    m.rss_100_kib = status_kib(pid, "VmRSS");
                }
                let (answer, took) = api.invoke(&mut child, &format!("warm-{i}"), &w.event(i))?;
                w.check(i, &answer)?;
                if i > 0 {
                    m.warm_ms.push(ms(took));
                }
            }
            api.next(&mut child)?;
            m.rss_last_kib = status_kib(pid, "VmRSS");
            m.peak_rss_kib = status_kib(pid, "VmHWM");
            Ok::<_, String>(())
        })();
        stop(child);
        m.invocations = n;
        result.map_err(|e| format!("{name} warm: {e}"))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runtime-harness: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    bin_dir: PathBuf,
    runs: usize,
    invocations: usize,
    out: PathBuf,
    only: Option<Vec<String>>,
    env: Vec<(String, String)>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        bin_dir: integration_tests::target_dir().join("release"),
        runs: 20,
        invocations: 1000,
        out: integration_tests::target_dir().join("bench/runtime.json"),
        only: None,
        env: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bin-dir" => a.bin_dir = value()?.into(),
            "--runs" => a.runs = value()?.parse().map_err(|_| "--runs: a number")?,
            "--invocations" => {
                a.invocations = value()?.parse().map_err(|_| "--invocations: a number")?
            }
            "--out" => a.out = value()?.into(),
            "--only" => a.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--env" => {
                let pair = value()?;
                let (k, v) = pair.split_once('=').ok_or("--env: NAME=VALUE")?;
                a.env.push((k.into(), v.into()));
            }
            _ => {
                return Err(format!(
                    "unknown argument {flag}; usage: runtime-harness [--bin-dir DIR] \
                     [--runs N] [--invocations N] [--out FILE] [--only f1,f2] [--env NAME=VALUE]..."
                ));
            }
        }
    }
    if a.runs == 0 || a.invocations == 0 {
        return Err("--runs and --invocations must be at least 1".into());
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let args = args()?;
    let log_dir = integration_tests::target_dir().join("bench/logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    for f in std::fs::read_dir(&log_dir)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let _ = std::fs::remove_file(f.path());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // DynamoDB Local (started here unless AWS_ENDPOINT_URL_DYNAMODB is set)
    // and fresh tables for this run.
    let ctx = rt.block_on(Ctx::new());
    let mut env = Env::new(&ctx, log_dir);
    env.common.extend(args.env.iter().cloned());
    let bench = Bench {
        env,
        bin_dir: args.bin_dir.clone(),
    };
    let wanted = |f: &str| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == f));
    let runs = args.runs;
    let n = args.invocations;
    let mut results: Vec<(Function, Measured)> = Vec::new();

    // Every workload after register needs its user, so register always runs
    // (bench-0 is the user the others log in as).
    let f = Function::plain("register");
    let mut m = Measured::default();
    bench.cold(&f, runs, &mut Register, &mut m)?;
    results.push((f, m));

    let f = Function::plain("login");
    let mut login = Login::default();
    let mut m = Measured::default();
    bench.cold(&f, runs, &mut login, &mut m)?;
    if wanted("login") {
        bench.warm(&f, n, &mut login, &mut m)?;
    }
    results.push((f, m));
    let access = login.access.first().cloned().ok_or("no access token")?;
    let mut sessions = std::mem::take(&mut login.refresh);
    let chain = sessions.pop().ok_or("no refresh token")?;

    if wanted("account") {
        let f = Function::plain("account");
        let mut m = Measured::default();
        let mut w = Account {
            access: access.clone(),
        };
        bench.cold(&f, runs, &mut w, &mut m)?;
        results.push((f, m));
    }
    if wanted("authorizer") {
        let f = Function::plain("authorizer");
        let mut w = Authorize {
            access: access.clone(),
        };
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut w, &mut m)?;
        bench.warm(&f, n, &mut w, &mut m)?;
        results.push((f, m));
    }
    // Right after the HS256 authorizer, so the two are compared back to back.
    if wanted("authorizer_es256") {
        let f = Function::es256("authorizer_es256", "authorizer");
        let mut w = Authorize {
            access: es256_access(&access)?,
        };
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut w, &mut m)?;
        bench.warm(&f, n, &mut w, &mut m)?;
        results.push((f, m));
    }
    if wanted("me") {
        let f = Function::plain("me");
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut Me, &mut m)?;
        results.push((f, m));
    }
    if wanted("jwks") {
        let f = Function::es256("jwks", "jwks");
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut Jwks, &mut m)?;
        results.push((f, m));
    }
    if wanted("refresh") {
        let f = Function::plain("refresh");
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut Refresh { token: chain }, &mut m)?;
        results.push((f, m));
    }
    if wanted("logout") {
        if sessions.len() < runs {
            return Err("not enough sessions for logout".into());
        }
        let f = Function::plain("logout");
        let mut m = Measured::default();
        bench.cold(&f, runs, &mut Logout { tokens: sessions }, &mut m)?;
        results.push((f, m));
    }
    results.retain(|(f, _)| wanted(f.name));

    report(&args, &results)
}

fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn report(args: &Args, results: &[(Function, Measured)]) -> Result<(), String> {
    let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.2}"));
    let k = |v: Option<u64>| v.map_or("-".into(), |x| format!("{:.1}", x as f64 / 1024.0));
    let mb = |v: Option<u64>| v.map_or("-".into(), |x| format!("{:.2}", x as f64 / 1e6));
    println!(
        "{} cold starts each (medians); memory over {} invocations in one process",
        args.runs, args.invocations
    );
    println!(
        "{:<16} {:>9} {:>10} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "function",
        "ready ms",
        "first ms",
        "warm ms",
        "peak MiB",
        "rss@100",
        "rss@last",
        "bin MB",
        "arm64 MB"
    );
    let mut json = serde_json::Map::new();
    for (func, m) in results {
        let name = func.name;
        let native = size(&args.bin_dir.join(func.bin));
        let arm64 = size(
            &integration_tests::target_dir()
                .join("lambda")
                .join(func.bin)
                .join("bootstrap"),
        );
        println!(
            "{:<16} {:>9} {:>10} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9}",
            name,
            f(median(&m.ready_ms)),
            f(median(&m.first_ms)),
            f(median(&m.warm_ms)),
            k(m.peak_rss_kib),
            k(m.rss_100_kib),
            k(m.rss_last_kib),
            mb(native),
            mb(arm64)
        );
        json.insert(
            name.into(),
            json!({
                "cold_starts": m.ready_ms.len(),
                "ready_ms_median": median(&m.ready_ms),
                "first_response_ms_median": median(&m.first_ms),
                "ready_ms_min": m.ready_ms.iter().copied().reduce(f64::min),
                "first_response_ms_min": m.first_ms.iter().copied().reduce(f64::min),
                "warm_ms_median": median(&m.warm_ms),
                "invocations": m.invocations,
                "peak_rss_kib": m.peak_rss_kib,
                "rss_100_kib": m.rss_100_kib,
                "rss_last_kib": m.rss_last_kib,
                "binary_bytes": native,
                "arm64_bootstrap_bytes": arm64,
            }),
        );
    }
    let mut all: HashMap<&str, Value> = HashMap::new();
    all.insert("functions", Value::Object(json));
    all.insert("runs", json!(args.runs));
    all.insert("invocations", json!(args.invocations));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let text = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, text + "\n").map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
