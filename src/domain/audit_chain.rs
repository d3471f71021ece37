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

/// The fields of one audit row that its hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// When (RFC 3339 UTC, as stored).
    pub at: &'a str,
    /// The account, if any.
    pub user_id: Option<i64>,
    /// Who.
    pub username: &'a str,
    /// What.
    pub action: &'a str,
    /// The kind of target.
    pub target_kind: &'a str,
    /// The target.
    pub target_id: &'a str,
    /// The target's school.
    pub school_id: Option<i64>,
    /// How it ended.
    pub outcome: &'a str,
    /// From where.
    pub client: &'a str,
    /// How the actor came in.
    pub via: &'a str,
    /// Extra facts.
    pub detail: &'a str,
}

impl Link<'_> {
    /// This row's hash, following the row whose hash is `prev`.
    pub fn hash(&self, prev: &str) -> String {
        let encoded = serde_json::json!([
            self.at,
            self.user_id,
            self.username,
            self.action,
            self.target_kind,
            self.target_id,
            self.school_id,
            self.outcome,
            self.client,
            self.via,
            self.detail,
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
        other.school_id = Some(0);
        assert_ne!(h, other.hash(""), "null and 0 differ");
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let mut a = link("ok");
        a.username = "a\",\"b";
        let mut b = link("ok");
        b.username = "a";
        b.action = "b";
        assert_ne!(a.hash(""), b.hash(""));
    }
}
