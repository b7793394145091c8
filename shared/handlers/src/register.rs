//! `POST /auth/register {"username","password"}` → `201 {"username","roles"}`.
//! The password is NFKC-normalised and must pass the policy
//! (`password::Policy`: length in characters, not common or breached, not
//! containing the username): else `400 weak_password` with the reason.

use accounts::client::LazyClient;
use accounts::{StoreError, Username, Users};
use config::{ConfigError, Source, flag};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use logging::Audit;
use web::forms::Credentials;
use web::{ApiError, Origins};

use crate::{FromEnv, hash_new_password, store_error};

/// What register uses: the users table and the password policy, and no
/// signing key at all.
pub struct Register {
    pub users: Users,
    pub origins: Origins,
    pub policy: password::Policy,
    /// `REGISTRATION_ENABLED`, default true.
    pub enabled: bool,
}

impl FromEnv for Register {
    fn from_source(src: &impl Source, client: LazyClient) -> Result<Self, ConfigError> {
        Ok(Self {
            users: Users::from_source(client, src)?,
            origins: Origins::from_source(src)?,
            policy: password::Policy::from_source(src)?,
            enabled: flag(src, "REGISTRATION_ENABLED", true)?,
        })
    }
}

/// Creates a user with the default roles.
pub async fn register(deps: &Register, req: Request) -> Response<Body> {
    web::endpoint::serve(&deps.origins, web::endpoint::POST, req, |req| {
        handle(deps, req)
    })
    .await
}

async fn handle(deps: &Register, req: Request) -> Result<Response<Body>, ApiError> {
    if !deps.enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    let body: Credentials = web::body::json(&req)?;
    let username = Username::parse(&body.username).map_err(|_| {
        ApiError::InvalidRequest("username must be 3 to 64 characters of A-Z a-z 0-9 . _ @ -")
    })?;
    let hash = hash_new_password(&deps.policy, body.password, username.as_str().to_owned()).await?;
    let now = token::unix_now();
    let user = match deps.users.create_user(&username, hash, now).await {
        Ok(user) => user,
        Err(StoreError::UsernameTaken) => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(store_error(e)),
    };
    tracing::info!(event = Audit::Register.name(), sub = %user.user_id, "user registered");
    Ok(web::response::json(
        StatusCode::CREATED,
        &serde_json::json!({"username": user.username, "roles": user.roles}),
    ))
}
