//! The `login` Lambda: wiring only. Configuration, keys and the DynamoDB
//! client are built once per execution environment; the handler is
//! [`handlers::login`].

use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = match handlers::App::from_env() {
        Ok(app) => app,
        Err(e) => logging::refuse_start(&e),
    };
    run(service_fn(|req| async {
        Ok::<_, Error>(handlers::login(&app, req).await)
    }))
    .await
}
