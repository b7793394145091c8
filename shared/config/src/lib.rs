//! The one place that reads configuration: typed values from the process
//! environment (or, in tests, from a plain map), read once at cold start.
//!
//! Every function builds its dependencies from a [`Source`] with the readers
//! here and fails fast: a missing or wrong variable stops the function before
//! it serves anything, with a [`ConfigError`] that names the variable and
//! never its value (secrets must not reach logs even when they are wrong).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Why the configuration was refused. Each names the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required but not set")]
    Missing { var: &'static str },
    #[error("{var} must not be empty")]
    Empty { var: &'static str },
    #[error("{var} must be at least {min} bytes (not counting surrounding whitespace)")]
    SecretTooShort { var: &'static str, min: usize },
    #[error("{a} and {b} must be different secrets")]
    SecretReused { a: &'static str, b: &'static str },
    #[error("{var} is not a duration: use seconds (900) or a unit (15m, 7d)")]
    BadDuration { var: &'static str },
    #[error("{var} must be between {min} and {max}")]
    OutOfRange {
        var: &'static str,
        min: String,
        max: String,
    },
    #[error("{var} is invalid: expected {expected}")]
    Invalid {
        var: &'static str,
        expected: &'static str,
    },
    #[error("{var} is not a whole number")]
    NotANumber { var: &'static str },
}

/// Reads configuration variables by name. Implemented for the process
/// environment and for maps, so tests never touch the real environment.
pub trait Source {
    fn get(&self, var: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn get(&self, var: &str) -> Option<String> {
        std::env::var(var).ok()
    }
}

impl<S: std::hash::BuildHasher> Source for HashMap<String, String, S> {
    fn get(&self, var: &str) -> Option<String> {
        HashMap::get(self, var).cloned()
    }
}

impl<S: std::hash::BuildHasher> Source for HashMap<&str, &str, S> {
    fn get(&self, var: &str) -> Option<String> {
        HashMap::get(self, var).map(|v| (*v).to_owned())
    }
}

impl Source for BTreeMap<&str, &str> {
    fn get(&self, var: &str) -> Option<String> {
        BTreeMap::get(self, var).map(|v| (*v).to_owned())
    }
}

/// A required, non-empty variable, trimmed (a table name, an issuer).
pub fn required(src: &impl Source, var: &'static str) -> Result<String, ConfigError> {
    match src.get(var) {
        None => Err(ConfigError::Missing { var }),
        Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { var }),
        Some(v) => Ok(v.trim().to_owned()),
    }
}

/// An optional variable, trimmed: unset and empty are both `None`.
pub fn optional(src: &impl Source, var: &str) -> Option<String> {
    src.get(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A whole number within `[min, max]`, `default` when unset.
pub fn number(
    src: &impl Source,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let value = match optional(src, var) {
        None => default,
        Some(v) => v.parse().map_err(|_| ConfigError::NotANumber { var })?,
    };
    if !(min..=max).contains(&value) {
        return Err(ConfigError::OutOfRange {
            var,
            min: min.to_string(),
            max: max.to_string(),
        });
    }
    Ok(value)
}

/// Whole seconds (`900`) or a humantime duration (`15m`, `7d`, `1h 30m`),
/// within `[min, max]`, `default` when unset. Sub-second parts are refused:
/// every time this project stores or signs is in whole seconds.
pub fn duration(
    src: &impl Source,
    var: &'static str,
    default: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let raw = optional(src, var).unwrap_or_else(|| default.to_owned());
    let parsed = match raw.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(&raw).map_err(|_| ConfigError::BadDuration { var })?,
    };
    if parsed.subsec_nanos() != 0 {
        return Err(ConfigError::BadDuration { var });
    }
    if parsed < min || parsed > max {
        return Err(ConfigError::OutOfRange {
            var,
            min: humantime::format_duration(min).to_string(),
            max: humantime::format_duration(max).to_string(),
        });
    }
    Ok(parsed)
}

/// `true`/`1` or `false`/`0` (any case), `default` when unset or empty.
pub fn flag(src: &impl Source, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(src, var)
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            var,
            expected: "true or false",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn required_refuses_unset_and_blank_and_trims() {
        assert_eq!(
            required(&map(&[]), "T"),
            Err(ConfigError::Missing { var: "T" })
        );
        assert_eq!(
            required(&map(&[("T", "  ")]), "T"),
            Err(ConfigError::Empty { var: "T" })
        );
        assert_eq!(required(&map(&[("T", " users \n")]), "T").unwrap(), "users");
    }

    #[test]
    fn optional_reads_blank_as_unset() {
        assert_eq!(optional(&map(&[("O", " ")]), "O"), None);
        assert_eq!(optional(&map(&[("O", " x ")]), "O").as_deref(), Some("x"));
        assert_eq!(optional(&map(&[]), "O"), None);
    }

    #[test]
    fn numbers_default_parse_and_stay_in_range() {
        assert_eq!(number(&map(&[]), "N", 5, 1, 10), Ok(5));
        assert_eq!(number(&map(&[("N", " 7 ")]), "N", 5, 1, 10), Ok(7));
        assert_eq!(
            number(&map(&[("N", "seven")]), "N", 5, 1, 10),
            Err(ConfigError::NotANumber { var: "N" })
        );
        assert!(matches!(
            number(&map(&[("N", "0")]), "N", 5, 1, 10),
            Err(ConfigError::OutOfRange { var: "N", .. })
        ));
    }

    #[test]
    fn durations_take_seconds_or_units_and_refuse_fractions() {
        let d = |v: &'static str| {
            duration(
                &map(&[("D", v)]),
                "D",
                "15m",
                Duration::ZERO,
                Duration::from_secs(86400),
            )
        };
        assert_eq!(d("900"), Ok(Duration::from_secs(900)));
        assert_eq!(d("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("1500ms"), Err(ConfigError::BadDuration { var: "D" }));
        assert_eq!(d("soon"), Err(ConfigError::BadDuration { var: "D" }));
        assert!(matches!(d("2d"), Err(ConfigError::OutOfRange { .. })));
        let default = duration(
            &map(&[]),
            "D",
            "15m",
            Duration::ZERO,
            Duration::from_secs(86400),
        );
        assert_eq!(default, Ok(Duration::from_secs(900)));
    }

    #[test]
    fn flags_are_true_false_one_zero_in_any_case() {
        for (v, want) in [("TRUE", true), ("1", true), ("false", false), ("0", false)] {
            assert_eq!(flag(&map(&[("F", v)]), "F", !want), Ok(want), "{v}");
        }
        assert_eq!(flag(&map(&[("F", "")]), "F", true), Ok(true));
        assert_eq!(
            flag(&map(&[("F", "yes please")]), "F", true),
            Err(ConfigError::Invalid {
                var: "F",
                expected: "true or false"
            })
        );
    }

    #[test]
    fn errors_name_the_variable_and_never_a_value() {
        let e = number(&map(&[("N", "secret-ish-value")]), "N", 1, 1, 2).unwrap_err();
        assert!(e.to_string().contains('N'));
        assert!(!e.to_string().contains("secret-ish-value"));
    }
}
