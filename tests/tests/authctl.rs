//! `authctl`, the operator CLI, against DynamoDB Local: every command run
//! in-process (`authctl::run` over the test's own tables) and through the
//! built binary (exit codes, passwords on standard input, the environment,
//! and what it says when a table name, a table, the credentials or DynamoDB
//! itself is missing).
//!
//! Everything either way prints is appended to
//! `target/test-logs/authctl-<pid>.log` for `scan-logs`, and no run may
//! print a password or a password hash (checked on every run here too).

use std::fs::{File, OpenOptions};
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use accounts::{Rotation, Session, StoreError, User, Username};
use authctl::{Context, Exit, Io};
use integration_tests::http::PASSWORD;
use integration_tests::{Ctx, endpoint, free_port};
use serde_json::{Value, json};
use testkit::fixed::Tokens;
use token::RefreshClaims;

/// What `users set-password` sets.
const NEW_PASSWORD: &str = "an operator's reset passphrase";
/// Refused: under 15 characters.
const SHORT_PASSWORD: &str = "sh0rt-pa55";
/// Refused: on the blocklist.
const COMMON_PASSWORD: &str = "qazwsxedcrfvtgb";
/// Refused for carol: contains the username.
const NAMED_PASSWORD: &str = "Carol picked carol as a password";

/// What no run may print: the passwords, and any argon2 hash.
const NEVER: &[&str] = &[
    PASSWORD,
    NEW_PASSWORD,
    SHORT_PASSWORD,
    COMMON_PASSWORD,
    NAMED_PASSWORD,
    "$argon2",
];

const DONE: i32 = Exit::Done as i32;
const FAILURE: i32 = Exit::Failure as i32;
const USAGE: i32 = Exit::Usage as i32;
const NOT_FOUND: i32 = Exit::NotFound as i32;

/// How a run ended and what it printed.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Standard output as the one JSON document `--json` prints.
    fn json(&self) -> Value {
        assert_eq!(self.stdout.lines().count(), 1, "one line: {}", self.stdout);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    #[track_caller]
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }
}

/// Appends a run to this process's log for `scan-logs` (a JSON line that
/// says what ran, then what it printed), and checks it printed nothing it
/// must not.
fn keep(via: &str, args: &[&str], ran: &Ran) {
    static LOG: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let dir = integration_tests::capture::log_dir();
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("authctl-{}.log", std::process::id()));
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    let Some(file) = log else {
        panic!("cannot open the authctl test log")
    };
    let header = json!({"authctl": args, "via": via, "exit": ran.code});
    let mut f = file.lock().unwrap();
    writeln!(f, "{header}").unwrap();
    f.write_all(ran.stdout.as_bytes()).unwrap();
    f.write_all(ran.stderr.as_bytes()).unwrap();
    drop(f);
    for never in NEVER {
        assert!(
            !ran.stdout.contains(never) && !ran.stderr.contains(never),
            "authctl {args:?} printed a password or a hash"
        );
    }
}

// ---- in-process ----

/// The test's tables, as `authctl` would reach them.
fn context(ctx: &Ctx) -> Context {
    Context::new(
        ctx.client.clone(),
        &ctx.tables.users,
        &ctx.tables.sessions,
        "us-east-1",
        Some(&endpoint()),
        Ok(password::Policy::default()),
    )
}

/// `authctl ARGS` in-process over the test's tables, with `stdin`.
async fn lib(ctx: &Ctx, args: &[&str], stdin: &str) -> Ran {
    lib_with(&context(ctx), args, stdin, false).await
}

async fn lib_with(context: &Context, args: &[&str], stdin: &str, terminal: bool) -> Ran {
    let mut input = Cursor::new(stdin.as_bytes().to_vec());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut io = Io {
        stdin: &mut input,
        stdin_is_terminal: terminal,
        stdout: &mut out,
        stderr: &mut err,
    };
    let argv = std::iter::once("authctl").chain(args.iter().copied());
    let exit = match authctl::parse(argv, &mut io) {
        Ok(cli) => authctl::run(&cli, context, &mut io).await,
        Err(exit) => exit,
    };
    let ran = Ran {
        code: exit as i32,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    };
    keep("library", args, &ran);
    ran
}

/// One line of standard input.
fn line(password: &str) -> String {
    format!("{password}\n")
}

async fn user(ctx: &Ctx, name: &str) -> Option<User> {
    let username = Username::parse(name).unwrap();
    ctx.store.users.find(&username).await.unwrap()
}

/// A login's session for `name`, started at `at`.
async fn login(ctx: &Ctx, name: &str, at: u64) -> Session {
    let user = user(ctx, name).await.unwrap();
    ctx.store
        .start_session(&user, ctx.start(Some("test-agent/1.0")), at)
        .await
        .and_then(accounts::Started::into_session)
        .unwrap()
}

