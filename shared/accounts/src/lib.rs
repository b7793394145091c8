//! Users and their sessions on DynamoDB: the only state of the system.
//!
//! Everything here goes through [`Store`], built once at cold start from a
//! configured client and [`StoreConfig`]. Expected outcomes (a taken
//! username, a refused refresh) are values; [`StoreError`] is for what the
//! caller cannot fix (DynamoDB unavailable: 503; anything else: 500).

pub mod client;
pub mod error;
mod item;
pub mod schema;
pub mod sessions;
pub mod users;

use token::config::{ConfigError, Env, Source};

pub use error::StoreError;
pub use sessions::{Refusal, Rotation, Session, SessionPolicy};
pub use users::{Attempt, InvalidUsername, LockoutPolicy, User, Username};

/// Names of the two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub sessions: String,
}

/// Store configuration from the environment: table names and lockout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub tables: Tables,
    pub lockout: LockoutPolicy,
}

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        use std::time::Duration;
        use token::config::{duration, number, required};
        Ok(Self {
            tables: Tables {
                users: required(src, schema::USERS.env_var)?,
                sessions: required(src, schema::SESSIONS.env_var)?,
            },
            lockout: LockoutPolicy {
                max_failures: number(src, "LOGIN_MAX_FAILURES", 5, 1, 1000)?,
                lockout: duration(
                    src,
                    "LOGIN_LOCKOUT",
                    "15m",
                    Duration::from_secs(1),
                    Duration::from_secs(24 * 3600),
                )?
                .as_secs(),
            },
        })
    }
}

/// The DynamoDB store of users and sessions. Cloning shares the client.
#[derive(Clone)]
pub struct Store {
    client: client::LazyClient,
    tables: Tables,
    lockout: LockoutPolicy,
    sessions: SessionPolicy,
}

impl Store {
    /// A store over `client`: a built [`aws_sdk_dynamodb::Client`], or a
    /// [`client::LazyClient`] that is built on first use.
    pub fn new(
        client: impl Into<client::LazyClient>,
        config: StoreConfig,
        sessions: SessionPolicy,
    ) -> Self {
        Self {
            client: client.into(),
            tables: config.tables,
            lockout: config.lockout,
            sessions,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<StoreConfig, ConfigError> {
        let m: HashMap<&str, &str> = pairs.iter().copied().collect();
        StoreConfig::from_source(&m)
    }

    const TABLES: [(&str, &str); 2] = [("USERS_TABLE", "u"), ("SESSIONS_TABLE", "s")];

    #[test]
    fn defaults_lock_after_5_failures_for_15_minutes() {
        let c = parse(&TABLES).unwrap();
        assert_eq!(c.tables.users, "u");
        assert_eq!(c.tables.sessions, "s");
        assert_eq!(
            c.lockout,
            LockoutPolicy {
                max_failures: 5,
                lockout: 900
            }
        );
    }

    #[test]
    fn table_names_are_required() {
        assert_eq!(
            parse(&[("USERS_TABLE", "u")]),
            Err(ConfigError::Missing {
                var: "SESSIONS_TABLE"
            })
        );
        assert_eq!(
            parse(&[("USERS_TABLE", " "), ("SESSIONS_TABLE", "s")]),
            Err(ConfigError::Empty { var: "USERS_TABLE" })
        );
    }

    #[test]
    fn lockout_settings_are_read_and_checked() {
        let mut pairs = TABLES.to_vec();
        pairs.extend([("LOGIN_MAX_FAILURES", "3"), ("LOGIN_LOCKOUT", "1h")]);
        let c = parse(&pairs).unwrap();
        assert_eq!(c.lockout.max_failures, 3);
        assert_eq!(c.lockout.lockout, 3600);

        let mut bad = TABLES.to_vec();
        bad.push(("LOGIN_MAX_FAILURES", "five"));
        assert_eq!(
            parse(&bad),
            Err(ConfigError::NotANumber {
                var: "LOGIN_MAX_FAILURES"
            })
        );
        let mut zero = TABLES.to_vec();
        zero.push(("LOGIN_MAX_FAILURES", "0"));
        assert!(matches!(parse(&zero), Err(ConfigError::OutOfRange { .. })));
    }
}
