//! Lengths of time as the rules file writes them: `500ms`, `10s`, `5m`, `1h`, `1d`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A length of time in milliseconds, read from and written as `10s`, `5m`, `1h`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(i64);

impl Span {
    /// A span of `ms` milliseconds.
    pub const fn from_millis(ms: i64) -> Span {
        Span(ms)
    }

    /// A span of `seconds`.
    pub const fn from_secs(seconds: i64) -> Span {
        Span(seconds * 1000)
    }

    /// The span in milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses `250ms`, `10s`, `5m`, `2h`, `1d` (a bare number means seconds).
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: i64 = number.parse().map_err(|_| {
            format!("`{text}` is not a length of time such as 500ms, 10s, 5m or 1h")
        })?;
        let unit_ms = match unit.trim() {
            "ms" => 1,
            "" | "s" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => return Err(format!("unknown unit `{other}` (use ms, s, m, h or d)")),
        };
        number
            .checked_mul(unit_ms)
            .map(Span)
            .ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ];
        match units.iter().find(|(size, _)| ms != 0 && ms % size == 0) {
            Some((size, unit)) => write!(f, "{}{unit}", ms / size),
            None => write!(f, "{ms}ms"),
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Seconds(i64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Seconds(seconds) => Ok(Span::from_secs(seconds)),
            Written::Text(text) => Span::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_and_write_in_the_largest_whole_unit() {
        assert_eq!(Span::parse("5m"), Ok(Span::from_secs(300)));
        assert_eq!(Span::parse("250ms").map(|s| s.as_millis()), Ok(250));
        assert_eq!(Span::from_secs(3600).to_string(), "1h");
        assert_eq!(Span::from_millis(1500).to_string(), "1500ms");
    }

    #[test]
    fn a_span_without_a_known_unit_is_refused() {
        assert!(Span::parse("5 weeks").is_err());
        assert!(Span::parse("soon").is_err());
    }
}
