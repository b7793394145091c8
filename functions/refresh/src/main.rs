//! The `refresh` Lambda: wiring only. Its dependencies (configuration, keys, the
//! DynamoDB client) are built once per execution environment from exactly the
//! variables it reads; the handler is [`handlers::refresh`].

use handlers::FromEnv;
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = match handlers::Refresh::from_env() {
        Ok(deps) => deps,
        Err(e) => logging::refuse_start(&e),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handlers::refresh(&deps, req).await)
    }))
    .await
}
