//! Rows of the durable fallback queue (`chronos_fallback_ops`) and its dead-letter collection,
//! as index stores keep them. The body is the queued write as JSON; the other fields are
//! copies for lookups.

/// One queued write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    /// Queue entry id; time-ordered, so entries sort in the order they were queued.
    pub op_id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// When the next replay attempt is due, in microseconds since the Unix epoch.
    pub due_at: i64,
    /// The queued write (JSON).
    pub body: String,
}

/// Which rows of a queue to list (every condition given must hold), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only this entry.
    pub op_id: Option<String>,
    /// Only this collection.
    pub collection: Option<String>,
    /// Only this record (with `collection`).
    pub record_id: Option<String>,
    /// Only entries due at or before this time (microseconds).
    pub due_by: Option<i64>,
    /// Most rows to return.
    pub limit: usize,
}
