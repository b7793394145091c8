//! Token configuration, parsed once at cold start from the environment (or,
//! in tests, from a plain map).
//!
//! Every error names the variable and never its value: secrets must not reach
//! logs even when they are wrong.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Minimum length of a signing secret, in bytes (RFC 7518 §3.2: a key of the
/// same size as the hash output, 256 bits, at least).
pub const MIN_SECRET_BYTES: usize = 32;

/// Largest leeway accepted for clock skew. Libraries default to 60 s; a
/// 15-minute access token should not live a minute longer than it says.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// Issuer used when `JWT_ISSUER` is unset (local runs only; deploys set it).
pub const LOCAL_ISSUER: &str = "urn:serverless-auth:local";
/// Audience used when `JWT_AUDIENCE` is unset (local runs only; deploys set it).
pub const LOCAL_AUDIENCE: &str = "urn:serverless-auth:local-api";

/// A signing secret. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The raw key bytes, for building keys.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The secrets of one token kind: the current one signs and verifies, the
/// previous one (during a rotation) only verifies.
#[derive(Debug, Clone)]
pub struct KeySecrets {
    pub current: Secret,
    pub previous: Option<Secret>,
}

/// What every verifier of any kind needs: who issues and for whom, and the
/// clock-skew allowance.
#[derive(Debug, Clone)]
pub struct Validity {
    pub issuer: String,
    pub audience: String,
    pub leeway: Duration,
}

/// Configuration for access tokens only: all that the authorizer needs, so it
/// never holds the refresh secret.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    pub secrets: KeySecrets,
    pub validity: Validity,
    pub ttl: Duration,
}

/// Configuration for issuing and verifying both kinds of token.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub access: AccessConfig,
    pub refresh_secrets: KeySecrets,
    pub refresh_ttl: Duration,
    /// Absolute end of a session, counted from login, however often refreshed.
    pub session_max_lifetime: Duration,
    /// How long after a rotation the immediately previous refresh token still
    /// gets the same successor back instead of counting as reuse.
    pub reuse_interval: Duration,
}

/// Why the configuration was refused. Each names the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required but not set")]
    Missing { var: &'static str },
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
    #[error("{var} must not be empty")]
    Empty { var: &'static str },
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

impl AccessConfig {
    /// Reads the access-token variables from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Reads the access-token variables from any [`Source`].
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let secrets = key_secrets(src, "JWT_ACCESS_SECRET", "JWT_ACCESS_SECRET_PREVIOUS")?;
        let validity = Validity {
            issuer: text(src, "JWT_ISSUER", LOCAL_ISSUER)?,
            audience: text(src, "JWT_AUDIENCE", LOCAL_AUDIENCE)?,
            leeway: duration(src, "JWT_LEEWAY", "5s", Duration::ZERO, MAX_LEEWAY)?,
        };
        let ttl = duration(
            src,
            "ACCESS_TOKEN_TTL",
            "15m",
            Duration::from_secs(30),
            Duration::from_secs(24 * 3600),
        )?;
        Ok(Self {
            secrets,
            validity,
            ttl,
        })
    }
}

impl TokenConfig {
    /// Reads every token variable from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Reads every token variable from any [`Source`].
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let access = AccessConfig::from_source(src)?;
        let refresh_secrets =
            key_secrets(src, "JWT_REFRESH_SECRET", "JWT_REFRESH_SECRET_PREVIOUS")?;
        ensure_disjoint(&access.secrets, &refresh_secrets)?;

        let year = Duration::from_secs(366 * 24 * 3600);
        let refresh_ttl = duration(
            src,
            "REFRESH_TOKEN_TTL",
            "7d",
            Duration::from_secs(60),
            year,
        )?;
        let session_max_lifetime = duration(
            src,
            "SESSION_MAX_LIFETIME",
            "30d",
            Duration::from_secs(60),
            year,
        )?;
        let reuse_interval = duration(
            src,
            "REFRESH_REUSE_INTERVAL",
            "10s",
            Duration::ZERO,
            Duration::from_secs(300),
        )?;
        Ok(Self {
            access,
            refresh_secrets,
            refresh_ttl,
            session_max_lifetime,
            reuse_interval,
        })
    }
}

/// A key of one kind must never be a key of the other: otherwise a refresh
/// token could be re-labelled as an access token and still verify.
fn ensure_disjoint(access: &KeySecrets, refresh: &KeySecrets) -> Result<(), ConfigError> {
    let named = |s: &KeySecrets, cur: &'static str, prev: &'static str| {
        let mut v = vec![(cur, s.current.clone())];
        v.extend(s.previous.clone().map(|p| (prev, p)));
        v
    };
    let a = named(access, "JWT_ACCESS_SECRET", "JWT_ACCESS_SECRET_PREVIOUS");
    let r = named(refresh, "JWT_REFRESH_SECRET", "JWT_REFRESH_SECRET_PREVIOUS");
    for (an, av) in &a {
        for (rn, rv) in &r {
            if av == rv {
                return Err(ConfigError::SecretReused { a: an, b: rn });
            }
        }
    }
    Ok(())
}

