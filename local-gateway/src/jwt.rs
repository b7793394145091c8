//! API Gateway's own JWT authorizer (HTTP API), played locally as
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>
//! describes it: the token from the `Authorization` header (with or without
//! `Bearer `), the issuer's keys found through its discovery document
//! (`{issuer}/.well-known/openid-configuration`, then its `jwks_uri`), the
//! key the token's `kid` names, its algorithm and the signature, then `exp`
//! (required), `nbf` and `iat` (when present), `iss`, and `aud` (or
//! `client_id` when there is no `aud`) against the configured audience.
//!
//! In the local stack the issuer is the gateway's own URL, so the key fetch
//! comes back into the gateway and reaches the `jwks` function: the same
//! documents API Gateway fetches in the deploy.
//!
//! Nothing here logs or echoes a token, nor the `kid` a client sent.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::events::Outgoing;

/// The discovery document's path under the issuer (OpenID Connect
/// Discovery 1.0, what API Gateway reads).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The shortest time between two fetches of one issuer's keys. A token
/// naming a `kid` the cache lacks fetches again (a key published by a
/// rotation is seen at once), but a stream of tokens with made-up `kid`s
/// cannot turn every request into a fetch.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// How long fetched keys verify without a fetch, so that a key withdrawn
/// from the JWKS stops verifying: the `max-age` the `jwks` function sends.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// How long one document fetch may take: the first one waits for
/// `cargo lambda watch` to compile the `jwks` function.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// The largest discovery document or JWKS read.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// Why a request was refused, as API Gateway tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token: 401 with no challenge.
    Missing,
    /// A token that did not verify: 401 with a `Bearer` challenge whose
    /// `error_description` says why in API Gateway's words.
    Invalid(&'static str),
}

impl Refusal {
    /// API Gateway's answer: `{"message":"Unauthorized"}`, and for a token
    /// that did not verify `www-authenticate: Bearer scope="" error="invalid_token" ...`.
    pub fn response(self) -> Outgoing {
        let mut res = Outgoing::message(401, "Unauthorized");
        if let Refusal::Invalid(why) = self {
            res.headers.push((
                "www-authenticate".into(),
                format!(r#"Bearer scope="" error="invalid_token" error_description="{why}""#),
            ));
        }
        res
    }
}

const MALFORMED: Refusal = Refusal::Invalid("the token is malformed");
const NO_KEY: Refusal = Refusal::Invalid("unable to find a key for the token");
const BAD_AUDIENCE: Refusal = Refusal::Invalid("the token does not have a valid audience");

/// One issuer's keys, as last fetched.
#[derive(Default)]
struct IssuerKeys {
    keys: JwkSet,
    /// When the keys were fetched.
    fetched: Option<Instant>,
    /// When a fetch was last tried, whether it worked or not.
    tried: Option<Instant>,
}

/// The JWT authorizers of the API: one key cache per issuer, shared by
/// every route and authorizer that names it.
pub struct JwtAuthorizer {
    issuers: Mutex<HashMap<String, IssuerKeys>>,
    refetch_interval: Duration,
}

impl Default for JwtAuthorizer {
    fn default() -> Self {
        Self::new(REFETCH_INTERVAL)
    }
}

impl JwtAuthorizer {
    /// With fetches at most once per `refetch_interval` for each issuer.
    pub fn new(refetch_interval: Duration) -> Self {
        Self {
            issuers: Mutex::new(HashMap::new()),
            refetch_interval,
        }
    }

    /// The verified claims of the token in `authorization` (the header's
    /// value), for `issuer` and one of `audience`.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        issuer: &str,
        audience: &[String],
    ) -> Result<Map<String, Value>, Refusal> {
        let token = authorization
            .map(bearer)
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let header = decode_header(token).map_err(|_| MALFORMED)?;
        let kid = header
            .kid
            .ok_or(Refusal::Invalid("the token has no kid header"))?;
        let jwk = self.key(issuer, &kid).await.ok_or(NO_KEY)?;
        verify(token, &jwk, issuer, audience)
    }

