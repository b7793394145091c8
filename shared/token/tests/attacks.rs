//! Tokens an attacker would send, one test per class, every row refused as
//! the client's fault (a 401) and every control accepted. The rows live in
//! `common/attack_tokens.rs` (with the policies chosen where the standards
//! allow two); the authorizer's tests run the same rows through API Gateway
//! events.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::attack_tokens::{self as attacks, Attack, Keys, check_all};
use common::{ACCESS, NOW, REFRESH, keys, tokens};
use config::ConfigError;
use testkit::fixed::env;
use token::{AccessVerifier, MAX_TOKEN_BYTES, RefreshVerifier, TokenError};

/// Every row of `class` through the access verifier.
fn check(class: fn(&Keys<'_>) -> Vec<Attack>) {
    let t = tokens();
    check_all(&class(&keys()), |token| t.access.verify(token, NOW));
}

#[test]
fn controls_are_accepted() {
    check(attacks::controls);
}

#[test]
fn alg_none_in_every_capitalisation_is_refused() {
    check(attacks::alg_none);
}

#[test]
fn other_algorithms_are_refused_even_with_a_valid_hs256_signature() {
    check(attacks::other_algorithms);
}

#[test]
fn hmac_keyed_with_the_rsa_public_key_is_refused() {
    check(attacks::algorithm_confusion);
}

#[test]
fn psychic_ecdsa_signatures_are_refused() {
    check(attacks::psychic_signatures);
}

#[test]
fn empty_truncated_stripped_or_borrowed_signatures_are_refused() {
    check(attacks::signatures);
}

#[test]
fn tokens_signed_with_weak_or_blank_secrets_are_refused() {
    check(attacks::weak_secrets);
}

#[test]
fn weak_or_blank_secrets_refuse_to_configure() {
    let blank_or_short = [
        " ".to_owned(),
        " ".repeat(64),
        "\t\n\r ".repeat(16),
        "s".repeat(31),
        format!("{:^64}", "short"),
        format!("\n{}\n", "s".repeat(31)),
    ];
    for (var, secret) in blank_or_short
        .iter()
        .flat_map(|s| [("JWT_ACCESS_SECRET", s), ("JWT_REFRESH_SECRET", s)])
    {
        let mut m: HashMap<&str, &str> = env();
        m.insert(var, secret);
        let err = verifier_error(&m);
        assert_eq!(
            err,
            Some(ConfigError::SecretTooShort { var, min: 32 }),
            "{var}={secret:?}"
        );
    }
    for var in ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"] {
        let mut m = env();
        m.insert(var, "");
        assert_eq!(
            verifier_error(&m),
            Some(ConfigError::Missing { var }),
            "{var} empty"
        );
    }
    // Control: 32 bytes is enough.
    let mut m = env();
    m.insert("JWT_ACCESS_SECRET", "0123456789abcdef0123456789abcdef");
    assert!(AccessVerifier::from_source(&m).is_ok());
}

/// The error of building the verifier of the kind whose secret is wrong.
fn verifier_error(m: &HashMap<&str, &str>) -> Option<ConfigError> {
    AccessVerifier::from_source(m)
        .err()
        .or_else(|| RefreshVerifier::from_source(m).err())
}

#[test]
fn kid_injection_is_an_unknown_key() {
    check(attacks::kid_injection);
}

#[test]
fn key_carrying_headers_are_refused() {
    check(attacks::key_headers);
}

#[test]
fn crit_zip_and_other_extension_headers_are_refused() {
    check(attacks::extension_headers);
}

#[test]
fn every_time_claim_edge_is_refused() {
    check(attacks::time_claims);
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    check(attacks::issuer_and_audience);
}

#[test]
fn other_token_uses_are_refused_as_access_tokens() {
    check(attacks::token_use_confusion);
}

#[test]
fn other_token_uses_are_refused_as_refresh_tokens() {
    let t = tokens();
    check_all(&attacks::access_as_refresh(&keys()), |token| {
        t.refresh.verify(token, NOW)
    });
}

#[test]
fn claims_of_the_wrong_shape_are_refused() {
    check(attacks::claim_shapes);
}

#[test]
fn duplicate_json_keys_are_refused() {
    check(attacks::duplicate_keys);
}

