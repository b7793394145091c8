//! Device tokens: a year long, signed with the refresh secret, and never
//! mistaken for a refresh or an access token, nor the other way round.

mod common;

use common::{NOW, tokens};
use testkit::fixed::{env, env_with};
use token::{DEVICE_TOKEN_SECS, DeviceTokens, RefreshGrant, TokenError};

fn devices() -> DeviceTokens {
    DeviceTokens::from_source(&env()).unwrap()
}

#[test]
fn a_device_token_names_its_user_and_device_for_a_year() {
    let d = devices();
    let issued = d.issue("u1", "dev-1", 3, NOW).unwrap();
    let claims = d.verify(&issued.token, NOW).unwrap();
    assert_eq!((claims.sub.as_str(), claims.jti.as_str()), ("u1", "dev-1"));
    assert_eq!(claims.ver, 3);
    assert_eq!(claims.exp, NOW + DEVICE_TOKEN_SECS);
    assert_eq!(
        d.verify(&issued.token, NOW + DEVICE_TOKEN_SECS + 60)
            .unwrap_err(),
        TokenError::Expired
    );
}

#[test]
fn device_refresh_and_access_tokens_never_stand_in_for_each_other() {
    let d = devices();
    let t = tokens();
    let device = d.issue("u1", "dev-1", 3, NOW).unwrap().token;
    let grant = RefreshGrant {
        sub: "u1",
        sid: "s1",
        generation: 1,
        issued_at: NOW,
        session_ends_at: NOW + 86_400,
    };
    let refresh = t.refresh.issue(&grant).unwrap().token;
    let access = t.access.issue("u1", "s1", &[], NOW).unwrap().token;
    assert!(matches!(
        t.refresh.verify(&device, NOW),
        Err(TokenError::WrongTokenUse { .. })
    ));
    assert!(t.access.verify(&device, NOW).is_err());
    assert!(matches!(
        d.verify(&refresh, NOW),
        Err(TokenError::WrongTokenUse { .. })
    ));
    assert!(d.verify(&access, NOW).is_err());
}

#[test]
fn a_device_token_of_another_deployment_does_not_verify() {
    let other = DeviceTokens::from_source(&env_with(&[(
        "JWT_REFRESH_SECRET",
        "another-refresh-secret-0123456789abcdefg",
    )]))
    .unwrap();
    let foreign = other.issue("u1", "dev-1", 3, NOW).unwrap().token;
    assert_eq!(
        devices().verify(&foreign, NOW).unwrap_err(),
        TokenError::UnknownKey
    );
    // During a rotation the previous refresh secret still verifies it.
    let rotating = DeviceTokens::from_source(&env_with(&[(
        "JWT_REFRESH_SECRET_PREVIOUS",
        "another-refresh-secret-0123456789abcdefg",
    )]))
    .unwrap();
    assert!(rotating.verify(&foreign, NOW).is_ok());
}
