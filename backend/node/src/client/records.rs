//! The record half of [`NodeClient`]: versioned opaque records (see `protocol::records`).

use bytes::Bytes;
use floe_codec::ShardHash;
use http::{Method, StatusCode};

use super::{ClientError, LIST_REPLY, NodeClient, SMALL_REPLY};
use crate::protocol::{
    BatchReply, HEADER_EXISTED, HEADER_RECORD_VERSION, LIST_MAX_LIMIT, RECORDS_PATH, RecordId,
    RecordItem, RecordListQuery, RecordPage, encode_batch,
};

/// What a record put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStored {
    Stored,
    /// The node holds this newer version and kept it.
    Newer(u64),
}

impl NodeClient {
    /// Stores `version` of record `id` unless the node holds a newer one.
    pub async fn put_record(
        &self,
        id: &RecordId,
        version: u64,
        body: Bytes,
    ) -> Result<RecordStored, ClientError> {
        let hash = ShardHash::of(&body);
        let path = format!("{}?version={version}", id.path());
        let reply = self
            .inner
            .call(Method::PUT, &path, Some(&hash), None, body, SMALL_REPLY)
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => {
                Ok(RecordStored::Stored)
            }
            StatusCode::CONFLICT => reply
                .header(HEADER_RECORD_VERSION)
                .and_then(|v| v.parse().ok())
                .map(RecordStored::Newer)
                .ok_or_else(|| ClientError::Protocol("409 without a record version".into())),
            StatusCode::BAD_REQUEST => Err(ClientError::HashMismatch),
            _ => Err(reply.into_error()),
        }
    }

    /// Stores many records in one request and one sync on the node; one outcome per record,
    /// in order. An error means none of them can be counted as stored.
    pub async fn put_records(
        &self,
        items: &[RecordItem],
    ) -> Result<Vec<RecordStored>, ClientError> {
        let body = Bytes::from(encode_batch(items));
        let hash = ShardHash::of(&body);
        let reply = self
            .inner
            .call(
                Method::POST,
                RECORDS_PATH,
                Some(&hash),
                None,
                body,
                LIST_REPLY,
            )
            .await?;
        let reply: BatchReply = reply.ok_json("a record batch")?;
        if reply.newer.len() != items.len() {
            return Err(ClientError::Protocol(format!(
                "{} outcomes for {} records",
                reply.newer.len(),
                items.len()
            )));
        }
        Ok(reply
            .newer
            .into_iter()
            .map(|n| n.map_or(RecordStored::Stored, RecordStored::Newer))
            .collect())
    }

    /// The stored version and bytes of record `id`.
    pub async fn get_record(&self, id: &RecordId) -> Result<(u64, Bytes), ClientError> {
        let reply = self
            .inner
            .call(
                Method::GET,
                &id.path(),
                None,
                None,
                Bytes::new(),
                self.inner.max_body_bytes(),
            )
            .await?;
        if reply.status != StatusCode::OK {
            return Err(reply.into_error());
        }
        let version = reply
            .header(HEADER_RECORD_VERSION)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ClientError::Protocol("record without a version".into()))?;
        Ok((version, reply.body))
    }

    /// Deletes record `id`; returns whether it existed.
    pub async fn delete_record(&self, id: &RecordId) -> Result<bool, ClientError> {
        let reply = self
            .inner
            .call(
                Method::DELETE,
                &id.path(),
                None,
                None,
                Bytes::new(),
                SMALL_REPLY,
            )
            .await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(reply.header(HEADER_EXISTED) == Some("true"))
            }
            _ => Err(reply.into_error()),
        }
    }

    /// One page of the node's records after `after`, at most `limit` (clamped to 1..=10000).
    pub async fn list_records(
        &self,
        after: Option<&RecordId>,
        limit: u32,
    ) -> Result<RecordPage, ClientError> {
        let query = RecordListQuery {
            after: after.copied(),
            limit: limit.clamp(1, LIST_MAX_LIMIT),
        };
        self.get_json(&query.path_and_query()).await
    }
}
