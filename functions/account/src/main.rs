//! The `account` Lambda: wiring only. Its dependencies (configuration, the
//! access verifier, the DynamoDB client) are built once per execution
//! environment from exactly the variables it reads; the handler is
//! [`handlers::account`].

use handlers::FromEnv;
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = match handlers::Account::from_env() {
        Ok(deps) => deps,
        Err(e) => logging::refuse_start(&e),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handlers::account(&deps, req).await)
    }))
    .await
}
