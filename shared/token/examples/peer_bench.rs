//! The project's verifier for `scripts/peers`, which times the same token
//! with the seed's Node library and PyJWT (HS256), and with Node `jose` and
//! `aws-jwt-verify` (ES256).
//!
//! * `peer_bench issue` prints an access token issued now (valid for 15
//!   minutes);
//! * `peer_bench verify TOKEN ROUNDS ITERATIONS` verifies TOKEN ITERATIONS
//!   times per round, against the clock as the authorizer does, and prints
//!   the median nanoseconds per verify over the rounds.
//!
//! The algorithm, keys, issuer and audience come from the environment, as in
//! every function, through `AccessIssuer::from_env` and
//! `AccessVerifier::from_env`: HS256 by default (`JWT_ACCESS_SECRET`), ES256
//! with `JWT_ACCESS_ALGORITHM=ES256` (`JWT_ACCESS_PRIVATE_KEY`, PKCS#8 PEM, to
//! issue; `JWT_ACCESS_PUBLIC_KEY`, SPKI PEM, to verify); and `JWT_ISSUER`,
//! `JWT_AUDIENCE`. `scripts/peers` makes a fresh secret and a fresh P-256
//! key pair for each run.
//!
//! Build with `cargo build --release -p token --example peer_bench`.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use token::{AccessIssuer, AccessVerifier, unix_now};

/// The issuer and the verifier of one configuration.
struct Tokens {
    issuer: AccessIssuer,
    verifier: AccessVerifier,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tokens = match (AccessIssuer::from_env(), AccessVerifier::from_env()) {
        (Ok(issuer), Ok(verifier)) => Tokens { issuer, verifier },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("peer_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["issue"] => {
            let roles = ["user".to_owned(), "admin".to_owned()];
            let issued = tokens
                .issuer
                .issue("user-0001", "s1", &roles, unix_now())
                .expect("issue");
            println!("{}", issued.token);
            ExitCode::SUCCESS
        }
        ["verify", token, rounds, iterations] => {
            let (Ok(rounds), Ok(iterations)) = (rounds.parse::<usize>(), iterations.parse::<u32>())
            else {
                eprintln!("rounds and iterations are numbers");
                return ExitCode::FAILURE;
            };
            if let Err(e) = tokens.verifier.verify(token, unix_now()) {
                eprintln!("the token does not verify: {e}");
                return ExitCode::FAILURE;
            }
            let mut per_op: Vec<f64> = (0..rounds.max(1))
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        let _ = black_box(tokens.verifier.verify(black_box(token), unix_now()));
                    }
                    start.elapsed().as_nanos() as f64 / f64::from(iterations.max(1))
                })
                .collect();
            per_op.sort_by(f64::total_cmp);
            println!("{:.1}", per_op[per_op.len() / 2]);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: peer_bench issue | peer_bench verify TOKEN ROUNDS ITERATIONS");
            ExitCode::FAILURE
        }
    }
}
