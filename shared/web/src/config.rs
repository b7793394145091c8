//! HTTP settings, parsed once at cold start.

use token::config::{ConfigError, Env, Source};

/// Settings every HTTP function shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Put `Secure` on the refresh cookie (`COOKIE_SECURE`, default true).
    pub cookie_secure: bool,
    /// Origins allowed for CORS and for cookie-authenticated calls
    /// (`ALLOWED_ORIGINS`, comma-separated, exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Also return the refresh token in bodies (`REFRESH_TOKEN_IN_BODY`).
    pub refresh_token_in_body: bool,
    /// `REGISTRATION_ENABLED`, default true.
    pub registration_enabled: bool,
}

impl HttpConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let allowed_origins = src
            .get("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>();
        if allowed_origins
            .iter()
            .any(|o| o == "*" || !(o.starts_with("https://") || o.starts_with("http://")))
        {
            // A wildcard cannot go with credentials (cookies), and anything
            // but an origin would never match a browser's Origin header.
            return Err(ConfigError::Invalid {
                var: "ALLOWED_ORIGINS",
                expected: "comma-separated origins like https://app.example.com",
            });
        }
        Ok(Self {
            cookie_secure: flag(src, "COOKIE_SECURE", true)?,
            allowed_origins,
            refresh_token_in_body: flag(src, "REFRESH_TOKEN_IN_BODY", false)?,
            registration_enabled: flag(src, "REGISTRATION_ENABLED", true)?,
        })
    }
}

fn flag(src: &impl Source, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(var).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) if v == "true" || v == "1" => Ok(true),
        Some(v) if v == "false" || v == "0" => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            var,
            expected: "true or false",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<HttpConfig, ConfigError> {
        let m: HashMap<&str, &str> = pairs.iter().copied().collect();
        HttpConfig::from_source(&m)
    }

    #[test]
    fn defaults_are_secure_cookie_open_registration_no_origins() {
        let c = parse(&[]).unwrap();
        assert!(c.cookie_secure && c.registration_enabled && !c.refresh_token_in_body);
        assert!(c.allowed_origins.is_empty());
    }

    #[test]
    fn flags_and_origins_are_read() {
        let c = parse(&[
            ("COOKIE_SECURE", "false"),
            ("REFRESH_TOKEN_IN_BODY", "TRUE"),
            ("REGISTRATION_ENABLED", "0"),
            (
                "ALLOWED_ORIGINS",
                "https://app.example.com, http://localhost:5173/",
            ),
        ])
        .unwrap();
        assert!(!c.cookie_secure && c.refresh_token_in_body && !c.registration_enabled);
        assert_eq!(
            c.allowed_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
    }

    #[test]
    fn a_flag_that_is_not_a_boolean_is_refused() {
        assert_eq!(
            parse(&[("COOKIE_SECURE", "yes please")]),
            Err(ConfigError::Invalid {
                var: "COOKIE_SECURE",
                expected: "true or false"
            })
        );
    }

    #[test]
    fn wildcard_or_non_origin_is_refused() {
        for bad in ["*", "app.example.com"] {
            assert!(parse(&[("ALLOWED_ORIGINS", bad)]).is_err(), "{bad}");
        }
    }
}
