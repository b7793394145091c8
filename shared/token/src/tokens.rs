//! Issuing and verifying tokens. Each function holds only the capabilities
//! it uses: an issuer signs one kind of token, a verifier checks one kind.
//! Keys and validation rules are prepared once (at cold start) and reused for
//! every token; the clock is a parameter, so every time rule is tested to the
//! second.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use config::{ConfigError, Env, Source};
use serde::Serialize;

use crate::claims::{
    AccessClaims, Authentication, DeviceClaims, RawClaims, RefreshClaims, TokenUse,
};
use crate::config::{ACCESS, Algorithm, Kind, Parties, REFRESH, leeway};
use crate::ec;
use crate::error::{Claim, TokenError};
use crate::keys::{HeldKey, KeySecrets, KeySet, Secret, Signing, SigningKey};

/// Tokens longer than this are refused before any decoding: ours are well
/// under 1 KiB, and API Gateway headers are capped near this size anyway.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Seconds since the Unix epoch, from the system clock. Production callers
/// pass this as `now`; tests pass exact values.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A freshly signed token and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub jti: String,
    /// Epoch seconds.
    pub expires_at: u64,
    /// Seconds from issue to expiry (`expires_in` of the HTTP answer).
    pub expires_in: u64,
}

/// Signs one kind of token with the current key: HS256 through
/// `jsonwebtoken`, ES256 with `ring` (the fixed-size `r || s` signature JWS
/// wants).
struct Signer {
    key: SigningKey,
    parties: Parties,
    ttl_secs: u64,
}

impl Signer {
    fn from_source(src: &impl Source, kind: Kind) -> Result<Self, ConfigError> {
        Self::with_ttl(src, kind, kind.ttl_secs(src)?)
    }

    /// A signer of `kind`'s key for tokens that live `ttl_secs` (not the
    /// kind's configured TTL: device tokens).
    fn with_ttl(src: &impl Source, kind: Kind, ttl_secs: u64) -> Result<Self, ConfigError> {
        let key = match (kind.algorithm(src)?, kind.ec) {
            (Algorithm::Es256, Some(ec)) => {
                SigningKey::es256(ec.private, ec::read_private(src, ec.private)?)
            }
            _ => SigningKey::hmac(kind.secret, &Secret::required(src, kind.secret)?),
        };
        Ok(Self {
            key,
            parties: Parties::from_source(src)?,
            ttl_secs,
        })
    }

    fn sign(&self, claims: &impl Serialize) -> Result<String, TokenError> {
        match &self.key.with {
            Signing::Hmac(encoding) => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.kid = Some(self.key.kid.clone());
                jsonwebtoken::encode(&header, claims, encoding).map_err(|_| TokenError::Signing)
            }
            Signing::Es256 { key, header } => {
                let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Signing)?;
                let mut token = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
                let signature = key
                    .pair
                    .sign(&key.rng, token.as_bytes())
                    .map_err(|_| TokenError::Signing)?;
                token.push('.');
                token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
                Ok(token)
            }
        }
    }
}

/// Verifies one kind of token, in one pass with keys prepared once: split,
/// decode the header, pick the key by `kid`, check the HMAC in constant
/// time, and only then parse the claims, once. It measured 2-3x faster than
/// `jsonwebtoken::decode`, which re-prepares the HMAC key and parses the JSON
/// more than once per call, and it is stricter (see [`Header`] and
/// [`decode_segment`]). Every token `jsonwebtoken` signs verifies here (the
/// tests issue with one and verify with the other), and the attack suite and
/// the fuzz targets run on this.
struct Verifier {
    use_: TokenUse,
    keys: KeySet,
    parties: Parties,
    /// Clock-skew allowance, seconds.
    leeway_secs: u64,
    /// The longest lifetime this service issues for the kind: a token that
    /// claims more was not made by us with the current configuration.
    max_lifetime_secs: u64,
}

/// The only header we accept: `alg`, `typ` and `kid`, each once. Any other
/// member is refused rather than ignored: a header that asks the verifier to
/// fetch keys (`jku`, `x5u`), trust embedded ones (`jwk`, `x5c`), honour
/// extensions (`crit`) or decompress (`zip`) never reaches key selection.
/// Only headers other than the exact one we write get here (see
/// `KeySet::by_header`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
}

