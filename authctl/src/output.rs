//! What a command prints: aligned `key: value` lines or a small table for
//! people, one JSON document for `--json`. A user is shown from a chosen
//! set of fields, so the password hash cannot slip in; text that others
//! wrote (a session's user agent) is printed with control characters
//! escaped, so it cannot move the operator's cursor or recolour the
//! terminal.

use std::time::{Duration, UNIX_EPOCH};

use accounts::{Session, User};
use serde_json::{Value, json};

/// A command's result, in both forms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    pub text: String,
    pub json: Value,
}

impl Report {
    /// Prints it: the JSON document on one line, or the text.
    pub(crate) fn print(&self, out: &mut dyn std::io::Write, json: bool) -> std::io::Result<()> {
        if json {
            writeln!(out, "{}", self.json)
        } else {
            write!(out, "{}", self.text)
        }
    }
}

/// `key: value` lines, the values aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$}  {v}\n", format!("{k}:")))
        .collect()
}

/// A table with a header row, columns padded to their widest cell; the
/// last column is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Epoch seconds as RFC 3339 UTC (`2026-05-01T10:00:00Z`).
pub(crate) fn time(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// Text someone else chose, safe to print to a terminal.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Roles as one line.
pub(crate) fn roles(roles: &[String]) -> String {
    if roles.is_empty() {
        "(none)".to_owned()
    } else {
        clean(&roles.join(", "))
    }
}

/// A user's JSON form: never the hash. `sessions`, when counted.
pub(crate) fn user_json(user: &User, sessions: Option<usize>, now: u64) -> Value {
    let mut v = json!({
        "user_id": user.user_id,
        "username": user.username,
        "roles": user.roles,
        "created_at": user.created_at,
        "disabled": user.disabled,
        "deleting": user.deleting,
        "version": user.version,
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_for(now).map(|_| user.locked_until),
    });
    if let Some(n) = sessions {
        v["sessions"] = json!(n);
    }
    v
}

/// A user's text form: never the hash. `sessions`, when counted.
pub(crate) fn user_text(user: &User, sessions: Option<usize>, now: u64) -> String {
    let mut pairs = vec![
        ("user_id", user.user_id.clone()),
        ("username", clean(&user.username)),
        ("roles", roles(&user.roles)),
        ("created_at", time(user.created_at)),
        (
            "disabled",
            match (user.disabled, user.deleting) {
                (_, true) => format!(
                    "yes, by a deletion that did not finish (run authctl users delete {} again)",
                    clean(&user.username)
                ),
                (true, false) => "yes".to_owned(),
                (false, false) => "no".to_owned(),
            },
        ),
        ("version", user.version.to_string()),
        ("failed_logins", user.failed_logins.to_string()),
    ];
    if let Some(left) = user.locked_for(now) {
        pairs.push((
            "locked_until",
            format!(
                "{} (in {})",
                time(user.locked_until),
                humantime::format_duration(Duration::from_secs(left))
            ),
        ));
    }
    if let Some(n) = sessions {
        pairs.push(("sessions", n.to_string()));
    }
    fields(&pairs)
}

/// One session's JSON form; the names are the HTTP API's
/// (`GET /auth/sessions`), and the roles it will refresh with.
pub(crate) fn session_json(s: &Session) -> Value {
    json!({
        "sid": s.sid,
        "created_at": s.created_at,
        "last_used_at": s.rotated_at,
        "expires_at": s.expires_at,
        "roles": s.roles,
        "user_agent": s.user_agent,
        "source_ip": s.source_ip,
    })
}

/// The sessions table for people.
pub(crate) fn sessions_text(sessions: &[Session]) -> String {
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.sid.clone(),
                time(s.created_at),
                time(s.rotated_at),
                time(s.expires_at),
                roles(&s.roles),
                s.source_ip.as_deref().map_or_else(|| "-".to_owned(), clean),
                s.user_agent
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), clean),
            ]
        })
        .collect();
    table(
        &[
            "SID",
            "CREATED",
            "LAST USED",
            "EXPIRES",
            "ROLES",
            "SOURCE IP",
            "USER AGENT",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            user_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            username: "alice".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            roles: vec!["admin".into(), "user".into()],
            created_at: 1_777_629_600,
            disabled: false,
            deleting: false,
            password_set_by: None,
            version: 3,
            failed_logins: 2,
            failed_since: 0,
            locked_until: 1_777_630_000,
            last_attempt: 0,
        }
    }

    #[test]
    fn a_user_is_never_shown_with_its_hash() {
        let u = user();
        for shown in [
            user_text(&u, Some(2), 0),
            user_json(&u, Some(2), 0).to_string(),
        ] {
            assert!(!shown.contains("argon2"), "{shown}");
            assert!(!shown.contains("hash"), "{shown}");
        }
    }

    #[test]
    fn user_fields_are_aligned_and_a_lock_shows_while_it_lasts() {
        let u = user();
        let text = user_text(&u, Some(2), 1_777_629_700);
        assert!(text.contains("user_id:        0f8fad5b"), "{text}");
        assert!(text.contains("roles:          admin, user\n"), "{text}");
        assert!(
            text.contains("created_at:     2026-05-01T10:00:00Z\n"),
            "{text}"
        );
        assert!(
            text.contains("locked_until:   2026-05-01T10:06:40Z (in 5m"),
            "{text}"
        );
        assert!(text.contains("sessions:       2\n"), "{text}");
        let json = user_json(&u, None, 1_777_629_700);
        assert_eq!(json["locked_until"], 1_777_630_000);
        assert!(json.get("sessions").is_none());
        let later = user_json(&u, None, 1_777_640_000);
        assert_eq!(later["locked_until"], Value::Null);
        assert!(!user_text(&u, None, 1_777_640_000).contains("locked"));
    }

    #[test]
    fn a_table_pads_every_column_but_the_last() {
        let t = table(
            &["A", "LONGER", "LAST"],
            &[vec!["wide cell".into(), "x".into(), "end".into()]],
        );
        assert_eq!(t, "A          LONGER  LAST\nwide cell  x       end\n");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            clean("Mozilla/5.0 \u{1b}[31mred"),
            "Mozilla/5.0 \\u{1b}[31mred"
        );
        assert_eq!(clean("tab\there"), "tab\\there");
        assert_eq!(clean("plain ünïcode"), "plain ünïcode");
    }
}
