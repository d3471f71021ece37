//! The text read off archived papers, for the full-text index: how it is
//! cleaned, which terms a page is indexed under, how a search is read, and
//! whether a page really holds what was asked (no I/O).
//!
//! Chinese text is indexed by **character and character pair** (the
//! "bigram" method of Lucene's CJK analyzer and of PostgreSQL's `pg_bigm`),
//! Latin letters and digits by word. We do not segment words with a
//! dictionary: OCR output and a searcher's query are cut differently by a
//! segmenter ("青山口乡" as 青山口/乡 on the page, 青山/口乡 in the query),
//! and a differently cut word is a paper not found. Pairs never miss: a query
//! finds every page holding all its pairs, and [`Query::matches`] then keeps
//! only pages that hold each searched phrase itself, in order. Single
//! characters are indexed too, so a one-character search (a rare surname)
//! works. The names of the students whose paper it is are indexed with
//! each page as exact values, so a paper is found by its pupil's name even
//! where OCR misread the rare character the name is written with.

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most phrases in one query.
pub const MAX_PHRASES: usize = 8;

/// Whether `c` is a Chinese character (CJK unified ideographs, their
/// extensions A-H and the compatibility blocks).
pub fn is_han(c: char) -> bool {
    matches!(u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF | 0x2A700..=0x2EE5F
        | 0x2F800..=0x2FA1F | 0x30000..=0x323AF | 0x3007)
}

/// Full-width Latin letters and digits to their ASCII forms, and the
/// ideographic space to a space.
fn half_width(c: char) -> char {
    match u32::from(c) {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// Cleans text as read: full-width letters and digits made ASCII, control
/// characters dropped, blanks between two Chinese characters removed (OCR
/// puts them between most characters), other runs of blanks made one space,
/// blank lines dropped. Lines are kept.
pub fn normalize(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().map(half_width).filter(|c| !c.is_control() || *c == '\t').collect();
        let mut out = String::with_capacity(line.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                let start = i;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let before = start.checked_sub(1).map(|j| chars[j]);
                let after = chars.get(i).copied();
                let between_han = before.is_some_and(is_han) && after.is_some_and(is_han);
                if !between_han && before.is_some() && after.is_some() {
                    out.push(' ');
                }
                continue;
            }
            out.push(c);
            i += 1;
        }
        if !out.is_empty() {
            lines.push(out);
        }
    }
    lines.join("\n")
}

/// Runs of one kind: Chinese characters, or ASCII letters and digits.
fn runs(text: &str) -> Vec<(bool, Vec<char>)> {
    let mut out: Vec<(bool, Vec<char>)> = Vec::new();
    for c in text.chars().map(half_width) {
        let kind = if is_han(c) {
            Some(true)
        } else if c.is_ascii_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (kind, out.last_mut()) {
            (Some(k), Some((last, run))) if *last == k && !run.is_empty() => run.push(c.to_ascii_lowercase()),
            (Some(k), _) => out.push((k, vec![c.to_ascii_lowercase()])),
            (None, Some((_, run))) if !run.is_empty() => out.push((false, Vec::new())),
            (None, _) => {}
        }
    }
    out.retain(|(_, run)| !run.is_empty());
    out
}

/// The terms a page is indexed under, in order, repeats kept (they weigh in
/// the ranking): every Chinese character and every pair of neighbouring
/// ones, every word of ASCII letters and digits (lower-cased, at most 64
/// characters).
pub fn index_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for (han, run) in runs(text) {
        if han {
            for (i, c) in run.iter().enumerate() {
                terms.push(c.to_string());
                if let Some(next) = run.get(i + 1) {
                    terms.push([*c, *next].iter().collect());
                }
            }
        } else if run.len() <= 64 {
            terms.push(run.iter().collect());
        }
    }
    terms
}

/// What a query asks for cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing searchable (only signs, or blank).
    #[error("全文检索的内容应包含汉字、字母或数字")]
    Empty,
    /// Over [`MAX_QUERY_CHARS`] characters or [`MAX_PHRASES`] phrases.
    #[error("全文检索的内容过长：最多 {MAX_QUERY_CHARS} 个字、{MAX_PHRASES} 个词组")]
    TooLong,
    /// A quotation mark without its pair.
    #[error("全文检索的引号不成对")]
    UnpairedQuote,
}

/// A full-text query: phrases, each to be found on the page as written.
/// Blanks separate phrases; a phrase in quotation marks ("…" or “…”) may
/// hold blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    phrases: Vec<String>,
}

/// A phrase or page text reduced for comparison: no blanks, ASCII lower-cased,
/// full-width made half-width.
fn squash(text: &str) -> String {
    text.chars().map(half_width).filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect()
}

