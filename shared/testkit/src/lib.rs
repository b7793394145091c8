//! Test material shared by the tests of every crate, and nothing else: no
//! production crate depends on this one.
//!
//! * [`fixed`]: one fixed configuration (secrets, issuer, audience, clock)
//!   and the token issuers and verifiers built from it;
//! * [`attack_tokens`]: the attack tokens, one table per class, that the
//!   token crate's tests and the authorizer's tests both run;
//! * [`es256_attacks`]: the same for an ES256 verifier;
//! * [`jwt`]: base64url and surgery on a token's segments;
//! * [`events`]: API Gateway requests built from the real event files in
//!   `tests/events/` (the ones `cargo lambda invoke --data-file` takes), and
//!   readers for the answers.
//!
//! Storage helpers (DynamoDB Local, tables per test, a logged-in user) live
//! in the `integration-tests` crate, which needs the AWS SDK.

pub mod attack_tokens;
pub mod es256_attacks;
pub mod events;
pub mod fixed;
pub mod jwt;
pub mod keys;
