//! One request through the local API Gateway, in the order an HTTP API
//! takes it, after a check of its own: the `Host` must name this machine
//! (a loopback address, `localhost`, `*.localhost` or `*.test`), else 421,
//! so that a site rebinding its DNS name to 127.0.0.1 cannot reach the
//! stack. Then the base path of the API mapping, CORS preflights (answered
//! here, never reaching an authorizer), the route, the route's authorizer
//! (a Lambda authorizer: 401 without a token, 403 when it refuses, its
//! context passed on; API Gateway's JWT authorizer: 401 unless the token
//! verifies, its claims passed on), the function, and the configured CORS
//! headers on the answer (`*` as API Gateway answers it: any origin, never
//! with credentials).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::events::{Authorized, Incoming, Outgoing, RouteContext};
use crate::invoke::Invoker;
use crate::jwt::{JwtAuthorizer, Refusal};
use crate::router;
use crate::template::{Api, Cors, Guard};

/// Where the demo page and the browser client are served from.
pub const STATIC_PREFIX: &str = "/client/";

/// The local API Gateway.
pub struct Gateway {
    pub api: Api,
    /// The API mapping's key as a path prefix (`/prod`), or empty.
    pub base_path: String,
    pub invoker: Invoker,
    /// Served under [`STATIC_PREFIX`] (the repository's `client/`).
    pub static_dir: Option<PathBuf>,
    /// The JWT authorizers' key cache, kept for the gateway's life.
    pub jwt: JwtAuthorizer,
}

/// What a request came to, for the access log.
pub struct Handled {
    pub response: Outgoing,
    /// `GET /me`, or what answered instead (`preflight`, `static`,
    /// `misdirected` for a foreign `Host`, `-`).
    pub route: String,
}

impl Gateway {
    pub async fn handle(&self, req: &Incoming) -> Handled {
        let done = |response, route: &str| Handled {
            response,
            route: route.to_owned(),
        };
        if !local_host(&req.host) {
            return done(Outgoing::message(421, "Misdirected Request"), "misdirected");
        }
        if req.method == "GET" {
            if req.raw_path == "/" && self.static_dir.is_some() {
                let mut found = Outgoing::message(302, "Found");
                found
                    .headers
                    .push(("location".into(), format!("{STATIC_PREFIX}demo/")));
                return done(found, "static");
            }
            if let Some(file) = req.raw_path.strip_prefix(STATIC_PREFIX) {
                return done(self.static_file(file).await, "static");
            }
        }
        let Some(path) = self.within_base_path(&req.raw_path) else {
            return done(Outgoing::message(404, "Not Found"), "-");
        };
        let origin = req.header("origin");
        if let Some(cors) = &self.api.cors
            && req.method == "OPTIONS"
            && req.header("access-control-request-method").is_some()
        {
            return done(preflight(cors, origin.as_deref()), "preflight");
        }
        let Some(matched) = router::find(&self.api.routes, &req.method, &path) else {
            return done(
                self.with_cors(Outgoing::message(404, "Not Found"), origin.as_deref()),
                "-",
            );
        };
        let route = RouteContext {
            route_key: format!("{} {}", matched.route.method, matched.route.path),
            path_params: &matched.params,
        };
        let authorized = match self.guard(&matched.route.guard, req, &route).await {
            Ok(authorized) => authorized,
            Err(refusal) => {
                return done(self.with_cors(refusal, origin.as_deref()), &route.route_key);
            }
        };
        let event = req.request_event(&route, authorized.as_ref());
        let response = match self.invoker.invoke(&matched.route.function, &event).await {
            Ok(answer) => Outgoing::from_lambda(&answer)
                .unwrap_or_else(|| Outgoing::message(500, "Internal Server Error")),
            Err(e) => {
                eprintln!("local-gateway: {} failed: {e}", matched.route.function);
                Outgoing::message(500, "Internal Server Error")
            }
        };
        done(
            self.with_cors(response, origin.as_deref()),
            &route.route_key,
        )
    }

    /// The path below the base path, or `None` when the request is outside it.
    fn within_base_path(&self, raw: &str) -> Option<String> {
        if self.base_path.is_empty() {
            return Some(raw.to_owned());
        }
        let rest = raw.strip_prefix(&self.base_path)?;
        if rest.is_empty() {
            Some("/".to_owned())
        } else if rest.starts_with('/') {
            Some(rest.to_owned())
        } else {
            None
        }
    }

    /// What the route's authorizer passes on to the function (nothing for
    /// an open route), or the answer API Gateway gives instead.
    async fn guard(
        &self,
        guard: &Guard,
        req: &Incoming,
        route: &RouteContext<'_>,
    ) -> Result<Option<Authorized>, Outgoing> {
        match guard {
            Guard::None => Ok(None),
            Guard::Lambda { function } => Ok(self
                .authorize(function, req, route)
                .await?
                .map(Authorized::Lambda)),
            Guard::Jwt { issuer, audience } => self
                .jwt
                .authorize(req.header("authorization").as_deref(), issuer, audience)
                .await
                .map(|claims| Some(Authorized::Jwt(claims)))
                .map_err(Refusal::response),
        }
    }

