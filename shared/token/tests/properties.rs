//! Property tests: what holds for every subject, role list and byte edit.

mod common;

use common::{NOW, tokens};
use proptest::prelude::*;
use token::RefreshGrant;

fn role() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9:_-]{0,15}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn issued_access_tokens_verify_for_any_subject_and_roles(
        sub in "\\PC{1,64}",
        roles in proptest::collection::vec(role(), 0..8),
    ) {
        let t = tokens();
        let issued = t.access.issue(&sub, "s1", &roles, NOW).unwrap();
        let claims = t.access.verify(&issued.token, NOW).unwrap();
        prop_assert_eq!(claims.sub, sub);
        prop_assert_eq!(claims.roles, roles);
    }

    #[test]
    fn issued_refresh_tokens_verify_for_any_subject_and_generation(
        sub in "\\PC{1,64}",
        sid in "[A-Za-z0-9_-]{1,32}",
        generation in any::<u64>(),
    ) {
        let t = tokens();
        let g = RefreshGrant { sub: &sub, sid: &sid, generation, issued_at: NOW, session_ends_at: NOW + 86400 };
        let issued = t.refresh.issue(&g).unwrap();
        let claims = t.refresh.verify(&issued.token, NOW).unwrap();
        prop_assert_eq!(claims.sub, sub);
        prop_assert_eq!(claims.sid, sid);
        prop_assert_eq!(claims.generation, generation);
    }

    #[test]
    fn changing_any_single_byte_never_verifies(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let t = tokens();
        let token = t.access.issue("u1", "s1", &["user".into()], NOW).unwrap().token;
        let mut bytes = token.into_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8_lossy(&bytes);
        prop_assert!(t.access.verify(&mutated, NOW).is_err());
    }

    #[test]
    fn removing_any_single_byte_never_verifies(index in any::<prop::sample::Index>()) {
        let t = tokens();
        let token = t.access.issue("u1", "s1", &["user".into()], NOW).unwrap().token;
        let mut bytes = token.into_bytes();
        bytes.remove(index.index(bytes.len()));
        prop_assert!(t.access.verify(&String::from_utf8_lossy(&bytes), NOW).is_err());
    }

    #[test]
    fn inserting_any_single_byte_never_verifies(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let t = tokens();
        let token = t.access.issue("u1", "s1", &["user".into()], NOW).unwrap().token;
        let mut bytes = token.into_bytes();
        bytes.insert(index.index(bytes.len() + 1), byte);
        prop_assert!(t.access.verify(&String::from_utf8_lossy(&bytes), NOW).is_err());
    }

    #[test]
    fn an_access_token_never_verifies_as_a_refresh_token(sub in "\\PC{1,32}", roles in proptest::collection::vec(role(), 0..4)) {
        let t = tokens();
        let token = t.access.issue(&sub, "s1", &roles, NOW).unwrap().token;
        prop_assert!(t.refresh.verify(&token, NOW).is_err());
    }

    #[test]
    fn a_refresh_token_never_verifies_as_an_access_token(sub in "\\PC{1,32}", generation in any::<u64>()) {
        let t = tokens();
        let g = RefreshGrant { sub: &sub, sid: "s1", generation, issued_at: NOW, session_ends_at: NOW + 86400 };
        let token = t.refresh.issue(&g).unwrap().token;
        prop_assert!(t.access.verify(&token, NOW).is_err());
    }
}
