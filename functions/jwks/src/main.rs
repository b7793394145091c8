//! The `jwks` Lambda: wiring only. The documents are rendered once, from
//! `JWT_ACCESS_ALGORITHM`, `JWT_ISSUER` and the public keys.

use lambda_http::{Error, run, service_fn};
use token::Published;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let published = match Published::from_env() {
        Ok(p) => p,
        Err(error) => logging::refuse_start(&error),
    };
    let published = &published;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(jwks::answer(published, &req))
    }))
    .await
}
