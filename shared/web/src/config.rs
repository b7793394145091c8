//! HTTP settings, each read once at cold start by the functions that use it:
//! every HTTP function checks origins; only those that set or clear the
//! refresh cookie read the cookie settings.

use config::{ConfigError, Source, flag, optional};

/// Origins allowed for CORS and for cookie-authenticated calls
/// (`ALLOWED_ORIGINS`, comma-separated, exact `scheme://host[:port]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(Vec<String>);

impl Origins {
    /// These origins, exactly.
    pub fn new(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(origins.into_iter().map(Into::into).collect())
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let origins = src
            .get("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>();
        if origins
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
        Ok(Self(origins))
    }

    /// `origin` itself when it is one of ours.
    pub fn allowed<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        origin.filter(|o| self.0.iter().any(|a| a == o))
    }

    /// The origins, as configured.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// How the cookies are written: `COOKIE_SECURE` (default true) and
/// `COOKIE_PATH` (default `/auth`), the path browsers use for the auth
/// routes, any stage or base path included (`/prod/auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookies {
    /// Put `Secure` on the cookie; `false` only for plain-http local runs.
    pub secure: bool,
    pub path: String,
}

impl Cookies {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let path = optional(src, "COOKIE_PATH").unwrap_or_else(|| "/auth".to_owned());
        let path_char =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '~' | '-');
        if !path.starts_with('/') || !path.chars().all(path_char) {
            return Err(ConfigError::Invalid {
                var: "COOKIE_PATH",
                expected: "an absolute path like /auth or /prod/auth",
            });
        }
        Ok(Self {
            secure: flag(src, "COOKIE_SECURE", true)?,
            path: path.trim_end_matches('/').to_owned(),
        })
    }
}

impl Default for Cookies {
    fn default() -> Self {
        Self {
            secure: true,
            path: "/auth".to_owned(),
        }
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
    fn defaults_are_a_secure_cookie_and_no_origins() {
        assert_eq!(Cookies::from_source(&map(&[])), Ok(Cookies::default()));
        assert_eq!(Cookies::default().path, "/auth");
        assert!(
            Origins::from_source(&map(&[]))
                .unwrap()
                .as_slice()
                .is_empty()
        );
    }

    #[test]
    fn flags_and_origins_are_read() {
        let m = map(&[
            ("COOKIE_SECURE", "false"),
            (
                "ALLOWED_ORIGINS",
                "https://app.example.com, http://localhost:5173/",
            ),
        ]);
        assert!(!Cookies::from_source(&m).unwrap().secure);
        assert_eq!(
            Origins::from_source(&m).unwrap().as_slice(),
            ["https://app.example.com", "http://localhost:5173"]
        );
    }

    #[test]
    fn a_flag_that_is_not_a_boolean_is_refused() {
        assert_eq!(
            Cookies::from_source(&map(&[("COOKIE_SECURE", "yes please")])),
            Err(ConfigError::Invalid {
                var: "COOKIE_SECURE",
                expected: "true or false"
            })
        );
    }

    #[test]
    fn the_cookie_path_follows_the_base_path_and_must_be_a_plain_path() {
        let c = Cookies::from_source(&map(&[("COOKIE_PATH", "/prod/auth/")])).unwrap();
        assert_eq!(c.path, "/prod/auth");
        for bad in ["auth", "/auth; Domain=evil", "/a b", "/é"] {
            assert_eq!(
                Cookies::from_source(&map(&[("COOKIE_PATH", bad)])),
                Err(ConfigError::Invalid {
                    var: "COOKIE_PATH",
                    expected: "an absolute path like /auth or /prod/auth"
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn wildcard_or_non_origin_is_refused() {
        for bad in ["*", "app.example.com"] {
            assert!(
                Origins::from_source(&map(&[("ALLOWED_ORIGINS", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_exact_origins_are_allowed() {
        let o = Origins::new(["https://app.example.com"]);
        assert_eq!(
            o.allowed(Some("https://app.example.com")),
            Some("https://app.example.com")
        );
        for other in [
            "https://app.example.com.evil.example",
            "http://app.example.com",
            "null",
        ] {
            assert_eq!(o.allowed(Some(other)), None, "{other}");
        }
        assert_eq!(o.allowed(None), None);
    }
}
