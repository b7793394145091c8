//! The JSON API Gateway exchanges with Lambda for an HTTP API: the payload
//! 2.0 request event, the Lambda authorizer's event, and the function's
//! answer read back into an HTTP response.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// What the gateway knows about one request, before any event is built.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    /// The path as requested (base path included).
    pub raw_path: String,
    pub raw_query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The TCP peer: never a header a client could write.
    pub source_ip: String,
    pub host: String,
}

/// The matched route, as the events name it.
#[derive(Debug, Clone)]
pub struct RouteContext<'a> {
    /// `GET /me`.
    pub route_key: String,
    pub path_params: &'a BTreeMap<String, String>,
}

/// What an authorizer passes on to the function, in the place API Gateway
/// puts it in a payload 2.0 event.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorized {
    /// A Lambda authorizer's `context`: `requestContext.authorizer.lambda`.
    Lambda(Value),
    /// A JWT authorizer's verified claims, as the token carried them:
    /// `requestContext.authorizer.jwt`, rendered by [`jwt_context`].
    Jwt(Map<String, Value>),
}

impl Authorized {
    /// `requestContext.authorizer`.
    fn context(&self) -> Value {
        match self {
            Authorized::Lambda(c) => json!({ "lambda": c }),
            Authorized::Jwt(claims) => json!({ "jwt": jwt_context(claims) }),
        }
    }
}

/// A JWT authorizer's `{"claims", "scopes"}` as API Gateway passes them:
/// every claim a string (readers such as `aws_lambda_events` type them
/// `HashMap<String, String>`), and `scopes` null since no route of ours
/// requires any.
pub fn jwt_context(claims: &Map<String, Value>) -> Value {
    let claims: Map<String, Value> = claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(claim_text(v))))
        .collect();
    json!({ "claims": claims, "scopes": null })
}

/// One claim as API Gateway renders it: strings as they are, numbers as
/// their decimal text, booleans as `true`/`false`, arrays as `[a b]`
/// (space-separated inside brackets, what the deployed API sends for
/// `roles`). Objects and null are rendered the way that array format
/// suggests (Go's `%v`: `map[k:v]`, `<nil>`); AWS documents neither, and
/// our tokens carry none.
fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_owned(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(claim_text).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            let pairs: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", claim_text(v)))
                .collect();
            format!("map[{}]", pairs.join(" "))
        }
    }
}

/// The account and API the local stack pretends to be.
const ACCOUNT: &str = "123456789012";
const API_ID: &str = "local";
const REGION: &str = "us-east-1";

impl Incoming {
    /// The value of header `name` (lower case); several are comma-joined, as
    /// API Gateway joins them.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// Headers as API Gateway passes them: lower-case names, repeated ones
    /// comma-joined, `cookie` moved to `cookies`.
    fn header_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (name, _) in &self.headers {
            if name != "cookie" && !m.contains_key(name) {
                m.insert(name.clone(), json!(self.header(name).unwrap_or_default()));
            }
        }
        m
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect()
    }

    fn query(&self) -> Map<String, Value> {
        let mut m: Map<String, Value> = Map::new();
        for pair in self.raw_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let joined = match m.get(k).and_then(Value::as_str) {
                Some(prev) => format!("{prev},{v}"),
                None => v.to_owned(),
            };
            m.insert(k.to_owned(), json!(joined));
        }
        m
    }

    fn request_context(&self, route: &RouteContext<'_>) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        json!({
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": self.host,
            "domainPrefix": self.host.split('.').next().unwrap_or_default(),
            "http": {
                "method": self.method,
                "path": self.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.source_ip,
                "userAgent": self.header("user-agent").unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().simple().to_string(),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": clf_time(now.as_secs()),
            "timeEpoch": u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// The Lambda authorizer's event (payload 2.0), identity source the
    /// `Authorization` header.
    pub fn authorizer_event(&self, route: &RouteContext<'_>, identity: &str) -> Value {
        json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": format!(
                "arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{}{}",
                self.method, self.raw_path
            ),
            "identitySource": [identity],
            "routeKey": route.route_key,
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "cookies": self.cookies(),
            "headers": self.header_map(),
            "queryStringParameters": self.query(),
            "requestContext": self.request_context(route),
            "pathParameters": route.path_params,
            "stageVariables": {},
        })
    }

    /// The function's event (payload 2.0), with what the authorizer passed on.
    pub fn request_event(
        &self,
        route: &RouteContext<'_>,
        authorized: Option<&Authorized>,
    ) -> Value {
        let mut ctx = self.request_context(route);
        if let Some(a) = authorized {
            ctx["authorizer"] = a.context();
        }
        let (body, encoded) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (STANDARD.encode(&self.body), true),
        };
        let mut event = json!({
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": self.header_map(),
            "requestContext": ctx,
            "isBase64Encoded": encoded,
        });
        let cookies = self.cookies();
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        let query = self.query();
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !route.path_params.is_empty() {
            event["pathParameters"] = json!(route.path_params);
        }
        if !self.body.is_empty() {
            event["body"] = json!(body);
        }
        event
    }
}

