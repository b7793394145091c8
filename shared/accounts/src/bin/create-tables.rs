//! Creates the users and sessions tables in a DynamoDB (Local) from the same
//! definitions the code and template.yaml use. For the local stack:
//! `create-tables ENDPOINT USERS_TABLE SESSIONS_TABLE`. Existing tables are
//! left alone, so it can run at every start.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use integration_tests::{RequestCounter, lenient_client_for};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, users, sessions] = args.as_slice() else {
        eprintln!("usage: create-tables ENDPOINT USERS_TABLE SESSIONS_TABLE");
        return std::process::ExitCode::from(2);
    };
    let client = lenient_client_for(endpoint, &RequestCounter::default());
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