impl Query {
    /// Reads a query.
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut phrases = Vec::new();
        let mut current = String::new();
        let mut quoted = false;
        for c in input.chars() {
            match c {
                '"' | '“' | '”' | '＂' => {
                    if !current.is_empty() {
                        phrases.push(std::mem::take(&mut current));
                    }
                    quoted = !quoted;
                }
                c if c.is_whitespace() && !quoted => {
                    if !current.is_empty() {
                        phrases.push(std::mem::take(&mut current));
                    }
                }
                c => current.push(c),
            }
        }
        if quoted {
            return Err(QueryError::UnpairedQuote);
        }
        if !current.is_empty() {
            phrases.push(current);
        }
        let phrases: Vec<String> =
            phrases.iter().map(|p| squash(p)).filter(|p| !index_terms(p).is_empty()).collect::<Vec<_>>();
        if phrases.is_empty() {
            return Err(QueryError::Empty);
        }
        if phrases.len() > MAX_PHRASES {
            return Err(QueryError::TooLong);
        }
        Ok(Self { phrases })
    }

    /// The phrases, as compared.
    pub fn phrases(&self) -> &[String] {
        &self.phrases
    }

    /// The index terms every matching page has (deduplicated): each
    /// phrase's character pairs (a lone character itself) and words.
    pub fn terms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for phrase in &self.phrases {
            for (han, run) in runs(phrase) {
                let mut push = |t: String| {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                };
                if !han {
                    if run.len() <= 64 {
                        push(run.iter().collect());
                    }
                } else if run.len() == 1 {
                    push(run[0].to_string());
                } else {
                    for pair in run.windows(2) {
                        push(pair.iter().collect());
                    }
                }
            }
        }
        out
    }

    /// Whether `page` (normalized text), or the names of the students whose
    /// paper it is, hold every phrase.
    pub fn matches(&self, page: &str, names: &[&str]) -> bool {
        let page = squash(page);
        let names: Vec<String> = names.iter().map(|n| squash(n)).collect();
        self.phrases.iter().all(|p| page.contains(p.as_str()) || names.iter().any(|n| n.contains(p.as_str())))
    }

    /// The part of `page` around the first occurrence of the first phrase
    /// found on it: up to `around` characters before and after, and the
    /// match itself, for showing with the match marked (blanks removed, as
    /// compared). `None` if no phrase is on the page (it matched by name).
    pub fn snippet(&self, page: &str, around: usize) -> Option<Snippet> {
        let page: Vec<char> = squash(page).chars().collect();
        let (at, phrase) = self.phrases.iter().find_map(|p| {
            let phrase: Vec<char> = p.chars().collect();
            page.windows(phrase.len()).position(|w| w == phrase.as_slice()).map(|at| (at, phrase))
        })?;
        let start = at.saturating_sub(around);
        let end = (at + phrase.len() + around).min(page.len());
        Some(Snippet {
            before: page[start..at].iter().collect(),
            hit: page[at..at + phrase.len()].iter().collect(),
            after: page[at + phrase.len()..end].iter().collect(),
            cut_before: start > 0,
            cut_after: end < page.len(),
        })
    }
}

/// A match in its context.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snippet {
    /// Text before the match.
    pub before: String,
    /// The match.
    pub hit: String,
    /// Text after it.
    pub after: String,
    /// Whether the page goes on before `before`.
    pub cut_before: bool,
    /// Whether it goes on after `after`.
    pub cut_after: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocr_blanks_between_chinese_characters_go_latin_words_keep_theirs() {
        assert_eq!(
            normalize("户 口 簿  常住人口登记卡\n\n  住址： 青山口乡 三 组 No. 12 ab"),
            "户口簿常住人口登记卡\n住址： 青山口乡三组 No. 12 ab"
        );
        assert_eq!(normalize("ＡＢＣ１２３\u{3000}号"), "ABC123 号");
    }

    #[test]
    fn a_page_is_indexed_by_characters_pairs_and_words() {
        assert_eq!(index_terms("张堃，No7"), vec!["张", "张堃", "堃", "no7"]);
        assert_eq!(index_terms("青山口"), vec!["青", "青山", "山", "山口", "口"]);
        assert!(index_terms("，。 ！").is_empty());
    }

    #[test]
    fn a_query_asks_for_every_pair_of_every_phrase_and_the_phrases_themselves() {
        let q = Query::parse("青山口乡  堃").unwrap();
        assert_eq!(q.phrases(), ["青山口乡", "堃"]);
        assert_eq!(q.terms(), vec!["青山", "山口", "口乡", "堃"]);
        assert!(q.matches("住址：青山口乡三组\n户主：张堃", &[]));
        // All pairs present but not as the phrase: refused by the check.
        assert!(!q.matches("青山，山口，口乡，堃", &[]));
        // A name OCR could not read is found as the paper's owner's name.
        assert!(q.matches("住址：青山口乡三组\n户主：张坤", &["张堃"]));
        assert!(!q.matches("住址：青山口乡三组\n户主：张坤", &["张坤"]));
        let q = Query::parse("“县 人民医院” 诊断").unwrap();
        assert_eq!(q.phrases(), ["县人民医院", "诊断"]);
        assert!(q.matches("县人民 医院\n诊断证明书", &[]));
    }

    #[test]
    fn bad_queries_are_refused_with_their_reason() {
        assert_eq!(Query::parse("  ，。"), Err(QueryError::Empty));
        assert_eq!(Query::parse("\"青山"), Err(QueryError::UnpairedQuote));
        assert_eq!(Query::parse(&"字".repeat(101)), Err(QueryError::TooLong));
        assert_eq!(Query::parse("a b c d e f g h i"), Err(QueryError::TooLong));
    }

    #[test]
    fn the_snippet_marks_the_first_match_in_its_context() {
        let q = Query::parse("诊断").unwrap();
        let s = q.snippet("县人民医院 诊断证明书 患儿张堃", 3).unwrap();
        assert_eq!((s.before.as_str(), s.hit.as_str(), s.after.as_str()), ("民医院", "诊断", "证明书"));
        assert!(s.cut_before && s.cut_after);
        assert!(q.snippet("没有", 3).is_none());
        let q = Query::parse("张堃 诊断").unwrap();
        assert_eq!(q.snippet("诊断证明书", 3).unwrap().hit, "诊断");
    }
}
