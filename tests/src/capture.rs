//! Every log line the functions write during the test suite, kept for the
//! leak scan (`scan-logs`, the last step of `make test`).
//!
//! The first [`Ctx`](crate::Ctx) (or [`capture_logs`] call) of a test binary
//! installs the production JSON subscriber (`logging::subscriber_with`, with
//! the CloudWatch metrics of [`METRICS_NAMESPACE`], so every audit line of
//! the suite carries its EMF members and the leak scan covers them too) as
//! the process-wide one, writing to `target/test-logs/<binary>-<pid>.jsonl`.
//! Tests that want to read the lines themselves
//! ([`CapturedLogs`](crate::http::CapturedLogs)) get a copy of every line
//! written after they asked, so one global subscriber serves both.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Where every producer of test logs writes: the Rust test binaries here,
/// `tests/e2e/flow.py` (the local stack's output and the start-up refusals)
/// beside them. `$CARGO_TARGET_DIR/test-logs`, else `target/test-logs` in
/// the workspace; `make unit` empties it first.
pub fn log_dir() -> PathBuf {
    crate::target_dir().join("test-logs")
}

/// The namespace of the captured lines' metrics (`METRICS_NAMESPACE`).
pub const METRICS_NAMESPACE: &str = "ServerlessAuthTests";

type Buffer = Arc<Mutex<Vec<u8>>>;

/// This process's log file (none if it could not be opened: the scan's
/// floor then fails the run).
static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
/// Buffers of tests reading along.
static READERS: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());
/// Whether our subscriber is the process-wide one.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Installs the capturing subscriber once per process; later calls do
/// nothing. Returns whether it is the process-wide subscriber (false only
/// when something else installed one first).
pub fn capture_logs() -> bool {
    *INSTALLED.get_or_init(|| {
        FILE.get_or_init(|| {
            open_file()
                .map_err(|e| eprintln!("test logs are not kept ({e}); scan-logs will fail"))
                .ok()
                .map(Mutex::new)
        });
        let settings =
            logging::Settings::with_namespace(METRICS_NAMESPACE).expect("a valid namespace");
        tracing::subscriber::set_global_default(logging::subscriber_with(|| Writer, &settings))
            .is_ok()
    })
}

/// Also copies every line logged from now on into `buffer`.
pub(crate) fn read_along(buffer: Buffer) -> bool {
    if let Ok(mut readers) = READERS.lock() {
        readers.push(buffer);
    }
    capture_logs()
}

/// `<binary>-<pid>.jsonl`, the binary without cargo's hash suffix (so
/// `functions`, `logs`, ...), appended to.
fn open_file() -> std::io::Result<File> {
    let dir = log_dir();
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem,
    };
    let path = dir.join(format!("{name}-{}.jsonl", std::process::id()));
    OpenOptions::new().create(true).append(true).open(path)
}

/// The subscriber formats each event whole and writes it in one call: one
/// line to the file (appended under a lock) and to every reader.
struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(Some(file)) = FILE.get()
            && let Ok(mut f) = file.lock()
        {
            f.write_all(buf)?;
        }
        if let Ok(readers) = READERS.lock() {
            for r in readers.iter() {
                if let Ok(mut b) = r.lock() {
                    b.extend_from_slice(buf);
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
