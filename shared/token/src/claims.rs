//! The claims of access and refresh tokens, exactly (ARCHITECTURE.md, "Tokens").

use serde::{Deserialize, Serialize};

/// Which kind a token is. Each verifier insists on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Refresh,
    Device,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Refresh => "refresh",
            TokenUse::Device => "device",
        }
    }
}

/// Claims of an access token. `sid` names the session it was issued for, so
/// the account routes know the caller's own session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sid: String,
    pub roles: Vec<String>,
    pub token_use: TokenUse,
    /// When the user last proved a factor in this session (login, a second
    /// step, a reauthentication); a refresh keeps it. Absent in tokens
    /// issued before step-up existed: such a token is never recent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// How (RFC 8176 values, [`amr`]); empty in older tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl AccessClaims {
    /// Whether the user proved a factor in this session no longer than
    /// `max_age_secs` ago at `now`: no leeway widens it, and a token
    /// without `auth_time` is never recent.
    pub fn authenticated_within(&self, max_age_secs: u64, now: u64) -> bool {
        self.auth_time
            .is_some_and(|t| t <= now && now - t <= max_age_secs)
    }

    /// Whether `amr` says a second factor (or a user-verified passkey) was
    /// proven.
    pub fn has_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == amr::MFA)
    }
}

/// The `amr` values this service writes (RFC 8176).
pub mod amr {
    /// A password.
    pub const PWD: &str = "pwd";
    /// A one-time password (TOTP or a recovery code).
    pub const OTP: &str = "otp";
    /// More than one factor, or a user-verified passkey.
    pub const MFA: &str = "mfa";
}

/// How and when the user last proved a factor in a session: the access
/// token's `auth_time` and `amr`, stored with the session so a refresh keeps
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authentication {
    /// Epoch seconds; 0 for a session started before this was recorded.
    pub time: u64,
    pub methods: Vec<String>,
}

impl Authentication {
    /// A password proven at `now`.
    pub fn password(now: u64) -> Self {
        Self {
            time: now,
            methods: vec![amr::PWD.to_owned()],
        }
    }
}

/// Claims of a refresh token. `sid` and `gen` locate the token's generation
/// in the session store; `jti` is `<sid>.<gen>`, so the same generation always
/// re-signs to the same token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sid: String,
    #[serde(rename = "gen")]
    pub generation: u64,
    pub token_use: TokenUse,
}

/// Claims of a device token: which user's browser or app this is (`sub`)
/// and the device's id (`jti`). It grants nothing by itself: a login that
/// presents it for the same user is counted against the device, not the
/// account (ARCHITECTURE.md, "Abuse resistance").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    /// The user's `version` when it was issued: a password change, a
    /// logout everywhere, a disable or a role change moves it on, and the
    /// device is then unknown again.
    pub ver: u64,
    pub token_use: TokenUse,
}

/// What the verifier reads from any of our tokens, before it knows the kind:
/// one parse, then a checked conversion to the typed claims. Fields are
/// `Option` where only one kind has them, so that a token of the other kind
/// is reported as the wrong kind rather than as malformed.
///
/// Duplicate keys are refused (serde's derive errors on a repeated field):
/// RFC 7519 §4 lets a parser either refuse them or take the last one, and
/// refusing removes any chance that two parsers disagree about a claim.
/// Unknown claims are ignored (RFC 7519 §4: claims a recipient does not
/// understand must be ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct RawClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    #[serde(default)]
    pub nbf: Option<u64>,
    pub jti: String,
    #[serde(default)]
    pub token_use: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default, rename = "gen")]
    pub generation: Option<u64>,
    #[serde(default)]
    pub ver: Option<u64>,
    #[serde(default)]
    pub auth_time: Option<u64>,
    #[serde(default)]
    pub amr: Option<Vec<String>>,
}
