//! A row's two family members: their twelve national items each, by the
//! headers the roster gives them.

use super::Row;

pub(super) const MEMBER1: [&str; 12] = [
    "成员1姓名",
    "成员1关系",
    "成员1关系说明",
    "成员1现住址",
    "成员1户口所在地",
    "成员1联系电话",
    "成员1是否监护人",
    "成员1身份证件类型",
    "成员1身份证件号",
    "成员1民族",
    "成员1工作单位",
    "成员1职务",
];
pub(super) const MEMBER2: [&str; 12] = [
    "成员2姓名",
    "成员2关系",
    "成员2关系说明",
    "成员2现住址",
    "成员2户口所在地",
    "成员2联系电话",
    "成员2是否监护人",
    "成员2身份证件类型",
    "成员2身份证件号",
    "成员2民族",
    "成员2工作单位",
    "成员2职务",
];

/// The cells of one family member of a row.
pub(super) struct Member<'a> {
    pub(super) name: &'a str,
    pub(super) relation: &'a str,
    pub(super) relation_note: &'a str,
    pub(super) current_address: &'a str,
    pub(super) household_address: &'a str,
    pub(super) phone: &'a str,
    pub(super) is_guardian: &'a str,
    pub(super) id_type: &'a str,
    pub(super) id_number: &'a str,
    pub(super) ethnicity: &'a str,
    pub(super) workplace: &'a str,
    pub(super) job_title: &'a str,
}

impl Member<'_> {
    pub(super) fn cells(&self) -> [&str; 12] {
        [
            self.name,
            self.relation,
            self.relation_note,
            self.current_address,
            self.household_address,
            self.phone,
            self.is_guardian,
            self.id_type,
            self.id_number,
            self.ethnicity,
            self.workplace,
            self.job_title,
        ]
    }
}

impl Row {
    /// The cells of family member 1 or 2.
    pub(super) fn member(&self, n: usize) -> Member<'_> {
        if n == 1 {
            Member {
                name: &self.guardian1_name,
                relation: &self.guardian1_relation,
                relation_note: &self.guardian1_relation_note,
                current_address: &self.guardian1_current_address,
                household_address: &self.guardian1_household_address,
                phone: &self.guardian1_phone,
                is_guardian: &self.guardian1_is_guardian,
                id_type: &self.guardian1_id_type,
                id_number: &self.guardian1_id_number,
                ethnicity: &self.guardian1_ethnicity,
                workplace: &self.guardian1_workplace,
                job_title: &self.guardian1_job_title,
            }
        } else {
            Member {
                name: &self.guardian2_name,
                relation: &self.guardian2_relation,
                relation_note: &self.guardian2_relation_note,
                current_address: &self.guardian2_current_address,
                household_address: &self.guardian2_household_address,
                phone: &self.guardian2_phone,
                is_guardian: &self.guardian2_is_guardian,
                id_type: &self.guardian2_id_type,
                id_number: &self.guardian2_id_number,
                ethnicity: &self.guardian2_ethnicity,
                workplace: &self.guardian2_workplace,
                job_title: &self.guardian2_job_title,
            }
        }
    }
}
