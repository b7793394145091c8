//! What must never appear in a log line, and the search for it: the
//! secrets and passwords the tests use ([`SENSITIVE`]), anything shaped like
//! a JWT or an argon2 password hash, and the development secrets of the
//! local stack. `scan-logs` runs
//! [`scan_dir`] over every line the test suite logged (see
//! [`capture`](crate::capture)).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::http::{ACCESS_SECRET, PASSWORD, REFRESH_SECRET};

/// Every secret and password the tests hand to a function, by value: the
/// harness's own, the literals of `tests/tests/*.rs`, and those of
/// `tests/e2e/flow.py`. Keep it complete: a unit test below checks it
/// against the literals in those files.
pub const SENSITIVE: &[&str] = &[
    // passwords
    PASSWORD,
    "wrong password here",
    "wrong guess number ",             // functions.rs: followed by a number
    "not the password at all",         // faults.rs, account.rs
    "a different phrase, long enough", // account.rs, faults.rs
    "nineteen characters",
    "an entirely new passphrase",     // flow.py
    "a brand new browser passphrase", // browser.py
    // authctl.rs: set, and refused (short, common, containing the username)
    "an operator's reset passphrase",
    "sh0rt-pa55",
    "qazwsxedcrfvtgb",
    "Carol picked carol as a password",
    // secrets of the harness (http.rs) and of each test file
    ACCESS_SECRET,
    REFRESH_SECRET,
    "authorizer-test-access-secret-0123456789abcdef",
    "authorizer-test-refresh-secret-0123456789abc",
    "another-access-secret-0123456789abcdefghijk",
    "another-access-secret-0123456789abcdefgh",
    "another-refresh-secret-0123456789abcdefg",
    "short-but-secret-value",
    "store-access-secret-0123456789abcdefghij",
    "store-refresh-secret-0123456789abcdefghi",
    "template-test-access-secret-0123456789ab",
    "template-test-refresh-secret-0123456789a",
    "it-access-secret-0123456789abcdefghijklmn",
    "it-refresh-secret-0123456789abcdefghijklm",
    // tests/e2e/flow.py: start-up refusals
    "startup-check-access-secret-0123456789abc",
    "startup-check-refresh-secret-0123456789ab",
    "short-SECRET-VALUE-1234",
];

/// Values shorter than this are not searched for (a 5-byte refused
/// password like `short` would match ordinary words).
pub const MIN_NEEDLE: usize = 8;

/// What a line gave away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    /// Three base64url segments whose first decodes to a JSON object.
    Jwt,
    /// A lone base64url segment that decodes to a JSON object (a token's
    /// header or claims without the rest).
    JwtPart,
    /// One of the searched values; the index into the needle list (never
    /// the value itself, so the report does not leak it again).
    Value(usize),
    /// An argon2 PHC string (`$argon2id$...`): a stored password hash,
    /// which lets whoever reads it guess the password offline.
    PasswordHash,
}

/// The first leak in `line`, if any.
pub fn find_leak(line: &str, needles: &[String]) -> Option<Leak> {
    if let Some(i) = needles.iter().position(|n| line.contains(n.as_str())) {
        return Some(Leak::Value(i));
    }
    if has_password_hash(line) {
        return Some(Leak::PasswordHash);
    }
    jwt_shape(line)
}

/// The start of an argon2 PHC string of any variant, as stored
/// (`$argon2id$v=19$m=...`); JSON escapes none of its characters, so one
/// inside a JSON log line is found too.
pub fn has_password_hash(line: &str) -> bool {
    ["$argon2id$", "$argon2i$", "$argon2d$"]
        .iter()
        .any(|prefix| line.contains(prefix))
}

/// JWT-shaped text: within each run of base64url characters and dots, a
/// segment that decodes to a JSON object, followed by a second non-empty
/// segment and a dot (a whole token), or alone and long (a piece of one).
pub fn jwt_shape(line: &str) -> Option<Leak> {
    let is_run = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut found = None;
    for run in line.split(|c: char| !is_run(c)).filter(|r| r.len() >= 4) {
        let parts: Vec<&str> = run.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if !(part.starts_with("ey") && decodes_to_json_object(part)) {
                continue;
            }
            if parts.len() >= i + 3 && !parts[i + 1].is_empty() {
                return Some(Leak::Jwt);
            }
            if part.len() >= 16 {
                found = Some(Leak::JwtPart);
            }
        }
    }
    found
}

