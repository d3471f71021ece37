//! The audit log's hash chain (Art. 33: the record of who read and changed
//! what must be trustworthy): every row's hash is the sha256 of a canonical
//! encoding of its fields and the hash of the row before it, so a row
//! changed, removed or slipped in breaks every hash after it.
//!
//! The encoding is the JSON array `[at, user_id, username, action,
//! target_kind, target_id, school_id, outcome, client, via, detail,
//! prev_hash]` (absent ids as `null`), hashed as UTF-8; the hash is written
//! in lowercase hex. The first row's `prev_hash` is empty.

use sha2::{Digest, Sha256};

/// What one audit row says: who did what to which target, how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The account (None for an anonymous attempt, the command line, the scheduler).
    pub user_id: Option<i64>,
    /// The account name, or `-`.
    pub username: &'a str,
    /// What was done: `student.view`, `student.list`, `student.search`, `roster.export`, …
    pub action: &'a str,
    /// What kind of thing: `student`, `school`, …
    pub target_kind: &'a str,
    /// Which: a student's public id, a school code.
    pub target_id: &'a str,
    /// The school the target belongs to.
    pub school_id: Option<i64>,
    /// `ok`, `refused`, `error`, `denied`, `not_found`, …
    pub outcome: &'a str,
    /// Client address.
    pub client: &'a str,
    /// How the actor came in: `page`, `api`, `cli`, `scheduler`.
    pub via: &'a str,
    /// Extra facts (never personal data): counts, filters.
    pub detail: &'a str,
}

/// The fields of one audit row that its hash covers: the entry and when it
/// was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// When (RFC 3339 UTC, as stored).
    pub at: &'a str,
    /// What the row says.
    pub entry: Entry<'a>,
}

impl Link<'_> {
    /// This row's hash, following the row whose hash is `prev`.
    pub fn hash(&self, prev: &str) -> String {
        let e = &self.entry;
        let encoded = serde_json::json!([
            self.at,
            e.user_id,
            e.username,
            e.action,
            e.target_kind,
            e.target_id,
            e.school_id,
            e.outcome,
            e.client,
            e.via,
            e.detail,
            prev
        ])
        .to_string();
        hex::encode(Sha256::digest(encoded.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(outcome: &str) -> Link<'_> {
        Link {
            at: "2026-12-01T10:00:00Z",
            entry: Entry {
                user_id: Some(3),
                username: "r2122012002",
                action: "student.view",
                target_kind: "student",
                target_id: "abc",
                school_id: None,
                outcome,
                client: "127.0.0.1",
                via: "page",
                detail: "",
            },
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_row_before() {
        let h = link("ok").hash("");
        assert_eq!(h.len(), 64);
        assert_eq!(h, link("ok").hash(""), "deterministic");
        assert_ne!(h, link("denied").hash(""), "a changed field changes it");
        assert_ne!(h, link("ok").hash(&h), "so does the row before");
        let mut other = link("ok");
        other.entry.school_id = Some(0);
        assert_ne!(h, other.hash(""), "null and 0 differ");
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let mut a = link("ok");
        a.entry.username = "a\",\"b";
        let mut b = link("ok");
        b.entry.username = "a";
        b.entry.action = "b";
        assert_ne!(a.hash(""), b.hash(""));
    }
}
