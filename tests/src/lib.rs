//! Shared harness for the integration tests: DynamoDB Local for the test
//! run, a client configured exactly as production configures it, uniquely
//! named tables per test so tests run in parallel, and a request counter.

pub mod capture;
pub mod faults;
pub mod http;
pub mod leaks;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use accounts::{LockoutPolicy, Sessions, Store, Users};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{
    BehaviorVersion, Builder, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::BoxError;

/// The workspace root (scripts live there).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the workspace
/// when relative), else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// A DynamoDB Local started by this test process. Its wrapper shell reads our
/// end of a pipe; when this process exits for any reason the pipe closes and
/// the wrapper stops Java, so no emulator outlives the tests.
struct Emulator {
    endpoint: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static EMULATOR: OnceLock<Result<Emulator, String>> = OnceLock::new();

/// The DynamoDB endpoint for this test run: `AWS_ENDPOINT_URL_DYNAMODB` when
/// set (a stack you started), else a DynamoDB Local started on a free port.
/// Fails the test with what to install when Java or npm is missing; never
/// skips.
pub fn endpoint() -> String {
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        return url;
    }
    match EMULATOR.get_or_init(start_emulator) {
        Ok(e) => e.endpoint.clone(),
        Err(msg) => panic!("DynamoDB Local could not start: {msg}"),
    }
}

/// A free loopback port (the OS picks it; another process could take it
/// before us, which the start-up check would then report).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn start_emulator() -> Result<Emulator, String> {
    let port = free_port();
    let (child, stdin) = spawn_emulator(port, None)?;
    Ok(Emulator {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    })
}

/// Runs `scripts/dynamodb-local PORT [DB_DIR]` under a wrapper shell that
/// stops it when the returned stdin closes, and waits until it listens.
/// With `db_dir` the data is kept there (see [`faults::StoppableDynamoDb`]).
pub(crate) fn spawn_emulator(
    port: u16,
    db_dir: Option<&Path>,
) -> Result<(Child, ChildStdin), String> {
    let script = workspace_root().join("scripts/dynamodb-local");
    let log = std::env::temp_dir().join(format!("dynamodb-local-{port}.log"));
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$@" & pid=$!; cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid""#)
        .arg(&script)
        .arg(port.to_string())
        .args(db_dir)
        .stdin(Stdio::piped())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdin = child.stdin.take().ok_or("no stdin pipe")?;

    // First use installs the npm package (tens of seconds); later, ~1 s.
    let deadline = Instant::now() + Duration::from_secs(180);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        let exited = child.try_wait().map_err(|e| e.to_string())?;
        if exited.is_some() || Instant::now() > deadline {
            let mut out = String::new();
            let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut out));
            return Err(format!(
                "scripts/dynamodb-local {port} {}:\n{out}",
                if exited.is_some() {
                    "exited"
                } else {
                    "did not listen within 180 s"
                }
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((child, stdin))
}

/// Counts every HTTP request the client sends (retries included), and the
/// write units its writes consume ([`WriteUnits`]).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    requests: Arc<AtomicUsize>,
    /// Each request's operation (`GetItem`, `UpdateItem`, ...), in order.
    operations: Arc<Mutex<Vec<String>>>,
    pub units: WriteUnits,
}

impl RequestCounter {
    pub fn get(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The operations of the requests made while running `f`, sorted: what
    /// kind of requests it made, whatever their order.
    pub async fn kinds_during<T>(
        &self,
        f: impl std::future::Future<Output = T>,
    ) -> (T, Vec<String>) {
        let before = self.operations.lock().map(|o| o.len()).unwrap_or(0);
        let out = f.await;
        let mut kinds = self
            .operations
            .lock()
            .map(|o| o[before..].to_vec())
            .unwrap_or_default();
        kinds.sort();
        (out, kinds)
    }

    /// Requests made while running `f`.
    pub async fn during<T>(&self, f: impl std::future::Future<Output = T>) -> (T, usize) {
        let before = self.get();
        let out = f.await;
        (out, self.get() - before)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let name = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map_or("?", |m| m.name())
            .to_owned();
        if let Ok(mut o) = self.operations.lock() {
            o.push(name);
        }
        Ok(())
    }
}

/// Write capacity units DynamoDB reports for the writes a client makes: it
/// asks every write for `ReturnConsumedCapacity=INDEXES` (production code
/// asks for nothing) and adds up what the answers report, indexes included.
#[derive(Debug, Clone, Default)]
pub struct WriteUnits(Arc<Mutex<f64>>);

impl WriteUnits {
    pub fn get(&self) -> f64 {
        self.0.lock().map(|u| *u).unwrap_or(f64::NAN)
    }

