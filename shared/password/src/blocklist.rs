//! The blocklist of common and breached passwords: SecLists' 100,000 most
//! common (`data/README.md`), folded, deduplicated and sorted by `build.rs`
//! and embedded as one newline-separated string. A lookup is a binary search
//! over its bytes, so a cold start parses nothing and builds nothing: the
//! text sits in the binary's read-only data and a lookup touches about 17 of
//! its lines.

use std::cmp::Ordering;

use crate::fold;

/// The folded entries (`src/fold.rs`), sorted by bytes, each ending in `\n`.
static BLOCKLIST: &str = include_str!(concat!(env!("OUT_DIR"), "/blocklist.txt"));

/// True when `password`, folded (NFKC, then lower case), is on the
/// blocklist. The comparison ignores case, as breach checkers' commonly do:
/// `PASSWORD1` is no stronger than `password1`.
pub fn is_common(password: &str) -> bool {
    contains_folded(&fold::fold(password))
}

/// [`is_common`] for a password that is already folded.
pub(crate) fn contains_folded(folded: &str) -> bool {
    contains_line(BLOCKLIST.as_bytes(), folded.as_bytes())
}

/// Binary search for the line `needle` in `lines`, sorted lines that each
/// end in `\n`. The range `lo..hi` always starts and ends on line
/// boundaries; each step takes the line around its midpoint.
fn contains_line(lines: &[u8], needle: &[u8]) -> bool {
    let (mut lo, mut hi) = (0, lines.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(before) = lines.get(lo..mid) else {
            return false;
        };
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let Some(rest) = lines.get(start..hi) else {
            return false;
        };
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |i| start + i);
        let Some(line) = lines.get(start..end) else {
            return false;
        };
        match line.cmp(needle) {
            Ordering::Equal => return true,
            Ordering::Less => lo = end + 1,
            Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list as shipped, before folding.
    const RAW: &str = include_str!("../data/10-million-password-list-top-100000.txt");

    #[test]
    fn the_shipped_list_has_100000_distinct_entries() {
        let lines: Vec<&str> = RAW.lines().collect();
        assert_eq!(lines.len(), 100_000);
        let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
        assert_eq!(distinct.len(), 100_000);
    }

    #[test]
    fn every_entry_of_the_shipped_list_is_common() {
        let missing: Vec<&str> = RAW.lines().filter(|e| !is_common(e)).collect();
        assert!(
            missing.is_empty(),
            "{} missing: {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    }

    #[test]
    fn embedded_list_is_folded_sorted_and_distinct() {
        let lines: Vec<&str> = BLOCKLIST.lines().collect();
        assert_eq!(
            lines.len(),
            96_518,
            "100,000 entries less those equal but for case"
        );
        assert!(BLOCKLIST.ends_with('\n'));
        for pair in lines.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        for line in &lines {
            assert!(!line.is_empty());
            assert_eq!(&fold::fold(line), line);
        }
    }

    #[test]
    fn well_known_entries_are_common_in_any_case() {
        for pw in [
            "password1234",
            "123456",
            "qwertyuiop123",
            "iloveyou",
            "trustno1",
            "1qaz2wsx3edc4rfv",
            "passwordpassword",
            "qwertyuiopasdfgh",
            "manchesterunited",
            "PassWord1234",
            "ＰＡＳＳＷＯＲＤ１２３４",
        ] {
            assert!(is_common(pw), "{pw}");
        }
    }

    #[test]
    fn a_random_passphrase_and_near_misses_are_not_common() {
        for pw in [
            "correct horse battery staple quietly",
            "password12345x",
            "passwordx1234",
            "",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "\u{0}",
        ] {
            assert!(!is_common(pw), "{pw}");
        }
    }

    #[test]
    fn search_finds_first_and_last_lines_and_nothing_between() {
        let first = BLOCKLIST.lines().next().unwrap();
        let last = BLOCKLIST.lines().last().unwrap();
        assert!(contains_folded(first));
        assert!(contains_folded(last));
        let lines = b"b\nd\nf\n";
        for (needle, found) in [
            ("a", false),
            ("b", true),
            ("c", false),
            ("d", true),
            ("e", false),
            ("f", true),
            ("g", false),
            ("", false),
        ] {
            assert_eq!(contains_line(lines, needle.as_bytes()), found, "{needle}");
        }
        assert!(!contains_line(b"", b"x"));
        // A last line without its newline is still found.
        assert!(contains_line(b"b\nd", b"d"));
    }
}
