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

use aws_sdk_dynamodb::Client;
use token::config::{ConfigError, Env, Source};

pub use error::StoreError;
pub use sessions::{Refusal, Rotation, Session, SessionPolicy};
pub use users::{InvalidUsername, LockoutPolicy, User, Username};

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

/// The DynamoDB store of users and sessions.
pub struct Store {
    client: Client,
    tables: Tables,
    lockout: LockoutPolicy,
    sessions: SessionPolicy,
}

impl Store {
    pub fn new(client: Client, config: StoreConfig, sessions: SessionPolicy) -> Self {
        Self {
            client,
            tables: config.tables,
            lockout: config.lockout,
            sessions,
        }
    }

    /// The table names this store uses.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}
