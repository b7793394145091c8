//! JSON logs to stdout, one object per line, for CloudWatch, the same for
//! every function. The same
//! subscriber is built by tests with a capturing writer, so what they scan is
//! exactly what production would print.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;

/// The JSON subscriber, writing to `writer`.
pub fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .finish()
}

/// Installs the JSON subscriber on stdout for the process (cold start).
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// Logs why a function refuses to start and exits with status 1.
/// Configuration errors name the variable and never carry its value.
pub fn refuse_start(error: &dyn std::fmt::Display) -> ! {
    tracing::error!(error = %error, "refusing to start: invalid configuration");
    std::process::exit(1)
}
