//! Which requests a rule or a weight applies to: methods and path patterns, parsed once.
//!
//! A pattern is a path whose segments are literals, `*` or `{name}` (any one segment), or a final
//! `**` (any number of segments, none included). Matching walks the request path's segments
//! without allocating.

use std::sync::Arc;

use axum::http::Method;

use super::literal::Literal;
use super::split_path::normalised;
pub use super::split_path::{MAX_SEGMENTS, SplitPath};

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
    /// Whether it ends in `**`.
    rest: bool,
    text: Arc<str>,
    /// The literal segments alone, each with its index: all that a path of the right length
    /// must match (a wildcard matches any segment).
    literals: Box<[Literal]>,
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
        let rest = segments.last() == Some(&Segment::Rest);
        if rest {
            segments.pop();
        }
        let literals = segments
            .iter()
            .enumerate()
            .filter_map(|(index, segment)| match segment {
                Segment::Literal(literal) => Some(Literal::new(index, literal)),
                Segment::One | Segment::Rest => None,
            })
            .collect();
        Ok(PathPattern {
            segments: segments.into(),
            rest,
            text: text.into(),
            literals,
        })
    }

    /// The pattern as written (it names per-endpoint buckets).
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// Whether the path (without query; one trailing slash is ignored), split once for every
    /// pattern of a rule set, matches: a pattern of another length, or whose first differing
    /// literal comes early, is refused in a few instructions.
    pub fn matches(&self, path: &SplitPath<'_>) -> bool {
        let Some(count) = path.count else {
            return false;
        };
        let wanted = self.segments.len();
        if count < wanted || (!self.rest && count != wanted) {
            return false;
        }
        if wanted > MAX_SEGMENTS {
            return self.matches_walking(path.as_str());
        }
        self.literals.iter().all(|literal| literal.matches(path))
    }

    /// The walk for patterns longer than a split path holds (rare: kept out of line, so that
    /// its registers do not weigh on every match).
    #[cold]
    #[inline(never)]
    fn matches_walking(&self, path: &str) -> bool {
        let mut parts = normalised(path).unwrap_or_default().split('/');
        let all = self.segments.iter().all(|segment| match parts.next() {
            None => false,
            Some(part) => match segment {
                Segment::Literal(literal) => literal.as_ref() == part,
                Segment::One | Segment::Rest => true,
            },
        });
        all && (self.rest || parts.next().is_none())
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
        self.contains_bit(MethodBit::of(method))
    }

    /// Whether the method whose bit this is is in the set.
    pub fn contains_bit(self, method: MethodBit) -> bool {
        self.0 == 0 || self.0 & method.0 != 0
    }
}

/// A request's method as its bit in [`Methods`] (0 for methods no rule can name), found once
/// per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodBit(u16);

impl MethodBit {
    /// How many slots [`MethodBit::slot`] has: the named methods and one for any other.
    pub const SLOTS: usize = METHODS.len() + 1;

    /// A small number per method, for tables indexed by method.
    pub fn slot(self) -> usize {
        match self.0 {
            0 => METHODS.len(),
            bit => bit.trailing_zeros() as usize,
        }
    }

    /// The method of a slot.
    pub fn of_slot(slot: usize) -> Self {
        MethodBit(if slot < METHODS.len() { 1 << slot } else { 0 })
    }

    /// The bit of `method`.
    pub fn of(method: &Method) -> Self {
        MethodBit(
            METHODS
                .iter()
                .position(|(_, known)| known == method)
                .map_or(0, |index| 1 << index),
        )
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
    /// Which path lengths (in segments) can match at all, to refuse most rules at once.
    lengths: Lengths,
}

/// The segment counts a set of patterns accepts: exact counts below 64 as bits, and from the
/// shortest `**` pattern's prefix on; longer exact patterns accept anything (and are walked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Lengths {
    exact: u64,
    from: Option<usize>,
}

impl Lengths {
    fn of(patterns: &[PathPattern]) -> Self {
        let mut lengths = Lengths::default();
        for pattern in patterns {
            let wanted = pattern.segments.len();
            let from = match (pattern.rest, wanted) {
                (true, _) => wanted,
                (false, 0..64) => {
                    lengths.exact |= 1 << wanted;
                    continue;
                }
                (false, _) => 64,
            };
            lengths.from = Some(lengths.from.map_or(from, |known| known.min(from)));
        }
        lengths
    }

    fn admits(self, count: usize) -> bool {
        (count < 64 && self.exact & (1 << count) != 0)
            || self.from.is_some_and(|from| count >= from)
    }
}

impl RequestMatch {
    /// Matches requests of `methods` on any of `patterns` or in `group`.
    pub fn new(methods: Methods, patterns: Vec<PathPattern>, group: Option<Arc<str>>) -> Self {
        let lengths = Lengths::of(&patterns);
        RequestMatch {
            methods,
            patterns,
            group,
            lengths,
        }
    }

    /// Whether a request of `method` whose path has `segments` segments could match at all.
    pub fn may_match(&self, method: MethodBit, segments: Option<usize>) -> bool {
        self.methods.contains_bit(method)
            && (self.group.is_some()
                || self.patterns.is_empty()
                || segments.is_some_and(|count| self.lengths.admits(count)))
    }

    /// Whether the request (the method's bit, the path split once) matches; `Some` holds what it
    /// matched by — the pattern's text or the group's name — or `None` inside when the set
    /// matches every path.
    pub fn matches(
        &self,
        method: MethodBit,
        path: &SplitPath<'_>,
        group: Option<&str>,
    ) -> Option<Option<&Arc<str>>> {
        if !self.methods.contains_bit(method) {
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
        if !path.count.is_some_and(|count| self.lengths.admits(count)) {
            return None;
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
        PathPattern::parse(pattern).is_ok_and(|p| p.matches(&SplitPath::new(path)))
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
    fn odd_paths_match_as_written() {
        assert!(matches("/", "/"));
        assert!(matches("/**", "/v1/x/"));
        assert!(!matches("/v1", "v1"));
        assert!(!matches("/**", "no-slash"));
        assert!(
            matches("/a/*/b", "/a//b"),
            "an empty segment is one segment"
        );
        assert!(!matches("/a", "/a//"));
        let long = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o";
        assert!(matches("/a/**", long));
        assert!(matches(long, long));
        assert!(matches("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/*", long));
        assert!(!matches("/a/b/c/d/e/f/g/h/i/j/k/l/m/n", long));
        assert!(!matches("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", long));
        assert!(!matches("/a/b", long));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(PathPattern::parse("v1/events").is_err());
        assert!(PathPattern::parse("/v1/**/x").is_err());
        assert!(PathPattern::parse("/v1/ev*").is_err());
        assert!(Methods::parse(&["FETCH".to_owned()]).is_err());
    }
}
