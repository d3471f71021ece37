//! The national student record's coded items (`national-fields.md`): each
//! code table keeps the national code and its label. A record stores the
//! code; forms and pages show the label; a spreadsheet cell may give either.
//!
//! An item a record does not know is `None`, never a "no": a form prints it
//! as an empty cell (or a blank tick box), and statistics count it apart.

use super::DomainError;
use std::fmt;

/// One national code table: the item's printed name and its `(code, label)` pairs.
#[derive(Debug)]
pub struct Table {
    /// The item as printed on the forms, e.g. `港澳台侨外`.
    pub item: &'static str,
    /// Stable code for refusals, e.g. `national.hmt_invalid`.
    pub error_code: &'static str,
    /// `(code, label)`, in the national order.
    pub entries: &'static [(&'static str, &'static str)],
    /// Other spellings registrars write, `(spelling, code)`.
    pub aliases: &'static [(&'static str, &'static str)],
}

/// A value of a [`Table`]: its code and label, both from the table.
#[derive(Clone, Copy)]
pub struct Coded {
    table: &'static Table,
    index: usize,
}

impl Table {
    /// The value with this code, if the table has it.
    pub fn by_code(&'static self, code: &str) -> Option<Coded> {
        self.entries.iter().position(|(c, _)| *c == code).map(|index| Coded { table: self, index })
    }

    /// Parses a cell: a code, a label or a known other spelling. An empty
    /// cell is `Ok(None)` (unknown); anything else the table lacks is refused,
    /// naming the item, the value and the values it accepts.
    pub fn parse(&'static self, text: &str) -> Result<Option<Coded>, DomainError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let by_label = self.entries.iter().position(|(_, l)| *l == t);
        let by_alias = || self.aliases.iter().find(|(a, _)| *a == t).and_then(|(_, c)| self.by_code(c));
        match by_label.map(|index| Coded { table: self, index }).or_else(|| self.by_code(t)).or_else(by_alias) {
            Some(v) => Ok(Some(v)),
            None => Err(DomainError::new(
                self.error_code,
                self.item,
                t,
                &format!("不是有效的取值（可填：{}）", self.choices()),
            )),
        }
    }

    /// The labels, joined for a message.
    pub fn choices(&self) -> String {
        self.entries.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("、")
    }
}

impl Coded {
    /// The national code.
    pub fn code(self) -> &'static str {
        self.table.entries[self.index].0
    }

    /// The label printed on forms.
    pub fn label(self) -> &'static str {
        self.table.entries[self.index].1
    }

    /// The table this value belongs to.
    pub fn table(self) -> &'static Table {
        self.table
    }
}

impl PartialEq for Coded {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.table, other.table) && self.index == other.index
    }
}

impl Eq for Coded {}

impl fmt::Debug for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.code(), self.label())
    }
}

impl serde::Serialize for Coded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Coded", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("label", self.label())?;
        st.end()
    }
}

/// 港澳台侨外 (item 10).
pub static HMT: Table = Table {
    item: "港澳台侨外",
    error_code: "national.hmt_invalid",
    entries: &[
        ("00", "否"),
        ("11", "香港同胞"),
        ("12", "香港同胞亲属"),
        ("13", "澳门同胞"),
        ("14", "澳门同胞亲属"),
        ("15", "台湾同胞"),
        ("16", "台湾同胞亲属"),
        ("21", "华侨"),
        ("22", "侨眷"),
        ("23", "归侨"),
        ("24", "归侨子女"),
        ("25", "归国留学人员"),
        ("31", "非华裔中国人"),
        ("41", "外籍华裔人"),
        ("51", "外国人"),
        ("99", "其他"),
    ],
    aliases: &[("0", "00"), ("无", "00")],
};

/// 政治面貌 (item 11). 少先队员 has no code in GB/T 4762; `14` is the local
/// one the national student system's exports use for it.
pub static POLITICAL: Table = Table {
    item: "政治面貌",
    error_code: "national.political_invalid",
    entries: &[("03", "共青团员"), ("13", "群众"), ("14", "少先队员")],
    aliases: &[("团员", "03"), ("中国共产主义青年团团员", "03"), ("队员", "14")],
};

/// 健康状况 (item 12, GB/T 2261.3).
pub static HEALTH: Table = Table {
    item: "健康状况",
    error_code: "national.health_invalid",
    entries: &[("1", "健康或良好"), ("2", "一般或较弱"), ("3", "有慢性病"), ("6", "残疾")],
    aliases: &[("健康", "1"), ("良好", "1"), ("一般", "2"), ("较弱", "2"), ("慢性病", "3")],
};

/// 就读方式 (item 26). `3` 送教上门 is the county's code for home-delivered
/// teaching (Art. 12); the national file has only 走读 and 住校.
pub static STUDY_MODE: Table = Table {
    item: "就读方式",
    error_code: "national.study_mode_invalid",
    entries: &[("1", "走读"), ("2", "住校"), ("3", "送教上门")],
    aliases: &[("住读", "2"), ("寄宿", "2")],
};

