//! The audit log in Redis: one list, newest first, capped by `LTRIM` in the same transaction as
//! the `LPUSH`, so it never grows past its cap whatever the number of instances.

use async_trait::async_trait;

use super::RedisStore;
use crate::ratelimit::redis_connection::store_error;
use crate::store::StoreError;
use crate::store::audit::{AUDIT_CAPACITY, AuditEntry, AuditLog};

/// The list of audit entries (JSON), newest first. Not event data: no hash tag.
pub const AUDIT_KEY: &str = "wr:audit";

#[async_trait]
impl AuditLog for RedisStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(entry)
            .map_err(|error| StoreError::Corrupt(format!("audit entry: {error}")))?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(AUDIT_KEY, json)
            .ignore()
            .ltrim(AUDIT_KEY, 0, AUDIT_CAPACITY as isize - 1)
            .ignore();
        pipe.query_async::<()>(&mut self.connection())
            .await
            .map_err(store_error)
    }

    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let last = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let lines: Vec<String> = redis::cmd("LRANGE")
            .arg(AUDIT_KEY)
            .arg(0)
            .arg(last)
            .query_async(&mut self.connection())
            .await
            .map_err(store_error)?;
        lines
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .map_err(|error| StoreError::Corrupt(format!("audit entry: {error}")))
            })
            .collect()
    }
}
