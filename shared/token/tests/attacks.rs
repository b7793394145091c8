//! Tokens an attacker would send. Each is refused with the error that lets
//! the caller answer 401; a few correct controls prove the forging helpers
//! themselves produce tokens we accept.

mod common;

use common::*;
use serde_json::{Value, json};
use token::TokenError;

fn verify(token: &str) -> Result<token::AccessClaims, TokenError> {
    tokens().access.verify(token, NOW)
}

#[test]
fn control_a_forged_token_with_the_right_secret_verifies() {
    let t = forge(&header(&access_kid()), &access_claims(), ACCESS.as_bytes());
    assert!(verify(&t).is_ok());
}

#[test]
fn alg_none_in_any_capitalisation_is_refused() {
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": access_kid()});
        let input = signing_input(
            h.to_string().as_bytes(),
            access_claims().to_string().as_bytes(),
        );
        let unsigned = format!("{input}.");
        assert!(verify(&unsigned).is_err(), "alg {alg} without signature");
        let kept = format!("{input}.{}", hs256(&input, ACCESS.as_bytes()));
        assert!(verify(&kept).is_err(), "alg {alg} with a signature kept");
    }
}

#[test]
fn hs256_signed_with_the_refresh_secret_is_refused() {
    let by_refresh = forge(&header(&access_kid()), &access_claims(), REFRESH.as_bytes());
    assert_eq!(verify(&by_refresh), Err(TokenError::BadSignature));
    let with_refresh_kid = forge(
        &header(&refresh_kid()),
        &access_claims(),
        REFRESH.as_bytes(),
    );
    assert_eq!(verify(&with_refresh_kid), Err(TokenError::UnknownKey));
}

#[test]
fn empty_signature_is_refused() {
    let t = forge(&header(&access_kid()), &access_claims(), ACCESS.as_bytes());
    let (input, _) = t.rsplit_once('.').unwrap();
    assert!(verify(&format!("{input}.")).is_err());
    assert!(verify(input).is_err(), "two segments");
}

#[test]
fn signature_of_another_token_is_refused() {
    let t = tokens();
    let a = t
        .access
        .issue("alice", &["user".into()], NOW)
        .unwrap()
        .token;
    let b = t
        .access
        .issue("mallory", &["admin".into()], NOW)
        .unwrap()
        .token;
    let (a_input, _) = a.rsplit_once('.').unwrap();
    let (_, b_sig) = b.rsplit_once('.').unwrap();
    assert_eq!(
        t.access.verify(&format!("{a_input}.{b_sig}"), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn unknown_or_missing_kid_is_refused() {
    for kid in ["", "nope", "../../etc/passwd", "' OR 1=1 --"] {
        let t = forge(&header(kid), &access_claims(), ACCESS.as_bytes());
        assert_eq!(verify(&t), Err(TokenError::UnknownKey), "kid {kid:?}");
    }
    let no_kid = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &access_claims(),
        ACCESS.as_bytes(),
    );
    assert_eq!(verify(&no_kid), Err(TokenError::UnknownKey));
}

fn claims_with(key: &str, value: Value) -> Value {
    let mut c = access_claims();
    c[key] = value;
    c
}

#[test]
fn exp_as_a_string_is_refused() {
    let t = forge(
        &header(&access_kid()),
        &claims_with("exp", json!((NOW + 900).to_string())),
        ACCESS.as_bytes(),
    );
    assert_eq!(verify(&t), Err(TokenError::Malformed));
}

#[test]
fn missing_exp_is_refused() {
    let mut c = access_claims();
    c.as_object_mut().unwrap().remove("exp");
    let t = forge(&header(&access_kid()), &c, ACCESS.as_bytes());
    assert_eq!(verify(&t), Err(TokenError::Malformed));
}

#[test]
fn audience_of_another_service_is_refused() {
    for aud in [
        json!("https://billing.example.com"),
        json!("https://API.example.com"),
        json!(format!("{AUD}/")),
    ] {
        let t = forge(
            &header(&access_kid()),
            &claims_with("aud", aud.clone()),
            ACCESS.as_bytes(),
        );
        assert!(verify(&t).is_err(), "aud {aud}");
    }
}

#[test]
fn other_algorithms_are_refused_even_with_a_valid_hs256_signature() {
    for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA", "", "XX999"] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": access_kid()});
        let t = forge(&h, &access_claims(), ACCESS.as_bytes());
        assert!(verify(&t).is_err(), "alg {alg:?}");
    }
}

#[test]
fn key_fetching_and_extension_headers_are_refused() {
    let extras = [
        ("jku", json!("https://evil.example.com/jwks.json")),
        ("x5u", json!("https://evil.example.com/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("jwk", json!({"kty": "oct", "k": "AAAA"})),
        ("crit", json!(["exp"])),
        ("zip", json!("DEF")),
        ("cty", json!("JWT")),
        ("custom", json!(1)),
    ];
    for (name, value) in extras {
        let mut h = header(&access_kid());
        h[name] = value;
        let t = forge(&h, &access_claims(), ACCESS.as_bytes());
        assert!(verify(&t).is_err(), "header {name}");
    }
}