#[test]
fn malformed_json_bom_and_invalid_utf8_are_refused() {
    check(attacks::malformed_json);
}

#[test]
fn base64_other_than_canonical_base64url_is_refused() {
    check(attacks::base64_variants);
    // Surrounding spaces and tabs: the authorizer trims them from the
    // header, the token crate itself takes the token as given.
    let t = tokens();
    let valid = t
        .access
        .issue("u1", "s1", &["user".into()], NOW)
        .unwrap()
        .token;
    for (name, token) in [
        ("a space before", format!(" {valid}")),
        ("a space after", format!("{valid} ")),
        ("a tab before", format!("\t{valid}")),
        ("a tab after", format!("{valid}\t")),
    ] {
        let result = t.access.verify(&token, NOW);
        assert!(
            result.as_ref().is_err_and(TokenError::is_client_error),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn wrong_structure_and_oversized_tokens_are_refused() {
    check(attacks::structure);
    // Control: exactly MAX_TOKEN_BYTES is still read (and verifies).
    let t = tokens();
    let at_limit = (5000..7000)
        .map(|n| {
            t.access
                .issue(&"u".repeat(n), "s1", &[], NOW)
                .unwrap()
                .token
        })
        .find(|token| token.len() == MAX_TOKEN_BYTES)
        .expect("some subject length gives exactly the limit");
    assert!(t.access.verify(&at_limit, NOW).is_ok());
}

#[test]
fn tampered_payloads_with_the_old_signature_are_refused() {
    check(attacks::payload_tampering);
}

#[test]
fn issued_tokens_look_like_the_hand_crafted_control() {
    // The controls are only worth something if they are what we issue.
    let t = tokens();
    let issued = t
        .access
        .issue("u1", "s1", &["user".into()], NOW)
        .unwrap()
        .token;
    let control = &attacks::controls(&keys())[0];
    let header = |token: &str| token.split('.').next().unwrap().to_owned();
    assert_eq!(header(&issued), header(&control.token));
    let claims = |token: &str| -> BTreeMap<String, serde_json::Value> {
        let mut m: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(testkit::jwt::part(token, 1)).unwrap();
        m.remove("jti");
        m
    };
    assert_eq!(claims(&issued), claims(&control.token));
}

#[test]
fn every_class_has_several_refused_variants() {
    let rows = attacks::all(&keys());
    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for row in &rows {
        let (refused, controls) = per_class.entry(row.class).or_default();
        if row.is_control() {
            *controls += 1;
        } else {
            *refused += 1;
        }
    }
    assert_eq!(per_class.len(), 19, "{per_class:?}");
    for (class, (refused, _)) in &per_class {
        if *class != "controls" {
            assert!(*refused >= 3, "{class} has only {refused} refused rows");
        }
    }
    // No two rows of a class are the same token under different names.
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        assert!(
            seen.insert((row.class, row.token.as_str())),
            "{} repeats an earlier row",
            row.label()
        );
    }
    // The secrets under test are the configured ones.
    assert_eq!(keys().access_secret, ACCESS);
    assert_eq!(keys().refresh_secret, REFRESH);
}

#[test]
fn the_judge_fails_accepted_attacks_refused_controls_and_wrong_kinds() {
    let row = |expect| Attack {
        class: "self-test",
        variant: "row".into(),
        token: String::new(),
        expect,
    };
    let refuse = |kinds| row(attacks::Expect::Refuse(kinds));
    let ok: Result<(), TokenError> = Ok(());
    let expired = Err::<(), _>(TokenError::Expired);
    assert!(attacks::judge(&refuse(vec![]), &ok).is_err());
    assert!(attacks::judge(&row(attacks::Expect::Accept), &expired).is_err());
    assert!(attacks::judge(&refuse(vec![TokenError::NotYetValid]), &expired).is_err());
    assert!(attacks::judge(&refuse(vec![]), &Err::<(), _>(TokenError::Signing)).is_err());
    assert!(attacks::judge(&refuse(vec![TokenError::Expired]), &expired).is_ok());
    assert!(attacks::judge(&refuse(vec![]), &expired).is_ok());
    assert!(attacks::judge(&row(attacks::Expect::Accept), &ok).is_ok());
}
