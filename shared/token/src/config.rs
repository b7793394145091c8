//! Token settings from the environment: who issues tokens and for whom, the
//! clock-skew allowance, and each kind's variables and lifetime. Keys are in
//! [`crate::keys`]; session lifetimes belong to the store, not here.

use std::time::Duration;

use config::{ConfigError, Source, duration, required};

use crate::claims::TokenUse;

/// Largest leeway accepted for clock skew. Libraries default to 60 s; a
/// 15-minute access token should not live a minute longer than it says.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// Who issues tokens and for whom (`JWT_ISSUER`, `JWT_AUDIENCE`), both
/// required: a token minted for one deployment must not verify in another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    pub issuer: String,
    pub audience: String,
}

impl Parties {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: required(src, "JWT_ISSUER")?,
            audience: required(src, "JWT_AUDIENCE")?,
        })
    }
}

/// The clock-skew allowance of every verifier (`JWT_LEEWAY`, 5 s, at most
/// [`MAX_LEEWAY`]).
pub fn leeway(src: &impl Source) -> Result<Duration, ConfigError> {
    duration(src, "JWT_LEEWAY", "5s", Duration::ZERO, MAX_LEEWAY)
}

/// The variables of one kind of token and its lifetime's bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    pub use_: TokenUse,
    pub secret: &'static str,
    pub previous: &'static str,
    /// The ES256 variables, for the kind that may be ES256 (access tokens);
    /// refresh tokens are always HS256.
    pub ec: Option<EcVars>,
    pub ttl_var: &'static str,
    pub ttl_default: &'static str,
    pub ttl_min: Duration,
    pub ttl_max: Duration,
}

/// Where an ES256 kind's algorithm and keys are read from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EcVars {
    pub algorithm: &'static str,
    pub private: &'static str,
    pub public: &'static str,
    pub previous: &'static str,
}

/// The signature algorithm of a kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Es256,
}

impl Algorithm {
    /// The `alg` of a JWS header.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Es256 => "ES256",
        }
    }

    /// Bytes of a signature: an HMAC-SHA256, or ES256's `r || s`.
    pub(crate) fn signature_bytes(self) -> usize {
        match self {
            Algorithm::Hs256 => 32,
            Algorithm::Es256 => 64,
        }
    }

    /// The access tokens' algorithm (`JWT_ACCESS_ALGORITHM`, `HS256` by
    /// default), spelled exactly as in a JWS header.
    pub fn of_access_tokens(src: &impl Source) -> Result<Self, ConfigError> {
        ACCESS.algorithm(src)
    }
}

const DAY: u64 = 24 * 3600;

pub(crate) const ACCESS: Kind = Kind {
    use_: TokenUse::Access,
    secret: "JWT_ACCESS_SECRET",
    previous: "JWT_ACCESS_SECRET_PREVIOUS",
    ec: Some(EcVars {
        algorithm: "JWT_ACCESS_ALGORITHM",
        private: "JWT_ACCESS_PRIVATE_KEY",
        public: "JWT_ACCESS_PUBLIC_KEY",
        previous: "JWT_ACCESS_PUBLIC_KEY_PREVIOUS",
    }),
    ttl_var: "ACCESS_TOKEN_TTL",
    ttl_default: "15m",
    ttl_min: Duration::from_secs(30),
    ttl_max: Duration::from_secs(DAY),
};

pub(crate) const REFRESH: Kind = Kind {
    use_: TokenUse::Refresh,
    secret: "JWT_REFRESH_SECRET",
    previous: "JWT_REFRESH_SECRET_PREVIOUS",
    ec: None,
    ttl_var: "REFRESH_TOKEN_TTL",
    ttl_default: "7d",
    ttl_min: Duration::from_secs(60),
    ttl_max: Duration::from_secs(366 * DAY),
};

impl Kind {
    /// This kind's algorithm: always HS256 for a kind without ES256
    /// variables.
    pub fn algorithm(&self, src: &impl Source) -> Result<Algorithm, ConfigError> {
        let Some(ec) = self.ec else {
            return Ok(Algorithm::Hs256);
        };
        match src.get(ec.algorithm).as_deref().map(str::trim) {
            None | Some("" | "HS256") => Ok(Algorithm::Hs256),
            Some("ES256") => Ok(Algorithm::Es256),
            Some(_) => Err(ConfigError::Invalid {
                var: ec.algorithm,
                expected: "HS256 or ES256",
            }),
        }
    }