fn decodes_to_json_object(segment: &str) -> bool {
    b64url_decode(segment)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.is_object())
}

/// Unpadded base64url, lenient about the unused trailing bits: a scan must
/// find a token's piece even when it was spelled loosely.
const LENIENT_B64URL: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Unpadded base64url (RFC 4648 §5) decoding; `None` for anything else.
fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    LENIENT_B64URL.decode(s).ok()
}

/// The values to search for: [`SENSITIVE`], the long refused passwords of
/// `functions.rs`, every secret or password literal found in the test
/// sources (in case the list falls behind), and the development secrets of
/// the local stacks `scripts/dev` started (`.local/dev*.env`).
pub fn needles(root: &Path) -> Vec<String> {
    let mut all: Vec<String> = SENSITIVE.iter().map(|s| (*s).to_owned()).collect();
    all.push("x".repeat(257));
    all.push("p".repeat(64));
    for file in test_sources(root) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            all.extend(literals(&text));
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join(".local")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("dev") && name.ends_with(".env") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                for line in text.lines() {
                    let Some((k, v)) = line.split_once('=') else {
                        continue;
                    };
                    // Values are written double-quoted, PEM newlines as `\n`.
                    let v = v.trim().trim_matches('"');
                    if k.starts_with("JWT_") && k.contains("SECRET") && !v.is_empty() {
                        all.push(v.to_owned());
                    }
                    if k.contains("PRIVATE_KEY") {
                        all.extend(pem_body_lines(&v.replace("\\n", "\n")));
                    }
                }
            }
        }
    }
    // The private keys of the tests: every line of their PEM bodies.
    for pem in [
        testkit::fixed::ES_PRIVATE_KEY.as_str(),
        testkit::fixed::ES_PRIVATE_KEY_2.as_str(),
        testkit::fixed::P384_PRIVATE_KEY.as_str(),
        testkit::fixed::SEC1_PRIVATE_KEY.as_str(),
    ] {
        all.extend(pem_body_lines(pem));
    }
    all.retain(|n| n.len() >= MIN_NEEDLE);
    all.sort();
    all.dedup();
    all
}

/// The base64 lines of a PEM text, without its armour: each one alone is
/// enough to recognise a key in a log line.
fn pem_body_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

/// The test sources whose literals count: the tests crate and the e2e
/// scripts (not this file: its own test fixtures are made up).
pub fn test_sources(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (dir, ext) in [
        ("tests/tests", "rs"),
        ("tests/src", "rs"),
        ("tests/benches", "rs"),
        ("tests/e2e", "py"),
    ] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == ext))
                    .filter(|p| !p.ends_with("tests/src/leaks.rs")),
            );
        }
    }
    files.sort();
    files
}

/// Secret and password literals in a source file: the value of a
/// `"password": "…"` pair (or the fixed start of a `format!` one), of a
/// `PASSWORD… = "…"` constant, and any dashed literal containing `secret`
/// (the shape every test secret has; variable names have no dash).
pub fn literals(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        for (key, _) in line.match_indices("\"password\":") {
            let rest = line[key + 11..].trim_start();
            let rest = rest.strip_prefix("format!(").unwrap_or(rest);
            if let Some(lit) = rest.strip_prefix('"') {
                let end = lit.find(['"', '{']).unwrap_or(lit.len());
                out.push(lit[..end].to_owned());
            }
        }
        if let Some(at) = line.find("PASSWORD") {
            let after = &line[at..];
            let after = after.split_once('=').map_or("", |(_, v)| v).trim_start();
            if let Some(lit) = after.strip_prefix('"') {
                out.push(lit.split('"').next().unwrap_or_default().to_owned());
            }
        }
        for (i, lit) in line.split('"').enumerate() {
            let inside = i % 2 == 1;
            if inside
                && lit.contains('-')
                && lit.to_ascii_lowercase().contains("secret")
                && lit
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            {
                out.push(lit.to_owned());
            }
        }
    }
    out.retain(|l| !l.is_empty());
    out
}

