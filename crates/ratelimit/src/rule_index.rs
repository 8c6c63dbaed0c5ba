//! Which rules can match a request at all, by its method and its path's number of segments:
//! worked out once per rule set, so that a request is matched only against the few rules that
//! could take it, still in the set's order (the first match wins).

use super::compile::CompiledRule;
use super::pattern::{MAX_SEGMENTS, MethodBit, SplitPath};

/// Path lengths with a list of their own; longer paths (and paths without a leading slash)
/// share the last two lists.
const LENGTHS: usize = MAX_SEGMENTS + 1;
const LONGER: usize = LENGTHS;
const NO_SLASH: usize = LENGTHS + 1;

/// The candidate rules of every (path length, method).
#[derive(Debug, Default)]
pub struct RuleIndex {
    candidates: Vec<Box<[u32]>>,
}

impl RuleIndex {
    /// The index of `rules`.
    pub fn new(rules: &[CompiledRule]) -> Self {
        let mut candidates = Vec::with_capacity((NO_SLASH + 1) * MethodBit::SLOTS);
        for length in 0..=NO_SLASH {
            for slot in 0..MethodBit::SLOTS {
                let method = MethodBit::of_slot(slot);
                let list = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| match length {
                        // Any length above the split's: every rule of the method, and the full
                        // match decides.
                        LONGER => rule.matcher.methods.contains_bit(method),
                        NO_SLASH => rule.matcher.may_match(method, None),
                        count => rule.matcher.may_match(method, Some(count)),
                    })
                    .filter_map(|(index, _)| u32::try_from(index).ok())
                    .collect();
                candidates.push(list);
            }
        }
        RuleIndex { candidates }
    }

    /// The rules that could match a request of `method` on `path`, in the set's order.
    pub fn candidates(&self, method: MethodBit, path: &SplitPath<'_>) -> &[u32] {
        let length = match path.segments() {
            None => NO_SLASH,
            Some(count) if count >= LENGTHS => LONGER,
            Some(count) => count,
        };
        self.candidates
            .get(length * MethodBit::SLOTS + method.slot())
            .map_or(&[], |list| list)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use crate::compile;
    use crate::pattern::MethodBit;
    use crate::rules::RuleSetConfig;
    use crate::split_path::SplitPath;

    #[test]
    fn the_index_finds_the_rule_a_walk_of_every_rule_finds() {
        let Ok(Ok(rules)) = RuleSetConfig::shipped().map(|config| compile(&config, None)) else {
            panic!("the shipped rules compile");
        };
        let paths = [
            "/",
            "",
            "healthz",
            "/healthz",
            "/v1/auth/login",
            "/v1/auth/login/",
            "/v1/search",
            "/v1/products/search/a/b",
            "/v1/admin",
            "/admin",
            "/v1/events/sale",
            "/v1/events/sale/tickets",
            "/v1/events/sale/tickets/t1",
            "/v1/events/sale/tickets/t1/ws",
            "/v1/events/sale/checkout",
            "/v1/cart/x",
            "/v1/dev/login",
            "/a/b/c/d/e/f/g/h/i/j/k/l/m/n",
            "/v1/events/a/b/c/d/e/f/g/h/i/j/k/l/m",
            "/v1//events",
        ];
        let methods = [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ];
        for path in paths {
            for method in &methods {
                let (bit, split) = (MethodBit::of(method), SplitPath::new(path));
                let walked = rules
                    .rules
                    .iter()
                    .position(|rule| rule.matcher.matches(bit, &split, None).is_some());
                let indexed = rules.rule_for(bit, &split, None).map(|(index, _, _)| index);
                assert_eq!(indexed, walked, "{method} {path}");
            }
        }
    }
}
