//! Any bytes as a token, to both verifiers, at a fixed clock. Nothing panics;
//! an input over `MAX_TOKEN_BYTES` is refused as `TooLarge` before anything
//! looks at it; a token that verifies is fully valid and of one kind only.

#![no_main]

use std::sync::LazyLock;

use fuzz_common::{AUDIENCE, ISSUER, NOW};
use libfuzzer_sys::fuzz_target;
use testkit::fixed::Tokens;
use token::{MAX_TOKEN_BYTES, TokenError, TokenUse};

static TOKENS: LazyLock<Tokens> = LazyLock::new(fuzz_common::tokens);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let access = TOKENS.access.verify(text, NOW);
    let refresh = TOKENS.refresh.verify(text, NOW);

    if text.len() > MAX_TOKEN_BYTES {
        let too_large = TokenError::TooLarge {
            max: MAX_TOKEN_BYTES,
        };
        assert_eq!(access.err(), Some(too_large.clone()));
        assert_eq!(refresh.err(), Some(too_large));
        return;
    }
    if let Ok(c) = &access {
        assert!(refresh.is_err(), "one token verified as both kinds");
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
