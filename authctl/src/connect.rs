//! Where the commands go: the two tables, named by the flags or the
//! environment, over a DynamoDB client made from the operator's AWS
//! configuration with the functions' own HTTP client, timeouts and retries
//! (`accounts::client::configure`), so a dead endpoint fails in seconds.

use accounts::client::LazyClient;
use accounts::schema::{self, TableDef};
use accounts::{Sessions, Store, Users};
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use config::{ConfigError, Source};

use crate::Cli;
use crate::failure::Failure;

/// Everything a command needs besides its arguments.
pub struct Context {
    /// Both tables, over one client.
    pub store: Store,
    client: LazyClient,
    /// The region the client talks to, for messages.
    pub region: String,
    /// The endpoint when it is not AWS's (DynamoDB Local), for messages.
    pub endpoint: Option<String>,
    /// The password policy as `PASSWORD_MIN_LENGTH` sets it, or why that
    /// is invalid: only the commands that take a password care.
    pub policy: Result<password::Policy, ConfigError>,
}

impl Context {
    /// The tables `users_table` and `sessions_table` over `client`, in
    /// `region` (and at `endpoint`, if not AWS's), for the tests and for
    /// [`Context::connect`].
    pub fn new(
        client: impl Into<LazyClient>,
        users_table: &str,
        sessions_table: &str,
        region: &str,
        endpoint: Option<&str>,
        policy: Result<password::Policy, ConfigError>,
    ) -> Self {
        let client = client.into();
        Self {
            store: Store {
                users: Users::new(client.clone(), users_table),
                sessions: Sessions::new(client.clone(), sessions_table),
            },
            client,
            region: region.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            policy,
        }
    }

    /// The tables of `--users-table`/`--sessions-table`, else of
    /// `USERS_TABLE`/`SESSIONS_TABLE` in `src`, over a client from the
    /// default AWS configuration (`--profile`, `--region` first), with the
    /// password policy of `src`. Sends nothing to DynamoDB: credentials are
    /// loaded when the first request is signed.
    pub async fn connect(cli: &Cli, src: &impl Source) -> Result<Self, Failure> {
        let users = table_name(
            cli.users_table.as_deref(),
            &schema::USERS,
            "--users-table",
            src,
        )?;
        let sessions = table_name(
            cli.sessions_table.as_deref(),
            &schema::SESSIONS,
            "--sessions-table",
            src,
        )?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(accounts::client::http_client());
        if let Some(profile) = &cli.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &cli.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.as_ref().to_owned()) else {
            return Err(Failure::usage(
                "no AWS region: pass --region, set AWS_REGION, or give the AWS profile a region",
            ));
        };
        let builder = aws_sdk_dynamodb::config::Builder::from(&sdk);
        let client =
            aws_sdk_dynamodb::Client::from_conf(accounts::client::configure(builder).build());
        // What aws-config reads too (for messages only).
        let endpoint = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|var| config::optional(src, var));
        Ok(Self::new(
            client,
            &users,
            &sessions,
            &region,
            endpoint.as_deref(),
            password::Policy::from_source(src),
        ))
    }

    /// "in region R" (and "at URL" off AWS), for messages.
    pub(crate) fn place(&self) -> String {
        match &self.endpoint {
            Some(url) => format!("in region {} at {url}", self.region),
            None => format!("in region {}", self.region),
        }
    }

    /// Which of the two tables DynamoDB says do not exist (one
    /// `DescribeTable` each): after a `ResourceNotFoundException`, which
    /// does not say. Both, when it cannot tell.
    pub(crate) async fn missing_tables(&self) -> Vec<&str> {
        let mut missing = Vec::new();
        let mut unknown = false;
        for table in [self.store.users.table(), self.store.sessions.table()] {
            match self.client.describe_table().table_name(table).send().await {
                Ok(_) => {}
                Err(e) if e.code() == Some("ResourceNotFoundException") => missing.push(table),
                Err(_) => unknown = true,
            }
        }
        if missing.is_empty() || unknown {
            vec![self.store.users.table(), self.store.sessions.table()]
        } else {
            missing
        }
    }
}

/// A table's name: the flag's, else the variable's; a usage error that
/// says where to find it when neither is there.
fn table_name(
    flag: Option<&str>,
    def: &TableDef,
    flag_name: &str,
    src: &impl Source,
) -> Result<String, Failure> {
    if let Some(name) = flag {
        let name = name.trim();
        if name.is_empty() {
            return Err(Failure::usage(format!("{flag_name} must not be empty")));
        }
        return Ok(name.to_owned());
    }
    config::required(src, def.env_var).map_err(|_| {
        Failure::usage(format!(
            "no {} table: pass {flag_name} or set {} (the stack's {} resource: \
             aws cloudformation describe-stack-resources --stack-name STACK)",
            def.logical_id
                .trim_end_matches("Table")
                .to_ascii_lowercase(),
            def.env_var,
            def.logical_id,
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;

    use super::*;
    use crate::Exit;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(["authctl"].iter().chain(args)).unwrap()
    }

    #[test]
    fn flags_win_over_variables() {
        let env: HashMap<&str, &str> = [("USERS_TABLE", "from-env")].into();
        let c = cli(&["users", "show", "alice", "--users-table", "from-flag"]);
        let name = table_name(
            c.users_table.as_deref(),
            &schema::USERS,
            "--users-table",
            &env,
        );
        assert_eq!(name.unwrap(), "from-flag");
        let name = table_name(None, &schema::USERS, "--users-table", &env);
        assert_eq!(name.unwrap(), "from-env");
    }

    #[test]
    fn a_missing_table_name_is_a_usage_error_that_says_where_to_find_it() {
        let env: HashMap<&str, &str> = [("SESSIONS_TABLE", " ")].into();
        let e = table_name(None, &schema::SESSIONS, "--sessions-table", &env).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        let msg = e.to_string();
        assert!(msg.contains("no sessions table"), "{msg}");
        assert!(msg.contains("--sessions-table"), "{msg}");
        assert!(msg.contains("SESSIONS_TABLE"), "{msg}");
        assert!(msg.contains("SessionsTable"), "{msg}");
        let e = table_name(Some(""), &schema::USERS, "--users-table", &env).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
    }
}