/// Bytes of the longest signature (ES256's `r || s`).
const MAX_SIGNATURE_BYTES: usize = 64;

impl Verifier {
    fn from_source(src: &impl Source, kind: Kind) -> Result<Self, ConfigError> {
        let keys = match (kind.algorithm(src)?, kind.ec) {
            (Algorithm::Es256, Some(ec)) => {
                let (current, previous) = ec::read_publics(src, ec.public, ec.previous)?;
                KeySet::es256(current, previous, [ec.public, ec.previous])
            }
            _ => KeySet::new(
                &KeySecrets::read(src, kind.secret, kind.previous)?,
                [kind.secret, kind.previous],
            ),
        };
        Ok(Self {
            use_: kind.use_,
            keys,
            parties: Parties::from_source(src)?,
            leeway_secs: leeway(src)?.as_secs(),
            max_lifetime_secs: kind.ttl_secs(src)?,
        })
    }

    /// Every check common to both kinds, in order: size, structure, header,
    /// key, signature, claims (parsed once), issuer and audience, kind, then
    /// time.
    fn verify(&self, token: &str, now: u64) -> Result<RawClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge {
                max: MAX_TOKEN_BYTES,
            });
        }
        // Exactly three segments: header.payload.signature.
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if payload.contains('.') {
            return Err(TokenError::Malformed);
        }

        let key = match self.keys.by_header(header) {
            Some(key) => key,
            None => self.key_of(header)?,
        };

        // Exactly the algorithm's length in canonical base64url: a DER
        // signature, a padded or truncated one never reaches the key.
        let bytes = self.keys.alg.signature_bytes();
        let mut buf = [0u8; MAX_SIGNATURE_BYTES];
        let signature_ok = signature.len() == (bytes * 4).div_ceil(3)
            && URL_SAFE_NO_PAD.decode_slice(signature, &mut buf) == Ok(bytes)
            && key.signs(signed.as_bytes(), &buf[..bytes]);
        if !signature_ok {
            return Err(TokenError::BadSignature);
        }

        // UTF-8 is checked once for the whole payload rather than string by
        // string inside the parser.
        let payload = decode_segment(payload)?;
        let payload = std::str::from_utf8(&payload).map_err(|_| TokenError::Malformed)?;
        let claims: RawClaims = serde_json::from_str(payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.parties.issuer {
            return Err(TokenError::invalid(Claim::Iss));
        }
        if claims.aud != self.parties.audience {
            return Err(TokenError::invalid(Claim::Aud));
        }
        if claims.token_use.as_deref() != Some(self.use_.as_str()) {
            return Err(TokenError::WrongTokenUse {
                expected: self.use_.as_str(),
            });
        }
        if now >= claims.exp.saturating_add(self.leeway_secs) {
            return Err(TokenError::Expired);
        }
        let not_before = claims.nbf.unwrap_or(0).max(claims.iat);
        if not_before > now.saturating_add(self.leeway_secs) {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime_secs {
            return Err(TokenError::invalid(Claim::Exp));
        }
        if claims.sub.is_empty() {
            return Err(TokenError::invalid(Claim::Sub));
        }
        if claims.jti.is_empty() {
            return Err(TokenError::invalid(Claim::Jti));
        }
        Ok(claims)
    }

    /// The key a header names, after checking the header: the path for any
    /// header other than the exact one we write (see `KeySet::by_header`).
    fn key_of(&self, segment: &str) -> Result<&crate::keys::Key, TokenError> {
        let json = decode_segment(segment)?;
        let header: Header<'_> =
            serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if header.alg != self.keys.alg.name() {
            return Err(TokenError::WrongAlgorithm);
        }
        if !header.typ.is_none_or(|t| t.eq_ignore_ascii_case("JWT")) {
            return Err(TokenError::Malformed);
        }
        header
            .kid
            .and_then(|kid| self.keys.find(&kid))
            .ok_or(TokenError::UnknownKey)
    }
}

/// One header or payload segment: unpadded base64url only (RFC 7515 §2). The
/// engine refuses padding, the standard alphabet's `+` and `/`, whitespace,
/// and non-canonical trailing bits, so each token has exactly one spelling.
fn decode_segment(segment: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)
}

/// Signs access tokens: login and refresh hold this, never a verifier.
/// Reads `JWT_ACCESS_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL`.
pub struct AccessIssuer {
    signer: Signer,
}

