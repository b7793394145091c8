//! Any bytes as the body of a JSON request, parsed as the handlers parse it:
//! `Credentials` (register, login), `PasswordChange` and
//! `PasswordConfirmation` (the account routes) required, `RefreshBody` and
//! `LogoutBody` optional. Nothing panics; over 16 KiB is `TooLarge` for all;
//! a blank body is "none" (or refused where required); whatever parses was a
//! UTF-8 JSON object.

#![no_main]

use lambda_http::http::header;
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use web::ApiError;
use web::body::{MAX_BODY_BYTES, json, optional_json};
use web::forms::{Credentials, LogoutBody, PasswordChange, PasswordConfirmation, RefreshBody};

fn request(data: &[u8]) -> Option<Request> {
    // API Gateway hands text bodies as text and others base64 (binary).
    let body = match std::str::from_utf8(data) {
        Ok(text) => Body::Text(text.to_owned()),
        Err(_) => Body::Binary(data.to_vec()),
    };
    lambda_http::http::Request::builder()
        .method("POST")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(req) = request(data) else {
        return;
    };
    let credentials = json::<Credentials>(&req);
    let refresh = optional_json::<RefreshBody>(&req);
    let logout = optional_json::<LogoutBody>(&req);
    let change = json::<PasswordChange>(&req);
    let confirmation = json::<PasswordConfirmation>(&req);

    if data.len() > MAX_BODY_BYTES {
        assert!(matches!(credentials, Err(ApiError::TooLarge)));
        assert!(matches!(refresh, Err(ApiError::TooLarge)));
        assert!(matches!(logout, Err(ApiError::TooLarge)));
        assert!(matches!(change, Err(ApiError::TooLarge)));
        assert!(matches!(confirmation, Err(ApiError::TooLarge)));
        return;
    }
    if data.iter().all(u8::is_ascii_whitespace) {
        assert!(matches!(credentials, Err(ApiError::InvalidRequest(_))));
        assert!(matches!(refresh, Ok(None)));
        assert!(matches!(logout, Ok(None)));
        assert!(matches!(change, Err(ApiError::InvalidRequest(_))));
        assert!(matches!(confirmation, Err(ApiError::InvalidRequest(_))));
        return;
    }
    // What parses was UTF-8 text between `{` and `}`. (Not "what
    // serde_json::Value parses": a lone surrogate escape, `"\ud800"`, is
    // valid JSON grammar that Value refuses and skipped fields allow.)
    let parsed_object = || {
        std::str::from_utf8(data)
            .is_ok_and(|t| t.trim_ascii().starts_with('{') && t.trim_ascii().ends_with('}'))
    };
    if let Ok(c) = &credentials {
        assert!(parsed_object(), "credentials from a non-object");
        assert!(c.username.len() + c.password.len() <= data.len());
    }
    if let Ok(c) = &change {
        assert!(parsed_object(), "a password change from a non-object");
        assert!(c.current_password.len() + c.new_password.len() <= data.len());
    }
    if let Ok(c) = &confirmation {
        assert!(parsed_object(), "a confirmation from a non-object");
        assert!(c.password.len() <= data.len());
    }
    if let (Ok(Some(r)), Ok(Some(l))) = (&refresh, &logout) {
        assert!(parsed_object(), "bodies from a non-object");
        assert_eq!(r.refresh_token, l.refresh_token);
    }
    for err in [
        credentials.err(),
        refresh.err(),
        logout.err(),
        change.err(),
        confirmation.err(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(matches!(err, ApiError::InvalidRequest(_)), "{err:?}");
    }
});
