//! `AUTHZ_RULES`: which role a route requires, parsed once at cold start.
//!
//! # Grammar
//!
//! Rules are separated by `;` (empty items and surrounding whitespace are
//! ignored, so a trailing `;` or a multi-line YAML value is fine). Each rule is
//! `METHOD PATH=ROLE`:
//!
//! * `METHOD` is `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`, or
//!   `*` / `ANY` for every method (any case). A `GET` rule also covers `HEAD`,
//!   which most backends answer with the `GET` handler.
//! * `PATH` starts with `/`. Its segments are literals of URL-safe characters
//!   (`A-Z a-z 0-9 - . _ ~ : @ ! $ & ' ( ) + ,`) or `*`, which matches exactly
//!   one segment. A final `/*` matches the prefix **and** anything below it:
//!   `/admin/*` covers `/admin`, `/admin/` and `/admin/users/7`. Without a
//!   final `/*` the path matches exactly (a trailing `/` is ignored).
//! * `ROLE` is one role name (no whitespace, `,`, `;`, `=` or `*`), compared
//!   exactly with the token's `roles`.
//!
//! Every rule that matches a request must be satisfied: `GET /admin/*=admin;
//! * /admin/billing/*=billing` needs both roles on `GET /admin/billing/x`.
//!
//! # Matching errs towards deny
//!
//! A rule can only add a requirement, so matching too much costs at worst a
//! false deny while matching too little is a hole. Request paths are therefore
//! compared case-insensitively, with empty segments ignored, and both as sent
//! and percent-decoded, with and without `.`/`..` resolved; the callers pass
//! every path API Gateway reports for the request (raw path, resource path,
//! the path in the method ARN) and a rule applies when it matches any of them.

use std::borrow::Cow;

use config::Source;

/// The environment variable holding the rules.
pub const VAR: &str = "AUTHZ_RULES";

/// Methods a rule may name; `*` and `ANY` stand for all of them.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Why `AUTHZ_RULES` was refused. Rules are not secret, so the message quotes
/// the offending rule to make the fix obvious.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "AUTHZ_RULES rule {index} (`{rule}`) is invalid: {problem}; expected `METHOD /path=role`, e.g. `GET /admin/*=admin`"
)]
pub struct RuleError {
    /// 1-based position of the rule among the non-empty rules.
    pub index: usize,
    /// The rule as written (trimmed).
    pub rule: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// One segment of a rule's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*` in the middle of a path: exactly one segment.
    Any,
}

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `None` for every method, otherwise an upper-case name from [`METHODS`].
    method: Option<&'static str>,
    segments: Vec<Segment>,
    /// Whether the path ended in `/*` (prefix and everything below).
    prefix: bool,
    role: String,
}

impl Rule {
    /// The role this rule requires.
    pub fn role(&self) -> &str {
        &self.role
    }

    fn matches_method(&self, method: &str) -> bool {
        match self.method {
            None => true,
            Some(m) => {
                m.eq_ignore_ascii_case(method)
                    || (m == "GET" && method.eq_ignore_ascii_case("HEAD"))
            }
        }
    }

    fn matches_segments(&self, path: &[Cow<'_, str>]) -> bool {
        let long_enough = if self.prefix {
            path.len() >= self.segments.len()
        } else {
            path.len() == self.segments.len()
        };
        long_enough
            && self.segments.iter().zip(path).all(|(s, p)| match s {
                Segment::Any => true,
                Segment::Literal(l) => l.eq_ignore_ascii_case(p),
            })
    }

    fn matches(&self, route: &Route<'_>) -> bool {
        self.matches_method(route.method)
            && path_variants(route.path)
                .iter()
                .any(|v| self.matches_segments(v))
    }

    fn parse(text: &str) -> Result<Self, &'static str> {
        let (route, role) = text.rsplit_once('=').ok_or("missing `=role`")?;
        let role = role.trim();
        if role.is_empty() {
            return Err("the role is empty");
        }
        if !role
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ',' | ';' | '=' | '*'))
        {
            return Err("the role may not contain whitespace, `,`, `;`, `=` or `*`");
        }
        let mut words = route.split_whitespace();
        let (Some(method), Some(path), None) = (words.next(), words.next(), words.next()) else {
            return Err("expected a method and a path separated by a space");
        };
        let method = if method == "*" || method.eq_ignore_ascii_case("ANY") {
            None
        } else {
            let known = METHODS.iter().find(|m| m.eq_ignore_ascii_case(method));
            Some(*known.ok_or("unknown method (use GET, POST, ..., or *)")?)
        };
        let (segments, prefix) = parse_path(path)?;
        Ok(Self {
            method,
            segments,
            prefix,
            role: role.to_owned(),
        })
    }
}

