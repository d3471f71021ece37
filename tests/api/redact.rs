//! What a snapshot of a page or an answer may not contain: what varies from
//! run to run or between the two backends (public ids, digests, tokens,
//! clock times). Pages are snapshotted as the text of their `<main>`.

/// Snapshots a JSON answer under `name`: every string through [`redact`]
/// (ids, digests, tokens and times inside text), numeric ids (which a
/// PostgreSQL sequence and SQLite number differently after a rollback) as
/// `[id]`, and any further insta redactions given.
macro_rules! snap_json {
    ($name:expr, $value:expr $(, $sel:expr => $rep:expr)* $(,)?) => {
        insta::assert_json_snapshot!($name, $crate::redact::json(&$value), {
            ".**.id" => "[id]",
            $($sel => $rep,)*
        })
    };
}

/// Snapshots the redacted text of a page's `<main>` under `name`, then with
/// each `text => placeholder` given replaced.
macro_rules! snap_page {
    ($name:expr, $html:expr $(, $from:expr => $to:expr)* $(,)?) => {{
        let text = $crate::redact::page_text(&$html);
        $(let text = text.replace(&*$from, $to);)*
        insta::assert_snapshot!($name, text)
    }};
}

/// Today's date on the real clock (the server's "today" is fixed, but the
/// archive stamps scans with the real date).
pub fn real_today() -> String {
    chrono::Local::now().date_naive().to_string()
}

/// `value` with [`redact`] applied to every string in it.
pub fn json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(redact(s)),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        other => other.clone(),
    }
}

/// The text of a page's `<main>` (the whole page if it has none): tags
/// dropped, entities decoded, one trimmed line per line of text, with
/// [`redact`] applied.
pub fn page_text(html: &str) -> String {
    let main = match (html.find("<main"), html.find("</main>")) {
        (Some(a), Some(b)) if a < b => &html[a..b],
        _ => html,
    };
    let mut text = String::new();
    let mut in_tag = false;
    let mut in_script = false;
    let mut rest = main;
    while let Some(c) = rest.chars().next() {
        if !in_tag && c == '<' {
            let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
            if lower.starts_with("<script") || lower.starts_with("<style") {
                in_script = true;
            } else if lower.starts_with("</script") || lower.starts_with("</style") {
                in_script = false;
            }
            // Block-level tags end a line.
            if ["<br", "<p", "</p", "<li", "<tr", "</tr", "<h", "</h", "<div", "</div", "<dt", "<dd", "<option"]
                .iter()
                .any(|t| lower.starts_with(t))
            {
                text.push('\n');
            } else {
                text.push(' ');
            }
            in_tag = true;
        } else if in_tag && c == '>' {
            in_tag = false;
        } else if !in_tag && !in_script {
            text.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    let text = text.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"");
    let text = text.replace("&#39;", "'").replace("&#x27;", "'").replace("&#x2f;", "/").replace("&#x60;", "`");
    let text = text.replace("&amp;", "&");
    let lines: Vec<String> =
        text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect();
    redact(&lines.join("\n"))
}

/// `text` with runs of 24 hex digits (public ids) as `[id]`, of 64 (digests,
/// or 12 and more cut short with `…`) as `[digest]`, other hex runs of 32 or more as `[token]`, and clock
/// times (`HH:MM` or `HH:MM:SS`, with the date before them if any) as `[time]`.
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let hex_run = chars[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let ends_word = chars.get(i + hex_run).is_none_or(|c| !c.is_ascii_alphanumeric());
        // A digest shortened for display: `21714d4bc3d7056e…`.
        if starts_word && hex_run >= 12 && chars.get(i + hex_run) == Some(&'…') {
            out.push_str("[digest]");
            i += hex_run;
            continue;
        }
        if starts_word && ends_word && hex_run >= 24 && chars[i..i + hex_run].iter().any(|c| c.is_ascii_alphabetic()) {
            out.push_str(match hex_run {
                24 => "[id]",
                64 => "[digest]",
                _ => "[token]",
            });
            i += hex_run;
            continue;
        }
        if let Some(len) = timestamp_at(&chars[i..])
            && starts_word
        {
            out.push_str("[time]");
            i += len;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The length of a clock time (with an optional date, seconds, fraction and
/// zone) at the start of `s`.
fn timestamp_at(s: &[char]) -> Option<usize> {
    let digits = |at: usize, n: usize| s.len() >= at + n && s[at..at + n].iter().all(char::is_ascii_digit);
    let mut at = 0;
    // A time as the pages show it: `2026年12月3日 10:05`.
    if digits(0, 4) && s.get(4) == Some(&'年') {
        let mut k = 5;
        for unit in ['月', '日'] {
            let n = s[k..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=2).contains(&n) || s.get(k + n) != Some(&unit) {
                return None;
            }
            k += n + 1;
        }
        if s.get(k) != Some(&' ') || !(digits(k + 1, 2) && s.get(k + 3) == Some(&':')) {
            return None;
        }
        at = k + 1;
    } else if digits(0, 4) && s.get(4) == Some(&'-') && digits(5, 2) && s.get(7) == Some(&'-') && digits(8, 2) {
        if matches!(s.get(10), Some('T' | ' ')) && digits(11, 2) && s.get(13) == Some(&':') {
            at = 11;
        } else {
            return None;
        }
    }
    if !(digits(at, 2) && s.get(at + 2) == Some(&':') && digits(at + 3, 2)) {
        return None;
    }
    at += 5;
    if s.get(at) == Some(&':') && digits(at + 1, 2) {
        at += 3;
        if s.get(at) == Some(&'.') {
            at += 1;
            while s.get(at).is_some_and(char::is_ascii_digit) {
                at += 1;
            }
        }
    }
    if s.get(at) == Some(&'Z') {
        at += 1;
    } else if matches!(s.get(at), Some('+' | '-')) && digits(at + 1, 2) {
        at += 3;
        if s.get(at) == Some(&':') {
            at += 1;
        }
        while s.get(at).is_some_and(char::is_ascii_digit) {
            at += 1;
        }
    }
    if s.get(at).is_some_and(char::is_ascii_digit) {
        return None;
    }
    Some(at)
}

#[test]
fn redaction_keeps_dates_and_numbers_and_hides_ids_digests_and_times() {
    let id = "0123456789abcdef01234567";
    let digest = "ab".repeat(32);
    let text = format!(
        "学生 {id} 扫描件 {digest} 于 2026-11-29 10:31:02 上传（2026-11-29T02:31:02.123Z），学籍号 G220122202003010011"
    );
    assert_eq!(redact(&text), "学生 [id] 扫描件 [digest] 于 [time] 上传（[time]），学籍号 G220122202003010011");
    assert_eq!(redact("期限 2026-12-15，共 12:30"), "期限 2026-12-15，共 [time]");
    assert_eq!(redact("于 2026年12月3日 09:05 上传，2026年12月3日办结"), "于 [time] 上传，2026年12月3日办结");
    assert_eq!(redact("摘要 21714d4bc3d7056e… 下载"), "摘要 [digest]… 下载");
    let page =
        "<html><nav>菜单</nav><main><h1>学生</h1><p>姓名：<b>王&amp;明</b></p><script>x=1</script></main></html>";
    assert_eq!(page_text(page), "学生\n姓名： 王&明");
}
