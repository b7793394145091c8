//! Reading the access token out of an `Authorization` value, the same for
//! the authorizer and for the functions that verify a Bearer token
//! themselves.
//!
//! RFC 6750 §2.1: `Bearer 1*SP b64token`. The scheme is matched without
//! regard to case (RFC 9110 §11.1). Tolerance, and nothing more:
//!
//! * spaces and tabs around the whole value are trimmed;
//! * one or more spaces between the scheme and the token are accepted;
//! * the token must be a non-empty `b64token` (`A-Z a-z 0-9 - . _ ~ + /`,
//!   then optional `=` padding), so a value with anything after the token
//!   (`Bearer a b`), a tab or comma inside it, or no token at all is refused.
//!
//! A value over [`MAX_HEADER_BYTES`] is refused before anything else looks at
//! it.

use std::fmt;

/// Largest `Authorization` value looked at. Our tokens are well under 1 KiB.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Why no token could be read from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// No `Authorization` value (or an empty one).
    Missing,
    /// More than one `Authorization` value: which one would the backend see?
    Ambiguous,
    /// Over [`MAX_HEADER_BYTES`].
    TooLarge,
    /// A scheme other than `Bearer`.
    WrongScheme,
    /// `Bearer` followed by no token or by something that is not a b64token.
    Malformed,
}

impl CredentialProblem {
    /// A short, stable name for logs.
    pub fn kind(self) -> &'static str {
        match self {
            CredentialProblem::Missing => "missing_token",
            CredentialProblem::Ambiguous => "several_authorization_values",
            CredentialProblem::TooLarge => "authorization_too_large",
            CredentialProblem::WrongScheme => "wrong_scheme",
            CredentialProblem::Malformed => "malformed_authorization",
        }
    }
}

impl fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// Checks the size of a raw header value before it is even read as text.
pub fn check_size(value: &[u8]) -> Result<(), CredentialProblem> {
    if value.len() > MAX_HEADER_BYTES {
        return Err(CredentialProblem::TooLarge);
    }
    Ok(())
}

/// The token of a `Bearer` credential, following the rules of this module.
pub fn bearer_token(value: &str) -> Result<&str, CredentialProblem> {
    check_size(value.as_bytes())?;
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return Err(CredentialProblem::Missing);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(CredentialProblem::WrongScheme);
    }
    let token = rest.trim_start_matches(' ');
    if is_b64token(token) {
        Ok(token)
    } else {
        Err(CredentialProblem::Malformed)
    }
}

/// RFC 6750 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)])
}

/// The bytes of a b64token body, as a table: one lookup per byte.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_in_any_case_is_read() {
        for v in [
            "Bearer a.b.c",
            "bearer a.b.c",
            "BEARER a.b.c",
            "bEaReR a.b.c",
        ] {
            assert_eq!(bearer_token(v), Ok("a.b.c"), "{v}");
        }
    }

    #[test]
    fn spaces_between_and_around_are_tolerated() {
        for v in [
            "Bearer   a.b.c",
            "  Bearer a.b.c  ",
            "\tBearer a.b.c\t",
            " Bearer    a.b.c ",
        ] {
            assert_eq!(bearer_token(v), Ok("a.b.c"), "{v:?}");
        }
    }

    #[test]
    fn anything_but_one_b64token_is_malformed() {
        for v in [
            "Bearer",
            "Bearer ",
            "Bearer a.b.c d",
            "Bearer a.b c",
            "Bearer a\tb",
            "Bearer a,b",
            "Bearer a\"b",
            "Bearer =",
            "Bearer é",
        ] {
            assert!(bearer_token(v).is_err(), "{v:?}");
        }
        assert_eq!(
            bearer_token("Bearer a.b.c d"),
            Err(CredentialProblem::Malformed)
        );
    }

    #[test]
    fn padding_is_allowed_at_the_end_only() {
        assert_eq!(bearer_token("Bearer abc=="), Ok("abc=="));
        assert_eq!(
            bearer_token("Bearer a=bc"),
            Err(CredentialProblem::Malformed)
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        for v in [
            "Basic dXNlcjpwYXNz",
            "Token a.b.c",
            "a.b.c",
            "Bearer\ta.b.c",
            "Bearer:a.b.c",
        ] {
            assert_eq!(
                bearer_token(v),
                Err(CredentialProblem::WrongScheme),
                "{v:?}"
            );
        }
    }

    #[test]
    fn empty_value_is_missing() {
        assert_eq!(bearer_token(""), Err(CredentialProblem::Missing));
        assert_eq!(bearer_token("   "), Err(CredentialProblem::Missing));
    }

    #[test]
    fn values_over_8_kib_are_refused_first() {
        let big = format!("Bearer {}", "a".repeat(MAX_HEADER_BYTES));
        assert_eq!(bearer_token(&big), Err(CredentialProblem::TooLarge));
        let at_limit = format!("Bearer {}", "a".repeat(MAX_HEADER_BYTES - 7));
        assert!(bearer_token(&at_limit).is_ok());
        let junk = "x ".repeat(MAX_HEADER_BYTES);
        assert_eq!(bearer_token(&junk), Err(CredentialProblem::TooLarge));
    }
}
