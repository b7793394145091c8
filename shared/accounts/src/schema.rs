//! The two tables, defined once. The store reads and writes these key
//! attributes; the tests and the local stack create tables from these
//! definitions; a test checks that `template.yaml` declares the same.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use crate::error::{StoreError, sdk_error};

/// The attribute DynamoDB's TTL deletes items by, on both tables.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// A key attribute and its DynamoDB scalar type (`S` or `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: &'static str,
    pub kind: &'static str,
}

/// One table: the environment variable that names it, its keys and TTL
/// attribute. Billing is on-demand. No table has a secondary index: every
/// path that ends or checks sessions reads with strong consistency, which
/// an index cannot give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The table's logical id in `template.yaml`.
    pub logical_id: &'static str,
    pub env_var: &'static str,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub ttl_attribute: &'static str,
}

/// Users, keyed by `pk`: `user#<user_id>` holds the user (found by `sub`
/// with one consistent read), `name#<lower-cased username>` the username's
/// claim on a user id (so uniqueness is case-insensitive by construction).
pub const USERS: TableDef = TableDef {
    logical_id: "UsersTable",
    env_var: "USERS_TABLE",
    partition_key: KeyAttr {
        name: "pk",
        kind: "S",
    },
    sort_key: None,
    ttl_attribute: TTL_ATTRIBUTE,
};

/// Sessions, keyed by user and session id: a user's sessions are one
/// partition, listed with one consistent query.
pub const SESSIONS: TableDef = TableDef {
    logical_id: "SessionsTable",
    env_var: "SESSIONS_TABLE",
    partition_key: KeyAttr {
        name: "user_id",
        kind: "S",
    },
    sort_key: Some(KeyAttr {
        name: "sid",
        kind: "S",
    }),
    ttl_attribute: TTL_ATTRIBUTE,
};

fn scalar(kind: &str) -> ScalarAttributeType {
    match kind {
        "N" => ScalarAttributeType::N,
        _ => ScalarAttributeType::S,
    }
}

fn key(attr: KeyAttr, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(attr.name)
        .key_type(key_type)
        .build()
        .map_err(StoreError::internal)
}

impl TableDef {
    /// Every attribute of the table's key.
    pub fn key_attributes(&self) -> Vec<KeyAttr> {
        std::iter::once(self.partition_key)
            .chain(self.sort_key)
            .collect()
    }

    /// Creates the table named `name` (on-demand) and turns on TTL. For
    /// tests and the local stack; deploys use template.yaml. A table of that
    /// name that already exists is taken as created.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), StoreError> {
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(self.partition_key, KeyType::Hash)?);
        if let Some(sk) = self.sort_key {
            req = req.key_schema(key(sk, KeyType::Range)?);
        }
        for attr in self.key_attributes() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr.name)
                    .attribute_type(scalar(attr.kind))
                    .build()
                    .map_err(StoreError::internal)?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            // A retried create whose first attempt landed: the table is ours.
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(sdk_error(e)),
        }
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(self.ttl_attribute)
                    .build()
                    .map_err(StoreError::internal)?,
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
