//! Password hashing: argon2id with the OWASP parameters (m = 19 MiB, t = 2,
//! p = 1), stored as PHC strings. Verifying against an unknown user costs the
//! same one hash as verifying a real one, so timing does not tell who exists.
//!
//! Verification reuses one 19 MiB block buffer for the life of the process:
//! allocating and freeing it per login fragments glibc's heap, and a warm
//! Lambda grew from 126 MiB after 100 logins to 240 MiB after 1,000.

use std::sync::Mutex;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

/// Shortest password accepted, in bytes (ARCHITECTURE.md, "Passwords").
pub const MIN_PASSWORD_BYTES: usize = 12;
/// Longest password accepted, in bytes: argon2 takes any length, but a bound
/// keeps one request from costing more than another.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// OWASP Password Storage Cheat Sheet, argon2id: 19 MiB, 2 passes, 1 lane.
pub const M_COST_KIB: u32 = 19 * 1024;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

/// A hash of a random, forgotten password with the same parameters as every
/// real hash. Unknown users are verified against it so they cost one hash too.
/// It protects nothing: it only has to be a well-formed argon2id PHC string.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$cGVwcGVyLWZyZWUtZHVtbXk$bF0oCZ+dbh/BJOW9WIY9Ba8nVsG9P74AKWqwE5tl5IQ";

/// Why a password could not be hashed or was refused by the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be between {MIN_PASSWORD_BYTES} and {MAX_PASSWORD_BYTES} bytes")]
    Length,
    #[error("password hashing failed")]
    Hashing,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants inside argon2's documented bounds.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the length policy: 12 to 256 bytes.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    if (MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        Ok(())
    } else {
        Err(PasswordError::Length)
    }
}

/// Hashes an acceptable password with a fresh random salt into a PHC string.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_policy(password)?;
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// True when `password` matches `phc`. With `phc` of `None` (unknown user)
/// the password is still hashed once, against a dummy, and `false` returned.
/// A malformed stored hash verifies as `false`, never panics.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    let matched = verify_phc(password.as_bytes(), phc.unwrap_or(DUMMY_PHC)).unwrap_or(false);
    matched && phc.is_some()
}

/// What argon2's `PasswordVerifier` does (the hash's own algorithm, version
/// and parameters; a constant-time comparison of the outputs), over the
/// kept block buffer. `None` for a malformed or unsupported hash.
fn verify_phc(password: &[u8], phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).ok()?;
    let (salt, expected) = (hash.salt.as_ref()?, hash.hash.as_ref()?);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer.get_mut(..expected.len())?;
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password, salt, out, memory)
    })
    .ok()?;
    Some(Output::new(out).ok()? == *expected)
}

/// The block buffer of this project's parameters, allocated on first use.
static MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Runs `f` over `blocks` zero-initialised-or-reused blocks: the kept buffer
/// when it is free and the size is ours (argon2 overwrites every block before
/// reading it), else a buffer of its own (parallel tests, other parameters).
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let ours = blocks == (M_COST_KIB as usize);
    match MEMORY.try_lock() {
        Ok(mut kept) if ours => {
            if kept.len() != blocks {
                *kept = vec![Block::default(); blocks];
            }
            f(&mut kept)
        }
        _ => f(&mut vec![Block::default(); blocks]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_phc_with_owasp_parameters() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
    }

    #[test]
    fn right_password_verifies_and_wrong_one_does_not() {
        let phc = hash("correct horse battery").unwrap();
        assert!(verify("correct horse battery", Some(&phc)));
        assert!(!verify("correct horse batterz", Some(&phc)));
    }

    #[test]
    fn same_password_hashes_differently_each_time() {
        assert_ne!(
            hash("same password here").unwrap(),
            hash("same password here").unwrap()
        );
    }

    #[test]
    fn verify_agrees_with_argon2s_own_verifier() {
        use argon2::PasswordVerifier;
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 1, 1, Some(16)).unwrap(),
        )
        .hash_password(b"another password")
        .unwrap()
        .to_string();
        let ours = hash("correct horse battery").unwrap();
        for (password, phc) in [("correct horse battery", ours), ("another password", other)] {
            for candidate in [password, "wrong password!!"] {
                let theirs = argon2()
                    .verify_password(candidate.as_bytes(), phc.as_str())
                    .is_ok();
                assert_eq!(verify(candidate, Some(&phc)), theirs, "{candidate} {phc}");
            }
            assert!(verify(password, Some(&phc)));
        }
    }

    #[test]
    fn unknown_user_never_verifies() {
        assert!(!verify("anything at all", None));
    }

    #[test]
    fn dummy_hash_is_well_formed_with_the_same_parameters() {
        let parsed = argon2::PasswordHash::new(DUMMY_PHC).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let real = hash("some real password").unwrap();
        let prefix = |s: &str| s.rsplitn(3, '$').nth(2).map(str::to_owned);
        assert_eq!(prefix(DUMMY_PHC), prefix(&real));
    }

    #[test]
    fn malformed_stored_hash_is_false_not_a_panic() {
        assert!(!verify("whatever password", Some("not a phc string")));
        assert!(!verify(
            "whatever password",
            Some("$argon2id$v=19$m=1,t=1,p=1$$")
        ));
    }

    #[test]
    fn length_policy_is_12_to_256_bytes() {
        assert_eq!(hash(&"a".repeat(11)), Err(PasswordError::Length));
        assert!(check_policy(&"a".repeat(12)).is_ok());
        assert!(check_policy(&"a".repeat(256)).is_ok());
        assert_eq!(check_policy(&"a".repeat(257)), Err(PasswordError::Length));
        // Bytes, not characters: 64 four-byte characters are 256 bytes.
        assert!(check_policy(&"😀".repeat(64)).is_ok());
        assert_eq!(check_policy(&"😀".repeat(65)), Err(PasswordError::Length));
    }
}
