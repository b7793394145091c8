//! Pure JWT logic shared by every function: configuration, keys, claims,
//! issue and verify. No AWS, no async runtime, no I/O beyond reading the
//! environment once through [`config::Env`].
//!
//! Access tokens and refresh tokens are HS256 JWTs signed with different
//! secrets; each verifier pins the algorithm, picks the key by `kid`, insists
//! on its own `token_use`, and checks time against a clock the caller passes.

pub mod claims;
pub mod config;
pub mod error;
pub mod keys;
pub mod tokens;

pub use claims::{AccessClaims, RefreshClaims, TokenUse};
pub use config::{AccessConfig, ConfigError, TokenConfig};
pub use error::TokenError;
pub use tokens::{
    AccessTokens, Issued, MAX_TOKEN_BYTES, RefreshGrant, RefreshTokens, Tokens, unix_now,
};
