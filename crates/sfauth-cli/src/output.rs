//! The shapes of what sfauth prints: aligned tables, `key value` lists, JSON values as
//! table cells, token ages, and times as Unix seconds. These functions only make text;
//! `out.rs` writes it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// A JSON value as a table cell: a string as it is, `-` for null, other values as JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// `header` and `rows` as lines of columns padded to their widest cell, two spaces apart,
/// with no trailing blanks.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let all: Vec<&Vec<String>> = std::iter::once(&head).chain(rows).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| all.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    all.iter()
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:w$}"))
                .collect();
            line.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// A JSON object as `key value` lines, the values as [`cell`]s.
pub fn fields(object: &serde_json::Map<String, Value>) -> Vec<String> {
    object
        .iter()
        .map(|(key, value)| format!("{key:<18} {}", cell(value)))
        .collect()
}

/// `42s`, `12m`, `3h`, `2d`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// `time` as whole seconds since the Unix epoch (`None` before it).
pub fn unix_secs(time: SystemTime) -> Option<u64> {
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// `time` as RFC 3339 in UTC, to the second: `2026-12-02T14:05:09Z` (humantime's
/// formatter). Before the epoch: the epoch.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time.max(UNIX_EPOCH)).to_string()
}

/// The version of the JSON that commands print: raised when a field changes meaning or
/// goes away (new fields do not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// A token's times as every command's JSON gives them: `issued_at` and `expires_at` in
/// RFC 3339 (null when unknown), `expires_in` in seconds from now (0 once past), and where
/// the expiry came from.
pub fn token_times(
    token: &sfauth::Token,
    expiry: &sfauth::ExpiryPolicy,
) -> serde_json::Map<String, serde_json::Value> {
    let estimate = expiry.expiry(token);
    let expires_in = estimate.map(|e| {
        e.at.duration_since(SystemTime::now())
            .map_or(0, |left| left.as_secs())
    });
    let mut times = serde_json::Map::new();
    times.insert("issued_at".into(), token.issued_at().map(rfc3339).into());
    times.insert("expires_at".into(), estimate.map(|e| rfc3339(e.at)).into());
    times.insert("expires_in".into(), expires_in.into());
    times.insert(
        "expiry_source".into(),
        estimate.map(|e| e.source.as_str()).into(),
    );
    times
}

/// Now, in milliseconds since the Unix epoch, as Salesforce writes `issued_at`.
pub fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(rfc3339(leap_day), "2000-02-29T12:34:56Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_796_220_309);
        assert_eq!(rfc3339(later), "2026-12-02T14:05:09Z");
    }

    #[test]
    fn a_table_pads_each_column_to_its_widest_cell() {
        let rows = vec![
            vec!["prod".to_owned(), "ada@example.com".to_owned()],
            vec!["a-long-alias".to_owned(), "-".to_owned()],
        ];
        assert_eq!(
            table(&["ALIAS", "USERNAME"], &rows),
            [
                "ALIAS         USERNAME",
                "prod          ada@example.com",
                "a-long-alias  -",
            ]
        );
    }

    #[test]
    fn ages_are_shown_in_their_largest_whole_unit() {
        assert_eq!(age(Duration::from_secs(42)), "42s");
        assert_eq!(age(Duration::from_secs(750)), "12m");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 59)), "3h");
        assert_eq!(age(Duration::from_secs(2 * 86400)), "2d");
    }
}
