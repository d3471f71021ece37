//! Pinyin initials of a name (姓名拼音首字母), for finding a pupil by
//! typing `lhr` for 刘浩然. A surname with several readings (单 dan/shan,
//! 曾 zeng/ceng, 解 jie/xie) gives one variant per reading, so either
//! spelling finds it; the given name takes each character's usual reading.
//! Characters without a reading (the `·` of a transliterated name, a rare
//! character) are skipped; Latin letters count as themselves.

use pinyin::{ToPinyin, ToPinyinMulti};

/// At most this many variants are kept.
const MAX_VARIANTS: usize = 4;

/// The initials of `name`, lower case, variants separated by one space
/// (`"dhr shr"` for 单浩然); empty when no character has a reading.
pub fn name_initials(name: &str) -> String {
    let mut chars = name.trim().chars();
    let Some(first) = chars.next() else { return String::new() };
    let rest: String = chars.filter_map(letter).collect();
    let mut heads: Vec<String> = match first.to_pinyin_multi() {
        Some(multi) => multi.into_iter().map(|p| p.first_letter().to_owned()).collect(),
        None => letter(first).map(|c| c.to_string()).into_iter().collect(),
    };
    heads.dedup();
    let mut variants: Vec<String> = Vec::new();
    for head in heads {
        let v = format!("{head}{rest}");
        if !v.is_empty() && !variants.contains(&v) && variants.len() < MAX_VARIANTS {
            variants.push(v);
        }
    }
    if variants.is_empty() && !rest.is_empty() {
        variants.push(rest);
    }
    variants.join(" ")
}

/// One character's initial: its usual reading's, or a Latin letter itself.
fn letter(c: char) -> Option<char> {
    if c.is_ascii_alphabetic() {
        return Some(c.to_ascii_lowercase());
    }
    c.to_pinyin().and_then(|p| p.first_letter().chars().next())
}

/// A name as typed with the dot of a transliterated name (阿依古丽·买买提)
/// written as 「.」「．」「•」「・」: with the 「·」 (U+00B7) the record uses.
pub fn middle_dot(name: &str) -> String {
    name.chars().map(|c| if matches!(c, '.' | '．' | '•' | '・' | '‧' | '･') { '·' } else { c }).collect()
}

/// Whether `q` reads as initials typed to find a name: 2 to 8 Latin letters.
pub fn looks_like_initials(q: &str) -> bool {
    (2..=8).contains(&q.len()) && q.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_their_initials() {
        assert_eq!(name_initials("刘浩然"), "lhr");
        assert_eq!(name_initials("张伟"), "zw");
        assert!(name_initials("单浩然").split(' ').any(|v| v == "shr"), "{}", name_initials("单浩然"));
        assert!(name_initials("单浩然").split(' ').any(|v| v == "dhr"));
        assert!(name_initials("阿依古丽·买买提").split(' ').any(|v| v == "ayglmmt"));
        assert_eq!(name_initials(""), "");
        assert_eq!(name_initials("·"), "");
    }

    #[test]
    fn a_typed_dot_is_the_record_s_middle_dot() {
        assert_eq!(middle_dot("阿依古丽.买买提"), "阿依古丽·买买提");
        assert_eq!(middle_dot("阿依古丽・买买提"), "阿依古丽·买买提");
        assert_eq!(middle_dot("张三"), "张三");
    }

    #[test]
    fn only_short_latin_words_are_initials() {
        assert!(looks_like_initials("lhr") && looks_like_initials("LHR"));
        assert!(!looks_like_initials("l") && !looks_like_initials("刘") && !looks_like_initials("G2201"));
    }
}