fn key_secrets(
    src: &impl Source,
    current: &'static str,
    previous: &'static str,
) -> Result<KeySecrets, ConfigError> {
    let cur = secret(src, current)?.ok_or(ConfigError::Missing { var: current })?;
    let prev = secret(src, previous)?;
    if prev.as_ref() == Some(&cur) {
        return Err(ConfigError::SecretReused {
            a: current,
            b: previous,
        });
    }
    Ok(KeySecrets {
        current: cur,
        previous: prev,
    })
}

/// An unset or empty variable is absent. Surrounding whitespace (a trailing
/// newline from a file or a copy-paste) is not part of the secret, so every
/// function derives the same key whichever way it was given; what remains
/// must be long enough.
fn secret(src: &impl Source, var: &'static str) -> Result<Option<Secret>, ConfigError> {
    let Some(raw) = src.get(var).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let trimmed = raw.trim();
    if trimmed.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::SecretTooShort {
            var,
            min: MIN_SECRET_BYTES,
        });
    }
    Ok(Some(Secret(trimmed.as_bytes().to_vec())))
}

fn text(src: &impl Source, var: &'static str, default: &str) -> Result<String, ConfigError> {
    match src.get(var) {
        None => Ok(default.to_owned()),
        Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { var }),
        Some(v) => Ok(v.trim().to_owned()),
    }
}

/// A required, non-empty variable (a table name, say).
pub fn required(src: &impl Source, var: &'static str) -> Result<String, ConfigError> {
    match src.get(var) {
        None => Err(ConfigError::Missing { var }),
        Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { var }),
        Some(v) => Ok(v.trim().to_owned()),
    }
}