impl AccessIssuer {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// The keys it holds, for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        vec![(self.signer.key.var, self.signer.key.kid.clone())]
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Signer::from_source(src, ACCESS).map(|signer| Self { signer })
    }

    /// Signs an access token for `sub` in session `sid` with `roles`, valid
    /// from `now` for the configured TTL, without `auth_time` or `amr` (as
    /// tokens were issued before step-up; the functions sign with
    /// [`AccessIssuer::issue_authenticated`]).
    pub fn issue(
        &self,
        sub: &str,
        sid: &str,
        roles: &[String],
        now: u64,
    ) -> Result<Issued, TokenError> {
        self.issue_authenticated(sub, sid, roles, &Authentication::default(), now)
    }

    /// Signs an access token for `sub` in session `sid` with `roles` and the
    /// session's `auth` (`auth_time`, `amr`; none when `auth.time` is 0),
    /// valid from `now` for the configured TTL. Roles are joined with commas
    /// in the authorizer context, so a role may not be empty or contain a
    /// comma.
    pub fn issue_authenticated(
        &self,
        sub: &str,
        sid: &str,
        roles: &[String],
        auth: &Authentication,
        now: u64,
    ) -> Result<Issued, TokenError> {
        if sub.is_empty() {
            return Err(TokenError::invalid(Claim::Sub));
        }
        if sid.is_empty() {
            return Err(TokenError::invalid(Claim::Sid));
        }
        if !roles.iter().all(|r| valid_role(r)) {
            return Err(TokenError::invalid(Claim::Roles));
        }
        let s = &self.signer;
        let claims = AccessClaims {
            iss: s.parties.issuer.clone(),
            aud: s.parties.audience.clone(),
            sub: sub.to_owned(),
            iat: now,
            exp: now + s.ttl_secs,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sid: sid.to_owned(),
            roles: roles.to_vec(),
            token_use: TokenUse::Access,
            auth_time: (auth.time > 0).then_some(auth.time),
            amr: if auth.time > 0 {
                auth.methods.clone()
            } else {
                Vec::new()
            },
        };
        Ok(Issued {
            token: s.sign(&claims)?,
            jti: claims.jti,
            expires_at: claims.exp,
            expires_in: s.ttl_secs,
        })
    }
}

/// Verifies access tokens: all the authorizer holds. Reads
/// `JWT_ACCESS_SECRET` (+ `_PREVIOUS`), `JWT_ISSUER`, `JWT_AUDIENCE`,
/// `JWT_LEEWAY`, `ACCESS_TOKEN_TTL`.
pub struct AccessVerifier {
    verifier: Verifier,
}

impl AccessVerifier {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// The keys it holds, for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        self.verifier.keys.held()
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Verifier::from_source(src, ACCESS).map(|verifier| Self { verifier })
    }

    /// Verifies an access token at time `now` (epoch seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<AccessClaims, TokenError> {
        let raw = self.verifier.verify(token, now)?;
        let sid = raw
            .sid
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::invalid(Claim::Sid))?;
        let roles = raw.roles.ok_or(TokenError::invalid(Claim::Roles))?;
        if !roles.iter().all(|r| valid_role(r)) {
            return Err(TokenError::invalid(Claim::Roles));
        }
        Ok(AccessClaims {
            iss: raw.iss,
            aud: raw.aud,
            sub: raw.sub,
            iat: raw.iat,
            exp: raw.exp,
            jti: raw.jti,
            sid,
            roles,
            token_use: TokenUse::Access,
            auth_time: raw.auth_time,
            amr: raw.amr.unwrap_or_default(),
        })
    }
}

/// Whether an access token may carry `role`: not empty, no comma (the
/// authorizer context joins roles with commas) and no whitespace. Issuing
/// refuses a token with any other role, so whatever stores a user's roles
/// (the operator CLI) checks them with this first.
pub fn valid_role(role: &str) -> bool {
    !role.is_empty() && !role.contains(',') && !role.chars().any(char::is_whitespace)
}

/// Everything that determines one generation of a session's refresh token.
/// The same grant always signs to the same token, byte for byte: this is how
/// a retried refresh gets the same successor back without storing tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant<'a> {
    pub sub: &'a str,
    pub sid: &'a str,
    pub generation: u64,
    /// When this generation was issued (login or rotation), epoch seconds.
    pub issued_at: u64,
    /// The session's absolute end, epoch seconds: no token outlives it.
    pub session_ends_at: u64,
}