/// The claims a refresh token of `session`'s current generation carries.
fn claims(session: &Session) -> RefreshClaims {
    let t = Tokens::fixed();
    let issued = t.refresh.issue(&session.grant()).unwrap();
    t.refresh.verify(&issued.token, session.rotated_at).unwrap()
}

async fn create(ctx: &Ctx, name: &str, roles: &[&str]) -> Value {
    let mut args = vec!["--json", "users", "create", name];
    for r in roles {
        args.extend(["--role", r]);
    }
    lib(ctx, &args, &line(PASSWORD)).await.expect(DONE).json()
}

fn now() -> u64 {
    token::unix_now()
}

#[tokio::test]
async fn create_reads_the_password_from_stdin_and_show_never_shows_the_hash() {
    let ctx = Ctx::new().await;
    let created = create(&ctx, "Alice", &["admin", "user", "admin"]).await;
    assert_eq!(created["username"], "Alice");
    assert_eq!(created["roles"], json!(["admin", "user"]));

    let stored = user(&ctx, "alice").await.unwrap();
    assert!(password::verify(
        &password::normalize(PASSWORD),
        Some(&stored.password_hash)
    ));
    assert_eq!(stored.roles, ["admin", "user"]);
    assert_eq!(created["user_id"], stored.user_id.as_str());

    login(&ctx, "alice", now()).await;
    let text = lib(&ctx, &["users", "show", "ALICE"], "").await;
    text.expect(DONE);
    for want in [
        format!("user_id:        {}\n", stored.user_id),
        "username:       Alice\n".to_owned(),
        "roles:          admin, user\n".to_owned(),
        "disabled:       no\n".to_owned(),
        "sessions:       1\n".to_owned(),
    ] {
        assert!(text.stdout.contains(&want), "{want:?} in {}", text.stdout);
    }
    let by_sub = lib(
        &ctx,
        &["users", "show", "--sub", &stored.user_id, "--json"],
        "",
    )
    .await;
    let shown = by_sub.expect(DONE).json();
    assert_eq!(shown["username"], "Alice");
    assert_eq!(shown["sessions"], 1);
    assert_eq!(shown["version"], 0);
    assert_eq!(shown["locked_until"], Value::Null);
    assert!(shown.get("password_hash").is_none());
    assert!(!by_sub.stdout.contains("argon2"));
}

#[tokio::test]
async fn create_without_roles_gives_the_default_role() {
    let ctx = Ctx::new().await;
    let ran = lib(&ctx, &["users", "create", "dave"], &line(PASSWORD)).await;
    ran.expect(DONE);
    assert!(
        ran.stdout.starts_with("created user dave ("),
        "{}",
        ran.stdout
    );
    assert_eq!(user(&ctx, "dave").await.unwrap().roles, ["user"]);
}

#[tokio::test]
async fn a_weak_password_is_refused_with_its_reason_and_nothing_is_created() {
    let ctx = Ctx::new().await;
    for (weak, reason) in [
        (SHORT_PASSWORD, "at least 15 characters"),
        (COMMON_PASSWORD, "too common"),
        (NAMED_PASSWORD, "must not contain the username"),
    ] {
        let ran = lib(&ctx, &["users", "create", "carol"], &line(weak)).await;
        ran.expect(FAILURE);
        assert!(ran.stderr.contains("weak password"), "{}", ran.stderr);
        assert!(ran.stderr.contains(reason), "{reason}: {}", ran.stderr);
        assert!(ran.stdout.is_empty());
    }
    assert_eq!(user(&ctx, "carol").await, None);
    lib(&ctx, &["users", "show", "carol"], "")
        .await
        .expect(NOT_FOUND);

    // set-password applies the same policy, and changes nothing either.
    create(&ctx, "carol", &[]).await;
    let before = user(&ctx, "carol").await.unwrap();
    let ran = lib(
        &ctx,
        &["users", "set-password", "carol"],
        &line(NAMED_PASSWORD),
    )
    .await;
    ran.expect(FAILURE);
    assert!(ran.stderr.contains("must not contain the username"));
    assert_eq!(user(&ctx, "carol").await.unwrap(), before);
}

#[tokio::test]
async fn a_taken_username_fails_whatever_its_case() {
    let ctx = Ctx::new().await;
    create(&ctx, "erin", &[]).await;
    let ran = lib(&ctx, &["users", "create", "ERIN"], &line(PASSWORD)).await;
    ran.expect(FAILURE);
    assert!(
        ran.stderr.contains("username ERIN is taken"),
        "{}",
        ran.stderr
    );
}