    /// Units consumed while running `f`.
    pub async fn during<T>(&self, f: impl std::future::Future<Output = T>) -> (T, f64) {
        let before = self.get();
        let out = f.await;
        (out, self.get() - before)
    }
}

impl Intercept for WriteUnits {
    fn name(&self) -> &'static str {
        "WriteUnits"
    }

    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemInput, put_item::PutItemInput,
            transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
        };
        use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
        let all = Some(ReturnConsumedCapacity::Indexes);
        let input = ctx.input_mut();
        if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = all;
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = all;
        } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
            i.return_consumed_capacity = all;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = all;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemOutput, put_item::PutItemOutput,
            transact_write_items::TransactWriteItemsOutput, update_item::UpdateItemOutput,
        };
        use aws_sdk_dynamodb::types::ConsumedCapacity;
        let Ok(out) = ctx.output_or_error() else {
            return Ok(());
        };
        let units = |c: Option<&ConsumedCapacity>| {
            c.and_then(ConsumedCapacity::capacity_units)
                .unwrap_or_default()
        };
        let consumed = if let Some(o) = out.downcast_ref::<UpdateItemOutput>() {
            units(o.consumed_capacity())
        } else if let Some(o) = out.downcast_ref::<PutItemOutput>() {
            units(o.consumed_capacity())
        } else if let Some(o) = out.downcast_ref::<DeleteItemOutput>() {
            units(o.consumed_capacity())
        } else if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
            o.consumed_capacity().iter().map(|c| units(Some(c))).sum()
        } else {
            0.0
        };
        if let Ok(mut u) = self.0.lock() {
            *u += consumed;
        }
        Ok(())
    }
}

fn local_builder(endpoint: &str, counter: &RequestCounter) -> Builder {
    let builder = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .interceptor(counter.clone())
        .interceptor(counter.units.clone());
    accounts::client::configure(builder)
}

/// A client for `endpoint` with exactly production's timeouts and retries
/// (`accounts::client::configure`): for the tests of those timeouts.
pub fn client_for(endpoint: &str, counter: &RequestCounter) -> Client {
    Client::from_conf(local_builder(endpoint, counter).build())
}

/// Production's retry policy with timeouts long enough for a JVM emulator on
/// a loaded 2-core machine, so a slow CI run cannot turn into spurious 503s.
pub fn lenient_client_for(endpoint: &str, counter: &RequestCounter) -> Client {
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    Client::from_conf(
        local_builder(endpoint, counter)
            .timeout_config(timeouts)
            .build(),
    )
}

/// The policies a test's store operations apply: the production defaults
/// unless a test says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    pub lockout: LockoutPolicy,
    /// `REFRESH_REUSE_INTERVAL`, seconds.
    pub reuse_interval_secs: u64,
    /// `SESSION_MAX_LIFETIME`, seconds.
    pub max_lifetime_secs: u64,
}

/// The defaults of `LOGIN_MAX_FAILURES`, `LOGIN_LOCKOUT`,
/// `REFRESH_REUSE_INTERVAL` and `SESSION_MAX_LIFETIME`.
pub const POLICIES: Policies = Policies {
    lockout: LockoutPolicy {
        max_failures: 5,
        lockout_secs: 900,
    },
    reuse_interval_secs: 10,
    max_lifetime_secs: 30 * 86400,
};

/// The names of one test's two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub sessions: String,
}

impl Tables {
    /// `USERS_TABLE` and `SESSIONS_TABLE` for these tables.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("USERS_TABLE", self.users.as_str()),
            ("SESSIONS_TABLE", self.sessions.as_str()),
        ]
    }

    /// The store over these tables.
    pub fn store(&self, client: &Client) -> Store {
        Store {
            users: Users::new(client.clone(), &self.users),
            sessions: Sessions::new(client.clone(), &self.sessions),
        }
    }
}

/// One test's world: its own tables in the shared DynamoDB Local.
pub struct Ctx {
    pub client: Client,
    pub requests: RequestCounter,
    pub tables: Tables,
    pub store: Store,
    pub policies: Policies,
}

impl Ctx {
    /// Fresh, uniquely named tables with the default policies.
    pub async fn new() -> Self {
        Self::with(POLICIES).await
    }

    pub async fn with(policies: Policies) -> Self {
        capture::capture_logs();
        let requests = RequestCounter::default();
        let client = lenient_client_for(&endpoint(), &requests);
        let tables = create_tables(&client).await;
        let store = tables.store(&client);
        Self {
            client,
            requests,
            tables,
            store,
            policies,
        }
    }

    /// A login's start of a session under these policies, with the hint
    /// `user_agent`.
    pub fn start<'a>(&self, user_agent: Option<&'a str>) -> accounts::SessionStart<'a> {
        accounts::SessionStart {
            user_agent,
            source_ip: Some("192.0.2.10"),
            trusted_device: false,
            max_lifetime_secs: self.policies.max_lifetime_secs,
            lockout: self.policies.lockout,
            rehashed: None,
            amr: &[token::amr::PWD],
        }
    }
}

/// Creates a fresh, uniquely named pair of tables through `client`.
pub async fn create_tables(client: &Client) -> Tables {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let tables = Tables {
        users: format!("users-{id}"),
        sessions: format!("sessions-{id}"),
    };
    accounts::schema::USERS
        .create(client, &tables.users)
        .await
        .expect("create users table");
    accounts::schema::SESSIONS
        .create(client, &tables.sessions)
        .await
        .expect("create sessions table");
    tables
}

/// One authorizer invocation through its runtime entry point: the event's
/// JSON text in, the answer's JSON parsed back out.
pub fn authorize(
    authorizer: &authorizer::Authorizer,
    event: &serde_json::Value,
    now: u64,
) -> Result<serde_json::Value, authorizer::Unauthorized> {
    let answer = authorizer.invoke(event.to_string().as_bytes(), now)?;
    Ok(serde_json::from_str(answer.get()).expect("the answer is JSON"))
}
