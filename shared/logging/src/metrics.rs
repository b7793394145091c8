//! CloudWatch metrics on the audit log lines, in the Embedded Metric Format
//! (EMF): CloudWatch Logs extracts a metric from any JSON log line that
//! carries an `_aws` member describing it, so counting a login failure costs
//! no API call, no extra line and no per-invocation flush.
//!
//! A mapped line (see [`metric_for`]) keeps every member it had and gains
//! two at its end, for example:
//!
//! ```text
//! {...,"event":"login_failure",...,"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"ServerlessAuth","Dimensions":[[]],"Metrics":[{"Name":"LoginFailure","Unit":"Count"}]}]},"LoginFailure":1}
//! ```
//!
//! A count of 1, no dimensions (the specification allows an empty
//! DimensionSet: `[[]]` publishes the metric under its name alone), the
//! namespace from `METRICS_NAMESPACE`. Every other line is written exactly as
//! without metrics, byte for byte. Nothing from the event is copied into the
//! added members: they are built from constants and the namespace only, so
//! no field value (a token, a password) can reach them.
//!
//! # Why not `metrics_cloudwatch_embedded`
//!
//! The registry's EMF crate (`metrics_cloudwatch_embedded` 0.10) is a
//! backend for the `metrics` facade: counters go into a global recorder
//! (behind a mutex) and a `flush` writes them as a separate JSON document,
//! per invocation, through its Lambda runtime wrapper (`tower` service or its
//! own `run`), or from a background auto-flush task. We need the opposite
//! shape: the metric on the *same* line as the audit event (so the line that
//! explains a `RefreshReuseDetected` is the one that counted it), nothing
//! aggregated across requests, and no extra machinery per invocation in the
//! authorizer, whose whole decision costs a few microseconds. It would also
//! pull in `metrics`, `tokio` time, `bytes` and `futures` for what is here a
//! fixed string per metric. So this module is a small typed writer instead: a
//! [`FormatEvent`] wrapper around the JSON formatter.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::audit::Audit;

/// The variable naming the CloudWatch namespace; unset or blank: no metrics.
pub const NAMESPACE_VAR: &str = "METRICS_NAMESPACE";

/// The unit of every metric here (a value of 1 per line).
pub const UNIT: &str = "Count";

/// The metric a log line counts when its field `field` (`event` or
/// `decision`) has the string value `value`; `None` for every other field
/// or value.
pub fn metric_for(field: &str, value: &str) -> Option<&'static str> {
    Audit::of(field, value).and_then(Audit::metric)
}

/// Index into [`Audit::metrics`] of the metric a field value maps to.
fn metric_index(field: &str, value: &str) -> Option<usize> {
    let metric = metric_for(field, value)?;
    Audit::metrics().position(|m| m == metric)
}

