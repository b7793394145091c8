//! The policy for new passwords (register, password change, the operator
//! CLI), after NIST SP 800-63B-4: a length in characters after NFKC, a
//! blocklist of common and breached passwords, and not the username. No
//! composition rules (NIST advises against them). Login does not apply it, so
//! a password set under an older policy still logs in.

use crate::{MAX_PASSWORD_CHARS, blocklist, fold};

/// Default shortest password, in characters: NIST SP 800-63B-4's minimum
/// for a password that is the only factor.
pub const MIN_CHARS_DEFAULT: usize = 15;
/// `PASSWORD_MIN_LENGTH` may not go below this: NIST's absolute minimum,
/// for a password used with a second factor.
pub const MIN_CHARS_FLOOR: usize = 8;
/// `PASSWORD_MIN_LENGTH` may not go above this: a longer minimum makes
/// people write passwords down, and it stays well under the maximum.
pub const MIN_CHARS_CEILING: usize = 64;

/// Input longer than this, in bytes, is refused as too long before it is
/// normalised, so the work of normalising is bounded too. It refuses no
/// password within [`MAX_PASSWORD_CHARS`]: one normalised character comes
/// from at most 4 code points (the longest canonical decomposition) of at
/// most 4 bytes each, so 256 characters need at most 4,096 bytes.
pub const MAX_INPUT_BYTES: usize = 16 * MAX_PASSWORD_CHARS;

/// The variable that sets [`Policy::min_chars`].
const MIN_LENGTH_VAR: &str = "PASSWORD_MIN_LENGTH";

/// The policy, read once at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Shortest password accepted, in characters after NFKC
    /// ([`MIN_CHARS_FLOOR`] to [`MIN_CHARS_CEILING`]).
    pub min_chars: usize,
}

impl Default for Policy {
    /// The policy with `PASSWORD_MIN_LENGTH` unset.
    fn default() -> Self {
        Self {
            min_chars: MIN_CHARS_DEFAULT,
        }
    }
}

/// Why a new password was not hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewPassword {
    /// The policy refused it; the reason never quotes it.
    #[error("weak password: {}", .0.reason())]
    Weak(Weak),
    /// Hashing failed (it does not, within the policy's bounds).
    #[error(transparent)]
    Failed(crate::PasswordError),
}

/// Why a new password was refused. None of them carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    /// Fewer characters than the policy's minimum.
    #[error("password must be at least {min} characters long")]
    TooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("password must be at most {max} characters long")]
    TooLong {
        /// The maximum, in characters.
        max: usize,
    },
    /// On the blocklist of common and breached passwords (ignoring case).
    #[error("password is too common: it is on a list of passwords attackers try first")]
    Common,
    /// Contains the username (ignoring case).
    #[error("password must not contain the username")]
    ContainsUsername,
}

impl Weak {
    /// A reason for the client, never containing the password.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl Policy {
    /// Reads `PASSWORD_MIN_LENGTH` (default 15, from 8 to 64).
    pub fn from_source(src: &impl config::Source) -> Result<Self, config::ConfigError> {
        let min = config::number(
            src,
            MIN_LENGTH_VAR,
            MIN_CHARS_DEFAULT as u64,
            MIN_CHARS_FLOOR as u64,
            MIN_CHARS_CEILING as u64,
        )?;
        // Within 8..=64, so the conversion cannot fail; the ceiling is the
        // answer if it somehow did.
        let min_chars = usize::try_from(min).unwrap_or(MIN_CHARS_CEILING);
        Ok(Self { min_chars })
    }

    /// The hash of a NEW password for `username`: NFKC, this policy, then
    /// argon2id. The one way register, the password change and the operator
    /// CLI turn a new password into what is stored. CPU-heavy (a hash):
    /// async callers run it on a blocking pool.
    pub fn hash_new(&self, raw: &str, username: &str) -> Result<String, NewPassword> {
        let normalized = crate::normalize(raw);
        self.check(&normalized, username)
            .map_err(NewPassword::Weak)?;
        crate::hash(&normalized).map_err(NewPassword::Failed)
    }

