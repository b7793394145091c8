//! The authorizer's view of an API Gateway authorizer event: only the fields
//! it reads, parsed once, straight from the event's JSON.
//!
//! One type covers the three shapes (HTTP API payload 2.0, REST `TOKEN`, REST
//! `REQUEST` and HTTP API payload 1.0). Fields the authorizer does not read
//! are skipped without being built; of the header maps only the
//! `Authorization` entries are kept, in any case of the name, with every
//! value, so that two of them are seen as two. A field it reads that has the
//! wrong type, or a field given twice, makes the whole event unusable (the
//! caller denies); see [`crate::Authorizer::handle`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// An authorizer event, as far as the authorizer is concerned. Strings
/// borrow from the event's text unless they hold JSON escapes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Event<'a> {
    #[serde(borrow)]
    pub version: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// HTTP API 2.0: the values API Gateway extracted (and keys its cache on).
    #[serde(borrow)]
    pub identity_source: Option<IdentitySource<'a>>,
    #[serde(borrow)]
    pub headers: Option<Authorization<'a>>,
    #[serde(borrow)]
    pub multi_value_headers: Option<Authorization<'a>>,
    /// REST `TOKEN`.
    #[serde(borrow)]
    pub authorization_token: Option<Cow<'a, str>>,
    /// REST.
    #[serde(borrow)]
    pub method_arn: Option<Cow<'a, str>>,
    /// HTTP API 2.0.
    #[serde(borrow)]
    pub route_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub route_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub raw_path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub request_context: Option<RequestContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestContext<'a> {
    /// HTTP API 2.0.
    #[serde(borrow)]
    pub http: Option<Http<'a>>,
    /// REST.
    #[serde(borrow)]
    pub http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub resource_path: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Http<'a> {
    #[serde(borrow)]
    pub method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub path: Option<Cow<'a, str>>,
}

/// `identitySource`: an array in HTTP API 2.0, a comma-joined string in
/// HTTP API 1.0.
#[derive(Debug)]
pub(crate) enum IdentitySource<'a> {
    Values(Vec<Cow<'a, str>>),
    Joined,
}

impl<'de: 'a, 'a> Deserialize<'de> for IdentitySource<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdentitySource<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings or a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(IdentitySource::Joined)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element_seed(Text)? {
                    values.push(v);
                }
                Ok(IdentitySource::Values(values))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `Authorization` values of a header map (`headers`, whose values are
/// strings, or `multiValueHeaders`, whose values are arrays of strings).
#[derive(Debug, Default)]
pub(crate) struct Authorization<'a> {
    /// Every value, in order.
    pub values: Vec<Cow<'a, str>>,
    /// How many keys spell `Authorization` (in any case).
    pub keys: usize,
}

impl<'de: 'a, 'a> Deserialize<'de> for Authorization<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Authorization<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found = Authorization::default();
                while let Some(is_authorization) = map.next_key_seed(IsAuthorization)? {
                    if is_authorization {
                        found.keys += 1;
                        map.next_value_seed(Values(&mut found.values))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
        d.deserialize_map(V)
    }
}

/// A header name, read without copying it: is it `Authorization`?
struct IsAuthorization;

impl<'de> DeserializeSeed<'de> for IsAuthorization {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsAuthorization {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<bool, E> {
        Ok(name.eq_ignore_ascii_case("authorization"))
    }
}

/// A header's value: a string, or an array of strings; `null` is none.
struct Values<'v, 'de>(&'v mut Vec<Cow<'de, str>>);

impl<'de> DeserializeSeed<'de> for Values<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Values<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header value or an array of them")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.0.push(Cow::Borrowed(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push(Cow::Owned(v.to_owned()));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element_seed(Text)? {
            self.0.push(v);
        }
        Ok(())
    }
}

/// A string, borrowed from the event's text when it holds no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Event<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn authorization_values_are_collected_in_any_case_and_counted_by_key() {
        let e = parse(
            r#"{"headers": {"Accept": "x", "authorization": "a", "AUTHORIZATION": "b"},
                "multiValueHeaders": {"Authorization": ["c", "d"], "Via": [1, 2]}}"#,
        )
        .unwrap();
        let h = e.headers.unwrap();
        assert_eq!((h.values, h.keys), (vec!["a".into(), "b".into()], 2));
        let m = e.multi_value_headers.unwrap();
        assert_eq!((m.values, m.keys), (vec!["c".into(), "d".into()], 1));
    }

    #[test]
    fn fields_it_reads_must_have_their_type_and_appear_once() {
        for bad in [
            r#"{"headers": {"Authorization": 5}}"#,
            r#"{"headers": []}"#,
            r#"{"methodArn": 7}"#,
            r#"{"requestContext": {"http": {"method": 7}}}"#,
            r#"{"identitySource": [1]}"#,
            r#"{"type": "TOKEN", "type": "REQUEST"}"#,
            r#"[]"#,
            r#"null"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields_it_does_not_read_are_skipped_whatever_they_hold() {
        let e = parse(r#"{"type": "TOKEN", "cookies": 5, "stageVariables": [null, {"a": []}]}"#)
            .unwrap();
        assert_eq!(e.kind.as_deref(), Some("TOKEN"));
    }
}
