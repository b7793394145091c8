//! The refresh cookie: `refresh_token=<jwt>; HttpOnly; Secure;
//! SameSite=Strict; Path=<COOKIE_PATH>; Max-Age=<seconds>`, the device
//! cookie (`device=<jwt>`, the same attributes but `Path=<COOKIE_PATH>/login`:
//! only login reads it), and reading them back.

use lambda_http::http::{HeaderMap, HeaderValue, header};

use crate::Cookies;

/// Name of the refresh cookie.
pub const NAME: &str = "refresh_token";
/// Name of the device cookie.
pub const DEVICE: &str = "device";
/// `; HttpOnly; Secure; SameSite=Strict; Path=...`: the cookie goes only to
/// the auth routes, never to the rest of the API, and never cross-site.
fn attributes(cookies: &Cookies) -> String {
    let secure = if cookies.secure { "; Secure" } else { "" };
    format!("; HttpOnly{secure}; SameSite=Strict; Path={}", cookies.path)
}

/// Adds the `Set-Cookie` that stores `token` for `max_age` seconds.
pub fn set(headers: &mut HeaderMap, token: &str, max_age: u64, cookies: &Cookies) {
    let value = format!("{NAME}={token}{}; Max-Age={max_age}", attributes(cookies));
    // A JWT is base64url and dots: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Adds the `Set-Cookie` that stores the device token for `max_age` seconds,
/// sent back to the login route only.
pub fn set_device(headers: &mut HeaderMap, token: &str, max_age: u64, cookies: &Cookies) {
    let secure = if cookies.secure { "; Secure" } else { "" };
    let value = format!(
        "{DEVICE}={token}; HttpOnly{secure}; SameSite=Strict; Path={}/login; Max-Age={max_age}",
        cookies.path
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Adds the `Set-Cookie` that deletes the refresh cookie. Call it only for a
/// request that presented the cookie (and passed the origin check): a page
/// of another site must never be able to log a user out of their browser.
pub fn clear(headers: &mut HeaderMap, cookies: &Cookies) {
    let value = format!("{NAME}={}; Max-Age=0", attributes(cookies));
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Adds the `Set-Cookie` that deletes the device cookie (at its own path):
/// after an account's deletion the next person on a shared browser
/// inherits nothing.
pub fn clear_device(headers: &mut HeaderMap, cookies: &Cookies) {
    let secure = if cookies.secure { "; Secure" } else { "" };
    let value = format!(
        "{DEVICE}=; HttpOnly{secure}; SameSite=Strict; Path={}/login; Max-Age=0",
        cookies.path
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The refresh token from the request's `Cookie` headers, if any. Two
/// different non-empty values (a sibling subdomain can plant one with a more
/// specific path) are ambiguous and read as none, rather than trusting
/// whichever the browser happened to send first.
///
/// Headers are read as bytes, pair by pair: another cookie's value with
/// non-ASCII bytes (UTF-8 set by a script, say) must not hide the refresh
/// cookie beside it.
pub fn read(headers: &HeaderMap) -> Option<String> {
    read_named(headers, NAME)
}

/// The cookie `name` from the request's `Cookie` headers, read as [`read`]
/// reads the refresh cookie (two different values read as none).
pub fn read_named(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|b| *b == b'=')?;
            Some((&pair[..eq], &pair[eq + 1..]))
        })
        .filter(|(found, _)| *found == name.as_bytes())
        // `refresh_token=""` is as empty as `refresh_token=`: no token.
        .map(|(_, value)| trim_quotes(value))
        .filter(|value| !value.is_empty());
    let first = values.next()?;
    if values.any(|other| other != first) {
        return None;
    }
    // A JWT is ASCII; a refresh cookie that is not text is no token.
    std::str::from_utf8(first).ok().map(str::to_owned)
}

/// `value` without the double quotes around it (RFC 6265 allows them).
fn trim_quotes(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|b| *b != b'"').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| *b != b'"')
        .map_or(start, |i| i + 1);
    &value[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn set_cookie_has_every_attribute() {
        let mut h = HeaderMap::new();
        set(&mut h, "a.b.c", 604800, &Cookies::default());
        assert_eq!(
            h[header::SET_COOKIE],
            "refresh_token=a.b.c; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"
        );
    }

    #[test]
    fn the_device_cookie_goes_to_login_only() {
        let mut h = HeaderMap::new();
        set_device(&mut h, "d.e.v", 31_536_000, &Cookies::default());
        assert_eq!(
            h[header::SET_COOKIE],
            "device=d.e.v; HttpOnly; Secure; SameSite=Strict; Path=/auth/login; Max-Age=31536000"
        );
        let h = cookie_headers(&["refresh_token=r.e.f; device=d.e.v"]);
        assert_eq!(read_named(&h, DEVICE).as_deref(), Some("d.e.v"));
        assert_eq!(read(&h).as_deref(), Some("r.e.f"));
        let two = cookie_headers(&["device=a.b.c; device=x.y.z"]);
        assert_eq!(read_named(&two, DEVICE), None);
    }

    #[test]
    fn insecure_cookie_drops_only_secure() {
        let mut h = HeaderMap::new();
        set(
            &mut h,
            "a.b.c",
            60,
            &Cookies {
                secure: false,
                path: "/prod/auth".into(),
            },
        );
        assert_eq!(
            h[header::SET_COOKIE],
            "refresh_token=a.b.c; HttpOnly; SameSite=Strict; Path=/prod/auth; Max-Age=60"
        );
    }

    #[test]
    fn clearing_sets_max_age_zero_on_the_same_path() {
        let mut h = HeaderMap::new();
        clear(&mut h, &Cookies::default());
        assert_eq!(
            h[header::SET_COOKIE],
            "refresh_token=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0"
        );
    }

    #[test]
    fn reads_the_refresh_cookie_among_others() {
        let h = cookie_headers(&["theme=dark; refresh_token=x.y.z; lang=en"]);
        assert_eq!(read(&h).as_deref(), Some("x.y.z"));
        let h = cookie_headers(&["theme=dark", "refresh_token=p.q.r"]);
        assert_eq!(read(&h).as_deref(), Some("p.q.r"));
    }

    #[test]
    fn two_different_refresh_cookies_are_ambiguous_and_read_as_none() {
        let h = cookie_headers(&["refresh_token=attacker; refresh_token=victim"]);
        assert_eq!(read(&h), None);
        let h = cookie_headers(&["refresh_token=same; refresh_token=same"]);
        assert_eq!(read(&h).as_deref(), Some("same"));
        let h = cookie_headers(&["refresh_token=same; refresh_token=\"same\""]);
        assert_eq!(read(&h).as_deref(), Some("same"));
        // An empty one is no cookie at all, so it is not ambiguous either.
        let h = cookie_headers(&["refresh_token=\"\"", "refresh_token=p.q.r"]);
        assert_eq!(read(&h).as_deref(), Some("p.q.r"));
    }

    #[test]
    fn other_cookies_with_non_ascii_bytes_do_not_hide_the_refresh_cookie() {
        let mut h = HeaderMap::new();
        let v = "city=Z\u{fc}rich; refresh_token=x.y.z; name=\u{1F600}";
        h.append(
            header::COOKIE,
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
        assert_eq!(read(&h).as_deref(), Some("x.y.z"));
        // Found by fuzz/fuzz_targets/cookie_header.rs (regressions/cookie_header).
        let mut h = HeaderMap::new();
        let v = b"refresh_tok\xff\xffen=a.b.c;refresh_token=\"a.b.c\"";
        h.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        assert_eq!(read(&h).as_deref(), Some("a.b.c"));
    }

    #[test]
    fn a_refresh_cookie_that_is_not_text_is_none_and_still_ambiguous() {
        let mut h = HeaderMap::new();
        let v = b"refresh_token=\xff\xfe";
        h.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        assert_eq!(read(&h), None);
        h.append(
            header::COOKIE,
            HeaderValue::from_static("refresh_token=x.y.z"),
        );
        assert_eq!(read(&h), None);
    }

    #[test]
    fn missing_empty_or_lookalike_cookies_read_as_none() {
        for v in [
            "",
            "theme=dark",
            "refresh_token=",
            "xrefresh_token=a",
            "refresh_token",
            // Found by fuzz/fuzz_targets/cookie_header.rs (regressions/cookie_header).
            "refresh_token=\"",
            "refresh_token=\"\"",
            "refresh_token=\"\"; theme=dark",
        ] {
            assert_eq!(read(&cookie_headers(&[v])), None, "{v:?}");
        }
        assert_eq!(read(&HeaderMap::new()), None);
    }
}
