//! Which requests a rule or a weight applies to: methods and path patterns, parsed once.
//!
//! A pattern is a path whose segments are literals, `*` or `{name}` (any one segment), or a final
//! `**` (any number of segments, none included). Matching walks the request path's segments
//! without allocating.

use std::sync::Arc;

use axum::http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    One,
    Rest,
}

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Box<[Segment]>,
    text: Arc<str>,
}

impl PathPattern {
    /// Parses a pattern such as `/v1/events/{event}/tickets` or `/v1/admin/**`.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("`{text}` must start with `/`"));
        };
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut segments = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            let segment = match *part {
                "**" if index + 1 == parts.len() => Segment::Rest,
                "**" => return Err(format!("`{text}`: `**` may only end a pattern")),
                "*" => Segment::One,
                p if p.starts_with('{') && p.ends_with('}') && p.len() > 2 => Segment::One,
                "" => return Err(format!("`{text}` has an empty segment")),
                p if p.contains(['*', '{', '}']) => {
                    return Err(format!("`{text}`: `{p}` mixes a wildcard with text"));
                }
                p => Segment::Literal(p.into()),
            };
            segments.push(segment);
        }
        Ok(PathPattern {
            segments: segments.into(),
            text: text.into(),
        })
    }

    /// The pattern as written (it names per-endpoint buckets).
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// Whether `path` (without query) matches. One trailing slash is ignored.
    pub fn matches(&self, path: &str) -> bool {
        let path = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut parts = rest.split('/').filter(|_| !rest.is_empty());
        for segment in self.segments.iter() {
            match segment {
                Segment::Rest => return true,
                Segment::One => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(literal) => {
                    if parts.next() != Some(literal.as_ref()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }
}

/// A set of HTTP methods as bits (empty: every method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Methods(u16);

const METHODS: [(&str, Method); 9] = [
    ("GET", Method::GET),
    ("HEAD", Method::HEAD),
    ("POST", Method::POST),
    ("PUT", Method::PUT),
    ("PATCH", Method::PATCH),
    ("DELETE", Method::DELETE),
    ("OPTIONS", Method::OPTIONS),
    ("CONNECT", Method::CONNECT),
    ("TRACE", Method::TRACE),
];

impl Methods {
    /// Parses method names (case-insensitive); an empty list means every method.
    pub fn parse(names: &[String]) -> Result<Methods, String> {
        let mut bits = 0;
        for name in names {
            let index = METHODS
                .iter()
                .position(|(known, _)| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("`{name}` is not an HTTP method"))?;
            bits |= 1 << index;
        }
        Ok(Methods(bits))
    }

    /// Whether `method` is in the set.
    pub fn contains(self, method: &Method) -> bool {
        self.0 == 0
            || METHODS
                .iter()
                .position(|(_, known)| known == method)
                .is_some_and(|index| self.0 & (1 << index) != 0)
    }
}

/// Methods, path patterns and a route group together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestMatch {
    /// The methods matched.
    pub methods: Methods,
    /// The patterns.
    pub patterns: Vec<PathPattern>,
    /// The route group matched (as the service's router names its routes).
    pub group: Option<Arc<str>>,
}

impl RequestMatch {
    /// Whether the request matches; `Some` holds what it matched by — the pattern's text or the
    /// group's name — or `None` inside when the set matches every path.
    pub fn matches(
        &self,
        method: &Method,
        path: &str,
        group: Option<&str>,
    ) -> Option<Option<&Arc<str>>> {
        if !self.methods.contains(method) {
            return None;
        }
        if let Some(own) = &self.group
            && group == Some(own.as_ref())
        {
            return Some(Some(own));
        }
        if self.patterns.is_empty() {
            return self.group.is_none().then_some(None);
        }
        self.patterns
            .iter()
            .find(|pattern| pattern.matches(path))
            .map(|pattern| Some(pattern.text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).is_ok_and(|p| p.matches(path))
    }

    #[test]
    fn a_wildcard_matches_exactly_one_segment() {
        assert!(matches("/v1/events/*/tickets", "/v1/events/sale/tickets"));
        assert!(matches(
            "/v1/events/{event}/tickets",
            "/v1/events/sale/tickets/"
        ));
        assert!(!matches("/v1/events/*/tickets", "/v1/events/tickets"));
        assert!(!matches("/v1/events/*", "/v1/events/sale/tickets"));
    }

    #[test]
    fn a_double_star_matches_the_rest_or_nothing() {
        assert!(matches("/v1/admin/**", "/v1/admin/bans/ip:1.2.3.4"));
        assert!(matches("/v1/admin/**", "/v1/admin"));
        assert!(matches("/**", "/"));
        assert!(!matches("/v1/admin/**", "/v1/administrator"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(PathPattern::parse("v1/events").is_err());
        assert!(PathPattern::parse("/v1/**/x").is_err());
        assert!(PathPattern::parse("/v1/ev*").is_err());
        assert!(Methods::parse(&["FETCH".to_owned()]).is_err());
    }
}
