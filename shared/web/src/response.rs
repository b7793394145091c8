//! Building answers: JSON bodies, and the token response of login and
//! refresh.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::{Cookies, cookie};

/// A JSON answer. Every answer of this service is `no-store`: they carry
/// tokens or say something about an account (RFC 6749 §5.1).
pub fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut res = Response::new(Body::Text(text));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// An empty answer (204 for logout).
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut res = Response::new(Body::Empty);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// What login and refresh hand back.
pub struct TokenPair<'a> {
    pub access_token: &'a str,
    pub access_expires_in: u64,
    pub refresh_token: &'a str,
    pub refresh_expires_in: u64,
    /// Login's device token and its lifetime: a cookie, and in the body
    /// too when refresh tokens are.
    pub device: Option<(&'a str, u64)>,
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<&'a str>,
}

/// `200 {"access_token","token_type":"Bearer","expires_in"}` and nothing
/// else: a reauthentication's fresh access token of the same session (no
/// cookie: the refresh token does not change).
pub fn access_token(token: &str, expires_in: u64) -> Response<Body> {
    json(
        StatusCode::OK,
        &TokenBody {
            access_token: token,
            token_type: "Bearer",
            expires_in,
            refresh_token: None,
            refresh_expires_in: None,
            device_token: None,
        },
    )
}

/// A password change's fresh device token (the user's version moved on,
/// so the old one is stale): `204` with the device cookie, or with
/// `REFRESH_TOKEN_IN_BODY` `200 {"device_token"}` too.
pub fn device_token(cookies: &Cookies, in_body: bool, token: &str, max_age: u64) -> Response<Body> {
    #[derive(Serialize)]
    struct DeviceBody<'a> {
        device_token: &'a str,
    }
    let mut res = if in_body {
        json(
            StatusCode::OK,
            &DeviceBody {
                device_token: token,
            },
        )
    } else {
        empty(StatusCode::NO_CONTENT)
    };
    cookie::set_device(res.headers_mut(), token, max_age, cookies);
    res
}

/// `200 {"access_token","token_type":"Bearer","expires_in"}` with the refresh
/// token in its cookie, and in the body too when `in_body`
/// (`REFRESH_TOKEN_IN_BODY`).
pub fn tokens(cookies: &Cookies, in_body: bool, pair: &TokenPair<'_>) -> Response<Body> {
    let mut res = json(
        StatusCode::OK,
        &TokenBody {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.access_expires_in,
            refresh_token: in_body.then_some(pair.refresh_token),
            refresh_expires_in: in_body.then_some(pair.refresh_expires_in),
            device_token: pair.device.filter(|_| in_body).map(|(t, _)| t),
        },
    );
    cookie::set(
        res.headers_mut(),
        pair.refresh_token,
        pair.refresh_expires_in,
        cookies,
    );
    if let Some((token, max_age)) = pair.device {
        cookie::set_device(res.headers_mut(), token, max_age, cookies);
    }
    res
}
