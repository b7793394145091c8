//! base64url as JWS uses it, and surgery on a token's segments for tests
//! that tamper with tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Unpadded base64url (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; `None` for anything else.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// The decoded JSON of segment `i` of `token` (0 header, 1 payload).
///
/// # Panics
/// When the segment is missing or is not base64url JSON (a test bug).
pub fn part(token: &str, i: usize) -> Value {
    let segment = token.split('.').nth(i).expect("segment");
    let bytes = b64url_decode(segment).expect("base64url segment");
    serde_json::from_slice(&bytes).expect("JSON segment")
}

/// The `kid` of a token's header.
pub fn kid(token: &str) -> String {
    part(token, 0)["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `token` with `from` replaced by `to` in the decoded JSON text of segment
/// `i`; the other segments (the signature in particular) and the rest of the
/// JSON text stay byte for byte as they were.
///
/// # Panics
/// When `from` is not in the segment (the tamper would change nothing).
pub fn tamper(token: &str, i: usize, from: &str, to: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let bytes = b64url_decode(&parts[i]).expect("base64url segment");
    let text = String::from_utf8(bytes).expect("UTF-8 segment");
    assert!(text.contains(from), "{from} not in {text}");
    parts[i] = b64url(text.replace(from, to).as_bytes());
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_and_refuses_padding() {
        for s in ["", "a", "ab", "abc", "abcd", "{\"alg\":\"HS256\"}"] {
            assert_eq!(b64url_decode(&b64url(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64url_decode("YQ=="), None);
    }

    #[test]
    fn tamper_changes_only_what_it_is_asked_to() {
        let token = format!(
            "{}.{}.sig",
            b64url(br#"{"alg":"HS256"}"#),
            b64url(br#"{"sub":"a","roles":["user"]}"#)
        );
        let t = tamper(&token, 1, "\"user\"", "\"admin\"");
        assert_eq!(part(&t, 1)["roles"][0], "admin");
        assert_eq!(part(&t, 0), part(&token, 0));
        assert!(t.ends_with(".sig"));
    }
}
