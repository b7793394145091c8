//! The refresh cookie: `refresh_token=<jwt>; HttpOnly; Secure;
//! SameSite=Strict; Path=/auth; Max-Age=<seconds>`, and reading it back.

use lambda_http::http::{HeaderMap, HeaderValue, header};

/// Name of the refresh cookie.
pub const NAME: &str = "refresh_token";
/// The cookie goes only to the auth routes, never to the rest of the API.
pub const PATH: &str = "/auth";

fn attributes(secure: bool) -> &'static str {
    if secure {
        "; HttpOnly; Secure; SameSite=Strict; Path=/auth"
    } else {
        "; HttpOnly; SameSite=Strict; Path=/auth"
    }
}

/// Adds the `Set-Cookie` that stores `token` for `max_age` seconds.
pub fn set(headers: &mut HeaderMap, token: &str, max_age: u64, secure: bool) {
    let value = format!("{NAME}={token}{}; Max-Age={max_age}", attributes(secure));
    // A JWT is base64url and dots: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Adds the `Set-Cookie` that deletes the refresh cookie.
pub fn clear(headers: &mut HeaderMap, secure: bool) {
    let value = format!("{NAME}={}; Max-Age=0", attributes(secure));
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The refresh token from the request's `Cookie` headers, if any. Two
/// different non-empty values (a sibling subdomain can plant one with a more
/// specific path) are ambiguous and read as none, rather than trusting
/// whichever the browser happened to send first.
pub fn read(headers: &HeaderMap) -> Option<String> {
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.trim_matches('"'));
    let first = values.next()?;
    if values.any(|other| other != first) {
        return None;
    }
    Some(first.to_owned())
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
        set(&mut h, "a.b.c", 604800, true);
        assert_eq!(
            h[header::SET_COOKIE],
            "refresh_token=a.b.c; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"
        );
    }

    #[test]
    fn insecure_cookie_drops_only_secure() {
        let mut h = HeaderMap::new();
        set(&mut h, "a.b.c", 60, false);
        assert_eq!(
            h[header::SET_COOKIE],
            "refresh_token=a.b.c; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=60"
        );
    }

    #[test]
    fn clearing_sets_max_age_zero_on_the_same_path() {
        let mut h = HeaderMap::new();
        clear(&mut h, true);
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
    }

    #[test]
    fn missing_empty_or_lookalike_cookies_read_as_none() {
        for v in [
            "",
            "theme=dark",
            "refresh_token=",
            "xrefresh_token=a",
            "refresh_token",
        ] {
            assert_eq!(read(&cookie_headers(&[v])), None, "{v:?}");
        }
        assert_eq!(read(&HeaderMap::new()), None);
    }
}
