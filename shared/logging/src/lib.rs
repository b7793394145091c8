//! JSON logs to stdout, one object per line, for CloudWatch, the same for
//! every function. The same
//! subscriber is built by tests with a capturing writer, so what they scan is
//! exactly what production would print.
//!
//! With `METRICS_NAMESPACE` set, the audit lines also carry a CloudWatch
//! metric in the Embedded Metric Format ([`metrics`]), on the same line.

pub mod audit;
pub mod metrics;

pub use audit::Audit;

use config::ConfigError;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::fmt::time::FormatTime;

use crate::metrics::{NAMESPACE_VAR, Namespace};

/// What the log subscriber is configured with: the CloudWatch namespace of
/// the audit metrics, or none (plain lines). Read at cold start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    namespace: Option<Namespace>,
}

impl Settings {
    /// `METRICS_NAMESPACE`: unset or blank is no metrics; anything else must
    /// be a valid CloudWatch namespace ([`Namespace`]) or the function
    /// refuses to start.
    pub fn from_source(src: &impl config::Source) -> Result<Settings, ConfigError> {
        let namespace = config::optional(src, NAMESPACE_VAR)
            .map(|v| Self::valid(&v))
            .transpose()?;
        Ok(Settings { namespace })
    }

    /// Metrics in `namespace` (benches, tests); refused as
    /// [`from_source`](Self::from_source) would, and blank is refused too.
    pub fn with_namespace(namespace: &str) -> Result<Settings, ConfigError> {
        if namespace.trim().is_empty() {
            return Err(ConfigError::Empty { var: NAMESPACE_VAR });
        }
        Ok(Settings {
            namespace: Some(Self::valid(namespace)?),
        })
    }

    /// The namespace of the metrics, if they are on.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_ref().map(Namespace::as_str)
    }

    fn valid(value: &str) -> Result<Namespace, ConfigError> {
        Namespace::new(value).ok_or(ConfigError::Invalid {
            var: NAMESPACE_VAR,
            expected: Namespace::EXPECTED,
        })
    }
}

/// The JSON subscriber, writing to `writer`, without metrics.
pub fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber_with(writer, &Settings::default())
}

/// The JSON subscriber, writing to `writer`, with the audit metrics of
/// `settings` on the lines they count ([`metrics`]).
pub fn subscriber_with<W>(writer: W, settings: &Settings) -> impl Subscriber + Send + Sync + use<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(writer, settings, tracing_subscriber::fmt::time::SystemTime)
}

/// The one construction, its clock a parameter so tests can fix it.
fn build<W, T>(
    writer: W,
    settings: &Settings,
    timer: T,
) -> impl Subscriber + Send + Sync + use<W, T>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    T: FormatTime + Send + Sync + 'static,
{
    let json = tracing_subscriber::fmt::format()
        .json()
        .with_timer(timer)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true);
    tracing_subscriber::fmt()
        .fmt_fields(JsonFields::new())
        .event_format(metrics::Emf::new(json, settings.namespace.as_ref()))
        .with_writer(writer)
        .with_max_level(tracing::Level::INFO)
        .finish()
}

/// Installs the JSON subscriber on stdout for the process (cold start), with
/// the metrics `METRICS_NAMESPACE` asks for. An invalid namespace refuses
/// the start (after installing a plain subscriber to say so).
pub fn init() {
    match Settings::from_source(&config::Env) {
        Ok(settings) => {
            let _ = tracing::subscriber::set_global_default(subscriber_with(
                std::io::stdout,
                &settings,
            ));
        }
        Err(error) => {
            let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
            refuse_start(&error)
        }
    }
}

