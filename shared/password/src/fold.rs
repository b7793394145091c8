//! The one way passwords (and usernames) are folded for comparison: NFKC,
//! then lower case. The build script folds the blocklist with this very file
//! (`#[path]`), and the library folds candidates with it, so the two sides
//! cannot drift apart.

use unicode_normalization::UnicodeNormalization;

/// NFKC (Unicode compatibility composition): canonically equivalent forms
/// (NFC and NFD) and compatibility forms (full-width letters, ligatures)
/// become one string.
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// Lower case of an already normalised string (Unicode's full mapping, not
/// only ASCII).
pub fn lower(normalized: &str) -> String {
    normalized.to_lowercase()
}

/// The comparison form: NFKC, then lower case.
pub fn fold(s: &str) -> String {
    lower(&nfkc(s))
}