/// Lines of one source.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub files: usize,
    pub lines: usize,
    /// Lines that are JSON objects: the functions' own log lines.
    pub json: usize,
}

/// What a scan found, per source (a file name without its pid).
#[derive(Debug, Default)]
pub struct Report {
    pub sources: BTreeMap<String, Count>,
    /// (file, line number, what leaked)
    pub leaks: Vec<(PathBuf, usize, Leak)>,
}

impl Report {
    pub fn total(&self) -> Count {
        self.sources.values().fold(Count::default(), |t, c| Count {
            files: t.files + c.files,
            lines: t.lines + c.lines,
            json: t.json + c.json,
        })
    }
}

/// The source a log file belongs to: its name without the extension and a
/// trailing `-<number>` (pid or port): `functions-1234.jsonl` → `functions`,
/// `e2e-stack-41234.log` → `e2e-stack`.
pub fn source_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => name.into(),
        _ => stem,
    }
}

/// Scans every line of every file in `dir` for `needles` and JWT shapes.
pub fn scan_dir(dir: &Path, needles: &[String]) -> std::io::Result<Report> {
    let mut report = Report::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file)?;
        let text = String::from_utf8_lossy(&bytes);
        let entry = report.sources.entry(source_of(&file)).or_default();
        entry.files += 1;
        for (n, line) in text.lines().enumerate() {
            entry.lines += 1;
            if line.starts_with('{') && serde_json::from_str::<serde_json::Value>(line).is_ok() {
                entry.json += 1;
            }
            if let Some(leak) = find_leak(line, needles) {
                report.leaks.push((file.clone(), n + 1, leak));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;

    /// A real access token of the harness's configuration.
    fn a_token() -> String {
        token::AccessIssuer::from_source(&crate::http::vars(&[]))
            .unwrap()
            .issue("user-1", "s1", &["user".into()], 1_800_000_000)
            .unwrap()
            .token
    }

    fn line(field: &str) -> String {
        format!(
            r#"{{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"login","detail":"{field}"}}"#
        )
    }

    fn needles() -> Vec<String> {
        super::needles(&workspace_root())
    }

    #[test]
    fn a_planted_token_is_caught() {
        let t = a_token();
        assert_eq!(find_leak(&line(&t), &needles()), Some(Leak::Jwt));
        assert_eq!(
            find_leak(&line(&format!("Bearer {t}")), &needles()),
            Some(Leak::Jwt)
        );
        let cookie = format!("refresh_token={t}; HttpOnly");
        assert_eq!(find_leak(&line(&cookie), &needles()), Some(Leak::Jwt));
    }

    #[test]
    fn a_piece_of_a_token_is_caught() {
        let t = a_token();
        let mut parts = t.split('.');
        let (header, claims) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(jwt_shape(&line(claims)), Some(Leak::JwtPart));
        assert_eq!(jwt_shape(&line(header)), Some(Leak::JwtPart));
        let unsigned = format!("{header}.{claims}.");
        assert_eq!(jwt_shape(&line(&unsigned)), Some(Leak::Jwt));
    }

    #[test]
    fn a_planted_secret_is_caught() {
        let n = needles();
        for secret in [
            ACCESS_SECRET,
            REFRESH_SECRET,
            "startup-check-access-secret-0123456789abc",
        ] {
            let at = n.iter().position(|x| x == secret).unwrap();
            assert_eq!(
                find_leak(&line(&format!("key {secret} used")), &n),
                Some(Leak::Value(at))
            );
        }
    }

    #[test]
    fn a_planted_password_is_caught() {
        let n = needles();
        let hit = find_leak(&line(PASSWORD), &n).unwrap();
        assert_eq!(
            hit,
            Leak::Value(n.iter().position(|x| x == PASSWORD).unwrap())
        );
        assert!(find_leak(&line("wrong guess number 3"), &n).is_some());
    }

    #[test]
    fn a_development_secret_of_the_local_stack_is_caught() {
        let dir = std::env::temp_dir().join(format!("leaks-dev-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".local")).unwrap();
        let secret = "generatedDevSecretXyz0123456789abcdefghijkl";
        std::fs::write(
            dir.join(".local/dev-9000.env"),
            format!("JWT_ACCESS_SECRET={secret}\nJWT_ISSUER=http://127.0.0.1:9000\n"),
        )
        .unwrap();
        let n = super::needles(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(n.iter().any(|x| x == secret));
        assert!(
            !n.iter().any(|x| x.contains("127.0.0.1")),
            "only secrets count"
        );
    }

    #[test]
    fn a_password_hash_is_caught() {
        let n = needles();
        let phc = password::hash("a password nobody used").unwrap();
        assert_eq!(find_leak(&line(&phc), &n), Some(Leak::PasswordHash));
        let as_json = serde_json::json!({"user": {"password_hash": phc}}).to_string();
        assert_eq!(find_leak(&as_json, &n), Some(Leak::PasswordHash));
        for variant in [
            "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
            "$argon2d$v=16$...",
        ] {
            assert_eq!(find_leak(&line(variant), &n), Some(Leak::PasswordHash));
        }
        assert_eq!(find_leak(&line("argon2id hashing took 41 ms"), &n), None);
    }

    #[test]
    fn ordinary_log_lines_pass() {
        let n = needles();
        for ok in [
            r#"{"level":"INFO","event":"login_success","sub":"0b8e6f0c6f5d4f7e9a1b2c3d4e5f6a7b","sid":"6f0c6f5d4f7e9a1b2c3d4e5f6a7b0b8e","message":"login"}"#,
            r#"{"level":"ERROR","error":"JWT_ACCESS_SECRET must be at least 32 bytes (not counting surrounding whitespace)","message":"refusing to start: invalid configuration"}"#,
            r#"{"level":"INFO","decision":"deny","reason":"malformed token","route":"GET /me","message":"authorizer decision"}"#,
            "   Compiling serde_json v1.0.140 (registry+https://github.com/rust-lang/crates.io-index)",
            "INFO invoke server listening on 127.0.0.1:9000 example.com.eu-west-1.amazonaws.com",
        ] {
            assert_eq!(find_leak(ok, &n), None, "{ok}");
        }
    }

    #[test]
    fn base64url_decoding_refuses_the_standard_alphabet() {
        assert_eq!(b64url_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(b64url_decode("a+b/"), None);
    }

    #[test]
    fn sources_are_named_without_pid_or_port() {
        assert_eq!(source_of(Path::new("/x/functions-1234.jsonl")), "functions");
        assert_eq!(source_of(Path::new("/x/e2e-stack-41234.log")), "e2e-stack");
        assert_eq!(source_of(Path::new("/x/e2e-startup.log")), "e2e-startup");
    }

    /// Every secret or password literal in the test sources is in
    /// [`SENSITIVE`] (or starts with an entry, for `format!` prefixes):
    /// a test that sends a new one must list it.
    #[test]
    fn every_literal_secret_and_password_of_the_tests_is_listed() {
        let root = workspace_root();
        let files = test_sources(&root);
        assert!(files.iter().any(|f| f.ends_with("tests/e2e/flow.py")));
        let mut missing = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for lit in literals(&text) {
                if lit.len() >= MIN_NEEDLE && !SENSITIVE.iter().any(|s| lit.starts_with(s)) {
                    missing.push(format!("{}: {lit}", file.display()));
                }
            }
        }
        assert!(missing.is_empty(), "add to leaks::SENSITIVE: {missing:#?}");
    }

    #[test]
    fn literals_are_found_in_rust_and_python() {
        let rust = r#"const PASSWORD: &str = "a long password";
            json!({"username": "u", "password": "another password"});
            json!({"username": "u", "password": format!("guess {i}")});
            ("JWT_ACCESS_SECRET", "my-secret-0123"),"#;
        assert_eq!(
            literals(rust),
            [
                "a long password",
                "another password",
                "guess ",
                "my-secret-0123"
            ]
        );
        let py = r#"PASSWORD = "py password"
    short = "short-SECRET-VALUE-1234"
    request(url, {"username": user, "password": "wrong one"})"#;
        assert_eq!(
            literals(py),
            ["py password", "short-SECRET-VALUE-1234", "wrong one"]
        );
    }
}