/// 是否留守儿童 (item 37).
pub static LEFT_BEHIND: Table = Table {
    item: "是否留守儿童",
    error_code: "national.left_behind_invalid",
    entries: &[("0", "非留守儿童"), ("1", "单亲留守儿童"), ("2", "双亲留守儿童")],
    aliases: &[("否", "0"), ("非留守", "0"), ("单亲留守", "1"), ("双亲留守", "2")],
};

/// 随班就读 (item 41): the kind of placement in a regular class.
pub static INCLUSIVE: Table = Table {
    item: "随班就读",
    error_code: "national.inclusive_invalid",
    entries: &[
        ("0", "非随班就读"),
        ("1", "视力残疾随班就读"),
        ("2", "听力残疾随班就读"),
        ("3", "智力残疾随班就读"),
        ("4", "其他残疾随班就读"),
    ],
    aliases: &[("否", "0"), ("视力", "1"), ("听力", "2"), ("智力", "3"), ("其他", "4")],
};

/// 残疾类型 (item 42, GB/T 26341).
pub static DISABILITY: Table = Table {
    item: "残疾类型",
    error_code: "national.disability_invalid",
    entries: &[
        ("0", "无残疾"),
        ("1", "视力残疾"),
        ("2", "听力残疾"),
        ("3", "言语残疾"),
        ("4", "肢体残疾"),
        ("5", "智力残疾"),
        ("6", "精神残疾"),
        ("7", "多重残疾"),
        ("8", "其他残疾"),
    ],
    aliases: &[
        ("无", "0"),
        ("视力", "1"),
        ("听力", "2"),
        ("言语", "3"),
        ("肢体", "4"),
        ("智力", "5"),
        ("精神", "6"),
        ("多重", "7"),
        ("其他", "8"),
    ],
};

/// 身份证件类型 (item 8), as the national file codes it. The record keeps
/// the county's finer labels (未办理 is a Z type whose number is coming).
pub static ID_TYPE: Table = Table {
    item: "身份证件类型",
    error_code: "import.id_type_invalid",
    entries: &[
        ("1", "居民身份证"),
        ("6", "香港特区护照/身份证明"),
        ("7", "澳门特区护照/身份证明"),
        ("8", "台湾居民来往大陆通行证"),
        ("9", "境外永久居住证"),
        ("A", "护照"),
        ("Z", "其他"),
    ],
    aliases: &[
        ("未办理", "Z"),
        ("无", "Z"),
        ("港澳台居民居住证", "Z"),
        ("港澳居民来往内地通行证", "Z"),
        ("外国人永久居留身份证", "9"),
    ],
};

/// 户口性质 (item 18).
pub static HOUSEHOLD: Table = Table {
    item: "户口性质",
    error_code: "national.household_invalid",
    entries: &[("1", "农业户口"), ("2", "非农业户口"), ("3", "居民户口")],
    aliases: &[("农业", "1"), ("非农业", "2"), ("居民", "3")],
};

/// 入学方式 (item 25) for compulsory education.
pub static ENTRY_MODE: Table = Table {
    item: "入学方式",
    error_code: "national.entry_mode_invalid",
    entries: &[("11", "就近入学"), ("12", "其他")],
    aliases: &[("统一招生", "12"), ("转学转入", "12")],
};

/// 民族 (item 6, GB 3304): the 56 groups in the standard's order, then 97 and 98.
pub static ETHNICITY: Table = Table {
    item: "民族",
    error_code: "import.ethnicity_invalid",
    entries: &[
        ("01", "汉族"),
        ("02", "蒙古族"),
        ("03", "回族"),
        ("04", "藏族"),
        ("05", "维吾尔族"),
        ("06", "苗族"),
        ("07", "彝族"),
        ("08", "壮族"),
        ("09", "布依族"),
        ("10", "朝鲜族"),
        ("11", "满族"),
        ("12", "侗族"),
        ("13", "瑶族"),
        ("14", "白族"),
        ("15", "土家族"),
        ("16", "哈尼族"),
        ("17", "哈萨克族"),
        ("18", "傣族"),
        ("19", "黎族"),
        ("20", "傈僳族"),
        ("21", "佤族"),
        ("22", "畲族"),
        ("23", "高山族"),
        ("24", "拉祜族"),
        ("25", "水族"),
        ("26", "东乡族"),
        ("27", "纳西族"),
        ("28", "景颇族"),
        ("29", "柯尔克孜族"),
        ("30", "土族"),
        ("31", "达斡尔族"),
        ("32", "仫佬族"),
        ("33", "羌族"),
        ("34", "布朗族"),
        ("35", "撒拉族"),
        ("36", "毛南族"),
        ("37", "仡佬族"),
        ("38", "锡伯族"),
        ("39", "阿昌族"),
        ("40", "普米族"),
        ("41", "塔吉克族"),
        ("42", "怒族"),
        ("43", "乌孜别克族"),
        ("44", "俄罗斯族"),
        ("45", "鄂温克族"),
        ("46", "德昂族"),
        ("47", "保安族"),
        ("48", "裕固族"),
        ("49", "京族"),
        ("50", "塔塔尔族"),
        ("51", "独龙族"),
        ("52", "鄂伦春族"),
        ("53", "赫哲族"),
        ("54", "门巴族"),
        ("55", "珞巴族"),
        ("56", "基诺族"),
        ("97", "其他"),
        ("98", "外国血统中国籍人士"),
    ],
    aliases: &[("汉", "01"), ("满", "11"), ("蒙古", "02"), ("回", "03"), ("朝鲜", "10")],
};

