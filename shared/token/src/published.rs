//! What the `jwks` function publishes: the access tokens' public keys as a
//! JWKS (RFC 7517) and an OpenID Connect discovery document whose `issuer`
//! and `jwks_uri` are what API Gateway's JWT authorizer, `jose`'s
//! `createRemoteJWKSet` and PyJWT's `PyJWKClient` look for. Built once at
//! cold start from the public keys only: the function that serves it never
//! holds a private key or a secret.

use config::{ConfigError, Env, Source, required};
use serde_json::{Value, json};

use crate::config::{ACCESS, Algorithm};
use crate::ec;

/// The two documents, rendered once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub jwks: String,
    pub discovery: String,
}

/// The path of the JWKS under the issuer.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

impl Published {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Reads `JWT_ACCESS_ALGORITHM`, `JWT_ISSUER` and, with ES256,
    /// `JWT_ACCESS_PUBLIC_KEY` (+ `_PREVIOUS`). With HS256 there is no
    /// public key: the JWKS is empty and the discovery document says so.
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let alg = Algorithm::of_access_tokens(src)?;
        let issuer = required(src, "JWT_ISSUER")?;
        let keys: Vec<Value> = match (alg, ACCESS.ec) {
            (Algorithm::Es256, Some(vars)) => {
                let (current, previous) = ec::read_publics(src, vars.public, vars.previous)?;
                std::iter::once(current)
                    .chain(previous)
                    .map(|k| json!(ec::jwk(&k)))
                    .collect()
            }
            _ => Vec::new(),
        };
        let algs: Vec<&str> = match alg {
            Algorithm::Es256 => vec![alg.name()],
            Algorithm::Hs256 => Vec::new(),
        };
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{}{JWKS_PATH}", issuer.trim_end_matches('/')),
            "id_token_signing_alg_values_supported": algs,
            "subject_types_supported": ["public"],
            "response_types_supported": ["token"],
            "claims_supported": ["iss", "aud", "sub", "iat", "exp", "jti", "sid", "roles", "token_use"],
        });
        Ok(Self {
            jwks: json!({ "keys": keys }).to_string(),
            discovery: discovery.to_string(),
        })
    }
}
