//! The DynamoDB client, with timeouts and retries set explicitly so that a
//! dead or slow endpoint fails in bounded time instead of hanging a Lambda
//! until its own timeout.
//!
//! It is built from exactly what Lambda puts in the environment (region,
//! credentials, and `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local), not from
//! aws-config's default chain: that chain reads profile files and carries
//! SSO, STS, IMDS and ECS providers a Lambda never uses, which costs start
//! time and megabytes of binary. Functions build it on first use
//! ([`LazyClient`]): making the client parses the system CA bundle.

use std::ops::Deref;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Region, SharedHttpClient};
use aws_smithy_http_client::tls;
use config::{ConfigError, Source};

/// Connecting to DynamoDB takes milliseconds in a region; a second means down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt (send and read the answer). DynamoDB's p99 is ~10 ms.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole operation, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per operation, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK's own hyper client over rustls with the ring provider (smaller
/// than aws-lc-rs); it speaks plain http too, for DynamoDB Local.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Applies this project's HTTP client, timeouts and retry policy to a
/// client config.
pub fn configure(builder: Builder) -> Builder {
    builder
        .http_client(http_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_millis(500)),
        )
}

/// What the client is built from, read (and checked) apart from building it:
/// a function reads it at cold start and builds the client on first use,
/// because building it loads and parses the system CA bundle (the SDK does
/// that when the client is made, not at the first request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub region: String,
    pub endpoint: Option<String>,
}

impl Settings {
    /// From the Lambda environment (`Env`) or any [`Source`] (a map in
    /// tests): `AWS_REGION` (required), and `AWS_ENDPOINT_URL_DYNAMODB`
    /// (else `AWS_ENDPOINT_URL`) when set; credentials are read from
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
    /// when first needed.
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            region: config::required(src, "AWS_REGION")?,
            endpoint: ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
                .into_iter()
                .find_map(|var| src.get(var).filter(|v| !v.trim().is_empty())),
        })
    }

    /// The configured client (loads the CA bundle).
    pub fn client(self) -> Client {
        let mut builder = Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region))
            .credentials_provider(EnvironmentVariableCredentialsProvider::new());
        if let Some(url) = self.endpoint {
            builder = builder.endpoint_url(url);
        }
        Client::from_conf(configure(builder).build())
    }
}

/// A client made when first used, shared by clones.
#[derive(Clone)]
pub struct LazyClient(Arc<LazyLock<Client, Box<dyn FnOnce() -> Client + Send>>>);

impl LazyClient {
    /// Builds the client from `settings` on first use.
    pub fn new(settings: Settings) -> Self {
        Self(Arc::new(LazyLock::new(Box::new(move || settings.client()))))
    }
}

impl From<Client> for LazyClient {
    /// An already built client.
    fn from(client: Client) -> Self {
        Self(Arc::new(LazyLock::new(Box::new(move || client))))
    }
}

impl Deref for LazyClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let m: HashMap<&str, &str> = pairs.iter().copied().collect();
        Settings::from_source(&m)
    }

    #[test]
    fn region_is_required() {
        assert_eq!(
            settings(&[]),
            Err(ConfigError::Missing { var: "AWS_REGION" })
        );
    }

    #[test]
    fn the_dynamodb_endpoint_wins_over_the_general_one() {
        let s = settings(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://general"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb"),
        ])
        .unwrap();
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.endpoint.as_deref(), Some("http://dynamodb"));
        let s = settings(&[("AWS_REGION", "r"), ("AWS_ENDPOINT_URL", "http://general")]);
        assert_eq!(s.unwrap().endpoint.as_deref(), Some("http://general"));
        assert_eq!(settings(&[("AWS_REGION", "r")]).unwrap().endpoint, None);
    }
}
