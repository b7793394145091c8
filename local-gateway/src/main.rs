//! `local-gateway`: serves `template.yaml`'s HTTP API on `127.0.0.1:$HTTP_PORT`
//! in front of `cargo lambda watch` (`$LAMBDA_INVOKE_URL`). Run by
//! `scripts/dev`; see the crate documentation. Only requests whose `Host`
//! names this machine (a loopback address, `localhost`, `*.localhost`,
//! `*.test`) are served; any other gets 421 (DNS rebinding).
//!
//! Environment: `HTTP_PORT` (9000), `LAMBDA_INVOKE_URL`
//! (`http://127.0.0.1:9001`), `BASE_PATH` (the API mapping key, empty),
//! `TEMPLATE` (`template.yaml`), `STATIC_DIR` (`client`, served under
//! `/client/`), and every variable the functions read (parameters such as
//! `AllowedOrigins` take their values from them; `JWT_ISSUER` and
//! `JWT_AUDIENCE` configure API Gateway's JWT authorizer, whose keys are
//! fetched from `$JWT_ISSUER/.well-known/openid-configuration`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use config::{Env, optional};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use local_gateway::events::{Incoming, Outgoing};
use local_gateway::gateway::Gateway;
use local_gateway::invoke::Invoker;
use local_gateway::jwt::JwtAuthorizer;
use tokio::net::TcpListener;

/// API Gateway's limit on a request body.
const MAX_BODY: usize = 10 * 1024 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let port: u16 = optional(&Env, "HTTP_PORT")
        .unwrap_or_else(|| "9000".into())
        .parse()
        .map_err(|_| "HTTP_PORT is not a port number".to_owned())?;
    let invoke_url =
        optional(&Env, "LAMBDA_INVOKE_URL").unwrap_or_else(|| "http://127.0.0.1:9001".into());
    let invoker = Invoker::new(&invoke_url)
        .ok_or_else(|| "LAMBDA_INVOKE_URL must be http://host:port".to_owned())?;
    let template = optional(&Env, "TEMPLATE").unwrap_or_else(|| "template.yaml".into());
    let text = std::fs::read_to_string(&template).map_err(|e| format!("{template}: {e}"))?;
    let api = local_gateway::template::read(&text, &|var| optional(&Env, var))
        .map_err(|e| e.to_string())?;
    let base_path = match optional(&Env, "BASE_PATH") {
        Some(p) => format!("/{}", p.trim_matches('/')),
        None => String::new(),
    };
    let static_dir = PathBuf::from(optional(&Env, "STATIC_DIR").unwrap_or_else(|| "client".into()));
    let gateway = Arc::new(Gateway {
        api,
        base_path,
        invoker,
        static_dir: static_dir.is_dir().then_some(static_dir),
        jwt: JwtAuthorizer::default(),
    });

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!(
        "local-gateway: http://{addr}{} -> {invoke_url}: {} routes, CORS {}",
        gateway.base_path,
        gateway.api.routes.len(),
        if gateway.api.cors.is_some() {
            "on"
        } else {
            "off"
        }
    );
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(serve(&gateway, req, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(gateway: &Gateway, req: Request<Body>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let (out, route) = match Limited::new(body, MAX_BODY).collect().await {
        Err(_) => (
            Outgoing::message(413, "Request Entity Too Large"),
            "-".to_owned(),
        ),
        Ok(collected) => {
            let incoming = Incoming {
                method: method.clone(),
                raw_path: path.clone(),
                raw_query: parts.uri.query().unwrap_or_default().to_owned(),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                    .collect(),
                body: collected.to_bytes().to_vec(),
                source_ip: peer.ip().to_string(),
                host: parts
                    .headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost")
                    .to_owned(),
            };
            let handled = gateway.handle(&incoming).await;
            (handled.response, handled.route)
        }
    };
    // One access-log line per request: never a header, a body or a query.
    println!(
        "{}",
        serde_json::json!({
            "method": method, "path": path, "route": route, "status": out.status,
            "latency_ms": started.elapsed().as_millis() as u64, "source_ip": peer.ip().to_string(),
        })
    );
    let mut res = Response::new(Full::new(Bytes::from(out.body)));
    *res.status_mut() =
        hyper::StatusCode::from_u16(out.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in out.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            res.headers_mut().append(k, v);
        }
    }
    res
}