    /// The issuer's key named `kid`. Cached keys serve while younger than
    /// [`MAX_AGE`]; a `kid` not among them (or keys too old) fetches the
    /// issuer's keys again, at most once per refetch interval. When that
    /// fetch fails or must wait, the keys already held still serve, stale
    /// or not (API Gateway's cache is best effort too). The lock is
    /// held across the fetch, so concurrent requests wait for one fetch
    /// rather than each making their own; the fetch itself never needs it
    /// (the documents' routes are open).
    async fn key(&self, issuer: &str, kid: &str) -> Option<Jwk> {
        let mut issuers = self.issuers.lock().await;
        let cached = issuers.entry(issuer.to_owned()).or_default();
        let fresh = cached.fetched.is_some_and(|t| t.elapsed() < MAX_AGE);
        if fresh && let Some(key) = cached.keys.find(kid) {
            return Some(key.clone());
        }
        if cached
            .tried
            .is_none_or(|t| t.elapsed() >= self.refetch_interval)
        {
            cached.tried = Some(Instant::now());
            match fetch_keys(issuer).await {
                Ok(keys) => {
                    cached.keys = keys;
                    cached.fetched = cached.tried;
                }
                Err(e) => eprintln!("local-gateway: the keys of {issuer}: {e}"),
            }
        }
        cached.keys.find(kid).cloned()
    }
}

/// The token in an `Authorization` value: API Gateway takes it with or
/// without the `Bearer ` scheme.
fn bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
        _ => value,
    }
}

/// Verifies `token` with `jwk` as API Gateway's JWT authorizer does and
/// returns its claims. No leeway: API Gateway documents none.
pub fn verify(
    token: &str,
    jwk: &Jwk,
    issuer: &str,
    audience: &[String],
) -> Result<Map<String, Value>, Refusal> {
    let alg = algorithm(jwk).ok_or(NO_KEY)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| NO_KEY)?;
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audience);
    let claims = decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| refusal(&e))?
        .claims;
    issued_in_the_past(&claims)?;
    client_id_when_no_audience(&claims, audience)?;
    Ok(claims)
}

/// The algorithm a JWKS key verifies: its `alg`, else the one its type and
/// curve imply. Never an HMAC one (a public key must not become a shared
/// secret), nor a key published for encryption.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(alg) => alg.to_string().parse().ok()?,
        None => match &jwk.algorithm {
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            },
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            _ => return None,
        },
    };
    let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    (!hmac).then_some(alg)
}

/// A `jsonwebtoken` error in the words API Gateway's challenge uses.
fn refusal(e: &JwtError) -> Refusal {
    Refusal::Invalid(match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidAudience => "the token does not have a valid audience",
        ErrorKind::InvalidIssuer => "the token does not have a valid issuer",
        ErrorKind::MissingRequiredClaim(_) => "the token is missing a required claim",
        ErrorKind::InvalidSignature => "the token signature is invalid",
        ErrorKind::InvalidAlgorithm => "the token signing method does not match its key",
        _ => "the token is malformed",
    })
}

