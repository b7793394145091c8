//! The `login` Lambda: wiring only. Its dependencies (configuration, keys, the
//! DynamoDB client) are built once per execution environment from exactly the
//! variables it reads; the handler is [`handlers::login`].

use handlers::FromEnv;
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = match handlers::Login::from_env() {
        Ok(deps) => deps,
        Err(e) => logging::refuse_start(&e),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handlers::login(&deps, req).await)
    }))
    .await
}
