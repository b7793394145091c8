//! `authctl`, the operator CLI: users and their sessions, straight on the
//! DynamoDB tables of a deployed stack, through the same store code
//! (`accounts`) and password policy (`password`) as the functions. So what
//! it does is what the HTTP API would do: a new password ends every
//! session, new roles reach every session at its next refresh, disabling
//! or deleting a user ends them all, and a login racing any of these
//! cannot start a session that escapes it.
//!
//! [`main`] is the binary: it parses the command line ([`parse`]), finds
//! the tables and the AWS configuration ([`Context::connect`]) and hands
//! over to [`run`], which the tests call in-process with a [`Context`] of
//! their own and an [`Io`] over buffers.
//!
//! Passwords come only from standard input ([`Io::stdin`]), and nothing
//! authctl prints, errors included, holds a password, a password hash or a
//! token.

mod cli;
mod commands;
mod connect;
mod failure;
mod input;
mod output;

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

pub use cli::{
    Cli, Command, MAX_ROLE_CHARS, SessionsCommand, UsersCommand, WhichSessions, Who, parse_role,
};
pub use connect::Context;
pub use failure::{Failure, IAM_ACTIONS};

/// How a run ended: the process's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Done = 0,
    /// 1: refused (a weak password, a taken username) or DynamoDB failed.
    Failure = 1,
    /// 2: bad arguments, a missing table name, no password on stdin.
    Usage = 2,
    /// 3: no such user or session.
    NotFound = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The standard streams of a run: the process's, or buffers in tests.
pub struct Io<'a> {
    /// Where a password is read from (one line).
    pub stdin: &'a mut dyn BufRead,
    /// Whether standard input is a terminal: a password is not read from
    /// one, where it would show as it is typed.
    pub stdin_is_terminal: bool,
    /// What a command did: text, or one JSON document with `--json`.
    pub stdout: &'a mut dyn Write,
    /// Errors, and what to do about them.
    pub stderr: &'a mut dyn Write,
}

/// The command line `args` (the program's name first), or the exit code
/// after clap printed help, the version (to stdout, exit 0) or a usage
/// error (to stderr, exit 2).
pub fn parse<I, T>(args: I, io: &mut Io<'_>) -> Result<Cli, Exit>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args).map_err(|e| {
        let mut text = e.render().to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        // Nothing more can be done when the stream is gone.
        if e.use_stderr() {
            let _ = write!(io.stderr, "{text}");
            Exit::Usage
        } else {
            let _ = write!(io.stdout, "{text}");
            Exit::Done
        }
    })
}

/// Runs the command of `cli` on `ctx`: prints what it did to `io.stdout`
/// (text, or one JSON document with `--json`), or the error and what to do
/// about it to `io.stderr`, and returns the exit code.
pub async fn run(cli: &Cli, ctx: &Context, io: &mut Io<'_>) -> Exit {
    match commands::run(&cli.command, ctx, io).await {
        Ok(report) => match report.print(io.stdout, cli.json) {
            Ok(()) => Exit::Done,
            // The change is made; only its report is lost (a closed pipe).
            Err(e) => {
                Failure::failed(format!("cannot write to standard output: {e}")).report(io.stderr)
            }
        },
        Err(failure) => failure.report(io.stderr),
    }
}

/// The `authctl` binary: the process's arguments, environment and standard
/// streams.
pub fn main() -> ExitCode {
    let stdin = std::io::stdin();
    let stdin_is_terminal = stdin.is_terminal();
    let (mut stdin, mut stdout, mut stderr) = (
        stdin.lock(),
        std::io::stdout().lock(),
        std::io::stderr().lock(),
    );
    let mut io = Io {
        stdin: &mut stdin,
        stdin_is_terminal,
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    let cli = match parse(std::env::args_os(), &mut io) {
        Ok(cli) => cli,
        Err(exit) => return exit.into(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Failure::failed(format!("cannot start the async runtime: {e}"))
                .report(io.stderr)
                .into();
        }
    };
    let exit = runtime.block_on(async {
        match Context::connect(&cli, &config::Env).await {
            Ok(ctx) => run(&cli, &ctx, &mut io).await,
            Err(failure) => failure.report(io.stderr),
        }
    });
    let _ = io.stdout.flush();
    exit.into()
}
