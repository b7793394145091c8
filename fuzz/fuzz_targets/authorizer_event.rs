//! Any JSON as an authorizer event, at a fixed clock. Nothing panics, and
//! every answer that lets a request through (an HTTP API
//! `isAuthorized: true`, any REST policy) names the subject of an access
//! token in the event that really verifies. Without an `eyJ` anywhere (the
//! start of every JWT) nothing can be allowed.
//!
//! It drives `authorizer::invoke`, what the Lambda runtime calls: raw bytes
//! in (invalid JSON and invalid UTF-8 included), JSON out.

#![no_main]

use std::sync::LazyLock;

use authorizer::Authorizer;
use fuzz_common::{NOW, verified_tokens_in};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use token::AccessVerifier;

static AUTHORIZER: LazyLock<Authorizer> = LazyLock::new(fuzz_common::authorizer);
static TOKENS: LazyLock<AccessVerifier> = LazyLock::new(fuzz_common::access_tokens);

fuzz_target!(|data: &[u8]| {
    // The entry point the Lambda runtime uses: the event's bytes in, the
    // answer's JSON out.
    let answer = AUTHORIZER
        .invoke(data, NOW)
        .map(|raw| serde_json::from_str::<Value>(raw.get()).expect("answers are JSON"));
    // Inputs serde_json::Value refuses (a lone surrogate, say) may still be
    // JSON the authorizer skips through; they only have to not panic.
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let is_http_api = event.get("version").and_then(Value::as_str) == Some("2.0");
    // Escapes (`\u0065yJ`) hide a token from the raw bytes, not from the
    // parsed strings, so the oracles look at the parsed event.
    let text = event.to_string();
    let verified = if text.contains("eyJ") {
        verified_tokens_in(&event, &TOKENS)
    } else {
        Vec::new()
    };

    let subject = match &answer {
        Ok(v) if is_http_api => {
            match v.get("isAuthorized") {
                Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) => {
                    assert!(v.get("context").is_none(), "deny with a context: {v}");
                    return;
                }
                _ => panic!("HTTP API answer without isAuthorized: {v}"),
            }
            v.pointer("/context/sub").and_then(Value::as_str)
        }
        Ok(v) => v.get("principalId").and_then(Value::as_str),
        Err(_) => {
            assert!(!is_http_api, "HTTP API events are answered, never errored");
            return;
        }
    };
    let subject = subject.unwrap_or_else(|| panic!("allow without a subject: {answer:?}"));
    assert!(
        text.contains("eyJ"),
        "allowed without any token: {answer:?}"
    );
    assert!(
        verified.iter().any(|c| c.sub == subject),
        "allowed {subject:?} without a token that verifies for it: {answer:?}"
    );
});