/// `iat`, when present, must not be in the future.
fn issued_in_the_past(claims: &Map<String, Value>) -> Result<(), Refusal> {
    let Some(iat) = claims.get("iat") else {
        return Ok(());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    match iat.as_f64() {
        Some(iat) if iat <= now => Ok(()),
        Some(_) => Err(Refusal::Invalid("the token was issued in the future")),
        None => Err(MALFORMED),
    }
}

/// A token without `aud` (a Cognito access token, say) passes when its
/// `client_id` is one of the audience, as API Gateway lets it; `aud`, when
/// present, was checked by the decoder.
fn client_id_when_no_audience(
    claims: &Map<String, Value>,
    audience: &[String],
) -> Result<(), Refusal> {
    if claims.contains_key("aud") {
        return Ok(());
    }
    match claims.get("client_id").and_then(Value::as_str) {
        Some(id) if audience.iter().any(|a| a == id) => Ok(()),
        _ => Err(BAD_AUDIENCE),
    }
}

/// Why an issuer's keys could not be had (logged, never sent).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http:// URL (the local gateway fetches over plain HTTP)")]
    NotHttp(String),
    #[error("cannot reach {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0} answered {1}")]
    Status(String, u16),
    #[error("{0} is not a JSON document")]
    NotJson(String),
    #[error("the discovery document names no jwks_uri")]
    NoJwksUri,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// The issuer's keys: its discovery document, then the JWKS its `jwks_uri`
/// names. Keys `jsonwebtoken` cannot read are left out, not fatal.
async fn fetch_keys(issuer: &str) -> Result<JwkSet, FetchError> {
    let discovery_url = format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
    let discovery = get_json(&discovery_url).await?;
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or(FetchError::NoJwksUri)?;
    let jwks = get_json(jwks_uri).await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| FetchError::NotJson(jwks_uri.to_owned()))?
        .iter()
        .filter_map(|k| serde_json::from_value(k.clone()).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// `GET url` (plain HTTP), its JSON body.
async fn get_json(url: &str) -> Result<Value, FetchError> {
    tokio::time::timeout(FETCH_TIMEOUT, get(url))
        .await
        .map_err(|_| FetchError::Timeout(FETCH_TIMEOUT))?
}

async fn get(url: &str) -> Result<Value, FetchError> {
    let not_http = || FetchError::NotHttp(url.to_owned());
    let uri: Uri = url.parse().map_err(|_| not_http())?;
    if uri.scheme_str() != Some("http") {
        return Err(not_http());
    }
    let authority = uri.authority().ok_or_else(not_http)?.clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = TcpStream::connect((host, authority.port_u16().unwrap_or(80)))
        .await
        .map_err(|e| FetchError::Connect(url.to_owned(), e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = hyper::Request::get(path)
        .header("host", authority.as_str())
        .header("accept", "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|_| not_http())?;
    let res = sender.send_request(req).await?;
    let status = res.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status(url.to_owned(), status));
    }
    let body = Limited::new(res.into_body(), MAX_DOCUMENT)
        .collect()
        .await
        .map_err(|_| FetchError::NotJson(url.to_owned()))?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|_| FetchError::NotJson(url.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::Full;
    use serde_json::json;
    use testkit::fixed::{
        ES_PRIVATE_KEY_2, ES_PUBLIC_KEY_2, Tokens, env_with, es256_env, roles as role_list,
    };
    use token::Published;

    use super::*;

    fn unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// The ES256 test configuration with `issuer` and `audience`.
    fn config(issuer: &str, audience: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = es256_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        env.insert("JWT_ISSUER".into(), issuer.into());
        env.insert("JWT_AUDIENCE".into(), audience.into());
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        env
    }

    /// An access token of the ES256 configuration, issued at `now`.
    fn token(env: &HashMap<String, String>, now: u64) -> String {
        Tokens::from_source(env)
            .access
            .issue("u1", "s1", &role_list(&["user", "admin"]), now)
            .unwrap()
            .token
    }

    /// The JWKS the `jwks` function publishes for `env`.
    fn jwks(env: &HashMap<String, String>) -> JwkSet {
        serde_json::from_str(&Published::from_source(env).unwrap().jwks).unwrap()
    }

    const ISSUER: &str = "http://127.0.0.1:9000/prod";

    /// The configuration after a key rotation: the second test key.
    fn rotated(issuer: &str) -> HashMap<String, String> {
        config(
            issuer,
            issuer,
            &[
                ("JWT_ACCESS_PRIVATE_KEY", ES_PRIVATE_KEY_2.as_str()),
                ("JWT_ACCESS_PUBLIC_KEY", ES_PUBLIC_KEY_2.as_str()),
            ],
        )
    }

    fn audience() -> Vec<String> {
        vec!["other".into(), ISSUER.into()]
    }

    #[test]
    fn a_token_of_the_published_key_verifies_to_its_claims() {
        let env = config(ISSUER, ISSUER, &[]);
        let keys = jwks(&env);
        let t = token(&env, unix_now());
        let kid = decode_header(&t).unwrap().kid.unwrap();
        let claims = verify(&t, keys.find(&kid).unwrap(), ISSUER, &audience()).unwrap();
        assert_eq!(claims["sub"], "u1");
        assert_eq!(claims["sid"], "s1");
        assert_eq!(claims["roles"], json!(["user", "admin"]));
    }

    #[test]
    fn tokens_that_api_gateway_would_refuse_are_refused_with_a_reason() {
        let env = config(ISSUER, ISSUER, &[]);
        let key = jwks(&env).keys.remove(0);
        let now = unix_now();
        let refused = |t: &str, iss: &str, aud: &[String]| verify(t, &key, iss, aud).unwrap_err();
        assert_eq!(
            refused(&token(&env, now - 3600), ISSUER, &audience()),
            Refusal::Invalid("the token has expired")
        );
        assert_eq!(
            refused(&token(&env, now), "http://127.0.0.1:9000", &audience()),
            Refusal::Invalid("the token does not have a valid issuer")
        );
        assert_eq!(
            refused(&token(&env, now), ISSUER, &["other".into()]),
            BAD_AUDIENCE
        );
        assert_eq!(
            refused(&token(&env, now + 3600), ISSUER, &audience()),
            Refusal::Invalid("the token was issued in the future")
        );
        // Signed by another key, presented under ours.
        let mut t = token(&env, now);
        let other = token(&rotated(ISSUER), now);
        let cut = t.rfind('.').unwrap();
        t.replace_range(cut.., &other[other.rfind('.').unwrap()..]);
        assert_eq!(
            refused(&t, ISSUER, &audience()),
            Refusal::Invalid("the token signature is invalid")
        );
        // An HS256 token of the same issuer: the key says ES256.
        let hs = Tokens::from_source(&env_with(&[
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", ISSUER),
        ]))
        .access
        .issue("u1", "s1", &[], now)
        .unwrap()
        .token;
        assert_eq!(
            refused(&hs, ISSUER, &audience()),
            Refusal::Invalid("the token signing method does not match its key")
        );
        assert_eq!(refused("a.b.c", ISSUER, &audience()), MALFORMED);
    }

    #[test]
    fn hmac_keys_and_encryption_keys_never_verify() {
        let oct: Jwk = serde_json::from_value(
            json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "k"}),
        )
        .unwrap();
        assert_eq!(algorithm(&oct), None);
        let mut ec = jwks(&config(ISSUER, ISSUER, &[])).keys.remove(0);
        assert_eq!(algorithm(&ec), Some(Algorithm::ES256));
        ec.common.key_algorithm = None;
        assert_eq!(algorithm(&ec), Some(Algorithm::ES256), "from the curve");
        ec.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert_eq!(algorithm(&ec), None);
    }

    #[test]
    fn tokens_without_aud_pass_on_their_client_id() {
        let aud = audience();
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            client_id_when_no_audience(&claims(json!({"client_id": ISSUER})), &aud),
            Ok(())
        );
        assert_eq!(
            client_id_when_no_audience(&claims(json!({"client_id": "x"})), &aud),
            Err(BAD_AUDIENCE)
        );
        assert_eq!(
            client_id_when_no_audience(&claims(json!({})), &aud),
            Err(BAD_AUDIENCE)
        );
    }

    #[test]
    fn the_token_is_taken_with_or_without_its_scheme() {
        assert_eq!(bearer("Bearer a.b.c"), "a.b.c");
        assert_eq!(bearer("bearer  a.b.c "), "a.b.c");
        assert_eq!(bearer("a.b.c"), "a.b.c");
        assert_eq!(bearer("Bearer"), "Bearer");
    }

    #[test]
    fn refusals_are_api_gateways_answers() {
        let missing = Refusal::Missing.response();
        assert_eq!(missing.status, 401);
        assert_eq!(missing.body, br#"{"message":"Unauthorized"}"#);
        assert!(!missing.headers.iter().any(|(k, _)| k == "www-authenticate"));
        let invalid = Refusal::Invalid("the token has expired").response();
        assert_eq!(invalid.status, 401);
        assert!(invalid.headers.contains(&(
            "www-authenticate".into(),
            r#"Bearer scope="" error="invalid_token" error_description="the token has expired""#
                .into()
        )));
    }

    /// An issuer on a local port serving its discovery document and `jwks`
    /// (the JWKS served can be changed), counting the JWKS fetches.
    struct Issuer {
        url: String,
        jwks: Arc<std::sync::Mutex<String>>,
        fetches: Arc<AtomicUsize>,
    }

    async fn issuer() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/prod", listener.local_addr().unwrap());
        let served = Issuer {
            url: url.clone(),
            jwks: Arc::new(std::sync::Mutex::new(json!({"keys": []}).to_string())),
            fetches: Arc::new(AtomicUsize::new(0)),
        };
        let (jwks, fetches) = (Arc::clone(&served.jwks), Arc::clone(&served.fetches));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (url, jwks, fetches) = (url.clone(), Arc::clone(&jwks), Arc::clone(&fetches));
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let body = match req.uri().path().strip_prefix("/prod") {
                        Some(DISCOVERY_PATH) => {
                            json!({"issuer": url, "jwks_uri": format!("{url}/.well-known/jwks.json")})
                                .to_string()
                        }
                        Some("/.well-known/jwks.json") => {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            jwks.lock().unwrap().clone()
                        }
                        _ => String::new(),
                    };
                    async move {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        served
    }

    #[tokio::test]
    async fn keys_are_fetched_once_then_again_for_an_unknown_kid() {
        let iss = issuer().await;
        let env = config(&iss.url, &iss.url, &[]);
        *iss.jwks.lock().unwrap() = Published::from_source(&env).unwrap().jwks;
        let authorizer = JwtAuthorizer::new(Duration::from_secs(3600));
        let aud = vec![iss.url.clone()];
        let header = format!("Bearer {}", token(&env, unix_now()));

        let claims = authorizer
            .authorize(Some(&header), &iss.url, &aud)
            .await
            .unwrap();
        assert_eq!(claims["sub"], "u1");
        let bare = header.trim_start_matches("Bearer ");
        authorizer
            .authorize(Some(bare), &iss.url, &aud)
            .await
            .unwrap();
        assert_eq!(iss.fetches.load(Ordering::SeqCst), 1, "cached");

        // A key published by a rotation: a kid the cache lacks fetches
        // again, but only once per interval.
        let rotated = rotated(&iss.url);
        let new_token = token(&rotated, unix_now());
        assert_eq!(
            authorizer.authorize(Some(&new_token), &iss.url, &aud).await,
            Err(NO_KEY),
            "the interval since the first fetch has not passed"
        );
        assert_eq!(iss.fetches.load(Ordering::SeqCst), 1);

        let authorizer = JwtAuthorizer::new(Duration::ZERO);
        authorizer
            .authorize(Some(&header), &iss.url, &aud)
            .await
            .unwrap();
        *iss.jwks.lock().unwrap() = Published::from_source(&rotated).unwrap().jwks;
        let claims = authorizer
            .authorize(Some(&new_token), &iss.url, &aud)
            .await
            .unwrap();
        assert_eq!(claims["sid"], "s1");
        assert_eq!(iss.fetches.load(Ordering::SeqCst), 3);
        assert_eq!(
            authorizer.authorize(None, &iss.url, &aud).await,
            Err(Refusal::Missing)
        );
        assert_eq!(
            authorizer.authorize(Some(""), &iss.url, &aud).await,
            Err(Refusal::Missing)
        );
        // A scheme alone is a token that does not verify, not a missing one.
        assert_eq!(
            authorizer.authorize(Some("Bearer "), &iss.url, &aud).await,
            Err(MALFORMED)
        );
    }

    #[tokio::test]
    async fn an_issuer_that_cannot_be_reached_refuses_every_token() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let env = config(&url, &url, &[]);
        let authorizer = JwtAuthorizer::default();
        let t = token(&env, unix_now());
        assert_eq!(
            authorizer
                .authorize(Some(&t), &url, std::slice::from_ref(&url))
                .await,
            Err(NO_KEY)
        );
        assert!(matches!(
            fetch_keys("https://issuer.example.test").await,
            Err(FetchError::NotHttp(_))
        ));
    }
}
