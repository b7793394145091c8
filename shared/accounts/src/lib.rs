//! Users and their sessions on DynamoDB: the only state of the system.
//!
//! Each table has a handle ([`Users`], [`Sessions`]) built once at cold start
//! from a shared client and the variable that names the table; [`Store`]
//! holds both for the operations that span them (a login writes a session
//! and clears the user's failure count in one transaction; a new password,
//! new roles, a disable, a deletion or a logout everywhere must reach every
//! session: `changes`). A function holds only the handles it uses, and the
//! policies it applies ([`LockoutPolicy`], the session lifetimes) are read by
//! the functions that apply them.
//!
//! Expected outcomes (a taken username, a refused refresh) are values;
//! [`StoreError`] is for what the caller cannot fix (DynamoDB unavailable:
//! 503; anything else: 500).

mod changes;
pub mod client;
pub mod error;
mod item;
pub mod limits;
pub mod schema;
pub mod sessions;
pub mod users;

use std::marker::PhantomData;
use std::time::Duration;

use config::{ConfigError, Source, duration, number, required};

pub use error::StoreError;
pub use limits::{Counter, Limit, Proof, Refund, Reservation};
pub use sessions::{Refusal, Rotation, Session, SessionStart, Started};
pub use users::{Attempt, InvalidUsername, User, Username};

use crate::client::LazyClient;

/// One table: the client and the table's name. [`Users`] and [`Sessions`]
/// are its two kinds; cloning shares the client.
#[derive(Clone)]
pub struct Table<K> {
    client: LazyClient,
    table: String,
    kind: PhantomData<K>,
}

/// Which table a [`Table`] is: its definition, and so the variable naming it.
pub trait TableKind {
    const DEF: schema::TableDef;
}

/// The users table (`USERS_TABLE`).
#[derive(Clone, Copy)]
pub struct UsersTable;
/// The sessions table (`SESSIONS_TABLE`).
#[derive(Clone, Copy)]
pub struct SessionsTable;

impl TableKind for UsersTable {
    const DEF: schema::TableDef = schema::USERS;
}
impl TableKind for SessionsTable {
    const DEF: schema::TableDef = schema::SESSIONS;
}

/// The users table.
pub type Users = Table<UsersTable>;
/// The sessions table.
pub type Sessions = Table<SessionsTable>;

impl<K: TableKind> Table<K> {
    /// The table named `table`, over `client`: a built
    /// [`aws_sdk_dynamodb::Client`] or a [`LazyClient`] built on first use.
    pub fn new(client: impl Into<LazyClient>, table: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            table: table.into(),
            kind: PhantomData,
        }
    }

    /// The table named by its variable (`USERS_TABLE`, `SESSIONS_TABLE`).
    pub fn from_source(
        client: impl Into<LazyClient>,
        src: &impl Source,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(client, required(src, K::DEF.env_var)?))
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Both tables, for the operations that span them.
#[derive(Clone)]
pub struct Store {
    pub users: Users,
    pub sessions: Sessions,
}

impl Store {
    /// Both tables, named by `USERS_TABLE` and `SESSIONS_TABLE`, over one
    /// shared client.
    pub fn from_source(client: LazyClient, src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            users: Users::from_source(client.clone(), src)?,
            sessions: Sessions::from_source(client, src)?,
        })
    }
}

/// `LOGIN_MAX_FAILURES` failures within `lockout_secs` lock the account for
/// `lockout_secs` (`LOGIN_LOCKOUT`). The window is the lockout duration:
/// failures older than a lockout would have lasted stop counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u64,
    pub lockout_secs: u64,
}

impl LockoutPolicy {
    /// `LOGIN_MAX_FAILURES` (5, from 1 to 1000) and `LOGIN_LOCKOUT` (15m,
    /// from 1 s to 24 h).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            max_failures: number(src, "LOGIN_MAX_FAILURES", 5, 1, 1000)?,
            lockout_secs: duration(
                src,
                "LOGIN_LOCKOUT",
                "15m",
                Duration::from_secs(1),
                Duration::from_secs(24 * 3600),
            )?
            .as_secs(),
        })
    }
}

/// How long a session lives at most, counted from login
/// (`SESSION_MAX_LIFETIME`, 30d, from 1 minute to 366 days): login applies it.
pub fn session_max_lifetime_secs(src: &impl Source) -> Result<u64, ConfigError> {
    duration(
        src,
        "SESSION_MAX_LIFETIME",
        "30d",
        Duration::from_secs(60),
        Duration::from_secs(366 * 24 * 3600),
    )
    .map(|d| d.as_secs())
}

/// How long after a rotation the immediately previous refresh token still
/// gets the same successor back instead of counting as reuse
/// (`REFRESH_REUSE_INTERVAL`, 10s, at most 5 minutes): refresh applies it.
pub fn reuse_interval_secs(src: &impl Source) -> Result<u64, ConfigError> {
    duration(
        src,
        "REFRESH_REUSE_INTERVAL",
        "10s",
        Duration::ZERO,
        Duration::from_secs(300),
    )
    .map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn defaults_lock_after_5_failures_for_15_minutes() {
        assert_eq!(
            LockoutPolicy::from_source(&map(&[])),
            Ok(LockoutPolicy {
                max_failures: 5,
                lockout_secs: 900
            })
        );
    }

    #[test]
    fn lockout_settings_are_read_and_checked() {
        let c = LockoutPolicy::from_source(&map(&[
            ("LOGIN_MAX_FAILURES", "3"),
            ("LOGIN_LOCKOUT", "1h"),
        ]))
        .unwrap();
        assert_eq!((c.max_failures, c.lockout_secs), (3, 3600));
        assert_eq!(
            LockoutPolicy::from_source(&map(&[("LOGIN_MAX_FAILURES", "five")])),
            Err(ConfigError::NotANumber {
                var: "LOGIN_MAX_FAILURES"
            })
        );
        assert!(matches!(
            LockoutPolicy::from_source(&map(&[("LOGIN_MAX_FAILURES", "0")])),
            Err(ConfigError::OutOfRange { .. })
        ));
    }

    #[test]
    fn session_lifetimes_default_to_30_days_and_10_seconds() {
        assert_eq!(session_max_lifetime_secs(&map(&[])), Ok(30 * 86400));
        assert_eq!(reuse_interval_secs(&map(&[])), Ok(10));
        assert_eq!(
            session_max_lifetime_secs(&map(&[("SESSION_MAX_LIFETIME", "90d")])),
            Ok(90 * 86400)
        );
        assert_eq!(
            reuse_interval_secs(&map(&[("REFRESH_REUSE_INTERVAL", "0")])),
            Ok(0)
        );
        assert!(matches!(
            reuse_interval_secs(&map(&[("REFRESH_REUSE_INTERVAL", "1h")])),
            Err(ConfigError::OutOfRange { .. })
        ));
    }

    #[test]
    fn table_names_are_required() {
        let client = || {
            LazyClient::new(client::Settings {
                region: "r".into(),
                endpoint: None,
            })
        };
        assert!(matches!(
            Users::from_source(client(), &map(&[])),
            Err(ConfigError::Missing { var: "USERS_TABLE" })
        ));
        assert!(matches!(
            Sessions::from_source(client(), &map(&[("SESSIONS_TABLE", " ")])),
            Err(ConfigError::Empty {
                var: "SESSIONS_TABLE"
            })
        ));
        let store = Store::from_source(
            client(),
            &map(&[("USERS_TABLE", "u"), ("SESSIONS_TABLE", "s")]),
        )
        .unwrap();
        assert_eq!((store.users.table(), store.sessions.table()), ("u", "s"));
    }
}
