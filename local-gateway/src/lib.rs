//! The local API Gateway of the local stack (`make dev`): the HTTP API of
//! `template.yaml`, served on one origin in front of `cargo lambda watch`.
//!
//! It reads the routes, their authorizers and the CORS configuration from
//! the template itself ([`template`]), so the local stack and the deploy
//! cannot drift; it picks routes as HTTP APIs do ([`router`]); it builds the
//! payload 2.0 events and reads the answers ([`events`]); it verifies
//! tokens for API Gateway's own JWT authorizer ([`jwt`]); it invokes the
//! functions through the Lambda Invoke API ([`invoke`]); and [`gateway`]
//! puts it together in API Gateway's order. Use it for your own functions
//! too: add them to `template.yaml` and `make dev` serves them.

pub mod events;
pub mod gateway;
pub mod invoke;
pub mod jwt;
pub mod router;
pub mod template;
