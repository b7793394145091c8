//! One request through the local API Gateway, in the order an HTTP API
//! takes it: the base path of the API mapping, CORS preflights (answered
//! here, never reaching an authorizer), the route, the route's authorizer
//! (a Lambda authorizer: 401 without a token, 403 when it refuses, its
//! context passed on; API Gateway's JWT authorizer: 401 unless the token
//! verifies, its claims passed on), the function, and the configured CORS
//! headers on the answer.

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
    /// `GET /me`, or what answered instead (`preflight`, `static`, `-`).
    pub route: String,
}

impl Gateway {
    pub async fn handle(&self, req: &Incoming) -> Handled {
        let done = |response, route: &str| Handled {
            response,
            route: route.to_owned(),
        };
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
        if let Some(origin) = allowed(cors, origin) {
            res.headers
                .push(("access-control-allow-origin".into(), origin.to_owned()));
            if cors.allow_credentials {
                res.headers
                    .push(("access-control-allow-credentials".into(), "true".into()));
            }
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

/// `origin` when the configuration allows it (or allows any origin).
fn allowed<'a>(cors: &Cors, origin: Option<&'a str>) -> Option<&'a str> {
    let origin = origin?;
    cors.allow_origins
        .iter()
        .any(|o| o == "*" || o == origin)
        .then_some(origin)
}

/// API Gateway's own answer to a preflight: 204, with the configured
/// headers when the origin is allowed and none when it is not.
fn preflight(cors: &Cors, origin: Option<&str>) -> Outgoing {
    let mut res = Outgoing {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    if let Some(origin) = allowed(cors, origin) {
        let h = &mut res.headers;
        h.push(("access-control-allow-origin".into(), origin.to_owned()));
        if cors.allow_credentials {
            h.push(("access-control-allow-credentials".into(), "true".into()));
        }
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
