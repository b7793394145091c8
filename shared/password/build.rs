//! Folds the shipped blocklist (`data/`, see its README) into the form the
//! library searches: every entry folded by `src/fold.rs` (NFKC, lower case,
//! the same code the library runs on candidates), deduplicated, sorted by
//! bytes, one a line. Done at build time so a cold start does no work: the
//! library embeds the result with `include_str!` and binary-searches it.

use std::error::Error;
use std::path::Path;

#[path = "src/fold.rs"]
mod fold;

const LIST: &str = "data/10-million-password-list-top-100000.txt";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={LIST}");
    println!("cargo::rerun-if-changed=src/fold.rs");
    let raw = std::fs::read_to_string(LIST)?;
    let mut entries: Vec<String> = raw
        .lines()
        .map(fold::fold)
        // A line break inside an entry would split it in the embedded text.
        .filter(|e| !e.is_empty() && !e.contains(['\n', '\r']))
        .collect();
    entries.sort_unstable();
    entries.dedup();
    let mut out = entries.join("\n");
    out.push('\n');
    let dir = std::env::var("OUT_DIR")?;
    std::fs::write(Path::new(&dir).join("blocklist.txt"), out)?;
    Ok(())
}
