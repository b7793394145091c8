//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`:
//! the access tokens' public keys and where to find them, for API Gateway's
//! JWT authorizer and any service that verifies our tokens without a shared
//! secret. Both documents are rendered once at cold start
//! ([`token::Published`]); each answer is a copy.

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use token::Published;
use token::published::JWKS_PATH;
use web::ApiError;

/// How long a client or a CDN may keep a document: short enough that a key
/// published as step one of a rotation is seen everywhere well before step
/// two (docs/operations.md, "The ES256 key"), long enough that verifiers do not fetch
/// per request. API Gateway's JWT authorizer keeps keys up to an hour on its
/// own and fetches again when it meets a `kid` it has not seen.
pub const CACHE_CONTROL: &str = "public, max-age=600";

/// The discovery document's path under the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Answers one request from the documents rendered at cold start.
pub fn answer(published: &Published, req: &Request) -> Response<Body> {
    let path = req.uri().path();
    let document = if path.ends_with(JWKS_PATH) {
        Some(&published.jwks)
    } else if path.ends_with(DISCOVERY_PATH) {
        Some(&published.discovery)
    } else {
        None
    };
    match (req.method(), document) {
        (&Method::GET, Some(doc)) => {
            let mut res = Response::new(Body::Text(doc.clone()));
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            );
            res
        }
        (_, Some(_)) => ApiError::MethodNotAllowed { allow: "GET" }.into_response(),
        (_, None) => ApiError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::Request as HttpRequest;
    use lambda_http::http::StatusCode;
    use serde_json::Value;
    use testkit::fixed::es256_env;

    use super::*;

    fn get(published: &Published, method: &str, path: &str) -> Response<Body> {
        let req: Request = HttpRequest::builder()
            .method(method)
            .uri(format!("https://api.example.com{path}"))
            .body(Body::Empty)
            .unwrap();
        answer(published, &req)
    }

    fn body(res: &Response<Body>) -> Value {
        match res.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_documents_are_public_and_cacheable() {
        let p = Published::from_source(&es256_env()).unwrap();
        for (path, member) in [(JWKS_PATH, "keys"), (DISCOVERY_PATH, "jwks_uri")] {
            for prefix in ["", "/prod"] {
                let res = get(&p, "GET", &format!("{prefix}{path}"));
                assert_eq!(res.status(), StatusCode::OK);
                assert_eq!(res.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
                assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
                assert!(body(&res).get(member).is_some(), "{path}");
            }
        }
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let p = Published::from_source(&es256_env()).unwrap();
        assert_eq!(
            get(&p, "GET", "/.well-known/other").status(),
            StatusCode::NOT_FOUND
        );
        let post = get(&p, "POST", JWKS_PATH);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            post.headers()[header::ALLOW],
            "GET",
            "the one error mapping"
        );
        assert_eq!(body(&post)["error"], "method_not_allowed");
        assert_eq!(
            body(&get(&p, "GET", "/.well-known/other"))["error"],
            "not_found"
        );
        assert_eq!(
            get(&p, "GET", "/.well-known/jwks.json/x").status(),
            StatusCode::NOT_FOUND
        );
    }
}
