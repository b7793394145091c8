//! Request bodies: at most 16 KiB of JSON, with the right content type,
//! parsed into a typed struct or refused with a clear 400.

use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Largest body accepted (docs/http-api.md).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

fn bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

/// The body as `T`, which must be there.
pub fn json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    optional_json(req)?.ok_or(ApiError::InvalidRequest("a JSON body is required"))
}

/// The body as `T`, or `None` for an empty body (refresh and logout may
/// carry everything in the cookie).
pub fn optional_json<T: DeserializeOwned>(req: &Request) -> Result<Option<T>, ApiError> {
    let raw = bytes(req);
    if raw.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge);
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(req) {
        return Err(ApiError::InvalidRequest(
            "content-type must be application/json",
        ));
    }
    // serde's derive also accepts an array as positional fields; every body
    // of this API is an object, so anything else is refused up front.
    if raw.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::InvalidRequest("body must be a JSON object"));
    }
    // JSON is UTF-8 (RFC 8259 §8.1). serde_json checks that only in the
    // strings it keeps, and skips unknown fields unchecked, so a binary body
    // is checked whole first.
    let text =
        std::str::from_utf8(raw).map_err(|_| ApiError::InvalidRequest("body is not valid JSON"))?;
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ApiError::InvalidRequest(describe(&e)))
}

/// A fixed description of a JSON error: serde's own message may quote input.
fn describe(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => "body has missing fields or fields of the wrong type",
        Category::Syntax | Category::Eof | Category::Io => "body is not valid JSON",
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Creds {
        username: String,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut b = lambda_http::http::Request::builder().method("POST");
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn json_body_parses() {
        let r = request(
            Some("application/json; charset=utf-8"),
            r#"{"username":"a"}"#,
        );
        assert_eq!(json::<Creds>(&r).unwrap().username, "a");
    }

    #[test]
    fn empty_body_is_none_or_required() {
        let r = request(None, "  ");
        assert_eq!(optional_json::<Creds>(&r).unwrap(), None);
        assert!(matches!(
            json::<Creds>(&r),
            Err(ApiError::InvalidRequest(_))
        ));
    }

    #[test]
    fn wrong_content_type_is_refused() {
        let r = request(Some("text/plain"), r#"{"username":"a"}"#);
        assert!(matches!(
            json::<Creds>(&r),
            Err(ApiError::InvalidRequest(_))
        ));
        let r = request(None, r#"{"username":"a"}"#);
        assert!(matches!(
            json::<Creds>(&r),
            Err(ApiError::InvalidRequest(_))
        ));
    }

    #[test]
    fn malformed_json_and_missing_fields_are_refused_without_echo() {
        for body in [
            "{",
            "[]",
            r#"["a"]"#,
            r#"{"username": 5}"#,
            r#"{"name":"a"}"#,
            "null",
        ] {
            let r = request(Some("application/json"), body);
            match json::<Creds>(&r) {
                Err(ApiError::InvalidRequest(msg)) => assert!(!msg.contains("name\"")),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn binary_body_that_is_not_utf8_is_refused_even_in_an_unknown_field() {
        // Found by fuzz/fuzz_targets/body_parsers.rs (regressions/body_parsers):
        // serde_json skips unknown fields without checking their UTF-8.
        for body in [
            &b"{\"x\":\"\xd5\",\"username\":\"a\"}"[..],
            b"{\"username\":\"\xff\"}",
        ] {
            let r = lambda_http::http::Request::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::Binary(body.to_vec()))
                .unwrap();
            assert_eq!(
                json::<Creds>(&r),
                Err(ApiError::InvalidRequest("body is not valid JSON"))
            );
        }
        let r = lambda_http::http::Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Binary(br#"{"username":"\u00e9"}"#.to_vec()))
            .unwrap();
        assert_eq!(json::<Creds>(&r).unwrap().username, "\u{e9}");
    }

    #[test]
    fn body_over_16_kib_is_too_large() {
        let big = format!(r#"{{"username":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let r = request(Some("application/json"), &big);
        assert_eq!(json::<Creds>(&r), Err(ApiError::TooLarge));
    }
}
