//! Any bytes as a token, to the three verifiers (HS256 access, ES256 access,
//! refresh), at a fixed clock. Nothing panics; an input over
//! `MAX_TOKEN_BYTES` is refused as `TooLarge` before anything looks at it; a
//! token that verifies is fully valid and verifies with one verifier only.

#![no_main]

use std::sync::LazyLock;

use fuzz_common::{AUDIENCE, ISSUER, NOW};
use libfuzzer_sys::fuzz_target;
use testkit::fixed::Tokens;
use token::{AccessVerifier, MAX_TOKEN_BYTES, TokenError, TokenUse};

static TOKENS: LazyLock<Tokens> = LazyLock::new(fuzz_common::tokens);
static ES256: LazyLock<AccessVerifier> = LazyLock::new(fuzz_common::es256_access);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hs256 = TOKENS.access.verify(text, NOW);
    let es256 = ES256.verify(text, NOW);
    let refresh = TOKENS.refresh.verify(text, NOW);

    if text.len() > MAX_TOKEN_BYTES {
        let too_large = TokenError::TooLarge {
            max: MAX_TOKEN_BYTES,
        };
        assert_eq!(hs256.err(), Some(too_large.clone()));
        assert_eq!(es256.err(), Some(too_large.clone()));
        assert_eq!(refresh.err(), Some(too_large));
        return;
    }
    assert!(
        [hs256.is_ok(), es256.is_ok(), refresh.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count()
            <= 1,
        "one token verified with two verifiers"
    );
    for c in [&hs256, &es256].into_iter().flat_map(|r| r.as_ref().ok()) {
        assert_eq!(c.token_use, TokenUse::Access);
        assert_eq!((c.iss.as_str(), c.aud.as_str()), (ISSUER, AUDIENCE));
        assert!(!c.sub.is_empty() && !c.jti.is_empty());
        assert!(
            c.exp.saturating_add(30) > NOW,
            "expired token accepted: exp {}",
            c.exp
        );
    }
    if let Ok(c) = &refresh {
        assert_eq!(c.token_use, TokenUse::Refresh);
        assert_eq!((c.iss.as_str(), c.aud.as_str()), (ISSUER, AUDIENCE));
        assert!(!c.sub.is_empty() && !c.sid.is_empty());
        assert!(
            c.exp.saturating_add(30) > NOW,
            "expired token accepted: exp {}",
            c.exp
        );
    }
});
