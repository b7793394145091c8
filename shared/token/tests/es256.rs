//! ES256 access tokens: what we sign verifies with `jsonwebtoken` and what
//! it signs verifies here; rotation; the refresh kind stays HS256; bad keys
//! refuse to start, naming the variable; and every ES256 attack row.

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{NOW, es_keys};
use config::ConfigError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use testkit::attack_tokens::check_all;
use testkit::es256_attacks;
use testkit::fixed::{
    AUDIENCE, ES_PRIVATE_KEY, ES_PRIVATE_KEY_2, ES_PUBLIC_KEY, ES_PUBLIC_KEY_2, ISSUER,
    P384_PRIVATE_KEY, P384_PUBLIC_KEY, SEC1_PRIVATE_KEY, Tokens, env_with, es256_env, roles,
};
use token::{
    AccessClaims, AccessIssuer, AccessVerifier, Published, RefreshGrant, RefreshVerifier,
    TokenError,
};

fn es_tokens() -> Tokens {
    Tokens::from_source(&es256_env())
}

fn es_env(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    let mut m = es256_env();
    m.extend(extra.iter().copied());
    m.retain(|_, v| *v != "<unset>");
    m
}

fn der_of(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn part(token: &str, i: usize) -> serde_json::Value {
    let seg = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[test]
fn an_es256_token_verifies_and_carries_the_thumbprint_as_kid() {
    let t = es_tokens();
    let issued = t
        .access
        .issuer
        .issue("u1", "s1", &roles(&["user"]), NOW)
        .unwrap();
    let header = part(&issued.token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    let jwks: serde_json::Value =
        serde_json::from_str(&Published::from_source(&es256_env()).unwrap().jwks).unwrap();
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(header.as_object().unwrap().len(), 3);
    let sig = issued.token.rsplit('.').next().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
    let claims = t.access.verifier.verify(&issued.token, NOW).unwrap();
    assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
}

#[test]
fn jsonwebtoken_verifies_ours_and_we_verify_jsonwebtokens() {
    let t = es_tokens();
    let ours = t
        .access
        .issuer
        .issue("u1", "s1", &roles(&["user"]), NOW)
        .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let decoding = DecodingKey::from_ec_der(&point_of(ES_PUBLIC_KEY.as_str()));
    let decoded = jsonwebtoken::decode::<AccessClaims>(&ours.token, &decoding, &validation)
        .expect("jsonwebtoken verifies our ES256 token");
    assert_eq!(decoded.claims.sub, "u1");

    let kid = part(&ours.token, 0)["kid"].as_str().unwrap().to_owned();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid);
    let claims = AccessClaims {
        exp: NOW + 900,
        iat: NOW,
        ..decoded.claims
    };
    let theirs = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_der(&der_of(ES_PRIVATE_KEY.as_str())),
    )
    .unwrap();
    assert_eq!(t.access.verifier.verify(&theirs, NOW).unwrap().sub, "u1");
}

/// The uncompressed point of an SPKI PEM: the last 65 bytes of its DER.
fn point_of(pem: &str) -> Vec<u8> {
    let der = der_of(pem);
    der[der.len() - 65..].to_vec()
}

#[test]
fn refresh_tokens_stay_hs256_with_es256_access_tokens() {
    let t = es_tokens();
    let grant = RefreshGrant {
        sub: "u1",
        sid: "s1",
        generation: 1,
        issued_at: NOW,
        session_ends_at: NOW + 86_400,
    };
    let refresh = t.refresh.issuer.issue(&grant).unwrap();
    assert_eq!(part(&refresh.token, 0)["alg"], "HS256");
    assert!(t.refresh.verifier.verify(&refresh.token, NOW).is_ok());
    assert_eq!(
        t.access.verifier.verify(&refresh.token, NOW).unwrap_err(),
        TokenError::WrongAlgorithm
    );
    // ...and an ES256 access token is no refresh token.
    let access = t.access.issuer.issue("u1", "s1", &[], NOW).unwrap();
    assert_eq!(
        t.refresh.verifier.verify(&access.token, NOW).unwrap_err(),
        TokenError::WrongAlgorithm
    );
}

#[test]
fn during_a_rotation_the_previous_public_key_verifies_and_never_signs() {
    let old = AccessIssuer::from_source(&es_env(&[(
        "JWT_ACCESS_PRIVATE_KEY",
        ES_PRIVATE_KEY_2.as_str(),
    )]))
    .unwrap()
    .issue("u1", "s1", &[], NOW)
    .unwrap();
    let current_only = AccessVerifier::from_source(&es256_env()).unwrap();
    assert_eq!(
        current_only.verify(&old.token, NOW).unwrap_err(),
        TokenError::UnknownKey
    );
    let rotating = AccessVerifier::from_source(&es_env(&[(
        "JWT_ACCESS_PUBLIC_KEY_PREVIOUS",
        ES_PUBLIC_KEY_2.as_str(),
    )]))
    .unwrap();
    assert!(rotating.verify(&old.token, NOW).is_ok());
    let held: Vec<_> = rotating.held_keys().into_iter().map(|(v, _)| v).collect();
    assert_eq!(
        held,
        ["JWT_ACCESS_PUBLIC_KEY", "JWT_ACCESS_PUBLIC_KEY_PREVIOUS"]
    );
    let published = Published::from_source(&es_env(&[(
        "JWT_ACCESS_PUBLIC_KEY_PREVIOUS",
        ES_PUBLIC_KEY_2.as_str(),
    )]))
    .unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&published.jwks).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_or_mismatched_keys_refuse_to_start_naming_the_variable() {
    let private = "JWT_ACCESS_PRIVATE_KEY";
    let public = "JWT_ACCESS_PUBLIC_KEY";
    let cases: [(&'static str, &'static str, &'static str); 7] = [
        (private, P384_PRIVATE_KEY.as_str(), "a P-384 private key"),
        (private, SEC1_PRIVATE_KEY.as_str(), "a SEC1 private key"),
        (private, ES_PUBLIC_KEY.as_str(), "a public key"),
        (
            private,
            testkit::attack_tokens::RSA_PUBLIC_KEY_PEM,
            "an RSA key",
        ),
        (public, P384_PUBLIC_KEY.as_str(), "a P-384 public key"),
        (public, ES_PRIVATE_KEY.as_str(), "the private key"),
        (public, "not a key at all", "text"),
    ];
    for (var, value, what) in cases {
        let m = es_env(&[(var, value)]);
        let err = if var == private {
            AccessIssuer::from_source(&m).err()
        } else {
            AccessVerifier::from_source(&m).err()
        };
        let err = err.unwrap_or_else(|| panic!("{var} with {what} was accepted"));
        assert!(
            matches!(err, ConfigError::Invalid { var: v, .. } if v == var),
            "{what}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        let body = value.lines().find(|l| !l.starts_with("-----")).unwrap();
        assert!(!shown.contains(body), "{what}: {shown}");
    }
    for (build, var) in [
        (
            AccessIssuer::from_source(&es_env(&[("JWT_ACCESS_PRIVATE_KEY", "<unset>")])).err(),
            private,
        ),
        (
            AccessVerifier::from_source(&es_env(&[("JWT_ACCESS_PUBLIC_KEY", "<unset>")])).err(),
            public,
        ),
    ] {
        assert_eq!(build, Some(ConfigError::Missing { var }));
    }
    assert_eq!(
        AccessVerifier::from_source(&es_env(&[(
            "JWT_ACCESS_PUBLIC_KEY_PREVIOUS",
            ES_PUBLIC_KEY.as_str()
        )]))
        .err(),
        Some(ConfigError::SecretReused {
            a: "JWT_ACCESS_PUBLIC_KEY",
            b: "JWT_ACCESS_PUBLIC_KEY_PREVIOUS"
        })
    );
}

#[test]
fn an_es256_deployment_reads_no_access_secret_and_an_hs256_one_no_key() {
    // The secret is not read (and so may be absent) with ES256...
    assert!(AccessVerifier::from_source(&es256_env()).is_ok());
    // ...and a key is not read with HS256.
    let hs = env_with(&[("JWT_ACCESS_PUBLIC_KEY", "not a key at all")]);
    assert!(AccessVerifier::from_source(&hs).is_ok());
    let published: serde_json::Value =
        serde_json::from_str(&Published::from_source(&hs).unwrap().jwks).unwrap();
    assert_eq!(published, serde_json::json!({"keys": []}));
}

#[test]
fn the_discovery_document_names_the_issuer_and_its_jwks() {
    let p = Published::from_source(&es_env(&[("JWT_ISSUER", "https://api.example.com/auth/")]))
        .unwrap();
    let d: serde_json::Value = serde_json::from_str(&p.discovery).unwrap();
    assert_eq!(d["issuer"], "https://api.example.com/auth/");
    assert_eq!(
        d["jwks_uri"],
        "https://api.example.com/auth/.well-known/jwks.json"
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let keys: serde_json::Value = serde_json::from_str(&p.jwks).unwrap();
    for key in keys["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private}");
        }
    }
}

#[test]
fn every_es256_attack_row_is_refused_and_every_control_accepted() {
    let t = es_tokens();
    let rows = es256_attacks::all(&es_keys());
    assert!(rows.iter().filter(|r| r.is_control()).count() >= 3);
    check_all(&rows, |token| t.access.verify(token, NOW));
}

#[test]
fn the_es256_attack_rows_are_refused_by_the_refresh_verifier_too() {
    let v = RefreshVerifier::from_source(&es256_env()).unwrap();
    for row in es256_attacks::all(&es_keys()) {
        if row.class != "es256 refresh tokens" {
            assert!(v.verify(&row.token, NOW).is_err(), "{}", row.label());
        }
    }
}