/// Signs refresh tokens (login, refresh). Reads `JWT_REFRESH_SECRET`,
/// `JWT_ISSUER`, `JWT_AUDIENCE`, `REFRESH_TOKEN_TTL`.
pub struct RefreshIssuer {
    signer: Signer,
}

impl RefreshIssuer {
    /// The keys it holds, for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        vec![(self.signer.key.var, self.signer.key.kid.clone())]
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Signer::from_source(src, REFRESH).map(|signer| Self { signer })
    }

    /// Signs the refresh token of `grant`. It expires `REFRESH_TOKEN_TTL` after
    /// it was issued or at the session's end, whichever comes first.
    pub fn issue(&self, grant: &RefreshGrant<'_>) -> Result<Issued, TokenError> {
        if grant.sub.is_empty() {
            return Err(TokenError::invalid(Claim::Sub));
        }
        if grant.sid.is_empty() || grant.sid.contains('.') {
            return Err(TokenError::invalid(Claim::Sid));
        }
        let s = &self.signer;
        let exp = grant
            .issued_at
            .saturating_add(s.ttl_secs)
            .min(grant.session_ends_at);
        if exp <= grant.issued_at {
            return Err(TokenError::Expired);
        }
        let claims = RefreshClaims {
            iss: s.parties.issuer.clone(),
            aud: s.parties.audience.clone(),
            sub: grant.sub.to_owned(),
            iat: grant.issued_at,
            exp,
            jti: format!("{}.{}", grant.sid, grant.generation),
            sid: grant.sid.to_owned(),
            generation: grant.generation,
            token_use: TokenUse::Refresh,
        };
        Ok(Issued {
            token: s.sign(&claims)?,
            jti: claims.jti,
            expires_at: exp,
            expires_in: exp - grant.issued_at,
        })
    }
}

/// Verifies refresh tokens (refresh, logout). Reads `JWT_REFRESH_SECRET`
/// (+ `_PREVIOUS`), `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY`,
/// `REFRESH_TOKEN_TTL`.
pub struct RefreshVerifier {
    verifier: Verifier,
}

impl RefreshVerifier {
    /// The keys it holds, for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        self.verifier.keys.held()
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Verifier::from_source(src, REFRESH).map(|verifier| Self { verifier })
    }

    /// Verifies a refresh token's signature and claims at time `now`. Whether
    /// it is still the session's current generation is the store's question.
    pub fn verify(&self, token: &str, now: u64) -> Result<RefreshClaims, TokenError> {
        let raw = self.verifier.verify(token, now)?;
        let (Some(sid), Some(generation)) = (raw.sid, raw.generation) else {
            return Err(TokenError::invalid(Claim::Sid));
        };
        if sid.is_empty() || raw.jti != format!("{sid}.{generation}") {
            return Err(TokenError::invalid(Claim::Sid));
        }
        Ok(RefreshClaims {
            iss: raw.iss,
            aud: raw.aud,
            sub: raw.sub,
            iat: raw.iat,
            exp: raw.exp,
            jti: raw.jti,
            sid,
            generation,
            token_use: TokenUse::Refresh,
        })
    }
}

/// How long a device token lives: a year, re-issued at every login.
pub const DEVICE_TOKEN_SECS: u64 = 365 * 24 * 3600;

/// Signs device tokens: login, and the password route (a password change
/// moves the user's version on, so it hands the caller's browser a fresh
/// one). HS256 with the refresh secret (`JWT_REFRESH_SECRET`); only login
/// ever verifies them ([`DeviceTokens`]), and `token_use: "device"` keeps
/// them apart from refresh tokens, whose verifier insists on `refresh`.
pub struct DeviceIssuer {
    signer: Signer,
}

