//! The JSON request bodies of the auth and account endpoints, as typed
//! structs. They live
//! here rather than with the handlers so that anything that only parses
//! bodies (the fuzz targets in `fuzz/`) does so exactly as the handlers do,
//! without linking the AWS SDK. Read them with [`crate::body::json`] or
//! [`crate::body::optional_json`].
//!
//! None of them implements `Debug`: they carry passwords and tokens, which
//! must never reach a log.

use serde::Deserialize;

/// `POST /auth/register` and `POST /auth/login`: `{"username","password"}`,
/// both required, and for login of a native client the optional
/// `device_token` (browsers send the device cookie). Unknown fields are
/// ignored.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub device_token: Option<String>,
}

/// `POST /auth/refresh`: `{"refresh_token"}`, optional (the cookie is read
/// first). Unknown fields are ignored.
#[derive(Deserialize)]
pub struct RefreshBody {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// `POST /auth/logout`: `{"refresh_token", "all"}`, both optional; `all`
/// ends every session of the token's user. Unknown fields are ignored.
#[derive(Deserialize)]
pub struct LogoutBody {
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub all: bool,
}

/// `POST /auth/password`: `{"current_password","new_password"}`, both
/// required. Unknown fields are ignored.
#[derive(Deserialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// `DELETE /auth/account` and `POST /auth/reauthenticate`: `{"password"}`,
/// required. Unknown fields are ignored.
#[derive(Deserialize)]
pub struct PasswordConfirmation {
    pub password: String,
}

/// A step-up route's optional proof (`DELETE /auth/sessions/{sid}` of
/// another session): `{"password"}`, or nothing when the access token's
/// `auth_time` is recent. Unknown fields are ignored.
#[derive(Deserialize, Default)]
pub struct StepUp {
    #[serde(default)]
    pub password: Option<String>,
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header;
    use lambda_http::{Body, Request};

    use super::*;
    use crate::ApiError;
    use crate::body::{json, optional_json};

    fn request(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn credentials_need_both_fields_and_ignore_others() {
        let c: Credentials =
            json(&request(r#"{"username":"alice","password":"pw","x":1}"#)).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("alice", "pw"));
        for body in [
            r#"{"username":"alice"}"#,
            r#"{"password":"pw"}"#,
            r#"{"username":null,"password":"pw"}"#,
            r#"{"username":"alice","password":7}"#,
        ] {
            assert!(
                matches!(
                    json::<Credentials>(&request(body)),
                    Err(ApiError::InvalidRequest(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn account_bodies_need_their_passwords_as_strings() {
        let c: PasswordChange = json(&request(
            r#"{"current_password":"old one","new_password":"new one","x":1}"#,
        ))
        .unwrap();
        assert_eq!(
            (c.current_password.as_str(), c.new_password.as_str()),
            ("old one", "new one")
        );
        for body in [
            r#"{"current_password":"old one"}"#,
            r#"{"current_password":1,"new_password":"x"}"#,
            "{}",
        ] {
            assert!(
                matches!(
                    json::<PasswordChange>(&request(body)),
                    Err(ApiError::InvalidRequest(_))
                ),
                "{body}"
            );
        }
        let p: PasswordConfirmation = json(&request(r#"{"password":"pw"}"#)).unwrap();
        assert_eq!(p.password, "pw");
        assert!(json::<PasswordConfirmation>(&request(r#"{"password":null}"#)).is_err());
    }

    #[test]
    fn refresh_body_token_is_optional() {
        let b: Option<RefreshBody> =
            optional_json(&request(r#"{"refresh_token":"a.b.c"}"#)).unwrap();
        assert_eq!(b.and_then(|b| b.refresh_token).as_deref(), Some("a.b.c"));
        for body in ["{}", r#"{"refresh_token":null}"#, r#"{"other":1}"#] {
            let b: Option<RefreshBody> =
                optional_json(&request(body)).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            assert!(b.is_some_and(|b| b.refresh_token.is_none()), "{body}");
        }
        assert!(matches!(
            optional_json::<RefreshBody>(&request("")),
            Ok(None)
        ));
        assert!(matches!(
            optional_json::<RefreshBody>(&request(r#"{"refresh_token":5}"#)),
            Err(ApiError::InvalidRequest(_))
        ));
    }

    #[test]
    fn logout_body_all_defaults_to_false() {
        let b: Option<LogoutBody> =
            optional_json(&request(r#"{"refresh_token":"a.b.c","all":true}"#)).unwrap();
        let b = b.unwrap();
        assert_eq!(b.refresh_token.as_deref(), Some("a.b.c"));
        assert!(b.all);
        let b: Option<LogoutBody> = optional_json(&request("{}")).unwrap();
        assert!(b.is_some_and(|b| !b.all && b.refresh_token.is_none()));
        assert!(matches!(
            optional_json::<LogoutBody>(&request(r#"{"all":"yes"}"#)),
            Err(ApiError::InvalidRequest(_))
        ));
    }
}
