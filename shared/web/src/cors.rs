//! CORS for browsers on other origins, and the CSRF rule: a call
//! authenticated by the refresh cookie that carries an `Origin` not in
//! `ALLOWED_ORIGINS` is refused. Both use the same list;
//! [`crate::endpoint::serve`] applies them to every endpoint.

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

use crate::response::empty;
use crate::{ApiError, Origins};

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// The CSRF check for cookie-authenticated calls: no `Origin` (a non-browser
/// client, or a same-site navigation) passes; a foreign one does not.
pub fn check_cookie_origin(origins: &Origins, headers: &HeaderMap) -> Result<(), ApiError> {
    match origin(headers) {
        None => Ok(()),
        Some(o) if origins.allowed(Some(o)).is_some() => Ok(()),
        Some(_) => Err(ApiError::ForbiddenOrigin),
    }
}

pub(crate) fn preflight(
    origins: &Origins,
    allow: &'static str,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    origins
        .allowed(origin(headers))
        .ok_or(ApiError::ForbiddenOrigin)?;
    let mut res = empty(StatusCode::NO_CONTENT);
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(allow),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Ok(res)
}

pub(crate) fn add_cors_headers(origins: &Origins, request: &HeaderMap, res: &mut Response<Body>) {
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origins
        .allowed(origin(request))
        .and_then(|o| HeaderValue::from_str(o).ok())
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        // A 429's Retry-After is for the page to read.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{POST, serve};
    use lambda_http::Request;

    fn config() -> Origins {
        Origins::new(["https://app.example.com"])
    }

    fn request(method: &str, origin: Option<&str>) -> Request {
        let mut b = lambda_http::http::Request::builder().method(method);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::Empty).unwrap()
    }

    async fn ok(_: Request) -> Result<Response<Body>, ApiError> {
        Ok(empty(StatusCode::NO_CONTENT))
    }

    #[tokio::test]
    async fn preflight_from_an_allowed_origin_is_answered() {
        let res = serve(
            &config(),
            POST,
            request("OPTIONS", Some("https://app.example.com")),
            ok,
        )
        .await;
        assert_eq!(res.status(), 204);
        let h = res.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "POST, OPTIONS");
    }

    #[tokio::test]
    async fn preflight_from_another_origin_is_refused_without_cors_headers() {
        let res = serve(
            &config(),
            POST,
            request("OPTIONS", Some("https://evil.example")),
            ok,
        )
        .await;
        assert_eq!(res.status(), 403);
        assert!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    }

    #[tokio::test]
    async fn other_methods_are_405_with_allow() {
        let res = serve(&config(), POST, request("GET", None), ok).await;
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()[header::ALLOW], "POST, OPTIONS");
    }

    #[tokio::test]
    async fn allowed_origin_gets_cors_headers_on_the_answer() {
        let res = serve(
            &config(),
            POST,
            request("POST", Some("https://app.example.com")),
            ok,
        )
        .await;
        assert_eq!(res.status(), 204);
        assert_eq!(
            res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(res.headers()[header::VARY], "Origin");
    }

    #[test]
    fn cookie_calls_pass_without_origin_or_from_an_allowed_one() {
        let c = config();
        assert!(check_cookie_origin(&c, request("POST", None).headers()).is_ok());
        assert!(
            check_cookie_origin(
                &c,
                request("POST", Some("https://app.example.com")).headers()
            )
            .is_ok()
        );
    }

    #[test]
    fn cookie_calls_from_a_foreign_or_null_origin_are_refused() {
        let c = config();
        for o in [
            "https://evil.example",
            "null",
            "https://app.example.com.evil.example",
        ] {
            assert_eq!(
                check_cookie_origin(&c, request("POST", Some(o)).headers()),
                Err(ApiError::ForbiddenOrigin),
                "{o}"
            );
        }
    }
}
