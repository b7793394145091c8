//! The DynamoDB client, with timeouts and retries set explicitly so that a
//! dead or slow endpoint fails in bounded time instead of hanging a Lambda
//! until its own timeout.
//!
//! It is built from exactly what Lambda puts in the environment (region,
//! credentials, and `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local), not from
//! aws-config's default chain: that chain reads profile files and carries
//! SSO, STS, IMDS and ECS providers a Lambda never uses, which costs start
//! time and megabytes of binary. Building the client does no I/O; the HTTPS
//! connector (and the system CA bundle it parses) is made on the first
//! request.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Region, SharedHttpClient};
use aws_smithy_http_client::tls;
use token::config::{ConfigError, Env, Source};

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

/// A client from the Lambda environment, configured once at cold start:
/// `AWS_REGION` (required), credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (read when first needed),
/// and `AWS_ENDPOINT_URL_DYNAMODB` (else `AWS_ENDPOINT_URL`) when set.
pub fn from_env() -> Result<Client, ConfigError> {
    from_source(&Env)
}

/// As [`from_env`], from any [`Source`] (a map in tests).
pub fn from_source(src: &impl Source) -> Result<Client, ConfigError> {
    let region = token::config::required(src, "AWS_REGION")?;
    let mut builder = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    let endpoint = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|var| src.get(var).filter(|v| !v.trim().is_empty()));
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    Ok(Client::from_conf(configure(builder).build()))
}
