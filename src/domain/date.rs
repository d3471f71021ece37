//! Dates given by a user: one parser for every field, naming the field when
//! the text is not a date.

use super::DomainError;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

/// China Standard Time (Asia/Shanghai: UTC+8, no summer time).
pub const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(o) => o,
    None => panic!("UTC+8 is an offset"),
};

/// A time zone as a setting names it: `Asia/Shanghai` (and the other names
/// of China Standard Time), `Asia/Urumqi` (UTC+6, the local time of
/// Xinjiang), `UTC`, or an offset such as `+08:00`. China has no summer
/// time, so an offset is the whole of it.
pub fn parse_time_zone(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    match s {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "PRC" | "CST" => return Some(CHINA),
        "Asia/Urumqi" | "Asia/Kashgar" => return FixedOffset::east_opt(6 * 3600),
        "UTC" | "Etc/UTC" | "Z" => return FixedOffset::east_opt(0),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// An instant as pages show it, in the county's time: `2026年12月1日 10:05`.
/// A text that is not an RFC 3339 instant is shown as it is; a plain date
/// as [`date_zh`] writes it.
pub fn local_time(instant: &str, zone: FixedOffset) -> String {
    match DateTime::parse_from_rfc3339(instant.trim()) {
        Ok(t) => {
            let t = t.with_timezone(&zone);
            format!("{}年{}月{}日 {:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute())
        }
        Err(_) => date_zh(instant),
    }
}

/// A date as the forms print it: `2026-12-01` → `2026年12月1日`; anything
/// else as it is.
pub fn date_zh(date: &str) -> String {
    match NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
        Ok(d) => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Err(_) => date.to_owned(),
    }
}

/// Parses a `YYYY-MM-DD` date given by a user (surrounding white space
/// ignored); a text that is not a real date is refused with code
/// `date.invalid`, naming `field` and the value as given.
pub fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::new("date.invalid", field, value, "不是有效日期，应为 YYYY-MM-DD 格式"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_shown_in_the_county_s_time() {
        assert_eq!(local_time("2026-12-01T02:05:09Z", CHINA), "2026年12月1日 10:05");
        assert_eq!(local_time("2026-11-30T20:00:00+00:00", CHINA), "2026年12月1日 04:00");
        let urumqi = parse_time_zone("Asia/Urumqi").unwrap();
        assert_eq!(local_time("2026-12-01T02:05:09Z", urumqi), "2026年12月1日 08:05");
        assert_eq!(local_time("2026-12-01", CHINA), "2026年12月1日");
        assert_eq!(local_time("昨天", CHINA), "昨天");
        assert_eq!(parse_time_zone("+05:30"), FixedOffset::east_opt(5 * 3600 + 1800));
        for bad in ["", "Mars/Base", "+15:00", "8"] {
            assert_eq!(parse_time_zone(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_parsed_or_refused_naming_the_field() {
        assert_eq!(parse_date("送达日期", " 2026-03-02 "), Ok(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()));
        let e = parse_date("送达日期", "2026-02-30").unwrap_err();
        assert_eq!(e.code, "date.invalid");
        assert_eq!(e.field, "送达日期");
        assert_eq!(e.message, "送达日期“2026-02-30”不是有效日期，应为 YYYY-MM-DD 格式");
        assert_eq!(parse_date("送达日期", "3/2/2026").unwrap_err().value, "3/2/2026");
    }
}