    /// Checks a NEW password for `username`; `Ok` or why it is weak.
    ///
    /// The password is NFKC-normalised and counted in characters (Unicode
    /// scalar values), not bytes. The blocklist and the username are
    /// compared after folding both sides the same way (NFKC, lower case).
    /// An empty username is never "contained" (there is none to compare).
    pub fn check(&self, password: &str, username: &str) -> Result<(), Weak> {
        let too_long = Weak::TooLong {
            max: MAX_PASSWORD_CHARS,
        };
        if password.len() > MAX_INPUT_BYTES {
            return Err(too_long);
        }
        let normalized = fold::nfkc(password);
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            return Err(Weak::TooShort {
                min: self.min_chars,
            });
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(too_long);
        }
        let folded = fold::lower(&normalized);
        if blocklist::contains_folded(&folded) {
            return Err(Weak::Common);
        }
        let username = fold::fold(username);
        if !username.is_empty() && folded.contains(&username) {
            return Err(Weak::ContainsUsername);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn policy(min_chars: usize) -> Policy {
        Policy { min_chars }
    }

    fn from(pairs: &[(&'static str, &'static str)]) -> Result<Policy, config::ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        Policy::from_source(&map)
    }

    #[test]
    fn min_length_defaults_to_15() {
        assert_eq!(from(&[]), Ok(Policy { min_chars: 15 }));
        assert_eq!(from(&[("PASSWORD_MIN_LENGTH", " ")]), Ok(Policy::default()));
    }

    #[test]
    fn min_length_of_8_is_accepted() {
        assert_eq!(
            from(&[("PASSWORD_MIN_LENGTH", "8")]),
            Ok(Policy { min_chars: 8 })
        );
        assert_eq!(
            from(&[("PASSWORD_MIN_LENGTH", "64")]),
            Ok(Policy { min_chars: 64 })
        );
    }

    #[test]
    fn min_length_of_7_is_refused_naming_the_variable() {
        let err = from(&[("PASSWORD_MIN_LENGTH", "7")]).unwrap_err();
        assert!(matches!(
            err,
            config::ConfigError::OutOfRange {
                var: "PASSWORD_MIN_LENGTH",
                ..
            }
        ));
        assert!(err.to_string().contains("PASSWORD_MIN_LENGTH"), "{err}");
    }

    #[test]
    fn min_length_above_64_or_not_a_number_is_refused() {
        assert!(matches!(
            from(&[("PASSWORD_MIN_LENGTH", "65")]),
            Err(config::ConfigError::OutOfRange { .. })
        ));
        assert_eq!(
            from(&[("PASSWORD_MIN_LENGTH", "fifteen")]),
            Err(config::ConfigError::NotANumber {
                var: "PASSWORD_MIN_LENGTH"
            })
        );
    }

    #[test]
    fn length_is_counted_in_characters_after_normalising() {
        let p = policy(15);
        assert_eq!(
            p.check(&"a1b2c".repeat(3)[..14], "alice"),
            Err(Weak::TooShort { min: 15 })
        );
        assert_eq!(p.check(&"a1b2c".repeat(3), "alice"), Ok(()));
        // Two bytes each: 14 of them are 28 bytes but still too short.
        assert_eq!(
            p.check(&"é".repeat(14), "alice"),
            Err(Weak::TooShort { min: 15 })
        );
        // Decomposed, 15 "é" are 30 code points, but 15 characters once
        // normalised.
        assert_eq!(p.check(&"e\u{301}".repeat(15), "alice"), Ok(()));
        assert_eq!(
            p.check(&"e\u{301}".repeat(14), "alice"),
            Err(Weak::TooShort { min: 15 })
        );
    }

    #[test]
    fn four_cjk_characters_are_four_and_too_short() {
        let pw = "正确马电";
        assert_eq!(pw.len(), 12, "12 bytes would have passed the old byte rule");
        assert_eq!(policy(8).check(pw, "alice"), Err(Weak::TooShort { min: 8 }));
    }

