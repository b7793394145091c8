//! Any bytes as one or more `Cookie` header values (split at `\n`) to
//! `web::cookie::read`. Nothing panics, and the answer depends on the cookies
//! sent, not on how they were spread over headers or in which order: only a
//! non-empty value, read the same from every `refresh_token` cookie.

#![no_main]

use lambda_http::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

fn headers<'a>(values: impl Iterator<Item = &'a [u8]>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            h.append(header::COOKIE, v);
        }
    }
    h
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|v| HeaderValue::from_bytes(v).is_ok())
        .collect();
    let read = web::cookie::read(&headers(values.iter().copied()));

    if let Some(token) = &read {
        assert!(
            !token.is_empty(),
            "an empty refresh cookie was read as a token"
        );
        assert!(!token.contains(';'), "{token:?}");
        assert!(
            data.windows(token.len()).any(|w| w == token.as_bytes()),
            "read a value that was not sent: {token:?}"
        );
    }
    // The same cookies in the opposite order.
    assert_eq!(
        read,
        web::cookie::read(&headers(values.iter().rev().copied()))
    );
    // The same cookies, one per header.
    let pairs = values.iter().flat_map(|v| v.split(|b| *b == b';'));
    assert_eq!(read, web::cookie::read(&headers(pairs)));
});
