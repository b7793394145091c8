//! The command line, as clap parses it. Values are checked as they are
//! parsed (usernames, roles, session ids), so a bad one is a usage error
//! (exit 2) before anything is sent to DynamoDB.

use accounts::{InvalidUsername, Username};
use clap::{Args, Parser, Subcommand};

const ABOUT: &str =
    "Manage the users and sessions of a deployed auth stack, on its DynamoDB tables";

const LONG_ABOUT: &str = "\
Manage the users and sessions of a deployed auth stack, straight on its
DynamoDB tables, with the same store code and password policy as the
functions: a new password ends every session, new roles reach every
session at its next refresh, disabling or deleting a user ends them all.

The tables are named by --users-table and --sessions-table, else by the
USERS_TABLE and SESSIONS_TABLE variables; both are needed. AWS credentials
and the region come from the usual places (AWS_PROFILE, AWS_REGION,
~/.aws/config, SSO, the AWS_ACCESS_KEY_ID variables); --profile and
--region override them. AWS_ENDPOINT_URL_DYNAMODB points authctl at
another endpoint, such as DynamoDB Local.

Passwords are read from standard input, never from an argument or a
variable (those end up in shell history, in ps and in the environment of
child processes): one line, without its trailing newline, checked against
the same policy as the HTTP API (PASSWORD_MIN_LENGTH, 15 by default).
Pipe it in:

    printf '%s' \"$PW\" | authctl users set-password alice

Nothing authctl prints, errors included, holds a password, a password hash
or a token.";

const EXIT_STATUS: &str = "\
Exit status: 0 done, 1 failure, 2 usage error, 3 not found.";

const EXIT_STATUS_LONG: &str = "\
EXIT STATUS:
    0    Done.
    1    Failed: refused (a weak password, a taken username), or DynamoDB
         failed (a missing table, no usable credentials, unreachable).
    2    Usage error: bad arguments, a missing table name, no password on
         standard input.
    3    Not found: no such user, or no such session of the user.

With --json, what a command did is one JSON document on standard output;
errors are text on standard error either way.";

/// `authctl`'s arguments.
#[derive(Debug, Parser)]
#[command(
    name = "authctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_STATUS,
    after_long_help = EXIT_STATUS_LONG,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print one JSON document on standard output instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// The users table [default: $USERS_TABLE].
    #[arg(long, global = true, value_name = "TABLE")]
    pub users_table: Option<String>,

    /// The sessions table [default: $SESSIONS_TABLE].
    #[arg(long, global = true, value_name = "TABLE")]
    pub sessions_table: Option<String>,

    /// The AWS region of the tables [default: $AWS_REGION, else the
    /// profile's].
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// The AWS profile to take credentials and region from [default:
    /// $AWS_PROFILE].
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,
}

/// What to manage.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show, create, change and delete users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// List and end a user's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

/// `authctl users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Show a user (never the password hash).
    #[command(long_about = "\
Show a user: user id (the sub of their tokens), username, roles, when it
was created, whether it is disabled or locked, its version (moves on with
every change that reaches its sessions), and how many live sessions it has.
Never the password hash.")]
    Show(Who),

    /// Create a user; the password is read from standard input.
    #[command(long_about = "\
Create a user. The password is read from standard input (one line) and
must pass the same policy as registration through the HTTP API. Without
--role the user gets the default role, user.

Example:

    printf '%s' \"$PW\" | authctl users create alice --role admin --role user")]
    Create {
        /// The new user's name: 3 to 64 characters of A-Z a-z 0-9 . _ @ -.
        #[arg(value_parser = parse_username)]
        username: Username,
        /// A role to give the user instead of the default (repeat for more).
        #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
        roles: Vec<String>,
    },

    /// Replace a user's roles; each session gets them at its next refresh.
    #[command(long_about = "\
Replace a user's roles with ROLE.... Every session of the user gets them at
its next refresh (access tokens already issued keep the old ones until they
expire). A role is 1 to 64 characters of A-Z a-z 0-9 _ . : -.")]
    SetRoles {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
        /// The user's roles from now on.
        #[arg(required = true, value_parser = parse_role)]
        roles: Vec<String>,
    },

    /// Disable a user: no more logins, and every session ends.
    Disable {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },

    /// Let a disabled user log in again.
    Enable {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },

    /// Clear the account's failure count and lock: unknown devices may log
    /// in again at once.
    Unlock {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },

    /// Set a user's password from standard input; every session ends.
    #[command(long_about = "\
Set a user's password, read from standard input (one line), after the same
policy check as a password change through the HTTP API. Every session of
the user ends: refresh tokens stop working at once, access tokens at their
expiry. The failed-login count is cleared; a lockout runs its course.

Example:

    printf '%s' \"$PW\" | authctl users set-password alice")]
    SetPassword {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },

    /// Delete a user and every session; the username becomes free.
    Delete {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },
}