fn parse_path(path: &str) -> Result<(Vec<Segment>, bool), &'static str> {
    let rest = path
        .strip_prefix('/')
        .ok_or("the path must start with `/`")?;
    let mut parts: Vec<&str> = rest.split('/').collect();
    // A trailing `/` (`/admin/`) means the same as none.
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let prefix = parts.last() == Some(&"*");
    if prefix {
        parts.pop();
    }
    if parts == [""] {
        parts.clear();
    }
    let mut segments = Vec::with_capacity(parts.len());
    for part in parts {
        if part.is_empty() {
            return Err("the path has an empty segment (`//`)");
        }
        if part == "*" {
            segments.push(Segment::Any);
        } else if part == "." || part == ".." {
            return Err("the path may not contain `.` or `..` segments");
        } else if part.chars().all(is_path_char) {
            segments.push(Segment::Literal(part.to_owned()));
        } else {
            return Err("a path segment is `*` or letters, digits and `-._~:@!$&'()+,`");
        }
    }
    Ok((segments, prefix))
}

/// Characters allowed in a literal rule segment: URL-safe, and neither `*`
/// nor `?`, so that a literal never reads as a wildcard.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:@!$&'()+,".contains(c)
}

/// A request as the rules see it: a method and a path (with or without the
/// leading `/`; empty segments are ignored either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    pub method: &'a str,
    pub path: &'a str,
}

