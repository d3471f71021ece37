//! Dates given by a user: one parser for every field, naming the field when
//! the text is not a date.

use super::DomainError;
use chrono::NaiveDate;

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
    fn dates_are_parsed_or_refused_naming_the_field() {
        assert_eq!(parse_date("送达日期", " 2026-03-02 "), Ok(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()));
        let e = parse_date("送达日期", "2026-02-30").unwrap_err();
        assert_eq!(e.code, "date.invalid");
        assert_eq!(e.field, "送达日期");
        assert_eq!(e.message, "送达日期“2026-02-30”不是有效日期，应为 YYYY-MM-DD 格式");
        assert_eq!(parse_date("送达日期", "3/2/2026").unwrap_err().value, "3/2/2026");
    }
}