    /// The Lambda authorizer's verdict: `Ok(context)` to go on, or the
    /// answer API Gateway gives instead.
    async fn authorize(
        &self,
        function: &str,
        req: &Incoming,
        route: &RouteContext<'_>,
    ) -> Result<Option<Value>, Outgoing> {
        let identity = req.header("authorization").filter(|v| !v.is_empty());
        let Some(identity) = identity else {
            return Err(Outgoing::message(401, "Unauthorized"));
        };
        let event = req.authorizer_event(route, &identity);
        let verdict = self.invoker.invoke(function, &event).await.map_err(|e| {
            eprintln!("local-gateway: authorizer {function} failed: {e}");
            Outgoing::message(500, "Internal Server Error")
        })?;
        match verdict.get("isAuthorized").and_then(Value::as_bool) {
            Some(true) => Ok(verdict.get("context").cloned()),
            Some(false) => Err(Outgoing::message(403, "Forbidden")),
            None => Err(Outgoing::message(500, "Internal Server Error")),
        }
    }

    /// The configured CORS headers instead of the integration's own.
    fn with_cors(&self, mut res: Outgoing, origin: Option<&str>) -> Outgoing {
        let Some(cors) = &self.api.cors else {
            return res;
        };
        res.headers
            .retain(|(k, _)| !k.starts_with("access-control-"));
        if let Some(allowed) = allowed(cors, origin) {
            allowed.push_headers(cors, &mut res.headers);
            if !cors.expose_headers.is_empty() {
                res.headers.push((
                    "access-control-expose-headers".into(),
                    cors.expose_headers.join(","),
                ));
            }
            res.headers.push(("vary".into(), "origin".into()));
        }
        res
    }

    async fn static_file(&self, file: &str) -> Outgoing {
        let not_found = || Outgoing::message(404, "Not Found");
        let Some(dir) = &self.static_dir else {
            return not_found();
        };
        let file = if file.is_empty() || file.ends_with('/') {
            format!("{file}index.html")
        } else {
            file.to_owned()
        };
        let relative = Path::new(&file);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return not_found();
        }
        match tokio::fs::read(dir.join(relative)).await {
            Ok(body) => Outgoing {
                status: 200,
                headers: vec![
                    ("content-type".into(), content_type(&file).into()),
                    ("cache-control".into(), "no-cache".into()),
                ],
                body,
            },
            Err(_) => not_found(),
        }
    }
}

/// Whether the `Host` of a request (port ignored) names this machine: a
/// loopback address (`127.0.0.0/8`, `[::1]`), `localhost`, `*.localhost` or
/// `*.test` (reserved names that no public DNS answers, RFC 6761, such as
/// the browser tests' `app.example.test`). Any other name reached this
/// loopback listener through someone's DNS, e.g. a site rebinding its own
/// name to 127.0.0.1 to read the developer's stack.
fn local_host(host: &str) -> bool {
    let digits = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let Some((ip, port)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = port.is_empty() || port.strip_prefix(':').is_some_and(digits);
        return port_ok && ip.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    let name = match host.split_once(':') {
        Some((name, port)) if digits(port) => name,
        Some(_) => return false,
        None => host,
    };
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    let name = name.to_ascii_lowercase();
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    labels_ok && (name == "localhost" || name.ends_with(".localhost") || name.ends_with(".test"))
}

/// Who may read an answer, by the configuration's `AllowOrigins`.
enum Allowed<'a> {
    /// The request's origin, listed by name: reflected, with credentials
    /// when the configuration allows them.
    Listed(&'a str),
    /// Any origin through `*`: answered `*`, never with credentials (a
    /// browser refuses `*` with credentials; API Gateway never sends them).
    Anyone,
}

impl Allowed<'_> {
    fn push_headers(&self, cors: &Cors, headers: &mut Vec<(String, String)>) {
        let origin = match self {
            Self::Listed(origin) => *origin,
            Self::Anyone => "*",
        };
        headers.push(("access-control-allow-origin".into(), origin.to_owned()));
        if cors.allow_credentials && matches!(self, Self::Listed(_)) {
            headers.push(("access-control-allow-credentials".into(), "true".into()));
        }
    }
}

/// Whether the configuration allows `origin`: by name, or through `*`.
fn allowed<'a>(cors: &Cors, origin: Option<&'a str>) -> Option<Allowed<'a>> {
    let origin = origin?;
    if cors.allow_origins.iter().any(|o| o == origin) {
        Some(Allowed::Listed(origin))
    } else if cors.allow_origins.iter().any(|o| o == "*") {
        Some(Allowed::Anyone)
    } else {
        None
    }
}

