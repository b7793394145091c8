//! Reading and writing DynamoDB attribute maps: the conversions every item
//! type uses, so a malformed item is one clear `Corrupt` error, never a panic.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

pub(crate) fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(name)),
    }
}

pub(crate) fn get_opt_s(item: &Item, name: &'static str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(StoreError::Corrupt(name)),
    }
}

pub(crate) fn get_n(item: &Item, name: &'static str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt(name)),
        _ => Err(StoreError::Corrupt(name)),
    }
}

/// A number that older items may lack; absent reads as zero.
pub(crate) fn get_n_or_zero(item: &Item, name: &'static str) -> Result<u64, StoreError> {
    if item.contains_key(name) {
        get_n(item, name)
    } else {
        Ok(0)
    }
}

/// A flag that older items may lack; absent reads as false.
pub(crate) fn get_bool_or_false(item: &Item, name: &'static str) -> Result<bool, StoreError> {
    match item.get(name) {
        None => Ok(false),
        Some(AttributeValue::Bool(b)) => Ok(*b),
        Some(_) => Err(StoreError::Corrupt(name)),
    }
}

pub(crate) fn get_list(item: &Item, name: &'static str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(StoreError::Corrupt(name)),
            })
            .collect(),
        _ => Err(StoreError::Corrupt(name)),
    }
}