/// A CloudWatch namespace as CloudWatch accepts it: 1 to 255 characters of
/// `A-Z a-z 0-9 . - _ / # :` and space, not starting with `:` (the API's
/// pattern) nor with `AWS/` (reserved for AWS services), no surrounding
/// whitespace. None of these characters needs escaping in JSON, so the
/// namespace is written into the line as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// What a namespace must look like, for the refusal message.
    pub const EXPECTED: &'static str = "a CloudWatch namespace: 1 to 255 characters of A-Z a-z 0-9 . - _ / # : and space, \
         not starting with ':' or 'AWS/'";

    /// `value` trimmed, if it is a valid namespace.
    pub fn new(value: &str) -> Option<Self> {
        let v = value.trim();
        let allowed = |c: char| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#' | ':' | ' ')
        };
        let ok = !v.is_empty()
            && v.len() <= 255
            && v.chars().all(allowed)
            && !v.starts_with(':')
            && !v.starts_with("AWS/");
        ok.then(|| Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The JSON formatter `F`, plus the EMF members on the lines that map to a
/// metric when a namespace is configured. Without a namespace it is `F`.
pub(crate) struct Emf<F> {
    inner: F,
    /// Per metric of [`Audit::metrics`], what follows the timestamp: the rest
    /// of `_aws`, the metric's value, the closing brace and the newline.
    /// Empty without a namespace.
    tails: Vec<Box<str>>,
}

const AWS_HEAD: &str = r#""_aws":{"Timestamp":"#;

impl<F> Emf<F> {
    pub(crate) fn new(inner: F, namespace: Option<&Namespace>) -> Self {
        let tails = namespace
            .map(|ns| {
                Audit::metrics()
                    .map(|name| {
                        format!(
                            r#","CloudWatchMetrics":[{{"Namespace":"{ns}","Dimensions":[[]],"Metrics":[{{"Name":"{name}","Unit":"{UNIT}"}}]}}]}},"{name}":1}}"#,
                            ns = ns.as_str()
                        )
                        .into_boxed_str()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { inner, tails }
    }
}

/// Finds the metric of an event: its `event` field first, else `decision`.
/// Only string values count (`event = "login_failure"`), as every audit
/// line writes them.
#[derive(Default)]
struct FindMetric {
    event: Option<usize>,
    decision: Option<usize>,
}

impl Visit for FindMetric {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event" => self.event = metric_index("event", value),
            "decision" => self.decision = metric_index("decision", value),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

fn metric_of(event: &Event<'_>) -> Option<usize> {
    // One pass over the values: nearly every line of the functions has an
    // `event` or a `decision` field, so looking the names up first would
    // only add a second pass.
    let mut find = FindMetric::default();
    event.record(&mut find);
    find.event.or(find.decision)
}

thread_local! {
    /// The line of a mapped event before its metric is spliced in, reused.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Lines longer than this do not keep their buffer's capacity.
const KEEP_CAPACITY: usize = 16 * 1024;

impl<S, N, F> FormatEvent<S, N> for Emf<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.tails.is_empty() {
            return self.inner.format_event(ctx, writer, event);
        }
        let Some(metric) = metric_of(event) else {
            return self.inner.format_event(ctx, writer, event);
        };
        LINE.with(|cell| {
            // Re-entered only if formatting logged (it does not); then a
            // fresh buffer.
            let mut fresh = String::new();
            let mut held = cell.try_borrow_mut().ok();
            let line: &mut String = match held.as_deref_mut() {
                Some(buffer) => {
                    buffer.clear();
                    buffer
                }
                None => &mut fresh,
            };
            self.inner.format_event(ctx, Writer::new(line), event)?;
            let object = line.trim_end_matches('\n');
            let open = object.strip_suffix('}').ok_or(fmt::Error)?;
            writer.write_str(open)?;
            if !open.ends_with('{') {
                writer.write_char(',')?;
            }
            writer.write_str(AWS_HEAD)?;
            write!(writer, "{}", epoch_millis())?;
            writer.write_str(&self.tails[metric])?;
            writer.write_char('\n')?;
            if line.capacity() > KEEP_CAPACITY {
                *line = String::new();
            }
            Ok(())
        })
    }
}

/// Milliseconds since the Unix epoch, the EMF `Timestamp`.
fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audit_event_and_the_deny_decision_map_to_their_metric() {
        for (field, value, metric) in [
            ("event", "register", "Register"),
            ("event", "login_failure", "LoginFailure"),
            ("event", "login_ip_limited", "LoginRefusedByIpLimit"),
            ("event", "refresh_reuse_detected", "RefreshReuseDetected"),
            ("decision", "deny", "AuthorizerDeny"),
        ] {
            assert_eq!(metric_for(field, value), Some(metric), "{field}={value}");
        }
        for (i, metric) in Audit::metrics().enumerate() {
            let event = Audit::ALL[i];
            assert_eq!(
                metric_index(event.field().name(), event.name()),
                Some(i),
                "{metric}"
            );
        }
    }

    #[test]
    fn other_events_fields_and_decisions_map_to_nothing() {
        for (field, value) in [
            ("decision", "allow"),
            ("event", "refresh_refused"),
            ("event", "session_ended"),
            ("event", "deny"),
            ("reason", "login_failure"),
            ("event", "Login_Failure"),
        ] {
            assert_eq!(metric_for(field, value), None, "{field}={value}");
        }
    }

    #[test]
    fn namespaces_follow_cloudwatch_rules() {
        for ok in [
            "ServerlessAuth",
            "  ServerlessAuth \n",
            "my-app/prod_1.auth#x:y",
            "With Space",
            &"a".repeat(255),
        ] {
            assert!(Namespace::new(ok).is_some(), "{ok:?}");
        }
        assert_eq!(Namespace::new(" a/b ").unwrap().as_str(), "a/b");
        for bad in [
            "",
            "   ",
            &"a".repeat(256),
            "AWS/Lambda",
            ":leading-colon",
            "quote\"inside",
            "back\\slash",
            "tab\tinside",
            "ünïcode",
            "new\nline",
            "braces{}",
        ] {
            assert!(Namespace::new(bad).is_none(), "{bad:?}");
        }
    }
}