    #[test]
    fn fifteen_cjk_characters_pass_length() {
        let pw = "春眠不觉晓处处闻啼鸟夜来风雨声";
        assert_eq!(pw.chars().count(), 15);
        assert_eq!(policy(15).check(pw, "alice"), Ok(()));
    }

    #[test]
    fn at_most_256_characters_and_input_is_bounded_before_normalising() {
        let p = policy(15);
        assert_eq!(p.check(&"ab1".repeat(85), "alice"), Ok(()), "255");
        assert_eq!(
            p.check(&"abcd".repeat(64).replacen('a', "x", 1), "alice"),
            Ok(()),
            "256"
        );
        assert_eq!(
            p.check(&"abcd".repeat(64).replacen('a', "xy", 1), "alice"),
            Err(Weak::TooLong { max: 256 })
        );
        // 256 characters of four bytes each pass; so do 256 decomposed ones
        // whose input is several times longer.
        assert_eq!(p.check(&"😀".repeat(256), "alice"), Ok(()));
        let greek = "\u{3b1}\u{313}\u{300}\u{345}".repeat(256);
        assert_eq!(greek.len(), 2048);
        assert_eq!(p.check(&greek, "alice"), Ok(()));
        assert_eq!(
            p.check(&"a".repeat(MAX_INPUT_BYTES + 1), "alice"),
            Err(Weak::TooLong { max: 256 })
        );
        // A compatibility character that expands: one U+FDFA is 18.
        assert_eq!(
            p.check(&"\u{fdfa}".repeat(15), "alice"),
            Err(Weak::TooLong { max: 256 })
        );
    }

    #[test]
    fn common_passwords_are_refused_in_any_case_or_width() {
        let p = policy(8);
        for pw in [
            "password1234",
            "Password1234",
            "iloveyou",
            "trustno1",
            "football123",
            "qwertyuiop123",
            "1qaz2wsx3edc4rfv",
            "ｐａｓｓｗｏｒｄ１２３４",
        ] {
            assert_eq!(p.check(pw, "alice"), Err(Weak::Common), "{pw}");
        }
        for pw in ["passwordpassword", "manchesterunited", "qwertyuiopasdfgh"] {
            assert_eq!(policy(15).check(pw, "alice"), Err(Weak::Common), "{pw}");
        }
    }

    #[test]
    fn a_long_random_passphrase_passes() {
        assert_eq!(
            Policy::default().check("violet tractor ember quietly 42 lanterns", "alice"),
            Ok(())
        );
    }

    #[test]
    fn password_containing_the_username_in_another_case_is_refused() {
        let p = policy(15);
        assert_eq!(
            p.check("my name is ALICE.SMITH and I approve", "alice.smith"),
            Err(Weak::ContainsUsername)
        );
        assert_eq!(
            p.check("ｂｏｂ_ｔｈｅ_ｂｕｉｌｄｅｒ rocks 99", "Bob_the_Builder"),
            Err(Weak::ContainsUsername)
        );
        assert_eq!(
            p.check("nothing of the name in here", "alice.smith"),
            Ok(())
        );
        assert_eq!(p.check("nothing of the name in here", ""), Ok(()));
    }

    #[test]
    fn reasons_never_contain_the_password() {
        let long = "x".repeat(300);
        let cases = [
            (policy(15), "short", Weak::TooShort { min: 15 }),
            (policy(15), long.as_str(), Weak::TooLong { max: 256 }),
            (policy(8), "password1234", Weak::Common),
            (
                policy(15),
                "at least 15 chars alice",
                Weak::ContainsUsername,
            ),
        ];
        for (p, pw, want) in cases {
            let weak = p.check(pw, "alice").unwrap_err();
            assert_eq!(weak, want);
            let reason = weak.reason();
            assert_eq!(reason, weak.to_string());
            assert!(
                !reason.to_lowercase().contains(&pw.to_lowercase()),
                "{reason}"
            );
            assert!(!reason.contains("alice"), "{reason}");
        }
    }
}