/// All the rules of `AUTHZ_RULES`, in order. Empty means no rule: any valid
/// access token is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// Parses `AUTHZ_RULES` from `src`; unset or blank is no rules.
    pub fn from_source(src: &impl Source) -> Result<Self, RuleError> {
        Self::parse(&src.get(VAR).unwrap_or_default())
    }

    /// Parses the rule grammar of the module documentation.
    pub fn parse(spec: &str) -> Result<Self, RuleError> {
        spec.split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .enumerate()
            .map(|(i, text)| {
                Rule::parse(text).map_err(|problem| RuleError {
                    index: i + 1,
                    rule: text.to_owned(),
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The rules, in the order written.
    pub fn rules(&self) -> &[Rule] {
        &self.0
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first role that a rule matching any of `routes` requires and
    /// `roles` lacks; `None` when every matching rule is satisfied.
    pub fn missing_role<'r>(&'r self, routes: &[Route<'_>], roles: &[String]) -> Option<&'r str> {
        self.0
            .iter()
            .filter(|rule| !roles.contains(&rule.role))
            .find(|rule| routes.iter().any(|route| rule.matches(route)))
            .map(|rule| rule.role.as_str())
    }
}

/// The ways a request path may be read by something behind API Gateway:
/// as sent and percent-decoded, each with and without dot segments resolved.
fn path_variants(path: &str) -> Vec<Vec<Cow<'_, str>>> {
    let raw: Vec<Cow<'_, str>> = segments(path).map(Cow::Borrowed).collect();
    let mut out = vec![resolve_dots(&raw), raw];
    if let Some(decoded) = percent_decode(path) {
        let decoded: Vec<Cow<'_, str>> = segments(&decoded)
            .map(|s| Cow::Owned(s.to_owned()))
            .collect();
        out.push(resolve_dots(&decoded));
        out.push(decoded);
    }
    out.dedup();
    out
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn resolve_dots<'a>(segments: &[Cow<'a, str>]) -> Vec<Cow<'a, str>> {
    let mut out = Vec::with_capacity(segments.len());
    for s in segments {
        match s.as_ref() {
            "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

/// Percent-decodes `path` when it holds at least one valid escape; invalid
/// escapes stay as they are and invalid UTF-8 is replaced, never refused.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are at most 0xFF: the cast cannot truncate.
                out.push((hi * 16 + lo) as u8);
                changed = true;
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then(|| String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(spec: &str) -> Rules {
        Rules::parse(spec).unwrap()
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| (*s).to_owned()).collect()
    }

    fn missing<'r>(rules: &'r Rules, method: &str, path: &str, have: &[&str]) -> Option<&'r str> {
        rules.missing_role(&[Route { method, path }], &roles(have))
    }

    fn problem(spec: &str) -> &'static str {
        Rules::parse(spec).unwrap_err().problem
    }

    #[test]
    fn empty_and_blank_specs_have_no_rules() {
        assert!(rules("").is_empty());
        assert!(rules("  ;; ;\n").is_empty());
    }

    #[test]
    fn the_design_example_parses() {
        let r = rules("GET /admin/*=admin;DELETE /*=admin");
        assert_eq!(r.rules().len(), 2);
        assert_eq!(r.rules()[0].role(), "admin");
    }

    #[test]
    fn whitespace_around_rules_and_parts_is_ignored() {
        let r = rules("\n  get   /admin/*  =  admin ;\n  * /ops=ops ;");
        assert_eq!(r.rules().len(), 2);
        assert_eq!(missing(&r, "GET", "/admin/x", &[]), Some("admin"));
        assert_eq!(missing(&r, "PUT", "/ops", &[]), Some("ops"));
    }

    #[test]
    fn prefix_rule_matches_the_prefix_itself_and_below() {
        let r = rules("GET /admin/*=admin");
        for path in ["/admin", "/admin/", "/admin/users", "/admin/users/7/x"] {
            assert_eq!(missing(&r, "GET", path, &[]), Some("admin"), "{path}");
            assert_eq!(missing(&r, "GET", path, &["admin"]), None, "{path}");
        }
        for path in ["/", "/administrator", "/public/admin", "/adm"] {
            assert_eq!(missing(&r, "GET", path, &[]), None, "{path}");
        }
    }

    #[test]
    fn exact_rule_matches_only_that_path() {
        let r = rules("POST /users=admin");
        assert_eq!(missing(&r, "POST", "/users", &[]), Some("admin"));
        assert_eq!(missing(&r, "POST", "/users/", &[]), Some("admin"));
        assert_eq!(missing(&r, "POST", "/users/7", &[]), None);
        assert_eq!(missing(&r, "POST", "/", &[]), None);
    }

    #[test]
    fn root_rules() {
        let all = rules("DELETE /*=admin");
        assert_eq!(missing(&all, "DELETE", "/", &[]), Some("admin"));
        assert_eq!(missing(&all, "DELETE", "/a/b/c", &[]), Some("admin"));
        assert_eq!(missing(&all, "GET", "/a", &[]), None);
        let root = rules("GET /=home");
        assert_eq!(missing(&root, "GET", "/", &[]), Some("home"));
        assert_eq!(missing(&root, "GET", "", &[]), Some("home"));
        assert_eq!(missing(&root, "GET", "/a", &[]), None);
    }

    #[test]
    fn middle_star_matches_exactly_one_segment() {
        let r = rules("GET /orgs/*/billing=billing");
        assert_eq!(missing(&r, "GET", "/orgs/7/billing", &[]), Some("billing"));
        assert_eq!(missing(&r, "GET", "/orgs/7/8/billing", &[]), None);
        assert_eq!(missing(&r, "GET", "/orgs/billing", &[]), None);
    }

    #[test]
    fn star_and_any_match_every_method() {
        for spec in ["* /ops/*=ops", "ANY /ops/*=ops", "any /ops/*=ops"] {
            let r = rules(spec);
            for m in ["GET", "POST", "DELETE", "OPTIONS", "PROPFIND"] {
                assert_eq!(missing(&r, m, "/ops/x", &[]), Some("ops"), "{spec} {m}");
            }
        }
    }

    #[test]
    fn methods_compare_without_case_and_get_covers_head() {
        let r = rules("get /a=x");
        assert_eq!(missing(&r, "GET", "/a", &[]), Some("x"));
        assert_eq!(missing(&r, "head", "/a", &[]), Some("x"));
        assert_eq!(missing(&r, "POST", "/a", &[]), None);
        let head = rules("HEAD /a=x");
        assert_eq!(missing(&head, "GET", "/a", &[]), None);
    }

    #[test]
    fn every_matching_rule_must_be_satisfied() {
        let r = rules("GET /admin/*=admin;* /admin/billing/*=billing");
        let path = "/admin/billing/1";
        assert_eq!(missing(&r, "GET", path, &[]), Some("admin"));
        assert_eq!(missing(&r, "GET", path, &["admin"]), Some("billing"));
        assert_eq!(missing(&r, "GET", path, &["billing"]), Some("admin"));
        assert_eq!(missing(&r, "GET", path, &["admin", "billing"]), None);
        assert_eq!(missing(&r, "GET", "/admin/x", &["admin"]), None);
    }

    #[test]
    fn roles_compare_exactly() {
        let r = rules("GET /a=admin");
        assert_eq!(missing(&r, "GET", "/a", &["Admin"]), Some("admin"));
        assert_eq!(missing(&r, "GET", "/a", &["admins"]), Some("admin"));
        assert_eq!(missing(&r, "GET", "/a", &["user", "admin"]), None);
    }

    #[test]
    fn odd_spellings_of_a_protected_path_still_match() {
        let r = rules("GET /admin/*=admin");
        for path in [
            "/ADMIN/users",
            "//admin//users",
            "/%61dmin/users",
            "/%2Fadmin/users",
            "/public/../admin/users",
            "/public/%2e%2e/admin",
            "/./admin",
            "admin/users",
        ] {
            assert_eq!(missing(&r, "GET", path, &[]), Some("admin"), "{path}");
        }
    }

    #[test]
    fn any_of_several_routes_matching_is_enough() {
        let r = rules("GET /admin/*=admin");
        let routes = [
            Route {
                method: "GET",
                path: "/prod/admin/users",
            },
            Route {
                method: "GET",
                path: "admin/users",
            },
        ];
        assert_eq!(r.missing_role(&routes, &[]), Some("admin"));
    }

    #[test]
    fn malformed_paths_and_percent_escapes_never_panic() {
        let r = rules("GET /a/*=x");
        for path in [
            "%",
            "%4",
            "%zz",
            "/a/%ff%fe",
            "/a/%",
            "é/%C3%A9",
            "/../../..",
        ] {
            let _ = missing(&r, "GET", path, &[]);
        }
        assert_eq!(missing(&r, "GET", "/a/%", &[]), Some("x"));
    }

    #[test]
    fn malformed_rules_are_refused_with_their_position() {
        let err = Rules::parse("GET /a=x; GET /b").unwrap_err();
        assert_eq!(err.index, 2);
        assert_eq!(err.rule, "GET /b");
        let msg = err.to_string();
        assert!(msg.contains("AUTHZ_RULES"), "{msg}");
        assert!(msg.contains("GET /b"), "{msg}");
    }

    #[test]
    fn each_malformation_has_its_own_problem() {
        assert_eq!(problem("GET /a"), "missing `=role`");
        assert_eq!(problem("GET /a="), "the role is empty");
        assert_eq!(
            problem("GET /a=ad min"),
            "the role may not contain whitespace, `,`, `;`, `=` or `*`"
        );
        assert_eq!(
            problem("GET /a=a,b"),
            "the role may not contain whitespace, `,`, `;`, `=` or `*`"
        );
        assert_eq!(
            problem("/a=admin"),
            "expected a method and a path separated by a space"
        );
        assert_eq!(
            problem("GET /a /b=admin"),
            "expected a method and a path separated by a space"
        );
        assert_eq!(
            problem("FETCH /a=admin"),
            "unknown method (use GET, POST, ..., or *)"
        );
        assert_eq!(problem("GET a=admin"), "the path must start with `/`");
        assert_eq!(
            problem("GET /a//b=admin"),
            "the path has an empty segment (`//`)"
        );
        assert_eq!(
            problem("GET /a/../b=admin"),
            "the path may not contain `.` or `..` segments"
        );
        for bad in ["GET /a?=x", "GET /a*b=x", "GET /a%20b=x", "GET /{id}=x"] {
            assert_eq!(
                problem(bad),
                "a path segment is `*` or letters, digits and `-._~:@!$&'()+,`",
                "{bad}"
            );
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%2Fb").as_deref(), Some("/a/b"));
        assert_eq!(percent_decode("/plain"), None);
        assert_eq!(percent_decode("%zz%4"), None);
    }
}