/// A user, by name or by id.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// The user's name (any case).
    #[arg(value_parser = parse_username)]
    pub username: Option<Username>,
    /// The user's id instead: the sub of their tokens.
    #[arg(long, value_name = "USER_ID", value_parser = parse_user_id)]
    pub sub: Option<String>,
}

/// `authctl sessions ...`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List a user's live sessions, newest first.
    List {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
    },

    /// End one session of a user, or all of them.
    #[command(
        long_about = "\
End session SID of a user (as `authctl sessions list` shows it), or with
--all every session of the user. Refresh tokens of an ended session stop
working at once; its access tokens at their expiry.",
        // clap would put the group before the positional it follows.
        override_usage = "authctl sessions revoke [OPTIONS] <USERNAME> <SID|--all>"
    )]
    Revoke {
        /// The user.
        #[arg(value_parser = parse_username)]
        username: Username,
        #[command(flatten)]
        which: WhichSessions,
    },
}

/// One session, or all of them.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct WhichSessions {
    /// The session to end: 32 hex digits, as `authctl sessions list` shows.
    #[arg(value_parser = parse_sid)]
    pub sid: Option<String>,
    /// End every session of the user.
    #[arg(long)]
    pub all: bool,
}

/// The longest role: roles travel in every access token and in the
/// authorizer's context.
pub const MAX_ROLE_CHARS: usize = 64;

fn parse_username(raw: &str) -> Result<Username, InvalidUsername> {
    Username::parse(raw)
}

/// A role as an operator may give one: 1 to 64 characters of
/// `A-Z a-z 0-9 _ . : -`. Stricter than what a token may carry
/// ([`token::valid_role`]: no comma, no whitespace), so that nothing hard
/// to see or to type gets in; checked against that too, so a role stored
/// here can always be issued.
pub fn parse_role(raw: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if (1..=MAX_ROLE_CHARS).contains(&raw.len())
        && raw.chars().all(ok_char)
        && token::valid_role(raw)
    {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "a role must be 1 to {MAX_ROLE_CHARS} characters of A-Z a-z 0-9 _ . : -"
        ))
    }
}

/// A session id as the service makes them: 32 lower-case hex digits.
pub fn parse_sid(raw: &str) -> Result<String, String> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if raw.len() == 32 && raw.bytes().all(hex) {
        Ok(raw.to_owned())
    } else {
        Err("a session id is 32 lower-case hex digits, as `authctl sessions list` shows".into())
    }
}

/// A user id: the service makes UUIDs; anything printable and short is
/// looked up (and not found).
fn parse_user_id(raw: &str) -> Result<String, String> {
    if (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(raw.to_owned())
    } else {
        Err("a user id is the sub of the user's tokens, such as 0f8fad5b-d9cb-469f-a165-70867728950e".into())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_are_short_plain_words() {
        for ok in [
            "user",
            "admin",
            "billing:read",
            "team.ops",
            "a-b_c",
            &"r".repeat(64),
        ] {
            assert_eq!(parse_role(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "a,b",
            "a b",
            "tab\there",
            "ünï",
            &"r".repeat(65),
            "role\n",
        ] {
            assert!(parse_role(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_role_accepted_here_can_be_issued() {
        let alphabet: Vec<char> = (0u8..128).map(char::from).collect();
        for c in alphabet {
            let role = format!("r{c}");
            if parse_role(&role).is_ok() {
                assert!(token::valid_role(&role), "{role:?}");
            }
        }
    }

    #[test]
    fn session_ids_are_32_lower_case_hex_digits() {
        assert!(parse_sid("0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "xyz",
            &"a".repeat(33),
        ] {
            assert!(parse_sid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn show_takes_a_username_or_a_sub_but_not_both() {
        let parse = |args: &[&str]| Cli::try_parse_from(["authctl"].iter().chain(args));
        assert!(parse(&["users", "show", "alice"]).is_ok());
        assert!(parse(&["users", "show", "--sub", "abc"]).is_ok());
        assert!(parse(&["users", "show"]).is_err());
        assert!(parse(&["users", "show", "alice", "--sub", "abc"]).is_err());
    }

    #[test]
    fn revoke_takes_a_sid_or_all_but_not_both() {
        let parse = |args: &[&str]| Cli::try_parse_from(["authctl"].iter().chain(args));
        let sid = "0123456789abcdef0123456789abcdef";
        assert!(parse(&["sessions", "revoke", "alice", sid]).is_ok());
        assert!(parse(&["sessions", "revoke", "alice", "--all"]).is_ok());
        assert!(parse(&["sessions", "revoke", "alice"]).is_err());
        assert!(parse(&["sessions", "revoke", "alice", sid, "--all"]).is_err());
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = Cli::try_parse_from([
            "authctl",
            "users",
            "show",
            "alice",
            "--json",
            "--users-table",
            "u",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.users_table.as_deref(), Some("u"));
    }
}