/// An HTTP response from a function's payload 2.0 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    /// `{"message": text}` with `status`, as API Gateway's own answers are.
    pub fn message(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json!({ "message": text }).to_string().into_bytes(),
        }
    }

    /// Reads a function's answer. A JSON object with `statusCode` is a
    /// response (headers, `cookies`, base64 body); any other JSON is the
    /// body of a 200, as HTTP APIs infer it. `None` for an answer that is
    /// neither (API Gateway answers 500).
    pub fn from_lambda(answer: &Value) -> Option<Self> {
        let Some(status) = answer.get("statusCode") else {
            return Some(Self {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: answer.to_string().into_bytes(),
            });
        };
        let status = u16::try_from(status.as_u64()?).ok()?;
        let mut headers = Vec::new();
        if let Some(h) = answer.get("headers").and_then(Value::as_object) {
            for (k, v) in h {
                headers.push((k.to_ascii_lowercase(), v.as_str()?.to_owned()));
            }
        }
        if let Some(h) = answer.get("multiValueHeaders").and_then(Value::as_object) {
            for (k, vs) in h {
                for v in vs.as_array()? {
                    headers.push((k.to_ascii_lowercase(), v.as_str()?.to_owned()));
                }
            }
        }
        for c in answer
            .get("cookies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            headers.push(("set-cookie".into(), c.as_str()?.to_owned()));
        }
        let text = answer
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let body = if answer.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            STANDARD.decode(text).ok()?
        } else {
            text.as_bytes().to_vec()
        };
        Some(Self {
            status,
            headers,
            body,
        })
    }
}

/// `dd/Mon/yyyy:HH:MM:SS +0000`, the `time` of a request context.
fn clf_time(epoch: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs) = (epoch / 86_400, epoch % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming() -> Incoming {
        Incoming {
            method: "POST".into(),
            raw_path: "/prod/auth/refresh".into(),
            raw_query: "a=1&b=2&a=3".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("cookie".into(), "refresh_token=x.y.z; theme=dark".into()),
                ("x-forwarded-for".into(), "198.51.100.9".into()),
                ("accept".into(), "a".into()),
                ("accept".into(), "b".into()),
            ],
            body: br#"{"all":true}"#.to_vec(),
            source_ip: "127.0.0.1".into(),
            host: "api.example.test:9000".into(),
        }
    }

    #[test]
    fn the_request_event_is_what_lambda_http_reads() {
        let params = BTreeMap::new();
        let route = RouteContext {
            route_key: "POST /auth/refresh".into(),
            path_params: &params,
        };
        let lambda = Authorized::Lambda(json!({"sub": "u1"}));
        let e = incoming().request_event(&route, Some(&lambda));
        assert_eq!(e["cookies"], json!(["refresh_token=x.y.z", "theme=dark"]));
        assert_eq!(e["headers"]["accept"], "a,b");
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["queryStringParameters"], json!({"a": "1,3", "b": "2"}));
        assert_eq!(e["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(e["requestContext"]["authorizer"]["lambda"]["sub"], "u1");
        let req = lambda_http_like(&e);
        assert_eq!(req, "POST /prod/auth/refresh");
    }

    #[test]
    fn jwt_claims_reach_the_function_as_api_gateway_renders_them() {
        let params = BTreeMap::new();
        let route = RouteContext {
            route_key: "GET /me/gateway-jwt".into(),
            path_params: &params,
        };
        let claims = json!({
            "iss": "http://127.0.0.1:9000",
            "aud": "http://127.0.0.1:9000",
            "sub": "6f1c2a7e",
            "sid": "0b6f7c3e",
            "roles": ["user", "admin"],
            "exp": 1_800_000_900u64,
            "iat": 1_800_000_000u64,
            "ratio": 0.5,
            "email_verified": true,
            "empty": [],
            "nested": {"b": [1, 2], "a": null},
            "token_use": "access",
        });
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        let e = incoming().request_event(&route, Some(&Authorized::Jwt(claims)));
        let jwt = &e["requestContext"]["authorizer"]["jwt"];
        assert_eq!(
            jwt["claims"],
            json!({
                "iss": "http://127.0.0.1:9000",
                "aud": "http://127.0.0.1:9000",
                "sub": "6f1c2a7e",
                "sid": "0b6f7c3e",
                "roles": "[user admin]",
                "exp": "1800000900",
                "iat": "1800000000",
                "ratio": "0.5",
                "email_verified": "true",
                "empty": "[]",
                "nested": "map[a:<nil> b:[1 2]]",
                "token_use": "access",
            })
        );
        assert_eq!(jwt["scopes"], Value::Null);
        assert!(e["requestContext"]["authorizer"].get("lambda").is_none());
    }

    /// What a payload 2.0 reader takes for method and path.
    fn lambda_http_like(e: &Value) -> String {
        format!(
            "{} {}",
            e["requestContext"]["http"]["method"].as_str().unwrap(),
            e["rawPath"].as_str().unwrap()
        )
    }

    #[test]
    fn answers_with_cookies_and_base64_bodies_are_read() {
        let out = Outgoing::from_lambda(&json!({
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "cookies": ["a=1; Path=/auth", "b=2"],
            "body": "aGk=",
            "isBase64Encoded": true
        }))
        .unwrap();
        assert_eq!(out.status, 200);
        assert_eq!(out.body, b"hi");
        let cookies: Vec<_> = out
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .collect();
        assert_eq!(cookies.len(), 2);
        let inferred = Outgoing::from_lambda(&json!({"ok": true})).unwrap();
        assert_eq!(
            (inferred.status, inferred.body),
            (200, br#"{"ok":true}"#.to_vec())
        );
        assert_eq!(Outgoing::from_lambda(&json!({"statusCode": "x"})), None);
    }

    #[test]
    fn request_time_is_the_common_log_format() {
        assert_eq!(clf_time(1_741_806_238), "12/Mar/2025:19:03:58 +0000");
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
    }
}
