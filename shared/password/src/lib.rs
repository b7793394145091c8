//! Passwords: the policy for new ones ([`Policy`]), the one normalisation
//! every password goes through ([`normalize`]), and argon2id hashing with the
//! OWASP parameters (m = 19 MiB, t = 2, p = 1), stored as PHC strings.
//!
//! Every path normalises the same way before hashing or verifying: register,
//! password change and the operator CLI run [`Policy::check`], then [`hash`]
//! the [`normalize`]d password; login skips the policy (old passwords must
//! still log in) but [`verify`]s the [`normalize`]d password too, and
//! replaces a hash for which [`needs_rehash`] is true.
//!
//! Verifying against an unknown user costs the same one hash as verifying a
//! real one, so timing does not tell who exists. Verification reuses one
//! 19 MiB block buffer for the life of the process: allocating and freeing it
//! per login fragments glibc's heap, and a warm Lambda grew from 126 MiB after
//! 100 logins to 240 MiB after 1,000.

use std::sync::Mutex;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

mod blocklist;
mod fold;
mod policy;

pub use blocklist::is_common;
pub use policy::{
    MAX_INPUT_BYTES, MIN_CHARS_CEILING, MIN_CHARS_DEFAULT, MIN_CHARS_FLOOR, NewPassword, Policy,
    Weak,
};

/// Longest password, in characters after [`normalize`]: the policy refuses
/// longer ones, and [`hash`] refuses them too, so one request cannot cost
/// more than another. 256 characters are at most 1,024 bytes of UTF-8.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// OWASP Password Storage Cheat Sheet, argon2id: 19 MiB, 2 passes, 1 lane.
pub const M_COST_KIB: u32 = 19 * 1024;
/// Passes over memory (OWASP).
pub const T_COST: u32 = 2;
/// Lanes (OWASP).
pub const P_COST: u32 = 1;

/// A hash of a random, forgotten password with the same parameters as every
/// real hash. Unknown users are verified against it so they cost one hash too.
/// It protects nothing: it only has to be a well-formed argon2id PHC string.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$cGVwcGVyLWZyZWUtZHVtbXk$bF0oCZ+dbh/BJOW9WIY9Ba8nVsG9P74AKWqwE5tl5IQ";

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Over [`MAX_PASSWORD_CHARS`]; the policy refuses these before hashing.
    #[error("password must be at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    /// Not in NFKC: a caller forgot [`normalize`], and the hash would never
    /// match what login verifies.
    #[error("password must be normalised before hashing")]
    NotNormalized,
    /// argon2 refused (it does not, for inputs within the bounds).
    #[error("password hashing failed")]
    Hashing,
}

/// The form of a password that is hashed and verified, at register, login
/// and password change: NFKC, so the same password typed on different
/// keyboards or systems (composed or decomposed accents, full-width letters)
/// is the same string. Case is kept: only the policy's comparisons ignore it.
pub fn normalize(password: &str) -> String {
    fold::nfkc(password)
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants inside argon2's documented bounds.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password that is already [`normalize`]d (and, when new, passed
/// [`Policy::check`]) with a fresh random salt into a PHC string. Applies no
/// policy itself, only the hard bound of [`MAX_PASSWORD_CHARS`], and refuses
/// a password that is not normalised rather than store a hash that login
/// would never match.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    if !unicode_normalization::is_nfkc(password) {
        return Err(PasswordError::NotNormalized);
    }
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// True when `password` (already [`normalize`]d) matches `phc`. With `phc`
/// of `None` (unknown user) the password is still hashed once, against a
/// dummy, and `false` returned. A malformed stored hash verifies as `false`,
/// never panics. Any algorithm and parameters argon2 knows verify; see
/// [`needs_rehash`] for replacing old ones.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    let matched = verify_phc(password.as_bytes(), phc.unwrap_or(DUMMY_PHC)).unwrap_or(false);
    matched && phc.is_some()
}

/// True when `phc` was not made with the current parameters (argon2id,
/// v=19, m=19456, t=2, p=1, a 32-byte output, no key id or associated data),
/// so login should hash the password it just verified again and store that.
/// A malformed string is `true` too: it is certainly not a current hash.
pub fn needs_rehash(phc: &str) -> bool {
    !is_current(phc).unwrap_or(false)
}

