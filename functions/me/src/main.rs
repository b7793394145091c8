//! The `me` Lambda: wiring only; the handler is [`me::me`].

use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    run(service_fn(|req| async {
        Ok::<_, Error>(me::me(req).await)
    }))
    .await
}