    /// This kind's lifetime, in seconds.
    pub fn ttl_secs(&self, src: &impl Source) -> Result<u64, ConfigError> {
        duration(
            src,
            self.ttl_var,
            self.ttl_default,
            self.ttl_min,
            self.ttl_max,
        )
        .map(|d| d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn issuer_and_audience_are_required() {
        assert_eq!(
            Parties::from_source(&map(&[("JWT_AUDIENCE", "a")])),
            Err(ConfigError::Missing { var: "JWT_ISSUER" })
        );
        assert_eq!(
            Parties::from_source(&map(&[("JWT_ISSUER", "i")])),
            Err(ConfigError::Missing {
                var: "JWT_AUDIENCE"
            })
        );
        assert_eq!(
            Parties::from_source(&map(&[("JWT_ISSUER", "  "), ("JWT_AUDIENCE", "a")])),
            Err(ConfigError::Empty { var: "JWT_ISSUER" })
        );
    }

    #[test]
    fn the_access_algorithm_is_hs256_unless_es256_is_named() {
        let alg = |v| Algorithm::of_access_tokens(&map(&[("JWT_ACCESS_ALGORITHM", v)]));
        assert_eq!(Algorithm::of_access_tokens(&map(&[])), Ok(Algorithm::Hs256));
        assert_eq!(alg("HS256"), Ok(Algorithm::Hs256));
        assert_eq!(alg("ES256"), Ok(Algorithm::Es256));
        for bad in ["es256", "RS256", "none", "HS512"] {
            assert_eq!(
                alg(bad),
                Err(ConfigError::Invalid {
                    var: "JWT_ACCESS_ALGORITHM",
                    expected: "HS256 or ES256"
                }),
                "{bad}"
            );
        }
        // Refresh tokens are HS256 whatever the access tokens use.
        let es = map(&[("JWT_ACCESS_ALGORITHM", "ES256")]);
        assert_eq!(REFRESH.algorithm(&es), Ok(Algorithm::Hs256));
    }

    #[test]
    fn lifetimes_default_to_15_minutes_and_7_days() {
        assert_eq!(ACCESS.ttl_secs(&map(&[])), Ok(900));
        assert_eq!(REFRESH.ttl_secs(&map(&[])), Ok(7 * DAY));
        assert_eq!(leeway(&map(&[])), Ok(Duration::from_secs(5)));
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        let m = map(&[
            ("ACCESS_TOKEN_TTL", "600"),
            ("REFRESH_TOKEN_TTL", "1d 12h"),
            ("JWT_LEEWAY", "2s"),
        ]);
        assert_eq!(ACCESS.ttl_secs(&m), Ok(600));
        assert_eq!(REFRESH.ttl_secs(&m), Ok(36 * 3600));
        assert_eq!(leeway(&m), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn bad_or_sub_second_durations_name_the_variable() {
        for v in ["fifteen minutes", "900ms"] {
            let e = ACCESS
                .ttl_secs(&map(&[("ACCESS_TOKEN_TTL", v)]))
                .unwrap_err();
            assert_eq!(
                e,
                ConfigError::BadDuration {
                    var: "ACCESS_TOKEN_TTL"
                }
            );
        }
    }

    #[test]
    fn leeway_above_the_cap_and_zero_ttl_are_refused() {
        assert!(matches!(
            leeway(&map(&[("JWT_LEEWAY", "60s")])),
            Err(ConfigError::OutOfRange {
                var: "JWT_LEEWAY",
                ..
            })
        ));
        assert_eq!(leeway(&map(&[("JWT_LEEWAY", "30s")])), Ok(MAX_LEEWAY));
        assert!(matches!(
            ACCESS.ttl_secs(&map(&[("ACCESS_TOKEN_TTL", "0")])),
            Err(ConfigError::OutOfRange { .. })
        ));
    }
}
