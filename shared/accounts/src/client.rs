//! The DynamoDB client, with timeouts and retries set explicitly so that a
//! dead or slow endpoint fails in bounded time instead of hanging a Lambda
//! until its own timeout.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder};

/// Connecting to DynamoDB takes milliseconds in a region; a second means down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt (send and read the answer). DynamoDB's p99 is ~10 ms.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole operation, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per operation, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Applies this project's timeouts and retry policy to a client config.
pub fn configure(builder: Builder) -> Builder {
    builder
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

/// A client from the Lambda environment (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local), configured once at cold
/// start.
pub async fn from_env() -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
    Client::from_conf(configure(Builder::from(&shared)).build())
}