/// 国籍/地区 (item 7, GB/T 2659): the ones a county meets; a code outside
/// this list is kept as given when it is three capital letters.
pub static NATIONALITY: Table = Table {
    item: "国籍/地区",
    error_code: "national.nationality_invalid",
    entries: &[
        ("CHN", "中国"),
        ("HKG", "中国香港"),
        ("MAC", "中国澳门"),
        ("TWN", "中国台湾"),
        ("KOR", "韩国"),
        ("PRK", "朝鲜"),
        ("RUS", "俄罗斯"),
        ("MNG", "蒙古"),
        ("JPN", "日本"),
        ("USA", "美国"),
    ],
    aliases: &[("中华人民共和国", "CHN"), ("中国大陆", "CHN")],
};

/// A yes/no item of the national record (`0`/`1`), read from 是/否, 1/0, Y/N.
/// Empty is unknown (`None`).
pub fn parse_flag(item: &'static str, text: &str) -> Result<Option<bool>, DomainError> {
    match text.trim() {
        "" => Ok(None),
        "是" | "1" | "Y" | "y" | "true" => Ok(Some(true)),
        "否" | "0" | "N" | "n" | "false" => Ok(Some(false)),
        other => Err(DomainError::new("import.flag_invalid", item, other, "只能填“是”或“否”")),
    }
}

/// How a yes/no item prints: 是, 否, or empty when unknown.
pub fn flag_label(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_labels_and_aliases_parse_to_one_value() {
        let a = LEFT_BEHIND.parse("2").unwrap().unwrap();
        let b = LEFT_BEHIND.parse("双亲留守儿童").unwrap().unwrap();
        let c = LEFT_BEHIND.parse(" 双亲留守 ").unwrap().unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.code(), "2");
        assert_eq!(a.label(), "双亲留守儿童");
        assert_eq!(DISABILITY.parse("智力").unwrap().unwrap().code(), "5");
        assert_eq!(ETHNICITY.parse("11").unwrap().unwrap().label(), "满族");
        assert_eq!(ID_TYPE.parse("未办理").unwrap().unwrap().code(), "Z");
    }

    #[test]
    fn empty_is_unknown_and_a_stranger_is_refused_by_name() {
        assert_eq!(HMT.parse("  ").unwrap(), None);
        let e = HEALTH.parse("很好").unwrap_err();
        assert_eq!(e.code, "national.health_invalid");
        assert!(e.message.contains("健康状况“很好”"), "{}", e.message);
        assert!(e.message.contains("有慢性病"), "{}", e.message);
        assert_eq!(parse_flag("是否孤儿", "").unwrap(), None);
        assert_eq!(parse_flag("是否孤儿", "否").unwrap(), Some(false));
        assert_eq!(parse_flag("是否孤儿", "不知道").unwrap_err().code, "import.flag_invalid");
        assert_eq!(flag_label(None), "");
    }

    #[test]
    fn every_code_and_label_is_unique_within_its_table() {
        for t in [
            &HMT,
            &POLITICAL,
            &HEALTH,
            &STUDY_MODE,
            &LEFT_BEHIND,
            &INCLUSIVE,
            &DISABILITY,
            &ID_TYPE,
            &HOUSEHOLD,
            &ENTRY_MODE,
            &ETHNICITY,
            &NATIONALITY,
        ] {
            let mut codes: Vec<_> = t.entries.iter().map(|e| e.0).collect();
            let mut labels: Vec<_> = t.entries.iter().map(|e| e.1).collect();
            codes.sort_unstable();
            labels.sort_unstable();
            codes.dedup();
            labels.dedup();
            assert_eq!(codes.len(), t.entries.len(), "{}", t.item);
            assert_eq!(labels.len(), t.entries.len(), "{}", t.item);
            for (alias, code) in t.aliases {
                assert!(t.by_code(code).is_some(), "{}: {alias}", t.item);
            }
        }
    }
}
