//! Creates the users and sessions tables in a DynamoDB Local from the same
//! definitions the code and template.yaml use. For the local stack (`make
//! dev`): `create-tables ENDPOINT USERS_TABLE SESSIONS_TABLE`. Existing
//! tables are left alone, so it can run at every start. A small tool of the
//! store's own crate, so the local stack builds no test code.

use std::time::Duration;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

/// A client for DynamoDB Local at `endpoint`: this project's HTTP client
/// and retries, any credentials (DynamoDB Local checks none), and timeouts
/// long enough for a JVM that has just started.
fn local_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    let builder = Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "create-tables",
        ))
        .endpoint_url(endpoint);
    let config = accounts::client::configure(builder)
        .timeout_config(timeouts)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, users, sessions] = args.as_slice() else {
        eprintln!("usage: create-tables ENDPOINT USERS_TABLE SESSIONS_TABLE");
        return std::process::ExitCode::from(2);
    };
    let client = local_client(endpoint);
    for (def, name) in [
        (accounts::schema::USERS, users),
        (accounts::schema::SESSIONS, sessions),
    ] {
        let exists = client.describe_table().table_name(name).send().await;
        match exists {
            Ok(_) => println!("table {name}: exists"),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                if let Err(e) = def.create(&client, name).await {
                    eprintln!("table {name}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
                println!("table {name}: created (TTL on {})", def.ttl_attribute);
            }
            Err(e) => {
                eprintln!("table {name}: DynamoDB at {endpoint} did not answer: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
