//! Validating the sections of a rule set beside its rules: penalties, adaptation and sale
//! relaxations. Mistakes are collected with their fields, as for the rules.

use super::adaptive::AdaptiveSettings;
use super::compile::{Errors, fraction};
use super::penalty::PenaltyPolicy;
use super::rules::{RelaxConfig, RuleConfig, RuleSetConfig};
use super::sale::Relaxation;
use crate::clock::parse_rfc3339;

pub(super) fn penalty_policy(errors: &mut Errors, config: &RuleSetConfig) -> PenaltyPolicy {
    let p = &config.penalties;
    if p.decay.as_millis() < 1 {
        errors.push("penalties.decay", "must be at least 1ms");
    }
    if p.ban_after > 0 && p.ban_lengths.is_empty() {
        errors.push(
            "penalties.ban_lengths",
            "needs at least one length when bans are on",
        );
    }
    for (i, length) in p.ban_lengths.iter().enumerate() {
        if length.as_millis() < 1000 {
            errors.push(format!("penalties.ban_lengths[{i}]"), "must be at least 1s");
        }
    }
    PenaltyPolicy {
        decay_ms: p.decay.as_millis().max(1),
        delay_after: i64::from(p.delay_after),
        delay_step_ms: p.delay_step.as_millis(),
        max_delay_ms: p.max_delay.as_millis(),
        reduce_after: i64::from(p.reduce_after),
        reduce_permille: fraction(errors, "penalties.reduce_factor", p.reduce_factor, 1.0),
        ban_after: i64::from(p.ban_after),
        ban_lengths_ms: p.ban_lengths.iter().map(|l| l.as_millis()).collect(),
        strike_memory_ms: p.strike_memory.as_millis(),
    }
}

pub(super) fn adaptive_settings(errors: &mut Errors, config: &RuleSetConfig) -> AdaptiveSettings {
    let a = &config.adaptive;
    if !(a.multiple.is_finite() && a.multiple > 1.0) {
        errors.push("adaptive.multiple", "must be above 1");
    }
    if a.sample.as_millis() < 1000 {
        errors.push("adaptive.sample", "must be at least 1s");
    }
    if a.baseline_half_life < a.sample {
        errors.push("adaptive.baseline_half_life", "must be at least one sample");
    }
    if !(a.min_rate.is_finite() && a.min_rate >= 0.0) {
        errors.push("adaptive.min_rate", "must be 0 or more");
    }
    AdaptiveSettings {
        enabled: a.enabled,
        multiple: a.multiple,
        tighten_permille: fraction(errors, "adaptive.tighten_factor", a.tighten_factor, 1.0),
        half_life_ms: a.baseline_half_life.as_millis(),
        sample_ms: a.sample.as_millis().max(1),
        min_rate: a.min_rate,
    }
}

pub(super) fn relaxation(
    errors: &mut Errors,
    field: &str,
    relax: &RelaxConfig,
    rules: &[RuleConfig],
) -> Relaxation {
    let indices = relax
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let found = rules.iter().position(|rule| rule.name == *name);
            if found.is_none() {
                errors.push(format!("{field}.rules[{i}]"), format!("no rule `{name}`"));
            }
            found
        })
        .collect();
    let mut time = |name: &str, text: &Option<String>| {
        text.as_ref().and_then(|text| {
            let parsed = parse_rfc3339(text);
            if parsed.is_none() {
                errors.push(format!("{field}.{name}"), "is not an RFC 3339 time");
            }
            parsed
        })
    };
    let from_ms = time("from", &relax.from);
    let until_ms = time("until", &relax.until);
    if let (Some(from), Some(until)) = (from_ms, until_ms)
        && from >= until
    {
        errors.push(format!("{field}.until"), "must be after `from`");
    }
    if !relax.while_event_open && relax.from.is_none() && relax.until.is_none() {
        errors.push(
            field,
            "needs `while_event_open` or a `from`/`until` time range",
        );
    }
    Relaxation {
        rules: indices,
        permille: fraction(
            errors,
            &format!("{field}.multiplier"),
            relax.multiplier,
            1000.0,
        ),
        while_event_open: relax.while_event_open,
        event: relax.event.clone(),
        from_ms,
        until_ms,
    }
}
