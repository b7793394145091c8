//! `POST /auth/register {"username","password"}` → `201 {"username","roles"}`.

use accounts::{StoreError, Username};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use web::ApiError;
use web::forms::Credentials;

use crate::{Answer, App, store_error};

/// Creates a user with the default roles.
pub async fn register(app: &App, req: Request) -> Answer {
    web::cors::serve(&app.http, req, |req| handle(app, req)).await
}

async fn handle(app: &App, req: Request) -> Result<Answer, ApiError> {
    if !app.http.registration_enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    let body: Credentials = web::body::json(&req)?;
    let username = Username::parse(&body.username).map_err(|_| {
        ApiError::InvalidRequest("username must be 3 to 64 characters of A-Z a-z 0-9 . _ @ -")
    })?;
    password::check_policy(&body.password)
        .map_err(|_| ApiError::InvalidRequest("password must be 12 to 256 bytes"))?;
    let pw = body.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|_| ApiError::Internal)?;
    let now = token::unix_now();
    let user = match app.store.create_user(&username, hash, now).await {
        Ok(user) => user,
        Err(StoreError::UsernameTaken) => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(store_error(e)),
    };
    tracing::info!(event = "register", sub = %user.user_id, "user registered");
    Ok(web::response::json(
        StatusCode::CREATED,
        &serde_json::json!({"username": user.username, "roles": user.roles}),
    ))
}