fn is_current(phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&hash).ok()?;
    Some(
        hash.algorithm.as_str() == Algorithm::Argon2id.as_str()
            && hash.version == Some(u32::from(Version::V0x13))
            && params.m_cost() == M_COST_KIB
            && params.t_cost() == T_COST
            && params.p_cost() == P_COST
            && params.keyid().is_empty()
            && params.data().is_empty()
            && params.output_len() == Some(Params::DEFAULT_OUTPUT_LEN)
            && hash.salt.is_some(),
    )
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
    fn nfc_and_nfd_forms_normalise_equal_and_verify_each_other() {
        let nfc = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
        let nfd = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
        assert_ne!(nfc, nfd);
        assert_eq!(normalize(nfc), normalize(nfd));
        let phc = hash(&normalize(nfd)).unwrap();
        assert!(verify(&normalize(nfc), Some(&phc)));
    }

    #[test]
    fn compatibility_characters_fold_to_their_plain_forms() {
        // Full-width Latin, the "fi" ligature, a superscript two, a circled one.
        assert_eq!(
            normalize("\u{ff30}\u{ff41}\u{ff53}\u{ff53} \u{fb01}x\u{b2}\u{2460}"),
            "Pass fix21"
        );
        let phc = hash(&normalize("Ｃｏｒｒｅｃｔ Ｈｏｒｓｅ")).unwrap();
        assert!(verify(&normalize("Correct Horse"), Some(&phc)));
    }

    #[test]
    fn normalize_keeps_case() {
        assert_eq!(normalize("Correct HORSE"), "Correct HORSE");
    }

    #[test]
    fn hash_refuses_over_256_characters_but_takes_256_four_byte_ones() {
        assert_eq!(
            hash(&"a".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(PasswordError::TooLong)
        );
        // Characters, not bytes: 256 four-byte characters are 1,024 bytes.
        let emoji = "😀".repeat(MAX_PASSWORD_CHARS);
        assert_eq!(emoji.len(), 1024);
        assert!(hash(&emoji).is_ok());
    }

    #[test]
    fn hash_refuses_a_password_that_was_not_normalised() {
        assert_eq!(
            hash("cafe\u{301} au lait, decomposed"),
            Err(PasswordError::NotNormalized)
        );
        assert_eq!(
            hash("ｆｕｌｌ－ｗｉｄｔｈ"),
            Err(PasswordError::NotNormalized)
        );
    }

    fn hash_with(algorithm: Algorithm, m: u32, t: u32) -> String {
        Argon2::new(
            algorithm,
            Version::V0x13,
            Params::new(m, t, 1, None).unwrap(),
        )
        .hash_password(b"an older password")
        .unwrap()
        .to_string()
    }

    #[test]
    fn needs_rehash_is_false_for_a_fresh_hash_of_ours() {
        assert!(!needs_rehash(&hash("a fresh password").unwrap()));
        assert!(!needs_rehash(DUMMY_PHC));
    }

    #[test]
    fn needs_rehash_is_true_for_argon2i() {
        let phc = hash_with(Algorithm::Argon2i, M_COST_KIB, T_COST);
        assert!(phc.starts_with("$argon2i$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(needs_rehash(&phc));
    }

    #[test]
    fn needs_rehash_is_true_for_less_memory() {
        let phc = hash_with(Algorithm::Argon2id, 4096, T_COST);
        assert!(phc.starts_with("$argon2id$v=19$m=4096,t=2,p=1$"), "{phc}");
        assert!(needs_rehash(&phc));
    }

    #[test]
    fn needs_rehash_is_true_for_fewer_passes() {
        let phc = hash_with(Algorithm::Argon2id, M_COST_KIB, 1);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=1,p=1$"), "{phc}");
        assert!(needs_rehash(&phc));
    }

    #[test]
    fn needs_rehash_is_true_for_another_version_or_output_length_or_garbage() {
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            argon2().params().clone(),
        )
        .hash_password(b"an older password")
        .unwrap()
        .to_string();
        assert!(needs_rehash(&old), "{old}");
        let short = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(M_COST_KIB, T_COST, P_COST, Some(16)).unwrap(),
        )
        .hash_password(b"an older password")
        .unwrap()
        .to_string();
        assert!(needs_rehash(&short), "{short}");
        assert!(needs_rehash("not a phc string"));
        assert!(needs_rehash("$argon2id$v=19$m=19456,t=2,p=1"));
    }
}