#[tokio::test]
async fn show_of_an_unknown_user_or_sub_is_not_found() {
    let ctx = Ctx::new().await;
    let ran = lib(&ctx, &["users", "show", "nobody"], "").await;
    ran.expect(NOT_FOUND);
    assert_eq!(ran.stderr, "error: no user nobody\n");
    let sub = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let ran = lib(&ctx, &["users", "show", "--sub", sub], "").await;
    ran.expect(NOT_FOUND);
    assert!(ran.stderr.contains(sub));
    for args in [
        &["users", "disable", "nobody"][..],
        &["users", "enable", "nobody"],
        &["users", "delete", "nobody"],
        &["users", "set-roles", "nobody", "admin"],
        &["sessions", "list", "nobody"],
        &["sessions", "revoke", "nobody", "--all"],
    ] {
        lib(&ctx, args, "").await.expect(NOT_FOUND);
    }
    lib(
        &ctx,
        &["users", "set-password", "nobody"],
        &line(NEW_PASSWORD),
    )
    .await
    .expect(NOT_FOUND);
}

#[tokio::test]
async fn set_roles_reach_every_session_at_its_next_refresh() {
    let ctx = Ctx::new().await;
    create(&ctx, "frank", &[]).await;
    let t = now();
    let sessions = [
        login(&ctx, "frank", t - 20).await,
        login(&ctx, "frank", t - 10).await,
    ];

    let ran = lib(
        &ctx,
        &["users", "set-roles", "frank", "ops", "billing:read"],
        "",
    )
    .await;
    ran.expect(DONE);
    assert_eq!(
        ran.stdout,
        "frank now has roles ops, billing:read; its 2 sessions get them at their next refresh\n"
    );
    assert_eq!(
        user(&ctx, "frank").await.unwrap().roles,
        ["ops", "billing:read"]
    );

    let listed = lib(&ctx, &["sessions", "list", "frank", "--json"], "").await;
    for s in listed.expect(DONE).json()["sessions"].as_array().unwrap() {
        assert_eq!(s["roles"], json!(["ops", "billing:read"]));
    }
    for session in &sessions {
        let next = ctx
            .store
            .sessions
            .rotate(&claims(session), ctx.policies.reuse_interval_secs, t)
            .await
            .unwrap();
        match next {
            Rotation::Rotated(s) => assert_eq!(s.roles, ["ops", "billing:read"]),
            other => panic!("{other:?}"),
        }
    }

    let json = lib(&ctx, &["--json", "users", "set-roles", "frank", "user"], "").await;
    assert_eq!(json.expect(DONE).json()["roles"], json!(["user"]));
    assert_eq!(json.json()["sessions"], 2);
}

