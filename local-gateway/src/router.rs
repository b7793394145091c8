//! Route selection as HTTP APIs do it: among the routes whose method and
//! path match, the most specific wins (a literal segment over a `{param}`,
//! a `{param}` over a greedy `{proxy+}`, an exact method over `ANY`).

use std::collections::BTreeMap;

use crate::template::Route;

/// A matched route and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'r> {
    pub route: &'r Route,
    pub params: BTreeMap<String, String>,
}

/// How specific a match is: higher wins.
type Score = (usize, usize, bool);

/// The route for `method` and `path` (without any base path), if one matches.
pub fn find<'r>(routes: &'r [Route], method: &str, path: &str) -> Option<Matched<'r>> {
    routes
        .iter()
        .filter(|r| r.method == "ANY" || r.method.eq_ignore_ascii_case(method))
        .filter_map(|r| {
            let (params, (literals, named)) = matches(&r.path, path)?;
            Some((
                (literals, named, r.method != "ANY"),
                Matched { route: r, params },
            ))
        })
        .max_by_key(|(score, _): &(Score, _)| *score)
        .map(|(_, m)| m)
}

/// Path parameters and (literal, named) segment counts when `template`
/// matches `path`.
fn matches(template: &str, path: &str) -> Option<(BTreeMap<String, String>, (usize, usize))> {
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = BTreeMap::new();
    let (mut literals, mut named) = (0, 0);
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            let rest = p.get(i..)?.join("/");
            if rest.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), rest);
            return Some((params, (literals, named)));
        }
        let actual = p.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if actual.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), (*actual).to_owned());
            named += 1;
        } else if seg == actual {
            literals += 1;
        } else {
            return None;
        }
    }
    (t.len() == p.len()).then_some((params, (literals, named)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Guard;

    fn route(method: &str, path: &str, function: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            function: function.into(),
            guard: Guard::None,
        }
    }

    fn routes() -> Vec<Route> {
        vec![
            route("GET", "/auth/sessions", "list"),
            route("DELETE", "/auth/sessions/{sid}", "end"),
            route("GET", "/me", "me"),
            route("ANY", "/{proxy+}", "catch-all"),
            route("GET", "/pets/{id}", "pet"),
            route("GET", "/pets/mine", "mine"),
        ]
    }

    fn function(method: &str, path: &str) -> Option<String> {
        let r = routes();
        find(&r, method, path).map(|m| m.route.function.clone())
    }

    #[test]
    fn literal_routes_win_over_parameters_and_greedy_ones() {
        assert_eq!(function("GET", "/pets/mine").as_deref(), Some("mine"));
        assert_eq!(function("GET", "/pets/7").as_deref(), Some("pet"));
        assert_eq!(function("GET", "/me").as_deref(), Some("me"));
        assert_eq!(function("POST", "/me").as_deref(), Some("catch-all"));
        assert_eq!(function("GET", "/a/b/c").as_deref(), Some("catch-all"));
    }

    #[test]
    fn path_parameters_are_captured() {
        let r = routes();
        let m = find(&r, "DELETE", "/auth/sessions/abc").unwrap();
        assert_eq!(m.params["sid"], "abc");
        let m = find(&r, "PUT", "/x/y").unwrap();
        assert_eq!(m.params["proxy"], "x/y");
    }

    #[test]
    fn no_route_without_a_catch_all() {
        let r = vec![
            route("GET", "/me", "me"),
            route("DELETE", "/s/{sid}", "end"),
        ];
        assert_eq!(find(&r, "GET", "/you"), None);
        assert_eq!(find(&r, "POST", "/me"), None);
        assert_eq!(find(&r, "DELETE", "/s/"), None);
        assert_eq!(find(&r, "DELETE", "/s/a/b"), None);
    }
}
