//! Writes the seeds that carry tokens (`seeds/*/tok-*`), signed with the fuzz
//! configuration at `NOW`: `cargo run --manifest-path fuzz/Cargo.toml
//! --example make_seeds`. The hand-written seeds beside them stay as they are.
//! Access tokens carry a random `jti`, so each run writes different bytes.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fuzz_common::NOW;
use testkit::fixed::Tokens;
use token::RefreshGrant;

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "seeds", target]
        .iter()
        .collect();
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("tok-{name}")), bytes).unwrap();
}

fn access(t: &Tokens, roles: &[&str], at: u64) -> String {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    t.access.issue("user-1", "s1", &roles, at).unwrap().token
}

fn refresh(t: &Tokens, at: u64) -> String {
    let grant = RefreshGrant {
        sub: "user-1",
        sid: "0b6f7c3e-2f4a-4d55-9a0e-5c1d2e3f4a5b",
        generation: 3,
        issued_at: at,
        session_ends_at: at + 30 * 86_400,
    };
    t.refresh.issue(&grant).unwrap().token
}

/// The fuzz configuration with the two secrets swapped: right shape, wrong key.
fn swapped() -> Tokens {
    use std::collections::HashMap;
    let m: HashMap<&str, &str> = [
        ("JWT_ACCESS_SECRET", fuzz_common::REFRESH_SECRET),
        ("JWT_REFRESH_SECRET", fuzz_common::ACCESS_SECRET),
        ("JWT_ISSUER", fuzz_common::ISSUER),
        ("JWT_AUDIENCE", fuzz_common::AUDIENCE),
    ]
    .into();
    Tokens::from_source(&m)
}

fn main() {
    let es256 = token::AccessIssuer::from_source(&testkit::fixed::es256_env())
        .unwrap()
        .issue("user-1", "s1", &["user".to_owned()], NOW)
        .unwrap()
        .token;
    write("token_verify", "es256", &es256);
    let t = fuzz_common::tokens();
    let valid = access(&t, &["user"], NOW);
    let admin = access(&t, &["user", "admin"], NOW);
    let expired = access(&t, &["user"], NOW - 3_600);
    let future = access(&t, &["user"], NOW + 3_600);
    let wrong_key = access(&swapped(), &["user"], NOW);
    let refresh_token = refresh(&t, NOW);
    let (input, signature) = valid.rsplit_once('.').unwrap();
    let (_, payload) = input.split_once('.').unwrap();
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let flipped = format!("{input}.{}", signature.replace('A', "B"));

    // token_verify: each kind, each way to be wrong, and one over the limit.
    for (name, token) in [
        ("access", &valid),
        ("access-admin", &admin),
        ("access-expired", &expired),
        ("access-not-yet-valid", &future),
        ("access-wrong-key", &wrong_key),
        ("refresh", &refresh_token),
        ("alg-none", &alg_none),
        ("bad-signature", &flipped),
    ] {
        write("token_verify", name, token);
    }
    write(
        "token_verify",
        "too-large",
        format!("{valid}{}", "A".repeat(token::MAX_TOKEN_BYTES)),
    );

    // authorizer_event: the test events with real tokens in place.
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/events");
    for file in [
        "authorizer-v2",
        "authorizer-rest-token",
        "authorizer-rest-request",
    ] {
        let text = fs::read_to_string(events.join(format!("{file}.json"))).unwrap();
        for (name, token) in [
            ("user", &valid),
            ("admin", &admin),
            ("expired", &expired),
            ("refresh", &refresh_token),
        ] {
            let event = text.replace("REPLACE_ME", token);
            write("authorizer_event", &format!("{file}-{name}.json"), &event);
        }
        let admin_route = text
            .replace("REPLACE_ME", &valid)
            .replace("/pets/42", "/admin/users");
        write(
            "authorizer_event",
            &format!("{file}-user-on-admin.json"),
            admin_route,
        );
    }

    // cookie_header: the refresh cookie among others, alone, twice.
    write(
        "cookie_header",
        "among-others",
        format!("theme=dark; refresh_token={refresh_token}; lang=en"),
    );
    write(
        "cookie_header",
        "two-headers",
        format!("theme=dark\nrefresh_token={refresh_token}"),
    );
    write(
        "cookie_header",
        "quoted",
        format!("refresh_token=\"{refresh_token}\""),
    );
    write(
        "cookie_header",
        "same-twice",
        format!("refresh_token={refresh_token}; refresh_token={refresh_token}"),
    );
    write(
        "cookie_header",
        "planted",
        format!("refresh_token=attacker\nrefresh_token={refresh_token}"),
    );

    // body_parsers: the bodies native clients send to refresh and logout.
    write(
        "body_parsers",
        "refresh.json",
        format!(r#"{{"refresh_token":"{refresh_token}"}}"#),
    );
    write(
        "body_parsers",
        "logout-all.json",
        format!(r#"{{"refresh_token":"{refresh_token}","all":true}}"#),
    );
}
