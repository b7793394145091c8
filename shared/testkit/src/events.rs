//! API Gateway requests built from the real event files in `tests/events/`
//! (HTTP API 2.0, REST 1.0, function URL), so that handler tests go through
//! `lambda_http`'s own event parsing; and readers for the answers.

use std::path::PathBuf;

use lambda_http::http::header;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// The fronts an HTTP function can sit behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    HttpApi,
    RestApi,
    FunctionUrl,
}

pub const FRONTS: [Front; 3] = [Front::HttpApi, Front::RestApi, Front::FunctionUrl];

/// The folder of the event files.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/events")
}

/// An event file from `tests/events/`.
///
/// # Panics
/// When the file is missing or is not JSON (a test bug).
pub fn event_file(name: &str) -> Value {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A request as `front` delivers it: method, path, headers (name, value;
/// `cookie` goes where that front puts cookies) and an optional body.
pub fn request(
    front: Front,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    request_from(front, None, method, path, headers, body)
}

/// [`request`] from the client address `source_ip` (where API Gateway puts
/// it: `requestContext.http.sourceIp`, or `.identity.sourceIp` for REST),
/// or from the event file's own address.
pub fn request_from(
    front: Front,
    source_ip: Option<&str>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let mut ev = match front {
        Front::HttpApi => event_file("http-api-v2.json"),
        Front::RestApi => event_file("rest-api-v1.json"),
        Front::FunctionUrl => event_file("function-url.json"),
    };
    match front {
        Front::HttpApi | Front::FunctionUrl => {
            ev["rawPath"] = json!(path);
            ev["requestContext"]["http"]["method"] = json!(method);
            ev["requestContext"]["http"]["path"] = json!(path);
            if front == Front::HttpApi {
                ev["routeKey"] = json!(format!("{method} {path}"));
                ev["requestContext"]["routeKey"] = ev["routeKey"].clone();
            }
            let h = ev["headers"].as_object_mut().expect("headers");
            h.remove("content-length");
            let mut cookies = Vec::new();
            for (k, v) in headers {
                if k.eq_ignore_ascii_case("cookie") {
                    cookies.extend(v.split("; ").map(|c| json!(c)));
                } else {
                    h.insert(k.to_ascii_lowercase(), json!(v));
                }
            }
            if !cookies.is_empty() {
                ev["cookies"] = Value::Array(cookies);
            }
        }
        Front::RestApi => {
            ev["path"] = json!(path);
            ev["resource"] = json!(path);
            ev["httpMethod"] = json!(method);
            ev["requestContext"]["httpMethod"] = json!(method);
            ev["requestContext"]["resourcePath"] = json!(path);
            for (k, v) in headers {
                ev["headers"][*k] = json!(v);
                ev["multiValueHeaders"][*k] = json!([v]);
            }
        }
    }
    if let Some(ip) = source_ip {
        match front {
            Front::HttpApi | Front::FunctionUrl => {
                ev["requestContext"]["http"]["sourceIp"] = json!(ip)
            }
            Front::RestApi => ev["requestContext"]["identity"]["sourceIp"] = json!(ip),
        }
    }
    ev["body"] = body.map_or(Value::Null, |b| json!(b));
    if body.is_none() && front != Front::RestApi {
        ev.as_object_mut().map(|o| o.remove("body"));
    }
    lambda_http::request::from_str(&ev.to_string()).expect("event parses as a request")
}

/// A JSON POST to `path` with `body`.
pub fn post(front: Front, path: &str, body: &Value) -> Request {
    request(front, "POST", path, &[], Some(&body.to_string()))
}

/// A `Cookie` header value carrying a refresh token.
pub fn cookie_header(token: &str) -> String {
    format!("refresh_token={token}")
}

/// A body-less POST to `path` carrying `token` in the refresh cookie.
pub fn cookie_post(front: Front, path: &str, token: &str) -> Request {
    request(
        front,
        "POST",
        path,
        &[("cookie", &cookie_header(token))],
        None,
    )
}

/// The JSON body of an answer (`Null` when it has none).
pub fn body(res: &Response<Body>) -> Value {
    match res.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The first `Set-Cookie` header of an answer.
pub fn set_cookie(res: &Response<Body>) -> Option<String> {
    res.headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The value of the refresh cookie an answer sets (empty when it clears it).
pub fn refresh_cookie(res: &Response<Body>) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next()?.strip_prefix("refresh_token="))
        .map(str::to_owned)
}
