//! The last step of `make test`: every log line the test suite produced
//! (`target/test-logs/`: the Rust test binaries' JSON lines, the local
//! stack's output, the start-up refusals of `tests/e2e/flow.py` and what
//! `authctl` printed) must hold no JWT-shaped text, no argon2 password hash
//! and no secret or password the tests used.
//!
//! ```text
//! scan-logs [--require SOURCE:MIN_JSON_LINES]... [--min-lines N]
//! ```
//!
//! Fails when a source named by `--require` (a file name without its
//! `-<pid>` or `-<port>` and extension) holds fewer JSON log lines than its
//! floor, or all files together fewer lines than `--min-lines`, so that a
//! broken capture cannot pass for a clean one. `make unit` empties the
//! directory first, so stale files do not count.

use std::process::ExitCode;

use integration_tests::capture::log_dir;
use integration_tests::leaks::{self, Count, Leak};
use integration_tests::workspace_root;

fn main() -> ExitCode {
    let dir = log_dir();
    let mut args = std::env::args().skip(1);
    let mut required: Vec<(String, usize)> = Vec::new();
    let mut min_lines = 1;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--require" => {
                let spec = args.next().unwrap_or_default();
                match spec.rsplit_once(':').map(|(s, n)| (s, n.parse())) {
                    Some((source, Ok(n))) => required.push((source.to_owned(), n)),
                    _ => return usage(&format!("--require {spec}")),
                }
            }
            "--min-lines" => match args.next().map(|n| n.parse()) {
                Some(Ok(n)) => min_lines = n,
                _ => return usage("--min-lines"),
            },
            other => return usage(other),
        }
    }

    let needles = leaks::needles(&workspace_root());
    let report = match leaks::scan_dir(&dir, &needles) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scan-logs: cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "scan-logs: {} ({} values searched for, and JWT shapes)",
        dir.display(),
        needles.len()
    );
    let row = |name: &str, c: &Count| {
        println!(
            "  {name:<16} {:>3} files {:>8} lines {:>8} JSON log lines",
            c.files, c.lines, c.json
        );
    };
    for (source, count) in &report.sources {
        row(source, count);
    }
    let total = report.total();
    row("total", &total);

    let mut failed = false;
    for (file, line, leak) in &report.leaks {
        // Never the value itself: the report must not leak it again.
        let what = match leak {
            Leak::Jwt => "a JWT".to_owned(),
            Leak::JwtPart => "part of a JWT (base64url JSON)".to_owned(),
            Leak::Value(i) => format!("a test secret or password ({} bytes)", needles[*i].len()),
            Leak::PasswordHash => "an argon2 password hash".to_owned(),
        };
        eprintln!("LEAK {}:{line}: {what}", file.display());
        failed = true;
    }
    for (source, floor) in &required {
        let json = report.sources.get(source).map_or(0, |c| c.json);
        if json < *floor {
            eprintln!(
                "scan-logs: {source} logged {json} JSON lines, fewer than {floor}: is its capture broken?"
            );
            failed = true;
        }
    }
    if total.lines < min_lines {
        eprintln!(
            "scan-logs: {} lines in all, fewer than {min_lines}",
            total.lines
        );
        failed = true;
    }
    if failed {
        return ExitCode::FAILURE;
    }
    println!(
        "scan-logs: no token, secret or password in {} lines",
        total.lines
    );
    ExitCode::SUCCESS
}

fn usage(bad: &str) -> ExitCode {
    eprintln!(
        "scan-logs: bad argument {bad}\nusage: scan-logs [--require SOURCE:MIN_JSON_LINES]... [--min-lines N]"
    );
    ExitCode::from(2)
}