#[tokio::test]
async fn disable_ends_every_session_and_enable_lets_the_user_back_in() {
    let ctx = Ctx::new().await;
    create(&ctx, "grace", &[]).await;
    login(&ctx, "grace", now()).await;
    login(&ctx, "grace", now()).await;

    let ran = lib(&ctx, &["users", "disable", "grace"], "").await;
    ran.expect(DONE);
    assert_eq!(ran.stdout, "disabled grace; ended 2 sessions\n");
    let disabled = user(&ctx, "grace").await.unwrap();
    assert!(disabled.disabled);
    assert!(
        ctx.store
            .sessions
            .list(&disabled.user_id, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let refused = ctx
        .store
        .start_session(&disabled, ctx.start(None), now())
        .await
        .and_then(accounts::Started::into_session);
    assert!(
        matches!(refused, Err(StoreError::AccountDisabled)),
        "{refused:?}"
    );
    let shown = lib(&ctx, &["users", "show", "grace", "--json"], "").await;
    assert_eq!(shown.expect(DONE).json()["disabled"], true);

    let again = lib(&ctx, &["users", "disable", "grace", "--json"], "").await;
    assert_eq!(again.expect(DONE).json()["sessions_ended"], 0);

    let ran = lib(&ctx, &["users", "enable", "grace"], "").await;
    ran.expect(DONE);
    assert_eq!(ran.stdout, "enabled grace\n");
    assert!(!user(&ctx, "grace").await.unwrap().disabled);
    login(&ctx, "grace", now()).await;
    let ran = lib(&ctx, &["users", "enable", "grace"], "").await;
    assert_eq!(
        ran.expect(DONE).stdout,
        "grace is not disabled; nothing to do\n"
    );
}

#[tokio::test]
async fn set_password_ends_every_session_and_the_new_one_verifies() {
    let ctx = Ctx::new().await;
    create(&ctx, "heidi", &[]).await;
    let session = login(&ctx, "heidi", now()).await;
    login(&ctx, "heidi", now()).await;

    let ran = lib(
        &ctx,
        &["users", "set-password", "heidi", "--json"],
        &line(NEW_PASSWORD),
    )
    .await;
    let out = ran.expect(DONE).json();
    assert_eq!(out["sessions_ended"], 2);
    assert_eq!(out["username"], "heidi");

    let stored = user(&ctx, "heidi").await.unwrap();
    let normalized = password::normalize(NEW_PASSWORD);
    assert!(password::verify(&normalized, Some(&stored.password_hash)));
    assert!(!password::verify(
        &password::normalize(PASSWORD),
        Some(&stored.password_hash)
    ));
    assert!(
        ctx.store
            .sessions
            .list(&stored.user_id, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let next = ctx
        .store
        .sessions
        .rotate(&claims(&session), ctx.policies.reuse_interval_secs, now())
        .await
        .unwrap();
    assert!(matches!(next, Rotation::Refused(_)), "{next:?}");

    // The password is the first line; an empty one is a usage error.
    let ran = lib(&ctx, &["users", "set-password", "heidi"], "\nsecond line\n").await;
    ran.expect(USAGE);
    assert!(ran.stderr.contains("no password on standard input"));
    assert_eq!(user(&ctx, "heidi").await.unwrap(), stored);
}

#[tokio::test]
async fn delete_removes_the_user_and_every_session_and_frees_the_name() {
    let ctx = Ctx::new().await;
    let created = create(&ctx, "ivan", &["admin"]).await;
    login(&ctx, "ivan", now()).await;
    let user_id = created["user_id"].as_str().unwrap().to_owned();

    let ran = lib(&ctx, &["users", "delete", "ivan", "--json"], "").await;
    assert_eq!(
        ran.expect(DONE).json(),
        json!({"user_id": user_id, "username": "ivan", "deleted": true})
    );
    assert_eq!(user(&ctx, "ivan").await, None);
    assert_eq!(ctx.store.users.get(&user_id).await.unwrap(), None);
    assert!(
        ctx.store
            .sessions
            .list(&user_id, 0)
            .await
            .unwrap()
            .is_empty()
    );
    lib(&ctx, &["users", "show", "ivan"], "")
        .await
        .expect(NOT_FOUND);

    let again = create(&ctx, "IVAN", &[]).await;
    assert_ne!(again["user_id"], user_id.as_str());
}

#[tokio::test]
async fn sessions_are_listed_newest_first_as_json_and_as_a_table() {
    let ctx = Ctx::new().await;
    create(&ctx, "judy", &[]).await;
    lib(&ctx, &["sessions", "list", "judy"], "")
        .await
        .expect(DONE);
    let t = now();
    let oldest = login(&ctx, "judy", t - 300).await;
    let middle = login(&ctx, "judy", t - 200).await;
    let newest = login(&ctx, "judy", t - 100).await;

    let ran = lib(&ctx, &["--json", "sessions", "list", "judy"], "").await;
    let out = ran.expect(DONE).json();
    assert_eq!(out["username"], "judy");
    let listed = out["sessions"].as_array().unwrap();
    let sids: Vec<&str> = listed.iter().map(|s| s["sid"].as_str().unwrap()).collect();
    assert_eq!(sids, [&newest.sid, &middle.sid, &oldest.sid]);
    assert_eq!(
        listed[0],
        json!({
            "sid": newest.sid,
            "created_at": t - 100,
            "last_used_at": t - 100,
            "expires_at": newest.expires_at,
            "roles": ["user"],
            "user_agent": "test-agent/1.0",
            "source_ip": "192.0.2.10",
        })
    );

    let ran = lib(&ctx, &["sessions", "list", "judy"], "").await;
    let lines: Vec<&str> = ran.expect(DONE).stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", ran.stdout);
    assert!(lines[0].starts_with("SID  "), "{}", lines[0]);
    assert!(
        lines[0].ends_with("ROLES  SOURCE IP   USER AGENT"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&newest.sid));
    assert!(
        lines[1].ends_with("user   192.0.2.10  test-agent/1.0"),
        "{}",
        lines[1]
    );
    assert!(lines[3].starts_with(&oldest.sid));
}

#[tokio::test]
async fn revoke_ends_one_session_and_an_unknown_sid_is_not_found() {
    let ctx = Ctx::new().await;
    create(&ctx, "ken", &[]).await;
    create(&ctx, "lena", &[]).await;
    let gone = login(&ctx, "ken", now()).await;
    let kept = login(&ctx, "ken", now()).await;
    let hers = login(&ctx, "lena", now()).await;

    let ran = lib(&ctx, &["sessions", "revoke", "ken", &gone.sid], "").await;
    assert_eq!(
        ran.expect(DONE).stdout,
        format!("ended session {} of ken\n", gone.sid)
    );
    let left = ctx.store.sessions.list(&gone.user_id, 0).await.unwrap();
    assert_eq!(left.iter().map(|s| &s.sid).collect::<Vec<_>>(), [&kept.sid]);

    // Gone now, never there, or another user's: not found, and nothing ends.
    for sid in [&gone.sid, "0123456789abcdef0123456789abcdef", &hers.sid] {
        let ran = lib(&ctx, &["sessions", "revoke", "ken", sid], "").await;
        ran.expect(NOT_FOUND);
        assert!(ran.stderr.contains("ken has no session"), "{}", ran.stderr);
    }
    assert_eq!(
        ctx.store
            .sessions
            .list(&hers.user_id, 0)
            .await
            .unwrap()
            .len(),
        1
    );
    let json = lib(
        &ctx,
        &["sessions", "revoke", "ken", &kept.sid, "--json"],
        "",
    )
    .await;
    assert_eq!(json.expect(DONE).json()["sessions_ended"], 1);
}

#[tokio::test]
async fn revoke_all_ends_every_session_and_a_racing_login_cannot_escape_it() {
    let ctx = Ctx::new().await;
    create(&ctx, "mallory", &[]).await;
    for _ in 0..3 {
        login(&ctx, "mallory", now()).await;
    }
    // A login that read the user before the revocation...
    let read_before = user(&ctx, "mallory").await.unwrap();

    let ran = lib(&ctx, &["sessions", "revoke", "mallory", "--all"], "").await;
    assert_eq!(ran.expect(DONE).stdout, "ended 3 sessions of mallory\n");
    assert!(
        ctx.store
            .sessions
            .list(&read_before.user_id, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let after = user(&ctx, "mallory").await.unwrap();
    assert_eq!(after.version, read_before.version + 1);
    // ...cannot start its session after it.
    let late = ctx
        .store
        .start_session(&read_before, ctx.start(None), now())
        .await
        .and_then(accounts::Started::into_session);
    assert!(matches!(late, Err(StoreError::Conflict)), "{late:?}");

    let json = lib(
        &ctx,
        &["sessions", "revoke", "mallory", "--all", "--json"],
        "",
    )
    .await;
    assert_eq!(json.expect(DONE).json()["sessions_ended"], 0);
}

#[tokio::test]
async fn bad_arguments_and_missing_passwords_are_usage_errors() {
    let ctx = Ctx::new().await;
    create(&ctx, "nina", &[]).await;
    for args in [
        &["users", "show"][..],
        &["users", "show", "nina", "--sub", "x"],
        &["users", "show", "a b"],
        &["users", "create", "ab"],
        &["users", "create", "olga", "--role", "a,b"],
        &["users", "create", "olga", "--role", ""],
        &["users", "set-roles", "nina"],
        &["users", "set-roles", "nina", "has space"],
        &["sessions", "revoke", "nina"],
        &["sessions", "revoke", "nina", "not-a-sid"],
        &[
            "sessions",
            "revoke",
            "nina",
            "0123456789abcdef0123456789abcdef",
            "--all",
        ],
        &["users", "frobnicate"],
    ] {
        let ran = lib(&ctx, args, &line(PASSWORD)).await;
        ran.expect(USAGE);
        assert!(
            ran.stderr.starts_with("error: "),
            "{args:?}: {}",
            ran.stderr
        );
    }
    // Nothing at all: the help, as a usage error.
    let ran = lib(&ctx, &[], "").await;
    assert!(ran.expect(USAGE).stderr.contains("Usage: authctl"));
    // No password, or a terminal it would be typed into.
    let context = context(&ctx);
    for (stdin, terminal, why) in [
        ("", false, "no password on standard input"),
        ("\n", false, "no password on standard input"),
        (PASSWORD, true, "not typed at a terminal"),
    ] {
        let ran = lib_with(&context, &["users", "create", "olga"], stdin, terminal).await;
        ran.expect(USAGE);
        assert!(ran.stderr.contains(why), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("printf '%s'"),
            "it says how: {}",
            ran.stderr
        );
    }
    assert_eq!(user(&ctx, "olga").await, None);
    // An invalid PASSWORD_MIN_LENGTH matters only to commands that take a
    // password.
    let bad_policy = Context::new(
        ctx.client.clone(),
        &ctx.tables.users,
        &ctx.tables.sessions,
        "us-east-1",
        None,
        password::Policy::from_source(&testkit::fixed::env_with(&[("PASSWORD_MIN_LENGTH", "3")])),
    );
    let ran = lib_with(
        &bad_policy,
        &["users", "create", "olga"],
        &line(PASSWORD),
        false,
    )
    .await;
    ran.expect(USAGE);
    assert!(ran.stderr.contains("PASSWORD_MIN_LENGTH"), "{}", ran.stderr);
    lib_with(&bad_policy, &["users", "show", "nina"], "", false)
        .await
        .expect(DONE);
}

/// A DynamoDB that answers every request with the error `code` (what AWS
/// says that DynamoDB Local never does: a denied action, refused
/// credentials, throttling). Returns its endpoint.
async fn answering_every_request_with(code: &'static str, message: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let body = json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    })
    .to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // The whole request (head, then Content-Length bytes), then
                // the answer, then close.
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    let Some(head_end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     x-amzn-requestid: test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    endpoint
}

#[tokio::test]
async fn what_aws_refuses_is_told_with_what_to_do() {
    let denied = "User: arn:aws:iam::123456789012:user/op is not authorized to perform: \
                  dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/u";
    for (code, message, says) in [
        (
            "AccessDeniedException",
            denied,
            "access denied in region us-east-1 at ",
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            "AWS refused the credentials (UnrecognizedClientException): configure AWS credentials",
        ),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            "or set AWS_PROFILE",
        ),
        (
            "ThrottlingException",
            "Rate exceeded",
            "DynamoDB is busy or throttling (ThrottlingException): run the command again",
        ),
        (
            "ValidationException",
            "The provided key element does not match the schema",
            "are --users-table and --sessions-table this service's tables, and not swapped?",
        ),
    ] {
        let endpoint = answering_every_request_with(code, message).await;
        let client = integration_tests::client_for(&endpoint, &Default::default());
        let context = Context::new(
            client,
            "users",
            "sessions",
            "us-east-1",
            Some(&endpoint),
            Ok(password::Policy::default()),
        );
        let ran = lib_with(&context, &["users", "show", "alice"], "", false).await;
        ran.expect(FAILURE);
        assert!(ran.stderr.starts_with("error: "), "{}", ran.stderr);
        assert!(ran.stderr.contains(says), "{code}: {}", ran.stderr);
        if code == "AccessDeniedException" {
            for action in [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ] {
                assert!(ran.stderr.contains(action), "{}", ran.stderr);
            }
            assert!(
                ran.stderr.contains("  cause: "),
                "AWS's own words: {}",
                ran.stderr
            );
        }
        assert!(
            !ran.stderr.contains("SdkBody"),
            "no raw response: {}",
            ran.stderr
        );
    }
}

// ---- the binary ----

/// The `authctl` binary: `$AUTHCTL_BIN`, else the one `cargo test
/// --workspace` builds for authctl's own tests (`authctl/tests/binary.rs`),
/// with the workspace's features. Cargo gives `CARGO_BIN_EXE_*` only to
/// tests of the binary's own package.
fn bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let path = std::env::var_os("AUTHCTL_BIN").map_or_else(
            || {
                integration_tests::target_dir()
                    .join("debug")
                    .join("authctl")
            },
            PathBuf::from,
        );
        assert!(
            path.is_file(),
            "no authctl binary at {}: run the tests with `cargo test --workspace`, \
             or `cargo build -p authctl` first",
            path.display()
        );
        path
    })
}

/// An empty home, so no operator's `~/.aws` is read.
fn empty_home() -> PathBuf {
    let home = std::env::temp_dir().join(format!("authctl-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// The environment of an operator pointed at the test's tables in
/// DynamoDB Local, with dummy credentials.
fn operator_env(ctx: &Ctx) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("USERS_TABLE", ctx.tables.users.clone()),
        ("SESSIONS_TABLE", ctx.tables.sessions.clone()),
    ]
}

/// Runs the binary with exactly `env` (and an empty home, and no instance
/// metadata to wait for), `stdin` piped in; kills it after a minute.
async fn exe(args: &[&str], env: &[(&'static str, String)], stdin: &str) -> Ran {
    let (argv, env, input) = (
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
        env.to_vec(),
        stdin.to_owned(),
    );
    let ran = tokio::task::spawn_blocking(move || {
        let home = empty_home();
        let mut child = Command::new(bin())
            .args(&argv)
            .env_clear()
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("authctl starts");
        // authctl reads at most one line; it may exit before reading it.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("authctl {argv:?} ran for a minute");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let (mut stdout, mut stderr) = (String::new(), String::new());
        child.stdout.unwrap().read_to_string(&mut stdout).unwrap();
        child.stderr.unwrap().read_to_string(&mut stderr).unwrap();
        Ran {
            code: status.code().expect("exited, not killed"),
            stdout,
            stderr,
        }
    })
    .await
    .unwrap();
    keep("binary", args, &ran);
    ran
}

#[tokio::test]
async fn the_binary_runs_every_command_with_its_exit_code() {
    let ctx = Ctx::new().await;
    let env = operator_env(&ctx);

    let args = ["users", "create", "peggy", "--role", "admin", "--json"];
    let created = exe(&args, &env, &line(PASSWORD)).await;
    let created = created.expect(DONE).json();
    assert_eq!(created["roles"], json!(["admin"]));
    let user_id = created["user_id"].as_str().unwrap();
    exe(&["users", "create", "PEGGY"], &env, &line(PASSWORD))
        .await
        .expect(FAILURE);
    let weak = exe(&["users", "create", "quinn"], &env, &line(SHORT_PASSWORD)).await;
    assert!(
        weak.expect(FAILURE)
            .stderr
            .contains("at least 15 characters")
    );
    exe(&["users", "create", "quinn"], &env, "")
        .await
        .expect(USAGE);

    let shown = exe(&["users", "show", "peggy", "--json"], &env, "").await;
    assert_eq!(shown.expect(DONE).json()["user_id"], user_id);
    let by_sub = exe(&["users", "show", "--sub", user_id], &env, "").await;
    assert!(
        by_sub
            .expect(DONE)
            .stdout
            .contains("username:       peggy\n")
    );
    exe(&["users", "show", "quinn"], &env, "")
        .await
        .expect(NOT_FOUND);

    let first = login(&ctx, "peggy", now() - 10).await;
    login(&ctx, "peggy", now()).await;
    let listed = exe(&["--json", "sessions", "list", "peggy"], &env, "").await;
    let listed = listed.expect(DONE).json();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 2);
    exe(&["users", "set-roles", "peggy", "user", "ops"], &env, "")
        .await
        .expect(DONE);
    assert_eq!(user(&ctx, "peggy").await.unwrap().roles, ["user", "ops"]);
    let revoke = ["sessions", "revoke", "peggy", first.sid.as_str()];
    exe(&revoke, &env, "").await.expect(DONE);
    exe(&revoke, &env, "").await.expect(NOT_FOUND);
    let all = exe(&["sessions", "revoke", "peggy", "--all"], &env, "").await;
    assert_eq!(all.expect(DONE).stdout, "ended 1 session of peggy\n");

    login(&ctx, "peggy", now()).await;
    let disabled = exe(&["users", "disable", "peggy"], &env, "").await;
    assert_eq!(
        disabled.expect(DONE).stdout,
        "disabled peggy; ended 1 session\n"
    );
    exe(&["users", "enable", "peggy"], &env, "")
        .await
        .expect(DONE);
    login(&ctx, "peggy", now()).await;
    // A line ending of either kind is not part of the password.
    let stdin = format!("{NEW_PASSWORD}\r\n");
    let reset = exe(&["users", "set-password", "peggy"], &env, &stdin).await;
    assert_eq!(
        reset.expect(DONE).stdout,
        "set a new password for peggy; ended 1 session\n"
    );
    let stored = user(&ctx, "peggy").await.unwrap();
    let normalized = password::normalize(NEW_PASSWORD);
    assert!(password::verify(&normalized, Some(&stored.password_hash)));
    exe(&["users", "delete", "peggy"], &env, "")
        .await
        .expect(DONE);
    exe(&["users", "show", "peggy"], &env, "")
        .await
        .expect(NOT_FOUND);
}

#[tokio::test]
async fn the_binary_says_what_is_wrong_with_its_arguments() {
    let ctx = Ctx::new().await;
    let env = operator_env(&ctx);
    let bad_name = exe(&["users", "show", "no spaces allowed"], &env, "").await;
    assert!(
        bad_name
            .expect(USAGE)
            .stderr
            .contains("username must be 3 to 64 characters")
    );
    let neither = exe(&["sessions", "revoke", "alice"], &env, "").await;
    assert!(neither.expect(USAGE).stderr.contains("<SID|--all>"));

    let help = exe(&["--help"], &env, "").await;
    let help = &help.expect(DONE).stdout;
    for want in [
        "EXIT STATUS",
        "3    Not found",
        "standard input",
        "printf '%s'",
    ] {
        assert!(help.contains(want), "{want:?} in --help");
    }
    let version = exe(&["--version"], &env, "").await;
    assert!(version.expect(DONE).stdout.starts_with("authctl "));
}

#[tokio::test]
async fn missing_table_names_are_a_usage_error_that_says_where_to_find_them() {
    let ctx = Ctx::new().await;
    let without = |var: &str| -> Vec<(&'static str, String)> {
        operator_env(&ctx)
            .into_iter()
            .filter(|(k, _)| *k != var)
            .collect()
    };
    let ran = exe(&["users", "show", "alice"], &without("USERS_TABLE"), "").await;
    let err = &ran.expect(USAGE).stderr;
    assert!(
        err.contains("no users table: pass --users-table or set USERS_TABLE"),
        "{err}"
    );
    assert!(err.contains("describe-stack-resources"), "{err}");
    let ran = exe(
        &["sessions", "list", "alice"],
        &without("SESSIONS_TABLE"),
        "",
    )
    .await;
    assert!(ran.expect(USAGE).stderr.contains("--sessions-table"));
    // The flag does as well as the variable.
    let flag = exe(
        &[
            "users",
            "show",
            "alice",
            "--sessions-table",
            &ctx.tables.sessions,
        ],
        &without("SESSIONS_TABLE"),
        "",
    )
    .await;
    flag.expect(NOT_FOUND);
}

#[tokio::test]
async fn a_table_that_does_not_exist_is_named_with_what_to_do() {
    let ctx = Ctx::new().await;
    let missing = format!("users-missing-{}", uuid::Uuid::new_v4().simple());
    let ran = exe(
        &["users", "show", "alice", "--users-table", &missing],
        &operator_env(&ctx),
        "",
    )
    .await;
    let err = &ran.expect(FAILURE).stderr;
    assert!(
        err.contains(&format!(
            "error: table {missing} not found in region us-east-1"
        )),
        "{err}"
    );
    assert!(
        err.contains("pass --users-table/--sessions-table or set USERS_TABLE/SESSIONS_TABLE"),
        "{err}"
    );
    assert!(
        !err.contains(&ctx.tables.sessions),
        "the sessions table exists: {err}"
    );
}

#[tokio::test]
async fn unreachable_dynamodb_fails_in_bounded_time() {
    let ctx = Ctx::new().await;
    let mut env = operator_env(&ctx);
    let closed = format!("http://127.0.0.1:{}", free_port());
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL_DYNAMODB");
    env.push(("AWS_ENDPOINT_URL_DYNAMODB", closed.clone()));
    let started = Instant::now();
    let ran = exe(&["users", "show", "alice"], &env, "").await;
    let took = started.elapsed();
    let err = &ran.expect(FAILURE).stderr;
    assert!(
        err.contains(&format!(
            "cannot reach DynamoDB in region us-east-1 at {closed}"
        )),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn missing_credentials_or_region_say_how_to_configure_them() {
    let ctx = Ctx::new().await;
    let env: Vec<(&'static str, String)> = operator_env(&ctx)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"))
        .collect();
    let ran = exe(&["users", "show", "alice"], &env, "").await;
    let err = &ran.expect(FAILURE).stderr;
    assert!(err.contains("configure AWS credentials"), "{err}");
    assert!(err.contains("AWS_PROFILE"), "{err}");

    let env: Vec<(&'static str, String)> = operator_env(&ctx)
        .into_iter()
        .filter(|(k, _)| *k != "AWS_REGION")
        .collect();
    let ran = exe(&["users", "show", "alice"], &env, "").await;
    assert!(
        ran.expect(USAGE)
            .stderr
            .contains("no AWS region: pass --region")
    );
    let ran = exe(
        &["users", "show", "alice", "--region", "us-east-1"],
        &env,
        "",
    )
    .await;
    ran.expect(NOT_FOUND);
}

#[tokio::test]
async fn unlock_clears_the_lockout_so_unknown_devices_log_in_again() {
    let ctx = Ctx::new().await;
    create(&ctx, "ulla", &[]).await;
    let name = accounts::Username::parse("ulla").unwrap();
    let users = &ctx.store.users;
    let policy = ctx.policies.lockout;
    // Five failed logins lock the account for unknown devices.
    for _ in 0..policy.max_failures {
        let accounts::Attempt::Proceed(read) =
            users.count_login(&name, policy, now()).await.unwrap()
        else {
            panic!("counted");
        };
        users
            .record_login_failure(Some(&read), policy, now())
            .await
            .unwrap();
    }
    let refused = users.count_login(&name, policy, now()).await.unwrap();
    assert!(
        matches!(refused, accounts::Attempt::Locked { .. }),
        "{refused:?}"
    );
    let ran = lib(&ctx, &["users", "unlock", "ulla", "--json"], "").await;
    assert_eq!(ran.expect(DONE).json()["locked_until"], Value::Null);
    let counted = users.count_login(&name, policy, now()).await.unwrap();
    assert!(
        matches!(counted, accounts::Attempt::Proceed(_)),
        "{counted:?}"
    );
    let missing = lib(&ctx, &["users", "unlock", "nobody"], "").await;
    assert_eq!(missing.code, 3, "not found");
}