impl DeviceIssuer {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            signer: Signer::with_ttl(src, REFRESH, DEVICE_TOKEN_SECS)?,
        })
    }

    /// The key it holds, for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        vec![(self.signer.key.var, self.signer.key.kid.clone())]
    }

    /// A device token for `sub` at the user's `version`, naming device
    /// `device_id` (a new random id for a device seen for the first time,
    /// else the one it presented).
    pub fn issue(
        &self,
        sub: &str,
        device_id: &str,
        version: u64,
        now: u64,
    ) -> Result<Issued, TokenError> {
        if sub.is_empty() {
            return Err(TokenError::invalid(Claim::Sub));
        }
        if device_id.is_empty() {
            return Err(TokenError::invalid(Claim::Jti));
        }
        let s = &self.signer;
        let claims = DeviceClaims {
            iss: s.parties.issuer.clone(),
            aud: s.parties.audience.clone(),
            sub: sub.to_owned(),
            iat: now,
            exp: now + s.ttl_secs,
            jti: device_id.to_owned(),
            ver: version,
            token_use: TokenUse::Device,
        };
        Ok(Issued {
            token: s.sign(&claims)?,
            jti: claims.jti,
            expires_at: claims.exp,
            expires_in: s.ttl_secs,
        })
    }

    /// A new device id.
    pub fn new_device_id() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }
}

/// Signs and verifies device tokens (login). Verifies with the refresh
/// secret and, during a rotation, `JWT_REFRESH_SECRET_PREVIOUS`.
pub struct DeviceTokens {
    issuer: DeviceIssuer,
    verifier: Verifier,
}

