//! Lambda entry point: JSON logs, configuration and keys once at cold start,
//! then the runtime loop. The decisions live in the library.

use std::process::ExitCode;

use authorizer::Authorizer;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // INFO at most: the runtime logs whole events, token included, at TRACE.
    logging::init();

    let authorizer = match Authorizer::from_env() {
        Ok(a) => a,
        Err(error) => logging::refuse_start(&error),
    };
    let authorizer = &authorizer;
    // The event arrives as raw JSON and the answer leaves as raw JSON: the
    // authorizer parses the event once, into only the fields it reads, and
    // can deny a malformed event in its own shape instead of failing the
    // invocation.
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        authorizer.invoke(event.payload.get().as_bytes(), token::unix_now())
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