/// API Gateway's own answer to a preflight: 204, with the configured
/// headers when the origin is allowed and none when it is not.
fn preflight(cors: &Cors, origin: Option<&str>) -> Outgoing {
    let mut res = Outgoing {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    if let Some(allowed) = allowed(cors, origin) {
        let h = &mut res.headers;
        allowed.push_headers(cors, h);
        h.push((
            "access-control-allow-methods".into(),
            cors.allow_methods.join(","),
        ));
        h.push((
            "access-control-allow-headers".into(),
            cors.allow_headers.join(","),
        ));
        if let Some(age) = cors.max_age {
            h.push(("access-control-max-age".into(), age.to_string()));
        }
        h.push(("vary".into(), "origin".into()));
    }
    res
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors {
            allow_origins: vec!["http://app.example.test:9000".into()],
            allow_credentials: true,
            allow_headers: vec!["authorization".into(), "content-type".into()],
            allow_methods: vec!["GET".into(), "POST".into(), "DELETE".into()],
            expose_headers: vec!["retry-after".into()],
            max_age: Some(600),
        }
    }

    fn header<'a>(res: &'a Outgoing, name: &str) -> Option<&'a str> {
        res.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn preflights_from_allowed_origins_get_the_configured_headers() {
        let res = preflight(&cors(), Some("http://app.example.test:9000"));
        assert_eq!(res.status, 204);
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some("http://app.example.test:9000")
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(
            header(&res, "access-control-allow-methods"),
            Some("GET,POST,DELETE")
        );
        let foreign = preflight(&cors(), Some("http://evil.other.test:9000"));
        assert_eq!(foreign.status, 204);
        assert!(foreign.headers.is_empty());
    }

    #[test]
    fn base_paths_are_stripped_and_requests_outside_them_found_nowhere() {
        let g = Gateway {
            api: Api {
                routes: Vec::new(),
                cors: None,
            },
            base_path: "/prod".into(),
            invoker: Invoker::new("http://127.0.0.1:1").unwrap(),
            static_dir: None,
            jwt: JwtAuthorizer::default(),
        };
        assert_eq!(
            g.within_base_path("/prod/auth/login").as_deref(),
            Some("/auth/login")
        );
        assert_eq!(g.within_base_path("/prod").as_deref(), Some("/"));
        assert_eq!(g.within_base_path("/production/x"), None);
        assert_eq!(g.within_base_path("/auth/login"), None);
    }

    fn get(path: &str, headers: &[(&str, &str)]) -> Incoming {
        Incoming {
            method: "GET".into(),
            raw_path: path.into(),
            raw_query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
            source_ip: "127.0.0.1".into(),
            host: "127.0.0.1:9000".into(),
        }
    }

    #[tokio::test]
    async fn jwt_routes_refuse_without_invoking_anything() {
        let g = Gateway {
            api: Api {
                routes: vec![crate::template::Route {
                    method: "GET".into(),
                    path: "/me/gateway-jwt".into(),
                    function: "me".into(),
                    guard: Guard::Jwt {
                        // Nothing listens there: no key is ever found.
                        issuer: "http://127.0.0.1:1".into(),
                        audience: vec!["http://127.0.0.1:1".into()],
                    },
                }],
                cors: None,
            },
            base_path: String::new(),
            invoker: Invoker::new("http://127.0.0.1:1").unwrap(),
            static_dir: None,
            jwt: JwtAuthorizer::default(),
        };
        let missing = g.handle(&get("/me/gateway-jwt", &[])).await;
        assert_eq!(missing.route, "GET /me/gateway-jwt");
        assert_eq!(missing.response.status, 401);
        assert_eq!(header(&missing.response, "www-authenticate"), None);
        let garbage = g
            .handle(&get(
                "/me/gateway-jwt",
                &[("authorization", "Bearer x.y.z")],
            ))
            .await;
        assert_eq!(garbage.response.status, 401);
        assert_eq!(garbage.response.body, br#"{"message":"Unauthorized"}"#);
        let challenge = header(&garbage.response, "www-authenticate").unwrap();
        assert!(challenge.starts_with(r#"Bearer scope="" error="invalid_token""#));
        assert!(!challenge.contains("x.y.z"), "the token is never echoed");
    }

    #[test]
    fn only_hosts_naming_this_machine_are_served() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:9000",
            "127.255.0.9:80",
            "[::1]",
            "[::1]:9000",
            "localhost",
            "LOCALHOST:9000",
            "app.localhost:9000",
            "app.example.test:9000",
            "api.example.test",
            "evil.other.test:9000",
        ] {
            assert!(local_host(host), "{host} is this machine");
        }
        for host in [
            "evil.example.com",
            "evil.example.com:9000",
            "attacker.com:9000",
            "localhost.attacker.com",
            "127.0.0.1.attacker.com",
            "test",
            ".test",
            "evil.test.",
            "evil/.test",
            "10.0.0.5:9000",
            "0.0.0.0:9000",
            "192.168.1.20",
            "[::2]:9000",
            "[::ffff:127.0.0.1]",
            "[::1",
            "[::1]x",
            "::1",
            "127.0.0.1:x",
            "localhost:",
            "",
        ] {
            assert!(!local_host(host), "{host} is not this machine");
        }
    }

    #[tokio::test]
    async fn foreign_hosts_are_misdirected_before_any_routing() {
        let g = Gateway {
            api: Api {
                routes: vec![crate::template::Route {
                    method: "GET".into(),
                    path: "/me".into(),
                    function: "me".into(),
                    guard: Guard::None,
                }],
                cors: Some(cors()),
            },
            base_path: String::new(),
            // Nothing listens there: an invocation would answer 500.
            invoker: Invoker::new("http://127.0.0.1:1").unwrap(),
            static_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
            jwt: JwtAuthorizer::default(),
        };
        let origin = ("origin", "http://app.example.test:9000");
        let mut preflight = get("/me", &[origin, ("access-control-request-method", "GET")]);
        preflight.method = "OPTIONS".into();
        for mut req in [
            get("/me", &[origin]),
            get("/client/Cargo.toml", &[]),
            get("/", &[]),
            preflight,
        ] {
            req.host = "rebound.example.com:9000".into();
            let handled = g.handle(&req).await;
            assert_eq!(handled.route, "misdirected");
            assert_eq!(handled.response.status, 421);
            assert_eq!(
                handled.response.body,
                br#"{"message":"Misdirected Request"}"#
            );
            assert_eq!(
                header(&handled.response, "access-control-allow-origin"),
                None
            );
        }
        let mut ok = get("/client/Cargo.toml", &[]);
        ok.host = "api.example.test:9000".into();
        assert_eq!(g.handle(&ok).await.response.status, 200);
        let served = g.handle(&get("/me", &[origin])).await;
        assert_eq!(served.route, "GET /me");
        assert_eq!(served.response.status, 500, "routed and invoked");
    }

    fn star(also: &[&str]) -> Cors {
        let mut allow_origins = vec!["*".to_owned()];
        allow_origins.extend(also.iter().map(|o| (*o).to_owned()));
        Cors {
            allow_origins,
            ..cors()
        }
    }

    #[test]
    fn a_wildcard_origin_is_answered_with_a_star_and_never_with_credentials() {
        let anyone = "http://evil.other.test:9000";
        let res = preflight(&star(&[]), Some(anyone));
        assert_eq!(res.status, 204);
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        assert_eq!(
            header(&res, "access-control-allow-methods"),
            Some("GET,POST,DELETE")
        );
        let g = Gateway {
            api: Api {
                routes: Vec::new(),
                cors: Some(star(&[])),
            },
            base_path: String::new(),
            invoker: Invoker::new("http://127.0.0.1:1").unwrap(),
            static_dir: None,
            jwt: JwtAuthorizer::default(),
        };
        let mut answer = Outgoing::message(200, "ok");
        answer
            .headers
            .push(("access-control-allow-credentials".into(), "true".into()));
        let res = g.with_cors(answer, Some(anyone));
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        assert_eq!(
            header(&res, "access-control-expose-headers"),
            Some("retry-after")
        );
        assert!(preflight(&star(&[]), None).headers.is_empty());

        // An origin listed by name beside `*` is still reflected, with credentials.
        let app = "http://app.example.test:9000";
        let mixed = star(&[app]);
        let res = preflight(&mixed, Some(app));
        assert_eq!(header(&res, "access-control-allow-origin"), Some(app));
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true")
        );
        let res = preflight(&mixed, Some(anyone));
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
    }

    #[test]
    fn the_integrations_cors_headers_give_way_to_the_configured_ones() {
        let g = Gateway {
            api: Api {
                routes: Vec::new(),
                cors: Some(cors()),
            },
            base_path: String::new(),
            invoker: Invoker::new("http://127.0.0.1:1").unwrap(),
            static_dir: None,
            jwt: JwtAuthorizer::default(),
        };
        let mut res = Outgoing::message(200, "ok");
        res.headers
            .push(("access-control-allow-origin".into(), "*".into()));
        let res = g.with_cors(res, Some("http://evil.other.test:9000"));
        assert_eq!(header(&res, "access-control-allow-origin"), None);
        let res = g.with_cors(
            Outgoing::message(429, "x"),
            Some("http://app.example.test:9000"),
        );
        assert_eq!(
            header(&res, "access-control-expose-headers"),
            Some("retry-after")
        );
    }
}
