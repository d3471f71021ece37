//! The two family members of a roster row (家庭成员): who they are, the
//! jobs their circumstances give them, and the twelve cells each fills.

use super::people::{Home, Member};
use super::{ID_CARD, NO, YES};
use crate::domain::Gender;
use crate::roster::Row;
use chrono::NaiveDate;

/// Who a new member is; the generator adds the ID number, phone, addresses and job.
pub(super) struct Person {
    pub(super) name: String,
    pub(super) relation: &'static str,
    pub(super) note: &'static str,
    pub(super) gender: Gender,
    pub(super) birth: NaiveDate,
    pub(super) ethnicity: &'static str,
}

/// The category of `jobs.txt` for a parent (or an uncle or aunt) living where the family lives.
pub(super) fn parent_jobs(home: Home, gender: Gender) -> &'static str {
    match (home, gender) {
        (Home::Town, Gender::Male) => "县城父亲",
        (Home::Town, Gender::Female) => "县城母亲",
        (Home::Migrant, Gender::Male) => "随迁父亲",
        (Home::Migrant, Gender::Female) => "随迁母亲",
        (Home::Seat | Home::Village, Gender::Male) => "乡镇父亲",
        (Home::Seat | Home::Village, Gender::Female) => "乡镇母亲",
    }
}

/// The category of `jobs.txt` for a grandparent.
pub(super) fn grandparent_jobs(home: Home) -> &'static str {
    match home {
        Home::Town | Home::Migrant => "县城祖辈",
        Home::Seat | Home::Village => "乡镇祖辈",
    }
}

/// The 关系说明 of a member for a child: a relative's own (奶奶, 叔叔 …),
/// a parent's by the child's gender (父子, 父女, 母子, 母女).
pub(super) fn relation_note(m: &Member, child: Gender) -> &'static str {
    match (m.relation, child) {
        ("父亲", Gender::Male) if m.note.is_empty() => "父子",
        ("父亲", Gender::Female) if m.note.is_empty() => "父女",
        ("母亲", Gender::Male) if m.note.is_empty() => "母子",
        ("母亲", Gender::Female) if m.note.is_empty() => "母女",
        _ => m.note,
    }
}

/// Fills member `n` of a row for a child of `child`'s gender.
pub(super) fn fill_member(row: &mut Row, n: usize, m: &Member, child: Gender) {
    let values = [
        m.name.as_str(),
        m.relation,
        relation_note(m, child),
        &m.current_address,
        &m.household_address,
        &m.phone,
        if m.is_guardian { YES } else { NO },
        ID_CARD,
        &m.id_number,
        m.ethnicity,
        m.job.workplace,
        m.job.title,
    ];
    for (cell, value) in row.member_mut(n).into_iter().zip(values) {
        value.clone_into(cell);
    }
}
