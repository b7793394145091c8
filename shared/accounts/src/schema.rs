//! The two tables, defined once. The store reads and writes these attribute
//! names; the tests and the local stack create tables from these
//! definitions; a test checks that `template.yaml` declares the same.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
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

/// A global secondary index (projection: all attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
}

/// One table: the environment variable that names it, its keys, indexes and
/// TTL attribute. Billing is on-demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The table's logical id in `template.yaml`.
    pub logical_id: &'static str,
    pub env_var: &'static str,
    pub partition_key: KeyAttr,
    pub indexes: &'static [IndexDef],
    pub ttl_attribute: &'static str,
}

/// Users, keyed by the lower-cased username, so uniqueness is
/// case-insensitive by construction.
pub const USERS: TableDef = TableDef {
    logical_id: "UsersTable",
    env_var: "USERS_TABLE",
    partition_key: KeyAttr {
        name: "username",
        kind: "S",
    },
    indexes: &[],
    ttl_attribute: TTL_ATTRIBUTE,
};

/// Name of the sessions index by user, for listing and ending all sessions.
pub const SESSIONS_BY_USER: &str = "by_user";

/// Sessions, one item per login, keyed by session id.
pub const SESSIONS: TableDef = TableDef {
    logical_id: "SessionsTable",
    env_var: "SESSIONS_TABLE",
    partition_key: KeyAttr {
        name: "sid",
        kind: "S",
    },
    indexes: &[IndexDef {
        name: SESSIONS_BY_USER,
        partition_key: KeyAttr {
            name: "user_id",
            kind: "S",
        },
        sort_key: Some(KeyAttr {
            name: "created_at",
            kind: "N",
        }),
    }],
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
    /// Every attribute used in a key of the table or one of its indexes.
    pub fn key_attributes(&self) -> Vec<KeyAttr> {
        let mut attrs = vec![self.partition_key];
        for ix in self.indexes {
            attrs.push(ix.partition_key);
            attrs.extend(ix.sort_key);
        }
        attrs
    }

    /// Creates the table named `name` (on-demand, with its indexes) and
    /// turns on TTL. For tests and the local stack; deploys use template.yaml.
    /// A table of that name that already exists is taken as created.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), StoreError> {
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(self.partition_key, KeyType::Hash)?);
        for attr in self.key_attributes() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr.name)
                    .attribute_type(scalar(attr.kind))
                    .build()
                    .map_err(StoreError::internal)?,
            );
        }
        for ix in self.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(ix.name)
                .key_schema(key(ix.partition_key, KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                );
            if let Some(sk) = ix.sort_key {
                gsi = gsi.key_schema(key(sk, KeyType::Range)?);
            }
            req = req.global_secondary_indexes(gsi.build().map_err(StoreError::internal)?);
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