/// Logs why a function refuses to start and exits with status 1.
/// Configuration errors name the variable and never carry its value.
pub fn refuse_start(error: &dyn std::fmt::Display) -> ! {
    tracing::error!(error = %error, "refusing to start: invalid configuration");
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::format::Writer;

    use super::*;

    /// A fixed clock: lines of two subscribers compare byte for byte.
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
            w.write_str("2026-01-01T00:00:00.000000Z")
        }
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// The subscriber as it was built before metrics existed.
    fn before(lines: Lines) -> impl Subscriber + Send + Sync {
        tracing_subscriber::fmt()
            .json()
            .with_timer(Fixed)
            .with_writer(move || lines.clone())
            .with_max_level(tracing::Level::INFO)
            .with_target(false)
            .with_current_span(false)
            .with_span_list(false)
            .flatten_event(true)
            .finish()
    }

    fn ours(lines: Lines, namespace: Option<&str>) -> impl Subscriber + Send + Sync {
        let settings = namespace.map_or_else(Settings::default, |ns| {
            Settings::with_namespace(ns).unwrap()
        });
        build(move || lines.clone(), &settings, Fixed)
    }

    /// One event of each kind the functions log, mapped or not.
    fn log_all() {
        tracing::info!(
            event = "login_failure",
            sub = "u-1",
            reason = "wrong_password",
            "login refused"
        );
        tracing::info!(
            event = "refresh_refused",
            reason = "expired",
            "refresh refused"
        );
        tracing::info!(
            event_shape = "http_api",
            decision = "allow",
            sub = "u-1",
            jti = "j-1",
            "authorizer decision"
        );
        tracing::info!(decision = "deny", reason = %"malformed_token", "authorizer decision");
        tracing::info!(detail = "quote \" and \\ and }", "no audit fields at all");
        tracing::warn!(
            event = "lockout",
            sub = "u-2",
            until = 1_800_000_000u64,
            "locked"
        );
        tracing::error!(error = "boom", "refusing to start: invalid configuration");
        tracing::debug!(event = "register", "below the level: not written");
    }

    fn run(sub: impl Subscriber + Send + Sync, lines: &Lines) -> Vec<String> {
        tracing::subscriber::with_default(sub, log_all);
        lines.text().lines().map(str::to_owned).collect()
    }

    #[test]
    fn without_a_namespace_every_line_is_as_before() {
        let (a, b) = (Lines::default(), Lines::default());
        let old = run(before(a.clone()), &a);
        let new = run(ours(b.clone(), None), &b);
        assert_eq!(old.len(), 7);
        assert_eq!(old, new);
        assert!(!b.text().contains("_aws"));
    }

    #[test]
    fn with_a_namespace_unmapped_lines_are_unchanged_and_mapped_ones_gain_the_metric_only() {
        let (a, b) = (Lines::default(), Lines::default());
        let old = run(before(a.clone()), &a);
        let new = run(ours(b.clone(), Some("ServerlessAuth")), &b);
        assert_eq!(old.len(), new.len());
        let metrics: Vec<Option<&str>> = vec![
            Some("LoginFailure"),
            None,
            None,
            Some("AuthorizerDeny"),
            None,
            Some("Lockout"),
            None,
        ];
        for ((old, new), metric) in old.iter().zip(&new).zip(metrics) {
            let Some(metric) = metric else {
                assert_eq!(old, new, "an unmapped line changed");
                continue;
            };
            // The old line, its closing brace replaced by the two members.
            let open = old.strip_suffix('}').unwrap();
            let added = new
                .strip_prefix(open)
                .expect("the old members, unchanged, first");
            let added: Value = serde_json::from_str(&format!("{{{}", &added[1..])).unwrap();
            let added = added.as_object().unwrap();
            assert_eq!(added.len(), 2, "only _aws and the metric: {added:?}");
            assert_eq!(added[metric], 1);
            let aws = &added["_aws"];
            assert!(aws["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
            assert_eq!(
                aws["CloudWatchMetrics"],
                serde_json::json!([{
                    "Namespace": "ServerlessAuth",
                    "Dimensions": [[]],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }])
            );
            // And the whole line is one JSON object with every member.
            let line: Value = serde_json::from_str(new).unwrap();
            let before: Value = serde_json::from_str(old).unwrap();
            for (k, v) in before.as_object().unwrap() {
                assert_eq!(&line[k], v);
            }
            assert_eq!(line[metric], 1);
        }
    }

    #[test]
    fn the_metric_members_are_built_from_constants_and_the_namespace_only() {
        let lines = Lines::default();
        let secret = "a-token-or-password-that-must-not-move";
        tracing::subscriber::with_default(ours(lines.clone(), Some("ServerlessAuth")), || {
            tracing::info!(event = "logout", detail = secret, "logout");
        });
        let text = lines.text();
        assert_eq!(
            text.matches(secret).count(),
            1,
            "only where the event put it"
        );
        let line: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert!(!line["_aws"].to_string().contains(secret));
        assert_eq!(line["Logout"], 1);
    }

    #[test]
    fn settings_read_the_namespace_and_refuse_invalid_ones() {
        let src = |v: &'static str| HashMap::from([("METRICS_NAMESPACE", v)]);
        assert_eq!(
            Settings::from_source(&HashMap::<&str, &str>::new()),
            Ok(Settings::default())
        );
        assert_eq!(Settings::from_source(&src("  ")).unwrap().namespace(), None);
        assert_eq!(
            Settings::from_source(&src(" ServerlessAuth "))
                .unwrap()
                .namespace(),
            Some("ServerlessAuth")
        );
        for bad in ["AWS/Lambda", "has\"quote", "ünïcode", ":x"] {
            let err = Settings::from_source(&src(bad)).unwrap_err();
            assert!(matches!(
                err,
                ConfigError::Invalid {
                    var: "METRICS_NAMESPACE",
                    ..
                }
            ));
            assert!(!err.to_string().contains(bad), "the value is not echoed");
        }
        let long: &'static str = "n".repeat(256).leak();
        assert!(Settings::from_source(&src(long)).is_err());
        assert_eq!(
            Settings::with_namespace(" "),
            Err(ConfigError::Empty {
                var: "METRICS_NAMESPACE"
            })
        );
    }
}