impl DeviceTokens {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let mut verifier = Verifier::from_source(src, REFRESH)?;
        verifier.use_ = TokenUse::Device;
        verifier.max_lifetime_secs = DEVICE_TOKEN_SECS;
        Ok(Self {
            issuer: DeviceIssuer::from_source(src)?,
            verifier,
        })
    }

    /// The keys it holds (the refresh secret, and the previous one it
    /// still verifies with), for [`crate::ensure_distinct`].
    pub fn held_keys(&self) -> Vec<HeldKey> {
        self.verifier.keys.held()
    }

    /// See [`DeviceIssuer::issue`].
    pub fn issue(
        &self,
        sub: &str,
        device_id: &str,
        version: u64,
        now: u64,
    ) -> Result<Issued, TokenError> {
        self.issuer.issue(sub, device_id, version, now)
    }

    /// Verifies a device token at `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<DeviceClaims, TokenError> {
        let raw = self.verifier.verify(token, now)?;
        let ver = raw.ver.ok_or(TokenError::invalid(Claim::Jti))?;
        Ok(DeviceClaims {
            iss: raw.iss,
            aud: raw.aud,
            sub: raw.sub,
            iat: raw.iat,
            exp: raw.exp,
            jti: raw.jti,
            ver,
            token_use: TokenUse::Device,
        })
    }

    /// A new device id.
    pub fn new_device_id() -> String {
        DeviceIssuer::new_device_id()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use jsonwebtoken::{Algorithm, Header};
    use serde_json::{Value, json};

    use super::*;

    const NOW: u64 = 1_800_000_000;
    const ACCESS: &str = "access-secret-0123456789abcdefghijklmnop";
    const REFRESH: &str = "refresh-secret-0123456789abcdefghijklmno";

    /// Both kinds, issuer and verifier, from one map: what the tests of this
    /// module issue with and verify against.
    struct Tokens {
        access: Access,
        refresh: Refresh,
    }

    struct Access {
        issuer: AccessIssuer,
        verifier: AccessVerifier,
    }

    impl Access {
        fn issue(
            &self,
            sub: &str,
            sid: &str,
            roles: &[String],
            now: u64,
        ) -> Result<Issued, TokenError> {
            self.issuer.issue(sub, sid, roles, now)
        }
        fn verify(&self, token: &str, now: u64) -> Result<AccessClaims, TokenError> {
            self.verifier.verify(token, now)
        }
    }

    struct Refresh {
        issuer: RefreshIssuer,
        verifier: RefreshVerifier,
    }

    impl Refresh {
        fn issue(&self, grant: &RefreshGrant<'_>) -> Result<Issued, TokenError> {
            self.issuer.issue(grant)
        }
        fn verify(&self, token: &str, now: u64) -> Result<RefreshClaims, TokenError> {
            self.verifier.verify(token, now)
        }
    }

    fn config(extra: &[(&'static str, &'static str)]) -> Tokens {
        let mut m: HashMap<&str, &str> = [
            ("JWT_ACCESS_SECRET", ACCESS),
            ("JWT_REFRESH_SECRET", REFRESH),
            ("JWT_ISSUER", "https://auth.example.com"),
            ("JWT_AUDIENCE", "https://api.example.com"),
            ("JWT_LEEWAY", "5s"),
        ]
        .into();
        m.extend(extra.iter().copied());
        Tokens {
            access: Access {
                issuer: AccessIssuer::from_source(&m).unwrap(),
                verifier: AccessVerifier::from_source(&m).unwrap(),
            },
            refresh: Refresh {
                issuer: RefreshIssuer::from_source(&m).unwrap(),
                verifier: RefreshVerifier::from_source(&m).unwrap(),
            },
        }
    }

    fn tokens() -> Tokens {
        config(&[])
    }

    fn roles() -> Vec<String> {
        vec!["user".into(), "admin".into()]
    }

    /// Signs arbitrary claims with the access key and its kid, for claims
    /// that `issue` would never produce.
    fn sign_access(claims: Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(crate::keys::key_id(ACCESS.as_bytes()));
        let key = jsonwebtoken::EncodingKey::from_secret(ACCESS.as_bytes());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    fn access_claims() -> Value {
        json!({
            "iss": "https://auth.example.com", "aud": "https://api.example.com",
            "sub": "u1", "iat": NOW, "exp": NOW + 900, "jti": "j1", "sid": "s1",
            "roles": ["user"], "token_use": "access"
        })
    }

    fn with(mut v: Value, key: &str, value: Value) -> Value {
        v[key] = value;
        v
    }

    fn segment(token: &str, i: usize) -> Value {
        use base64::Engine as _;
        let part = token.split('.').nth(i).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn keys_of(v: &Value) -> Vec<String> {
        let mut k: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn issued_tokens_take_the_fast_header_path_and_other_spellings_the_checked_one() {
        let t = tokens();
        let token = t.access.issue("u1", "s1", &roles(), NOW).unwrap().token;
        let header = token.split('.').next().unwrap();
        assert!(
            t.access.verifier.verifier.keys.by_header(header).is_some(),
            "the header we write is the one the fast path knows"
        );
        // The same header members in another order: parsed, checked, accepted.
        let kid = crate::keys::key_id(ACCESS.as_bytes());
        let other = format!(r#"{{"kid":"{kid}","alg":"HS256"}}"#);
        let other = URL_SAFE_NO_PAD.encode(other);
        assert!(t.access.verifier.verifier.keys.by_header(&other).is_none());
        let claims = serde_json::to_vec(&access_claims()).unwrap();
        let signed = format!("{other}.{}", URL_SAFE_NO_PAD.encode(claims));
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(ACCESS.as_bytes()).unwrap();
        hmac::Mac::update(&mut mac, signed.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes());
        assert!(t.access.verify(&format!("{signed}.{sig}"), NOW).is_ok());
    }

    #[test]
    fn access_token_has_exactly_the_design_claims() {
        let t = tokens();
        let issued = t.access.issue("u1", "s1", &roles(), NOW).unwrap();
        let payload = segment(&issued.token, 1);
        assert_eq!(
            keys_of(&payload),
            [
                "aud",
                "exp",
                "iat",
                "iss",
                "jti",
                "roles",
                "sid",
                "sub",
                "token_use"
            ]
        );
        assert_eq!(payload["token_use"], "access");
        assert_eq!(payload["exp"], NOW + 900);
        assert_eq!(issued.expires_in, 900);
        assert_eq!(issued.expires_at, NOW + 900);
        let header = segment(&issued.token, 0);
        assert_eq!(keys_of(&header), ["alg", "kid", "typ"]);
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["kid"], crate::keys::key_id(ACCESS.as_bytes()));
    }

    #[test]
    fn access_token_round_trips() {
        let t = tokens();
        let issued = t.access.issue("u1", "s1", &roles(), NOW).unwrap();
        let claims = t.access.verify(&issued.token, NOW).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.roles, roles());
        assert_eq!(claims.jti, issued.jti);
        assert_eq!(claims.iss, "https://auth.example.com");
        assert_eq!(claims.aud, "https://api.example.com");
    }

    #[test]
    fn each_access_token_gets_a_new_jti() {
        let t = tokens();
        let a = t.access.issue("u1", "s1", &roles(), NOW).unwrap();
        let b = t.access.issue("u1", "s1", &roles(), NOW).unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn exp_is_accepted_until_the_last_second_of_leeway() {
        let t = tokens();
        let tok = t.access.issue("u1", "s1", &roles(), NOW).unwrap().token;
        assert!(t.access.verify(&tok, NOW + 900 - 1).is_ok());
        assert!(t.access.verify(&tok, NOW + 900 + 4).is_ok());
        assert_eq!(
            t.access.verify(&tok, NOW + 900 + 5),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn exp_without_leeway_expires_at_exp_exactly() {
        let t = config(&[("JWT_LEEWAY", "0")]);
        let tok = t.access.issue("u1", "s1", &roles(), NOW).unwrap().token;
        assert!(t.access.verify(&tok, NOW + 899).is_ok());
        assert_eq!(t.access.verify(&tok, NOW + 900), Err(TokenError::Expired));
    }

    #[test]
    fn nbf_is_accepted_within_leeway_and_refused_past_it() {
        let t = tokens();
        let tok = sign_access(with(access_claims(), "nbf", json!(NOW + 105)));
        assert_eq!(
            t.access.verify(&tok, NOW + 99),
            Err(TokenError::NotYetValid)
        );
        assert!(t.access.verify(&tok, NOW + 100).is_ok());
    }

    #[test]
    fn iat_in_the_future_past_leeway_is_not_yet_valid() {
        let t = tokens();
        let claims = with(
            with(access_claims(), "iat", json!(NOW + 6)),
            "exp",
            json!(NOW + 600),
        );
        let tok = sign_access(claims);
        assert_eq!(t.access.verify(&tok, NOW), Err(TokenError::NotYetValid));
        assert!(t.access.verify(&tok, NOW + 1).is_ok());
    }

    #[test]
    fn lifetime_longer_than_the_configured_ttl_is_refused() {
        let t = tokens();
        let tok = sign_access(with(access_claims(), "exp", json!(NOW + 901)));
        assert_eq!(
            t.access.verify(&tok, NOW),
            Err(TokenError::invalid(Claim::Exp))
        );
    }

    #[test]
    fn missing_exp_is_refused() {
        let mut c = access_claims();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn exp_as_string_is_refused() {
        let c = with(access_claims(), "exp", json!((NOW + 900).to_string()));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let c = with(access_claims(), "iss", json!("https://evil.example.com"));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Iss))
        );
    }

    #[test]
    fn wrong_audience_is_refused() {
        let c = with(access_claims(), "aud", json!("https://other.example.com"));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Aud))
        );
    }

    #[test]
    fn missing_token_use_is_the_wrong_token_use() {
        let mut c = access_claims();
        c.as_object_mut().unwrap().remove("token_use");
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::WrongTokenUse { expected: "access" })
        );
    }

    #[test]
    fn refresh_use_under_the_access_key_is_the_wrong_token_use() {
        let c = with(access_claims(), "token_use", json!("refresh"));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::WrongTokenUse { expected: "access" })
        );
    }

    #[test]
    fn empty_subject_is_refused() {
        let c = with(access_claims(), "sub", json!(""));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Sub))
        );
    }

    #[test]
    fn roles_that_are_not_strings_are_refused() {
        let c = with(access_claims(), "roles", json!(["user", 7]));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::Malformed)
        );
        let c = with(access_claims(), "roles", json!("user"));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_role_with_a_comma_is_neither_issued_nor_accepted() {
        let t = tokens();
        assert_eq!(
            t.access.issue("u1", "s1", &["a,b".into()], NOW),
            Err(TokenError::invalid(Claim::Roles))
        );
        let c = with(access_claims(), "roles", json!(["a,admin"]));
        assert_eq!(
            t.access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Roles))
        );
    }

    #[test]
    fn token_over_8_kib_is_refused_before_decoding() {
        let t = tokens();
        let junk = "x".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            t.access.verify(&junk, NOW),
            Err(TokenError::TooLarge {
                max: MAX_TOKEN_BYTES
            })
        );
        let c = with(access_claims(), "pad", json!("p".repeat(MAX_TOKEN_BYTES)));
        assert!(matches!(
            t.access.verify(&sign_access(c), NOW),
            Err(TokenError::TooLarge { .. })
        ));
    }

    #[test]
    fn an_access_token_without_its_session_is_refused() {
        let mut c = access_claims();
        c.as_object_mut().unwrap().remove("sid");
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Sid))
        );
        let c = with(access_claims(), "sid", json!(""));
        assert_eq!(
            tokens().access.verify(&sign_access(c), NOW),
            Err(TokenError::invalid(Claim::Sid))
        );
        assert_eq!(
            tokens().access.issue("u1", "", &roles(), NOW),
            Err(TokenError::invalid(Claim::Sid))
        );
    }

    #[test]
    fn unknown_claims_are_ignored() {
        let c = with(access_claims(), "email", json!("a@example.com"));
        assert!(tokens().access.verify(&sign_access(c), NOW).is_ok());
    }

    #[test]
    fn previous_key_verifies_but_never_signs() {
        let old = tokens();
        let before = old.access.issue("u1", "s1", &roles(), NOW).unwrap().token;
        let rotated = config(&[
            (
                "JWT_ACCESS_SECRET",
                "new-access-secret-0123456789abcdefghijklm",
            ),
            ("JWT_ACCESS_SECRET_PREVIOUS", ACCESS),
        ]);
        assert!(rotated.access.verify(&before, NOW).is_ok());
        let after = rotated
            .access
            .issue("u1", "s1", &roles(), NOW)
            .unwrap()
            .token;
        assert_eq!(
            segment(&after, 0)["kid"],
            crate::keys::key_id(b"new-access-secret-0123456789abcdefghijklm")
        );
        assert_eq!(old.access.verify(&after, NOW), Err(TokenError::UnknownKey));
    }

    #[test]
    fn retired_key_is_an_unknown_key() {
        let before = tokens()
            .access
            .issue("u1", "s1", &roles(), NOW)
            .unwrap()
            .token;
        let rotated = config(&[(
            "JWT_ACCESS_SECRET",
            "new-access-secret-0123456789abcdefghijklm",
        )]);
        assert_eq!(
            rotated.access.verify(&before, NOW),
            Err(TokenError::UnknownKey)
        );
    }

    fn grant(generation: u64, issued_at: u64, session_ends_at: u64) -> RefreshGrant<'static> {
        RefreshGrant {
            sub: "u1",
            sid: "s1",
            generation,
            issued_at,
            session_ends_at,
        }
    }

    #[test]
    fn refresh_token_has_exactly_the_design_claims() {
        let t = tokens();
        let issued = t.refresh.issue(&grant(3, NOW, NOW + 30 * 86400)).unwrap();
        let payload = segment(&issued.token, 1);
        assert_eq!(
            keys_of(&payload),
            [
                "aud",
                "exp",
                "gen",
                "iat",
                "iss",
                "jti",
                "sid",
                "sub",
                "token_use"
            ]
        );
        assert_eq!(payload["jti"], "s1.3");
        let claims = t.refresh.verify(&issued.token, NOW).unwrap();
        assert_eq!((claims.sid.as_str(), claims.generation), ("s1", 3));
        assert_eq!(claims.exp, NOW + 7 * 86400);
    }

    #[test]
    fn the_same_grant_signs_to_the_same_token() {
        let t = tokens();
        let g = grant(2, NOW, NOW + 86400 * 30);
        assert_eq!(t.refresh.issue(&g).unwrap(), t.refresh.issue(&g).unwrap());
    }

    #[test]
    fn session_end_caps_the_refresh_exp() {
        let t = tokens();
        let issued = t.refresh.issue(&grant(9, NOW, NOW + 3600)).unwrap();
        assert_eq!(issued.expires_at, NOW + 3600);
        assert_eq!(issued.expires_in, 3600);
        assert_eq!(
            t.refresh.verify(&issued.token, NOW + 3600 + 5),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn no_refresh_token_for_an_ended_session() {
        assert_eq!(
            tokens().refresh.issue(&grant(1, NOW, NOW)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn access_token_is_refused_by_the_refresh_verifier() {
        let t = tokens();
        let tok = t.access.issue("u1", "s1", &roles(), NOW).unwrap().token;
        assert_eq!(t.refresh.verify(&tok, NOW), Err(TokenError::UnknownKey));
    }

    #[test]
    fn refresh_token_is_refused_by_the_access_verifier() {
        let t = tokens();
        let tok = t.refresh.issue(&grant(1, NOW, NOW + 86400)).unwrap().token;
        assert_eq!(t.access.verify(&tok, NOW), Err(TokenError::UnknownKey));
    }
}