/// A whole number within `[min, max]`, `default` when unset.
pub fn number(
    src: &impl Source,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let value = match src.get(var) {
        None => default,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError::NotANumber { var })?,
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
/// within `[min, max]`. Sub-second parts are refused: JWT times are seconds.
pub fn duration(
    src: &impl Source,
    var: &'static str,
    default: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let raw = src.get(var).unwrap_or_else(|| default.to_owned());
    let raw = raw.trim();
    let parsed = match raw.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(raw).map_err(|_| ConfigError::BadDuration { var })?,
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

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "access-secret-0123456789abcdefghijklmnop";
    const R: &str = "refresh-secret-0123456789abcdefghijklmno";

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        let mut m: HashMap<_, _> = [("JWT_ACCESS_SECRET", A), ("JWT_REFRESH_SECRET", R)].into();
        m.extend(pairs.iter().copied());
        m.retain(|_, v| *v != "<unset>");
        m
    }

    fn err(pairs: &[(&'static str, &'static str)]) -> ConfigError {
        TokenConfig::from_source(&env(pairs)).unwrap_err()
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_a_secret() {
        let plain = "0123456789abcdef0123456789abcdef";
        let padded = format!("  {plain}\n");
        let read = |v: &str| {
            let m: std::collections::HashMap<&str, &str> = [("S", v)].into();
            secret(&m, "S").unwrap().unwrap().expose().to_vec()
        };
        assert_eq!(read(&padded), read(plain));
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = TokenConfig::from_source(&env(&[])).unwrap();
        assert_eq!(c.access.ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(c.session_max_lifetime, Duration::from_secs(30 * 86400));
        assert_eq!(c.reuse_interval, Duration::from_secs(10));
        assert_eq!(c.access.validity.leeway, Duration::from_secs(5));
        assert_eq!(c.access.validity.issuer, LOCAL_ISSUER);
        assert_eq!(c.access.validity.audience, LOCAL_AUDIENCE);
        assert!(c.access.secrets.previous.is_none());
        assert_eq!(c.access.secrets.current.expose(), A.as_bytes());
        assert_eq!(c.refresh_secrets.current.expose(), R.as_bytes());
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        let c = TokenConfig::from_source(&env(&[
            ("ACCESS_TOKEN_TTL", "600"),
            ("REFRESH_TOKEN_TTL", "1d 12h"),
            ("SESSION_MAX_LIFETIME", "90d"),
            ("REFRESH_REUSE_INTERVAL", "0"),
            ("JWT_LEEWAY", "2s"),
        ]))
        .unwrap();
        assert_eq!(c.access.ttl, Duration::from_secs(600));
        assert_eq!(c.refresh_ttl, Duration::from_secs(36 * 3600));
        assert_eq!(c.session_max_lifetime, Duration::from_secs(90 * 86400));
        assert_eq!(c.reuse_interval, Duration::ZERO);
        assert_eq!(c.access.validity.leeway, Duration::from_secs(2));
    }

    #[test]
    fn bad_duration_names_the_variable() {
        let e = err(&[("ACCESS_TOKEN_TTL", "fifteen minutes")]);
        assert_eq!(
            e,
            ConfigError::BadDuration {
                var: "ACCESS_TOKEN_TTL"
            }
        );
        assert!(e.to_string().contains("ACCESS_TOKEN_TTL"));
    }

    #[test]
    fn sub_second_durations_are_refused() {
        assert_eq!(
            err(&[("ACCESS_TOKEN_TTL", "900ms")]),
            ConfigError::BadDuration {
                var: "ACCESS_TOKEN_TTL"
            }
        );
    }

    #[test]
    fn leeway_above_the_cap_is_refused() {
        assert!(matches!(
            err(&[("JWT_LEEWAY", "60s")]),
            ConfigError::OutOfRange {
                var: "JWT_LEEWAY",
                ..
            }
        ));
        let c = TokenConfig::from_source(&env(&[("JWT_LEEWAY", "30s")])).unwrap();
        assert_eq!(c.access.validity.leeway, MAX_LEEWAY);
    }

    #[test]
    fn zero_access_ttl_is_refused() {
        assert!(matches!(
            err(&[("ACCESS_TOKEN_TTL", "0")]),
            ConfigError::OutOfRange { .. }
        ));
    }

    #[test]
    fn missing_secret_is_refused() {
        assert_eq!(
            err(&[("JWT_ACCESS_SECRET", "<unset>")]),
            ConfigError::Missing {
                var: "JWT_ACCESS_SECRET"
            }
        );
        assert_eq!(
            err(&[("JWT_REFRESH_SECRET", "")]),
            ConfigError::Missing {
                var: "JWT_REFRESH_SECRET"
            }
        );
    }

    #[test]
    fn secret_of_31_bytes_is_refused_and_32_accepted() {
        let short = "s".repeat(31).leak();
        let e = err(&[("JWT_ACCESS_SECRET", short)]);
        assert_eq!(
            e,
            ConfigError::SecretTooShort {
                var: "JWT_ACCESS_SECRET",
                min: 32
            }
        );
        assert!(!e.to_string().contains(&*short));
        let exact = "s".repeat(32).leak();
        assert!(TokenConfig::from_source(&env(&[("JWT_ACCESS_SECRET", exact)])).is_ok());
    }

    #[test]
    fn whitespace_padding_does_not_make_a_secret_long_enough() {
        let padded = format!("{:^40}", "short").leak();
        assert!(matches!(
            err(&[("JWT_REFRESH_SECRET", padded)]),
            ConfigError::SecretTooShort {
                var: "JWT_REFRESH_SECRET",
                ..
            }
        ));
    }

    #[test]
    fn short_previous_secret_is_refused() {
        assert!(matches!(
            err(&[("JWT_ACCESS_SECRET_PREVIOUS", "too-short")]),
            ConfigError::SecretTooShort {
                var: "JWT_ACCESS_SECRET_PREVIOUS",
                ..
            }
        ));
    }

    #[test]
    fn equal_access_and_refresh_secrets_are_refused() {
        let e = err(&[("JWT_REFRESH_SECRET", A)]);
        assert_eq!(
            e,
            ConfigError::SecretReused {
                a: "JWT_ACCESS_SECRET",
                b: "JWT_REFRESH_SECRET"
            }
        );
        assert!(!e.to_string().contains(A));
    }

    #[test]
    fn a_previous_secret_of_the_other_kind_is_refused() {
        assert_eq!(
            err(&[("JWT_REFRESH_SECRET_PREVIOUS", A)]),
            ConfigError::SecretReused {
                a: "JWT_ACCESS_SECRET",
                b: "JWT_REFRESH_SECRET_PREVIOUS"
            }
        );
    }

    #[test]
    fn previous_equal_to_current_is_refused() {
        assert_eq!(
            err(&[("JWT_ACCESS_SECRET_PREVIOUS", A)]),
            ConfigError::SecretReused {
                a: "JWT_ACCESS_SECRET",
                b: "JWT_ACCESS_SECRET_PREVIOUS"
            }
        );
    }

    #[test]
    fn previous_secrets_are_read() {
        let p = "previous-access-secret-0123456789abcdefgh";
        let c = TokenConfig::from_source(&env(&[("JWT_ACCESS_SECRET_PREVIOUS", p)])).unwrap();
        assert_eq!(c.access.secrets.previous.unwrap().expose(), p.as_bytes());
    }

    #[test]
    fn empty_issuer_is_refused() {
        assert_eq!(
            err(&[("JWT_ISSUER", "  ")]),
            ConfigError::Empty { var: "JWT_ISSUER" }
        );
    }

    #[test]
    fn access_config_needs_no_refresh_secret() {
        let m: HashMap<&str, &str> = [("JWT_ACCESS_SECRET", A)].into();
        assert!(AccessConfig::from_source(&m).is_ok());
    }

    #[test]
    fn secret_debug_is_redacted() {
        let c = TokenConfig::from_source(&env(&[])).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains(A) && !shown.contains(R));
        assert!(shown.contains("redacted"));
    }
}
