//! The commands, each on the store operation the functions use for the
//! same change (`accounts`: `changes.rs` for everything that must reach
//! sessions), so an operator's change reaches sessions exactly as the HTTP
//! API's does. Each returns a [`Report`] or a [`Failure`]; printing is the
//! caller's.

use accounts::users::DEFAULT_ROLES;
use accounts::{StoreError, User, Username};
use serde_json::json;

use crate::cli::{Command, SessionsCommand, UsersCommand, Who};
use crate::failure::{self, Failure};
use crate::output::{self, Report, user_json, user_text};
use crate::{Context, Io, input};

/// Runs `command`.
pub(crate) async fn run(
    command: &Command,
    ctx: &Context,
    io: &mut Io<'_>,
) -> Result<Report, Failure> {
    match command {
        Command::Users(c) => match c {
            UsersCommand::Show(who) => show(ctx, who).await,
            UsersCommand::Create { username, roles } => create(ctx, username, roles, io).await,
            UsersCommand::SetRoles { username, roles } => set_roles(ctx, username, roles).await,
            UsersCommand::Disable { username } => disable(ctx, username).await,
            UsersCommand::Enable { username } => enable(ctx, username).await,
            UsersCommand::Unlock { username } => unlock(ctx, username).await,
            UsersCommand::SetPassword { username } => set_password(ctx, username, io).await,
            UsersCommand::Delete { username } => delete(ctx, username).await,
        },
        Command::Sessions(c) => match c {
            SessionsCommand::List { username } => list_sessions(ctx, username).await,
            SessionsCommand::Revoke { username, which } => {
                revoke(ctx, username, which.sid.as_deref(), which.all).await
            }
        },
    }
}

/// A store call's error as the operator's [`Failure`].
async fn or_fail<T>(result: Result<T, StoreError>, ctx: &Context) -> Result<T, Failure> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(failure::store(e, ctx).await),
    }
}

/// The user named `username`, or not found (exit 3).
async fn find(ctx: &Context, username: &Username) -> Result<User, Failure> {
    or_fail(ctx.store.users.find(username).await, ctx)
        .await?
        .ok_or_else(|| Failure::not_found(format!("no user {}", username.as_str())))
}

/// How many live sessions the user has.
async fn live_sessions(ctx: &Context, user_id: &str) -> Result<usize, Failure> {
    let now = token::unix_now();
    Ok(or_fail(ctx.store.sessions.list(user_id, now).await, ctx)
        .await?
        .len())
}

/// The hash of a new password for `username`, after the HTTP API's policy:
/// NFKC, then `PASSWORD_MIN_LENGTH`, the blocklist and the username. The
/// reason for a refusal never holds the password.
fn new_password_hash(ctx: &Context, raw: &str, username: &str) -> Result<String, Failure> {
    let policy = ctx
        .policy
        .clone()
        .map_err(|e| Failure::usage(e.to_string()))?;
    policy
        .hash_new(raw, username)
        .map_err(|e| Failure::failed(e.to_string()))
}

/// `roles` without repeats, in the order given.
fn distinct(roles: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(roles.len());
    for r in roles {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

async fn show(ctx: &Context, who: &Who) -> Result<Report, Failure> {
    let user = match (&who.username, &who.sub) {
        (Some(username), _) => find(ctx, username).await?,
        (None, Some(sub)) => or_fail(ctx.store.users.get(sub).await, ctx)
            .await?
            .ok_or_else(|| Failure::not_found(format!("no user with user_id {sub}")))?,
        // clap requires one of the two.
        (None, None) => return Err(Failure::usage("name a user, or --sub USER_ID")),
    };
    let sessions = live_sessions(ctx, &user.user_id).await?;
    let now = token::unix_now();
    Ok(Report {
        text: user_text(&user, Some(sessions), now),
        json: user_json(&user, Some(sessions), now),
    })
}

async fn create(
    ctx: &Context,
    username: &Username,
    roles: &[String],
    io: &mut Io<'_>,
) -> Result<Report, Failure> {
    let raw = input::password(io)?;
    let hash = new_password_hash(ctx, &raw, username.as_str())?;
    drop(raw);
    let roles = if roles.is_empty() {
        DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect()
    } else {
        distinct(roles)
    };
    let now = token::unix_now();
    let created = ctx
        .store
        .users
        .create_user_with_roles(username, hash, &roles, now)
        .await;
    let user = match created {
        Ok(user) => user,
        Err(StoreError::UsernameTaken) => {
            return Err(Failure::failed(format!(
                "username {} is taken (usernames are compared ignoring case): \
                 authctl users show {0} shows who has it",
                username.as_str()
            )));
        }
        Err(e) => return Err(failure::store(e, ctx).await),
    };
    Ok(Report {
        text: format!(
            "created user {} ({}) with roles {}\n",
            user.username,
            user.user_id,
            output::roles(&user.roles)
        ),
        json: user_json(&user, Some(0), now),
    })
}

async fn set_roles(
    ctx: &Context,
    username: &Username,
    roles: &[String],
) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    let roles = distinct(roles);
    let user = or_fail(ctx.store.set_roles(&user.user_id, &roles).await, ctx).await?;
    let sessions = live_sessions(ctx, &user.user_id).await?;
    let now = token::unix_now();
    Ok(Report {
        text: format!(
            "{} now has roles {}{}\n",
            user.username,
            output::roles(&user.roles),
            match sessions {
                0 => String::new(),
                1 => "; its session gets them at its next refresh".to_owned(),
                n => format!("; its {n} sessions get them at their next refresh"),
            }
        ),
        json: user_json(&user, Some(sessions), now),
    })
}

async fn disable(ctx: &Context, username: &Username) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    let ended = or_fail(ctx.store.disable(&user.user_id).await, ctx).await?;
    let was = if user.disabled {
        " (it already was)"
    } else {
        ""
    };
    Ok(Report {
        text: format!(
            "disabled {}{was}; ended {ended} session{}\n",
            user.username,
            plural(ended)
        ),
        json: json!({
            "user_id": user.user_id,
            "username": user.username,
            "disabled": true,
            "sessions_ended": ended,
        }),
    })
}

