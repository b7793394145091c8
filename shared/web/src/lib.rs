//! HTTP glue shared by the functions, the same behind every front (HTTP API
//! payload 2.0, REST API proxy, function URLs): HTTP settings, JSON bodies
//! and the request forms they carry, the one mapping from errors to answers,
//! the refresh cookie, CORS and the CSRF origin check, and the caller's
//! identity from the authorizer. No AWS SDK.

pub mod body;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod endpoint;
pub mod error;
pub mod forms;
pub mod identity;
pub mod response;

pub use config::{Cookies, Origins};
pub use error::ApiError;
pub use lambda_http::{Body, Request, Response};
