//! Pure JWT logic shared by every function: token settings, keys, claims,
//! issue and verify, and reading a token out of an `Authorization: Bearer`
//! value. No AWS, no async runtime, no I/O beyond reading the
//! environment once (through the `config` crate).
//!
//! Access tokens are HS256 JWTs or, with `JWT_ACCESS_ALGORITHM=ES256`,
//! ES256 JWTs whose public keys are published ([`published`]); refresh
//! tokens are always HS256, with a secret of their own. A function holds only what it uses: an issuer of a kind signs,
//! a verifier of a kind checks; each verifier pins the algorithm, picks the
//! key by `kid`, insists on its own `token_use`, and checks time against a
//! clock the caller passes.

pub mod bearer;
pub mod claims;
pub mod config;
pub mod ec;
pub mod error;
pub mod keys;
pub mod published;
pub mod tokens;

pub use crate::config::Algorithm;
pub use claims::{AccessClaims, Authentication, DeviceClaims, RefreshClaims, TokenUse, amr};
pub use error::{Claim, TokenError};
pub use keys::ensure_distinct;
pub use published::Published;
pub use tokens::{
    AccessIssuer, AccessVerifier, DEVICE_TOKEN_SECS, DeviceIssuer, DeviceTokens, Issued,
    MAX_TOKEN_BYTES, RefreshGrant, RefreshIssuer, RefreshVerifier, unix_now, valid_role,
};