async fn unlock(ctx: &Context, username: &Username) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    let now = token::unix_now();
    if !or_fail(ctx.store.users.unlock(&user.user_id).await, ctx).await? {
        return Err(Failure::not_found(format!("no user {}", username.as_str())));
    }
    let user = User {
        failed_logins: 0,
        failed_since: 0,
        locked_until: 0,
        ..user
    };
    Ok(Report {
        text: format!("unlocked {}\n", user.username),
        json: user_json(&user, None, now),
    })
}

async fn enable(ctx: &Context, username: &Username) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    let now = token::unix_now();
    if !user.disabled && !user.deleting {
        // Nothing to change: the version stays, so no login is disturbed.
        return Ok(Report {
            text: format!("{} is not disabled; nothing to do\n", user.username),
            json: user_json(&user, None, now),
        });
    }
    let user = or_fail(ctx.store.enable(&user.user_id).await, ctx).await?;
    let locked = match user.locked_for(now) {
        Some(_) => format!(
            " (still locked after failed logins until {})",
            output::time(user.locked_until)
        ),
        None => String::new(),
    };
    Ok(Report {
        text: format!("enabled {}{locked}\n", user.username),
        json: user_json(&user, None, now),
    })
}

async fn set_password(
    ctx: &Context,
    username: &Username,
    io: &mut Io<'_>,
) -> Result<Report, Failure> {
    let raw = input::password(io)?;
    let user = find(ctx, username).await?;
    let hash = new_password_hash(ctx, &raw, &user.username)?;
    drop(raw);
    // No proof of the old password: an operator's reset.
    let ended = or_fail(
        ctx.store
            .change_password(&user.user_id, &hash, None, None)
            .await,
        ctx,
    )
    .await?;
    Ok(Report {
        text: format!(
            "set a new password for {}; ended {ended} session{}\n",
            user.username,
            plural(ended)
        ),
        json: json!({
            "user_id": user.user_id,
            "username": user.username,
            "sessions_ended": ended,
        }),
    })
}

async fn delete(ctx: &Context, username: &Username) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    or_fail(ctx.store.delete_user(&user, None).await, ctx).await?;
    Ok(Report {
        text: format!(
            "deleted user {} ({}) and every session; the username is free\n",
            user.username, user.user_id
        ),
        json: json!({
            "user_id": user.user_id,
            "username": user.username,
            "deleted": true,
        }),
    })
}

async fn list_sessions(ctx: &Context, username: &Username) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    let now = token::unix_now();
    let sessions = or_fail(ctx.store.sessions.list(&user.user_id, now).await, ctx).await?;
    let text = if sessions.is_empty() {
        format!("{} has no sessions\n", user.username)
    } else {
        output::sessions_text(&sessions)
    };
    Ok(Report {
        text,
        json: json!({
            "user_id": user.user_id,
            "username": user.username,
            "sessions": sessions.iter().map(output::session_json).collect::<Vec<_>>(),
        }),
    })
}

async fn revoke(
    ctx: &Context,
    username: &Username,
    sid: Option<&str>,
    all: bool,
) -> Result<Report, Failure> {
    let user = find(ctx, username).await?;
    match (sid, all) {
        (_, true) => {
            // Moves the user's version on first, so a login racing this
            // cannot start a session that escapes it.
            let ended = or_fail(ctx.store.end_sessions(&user.user_id, None).await, ctx).await?;
            Ok(Report {
                text: format!(
                    "ended {ended} session{} of {}\n",
                    plural(ended),
                    user.username
                ),
                json: json!({
                    "user_id": user.user_id,
                    "username": user.username,
                    "sessions_ended": ended,
                }),
            })
        }
        (Some(sid), false) => {
            match or_fail(ctx.store.sessions.revoke(&user.user_id, sid).await, ctx).await? {
                Some(_) => Ok(Report {
                    text: format!("ended session {sid} of {}\n", user.username),
                    json: json!({
                        "user_id": user.user_id,
                        "username": user.username,
                        "sid": sid,
                        "sessions_ended": 1,
                    }),
                }),
                None => Err(Failure::not_found(format!(
                    "{} has no session {sid}: authctl sessions list {0} shows its sessions",
                    user.username
                ))),
            }
        }
        // clap requires one of the two.
        (None, false) => Err(Failure::usage("name a session, or --all")),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_keep_their_order_without_repeats() {
        let r = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            distinct(&r(&["admin", "user", "admin"])),
            r(&["admin", "user"])
        );
    }
}
