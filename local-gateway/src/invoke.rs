//! Invoking a function the way API Gateway invokes Lambda: the event's JSON
//! posted to the Lambda Invoke API of `cargo lambda watch`
//! (`/2015-03-31/functions/<name>/invocations`), the answer's JSON back.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// How long one invocation may take: the first one of a function waits for
/// `cargo lambda watch` to compile it.
const TIMEOUT: Duration = Duration::from_secs(900);

/// Why an invocation produced no answer (API Gateway answers 500).
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cannot reach the invoke endpoint: {0}")]
    Connect(std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the function failed (status {status}): {kind}")]
    Function { status: u16, kind: String },
    #[error("the answer is not JSON")]
    NotJson,
}

/// The Lambda Invoke API at `host:port`.
#[derive(Debug, Clone)]
pub struct Invoker {
    authority: String,
}

impl Invoker {
    /// `url` is `http://host:port` (what `cargo lambda watch` listens on).
    pub fn new(url: &str) -> Option<Self> {
        let authority = url.strip_prefix("http://")?.trim_end_matches('/');
        (!authority.is_empty() && !authority.contains('/')).then(|| Self {
            authority: authority.to_owned(),
        })
    }

    /// Invokes `function` with `event` and returns its answer.
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<Value, InvokeError> {
        tokio::time::timeout(TIMEOUT, self.post(function, event))
            .await
            .map_err(|_| InvokeError::Timeout(TIMEOUT))?
    }

    async fn post(&self, function: &str, event: &Value) -> Result<Value, InvokeError> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(InvokeError::Connect)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let req = hyper::Request::post(format!("/2015-03-31/functions/{function}/invocations"))
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(event.to_string())))
            .map_err(|_| InvokeError::NotJson)?;
        let res = sender.send_request(req).await?;
        let status = res.status().as_u16();
        let failed = res.headers().contains_key("x-amz-function-error");
        let body = res.into_body().collect().await?.to_bytes();
        let answer: Value = serde_json::from_slice(&body).map_err(|_| InvokeError::NotJson)?;
        if failed || !(200..300).contains(&status) {
            let kind = answer
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned();
            return Err(InvokeError::Function { status, kind });
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_an_http_authority() {
        assert!(Invoker::new("http://127.0.0.1:9001").is_some());
        assert!(Invoker::new("http://127.0.0.1:9001/").is_some());
        assert!(Invoker::new("https://x").is_none());
        assert!(Invoker::new("http://x/y").is_none());
    }

    #[tokio::test]
    async fn a_closed_port_is_an_error_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let i = Invoker::new(&format!("http://127.0.0.1:{port}")).unwrap();
        assert!(matches!(
            i.invoke("me", &Value::Null).await,
            Err(InvokeError::Connect(_))
        ));
    }
}
