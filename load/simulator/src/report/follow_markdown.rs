//! The report's section on the outflow that follows the checkout, in Markdown.

use std::fmt::Write;

use super::follow::{FollowReport, JUDGED_PHASE_SECONDS};
use crate::checkout_fault::HealthFigures;

fn figures(f: Option<HealthFigures>) -> String {
    f.map_or_else(
        || "–".to_owned(),
        |f| {
            format!(
                "{} ms / {:.1}% / {}",
                f.p95_ms,
                f.error_rate * 100.0,
                f.samples
            )
        },
    )
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"))
}

/// Writes the section.
pub fn write(out: &mut String, r: &FollowReport) -> std::fmt::Result {
    writeln!(out, "## Outflow following the checkout\n")?;
    writeln!(
        out,
        "Target p95 {} ms, error rate {:.1}%. Set rate **{:.2}/s**, floor {:.2}/s; outflow in \
         force read {} times: lowest **{}/s**, highest **{}/s**. The played checkout answered \
         {} calls ({} failed); {} health reports sent, {} taken by the server.",
        r.target.p95_ms,
        r.target.max_error_rate * 100.0,
        r.set_per_second,
        r.floor_per_second,
        r.reads,
        rate(r.lowest_effective),
        rate(r.highest_effective),
        r.answers,
        r.answers_failed,
        r.reports_sent,
        r.reports_accepted
    )?;
    match r.audited {
        Some(a) => writeln!(
            out,
            "The audit log holds {} `outflow.follow_checkout` entries for the event: {} down, {} up.\n",
            a.down + a.up,
            a.down,
            a.up
        )?,
        None => writeln!(out, "The audit log could not be read.\n")?,
    }
    writeln!(
        out,
        "| phase (s) | played p95 / errors | measured p95 / errors / answers | lowest in force | backed off |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | --- |")?;
    for p in &r.phases {
        let verdict = match (p.judged, p.backed_off) {
            (true, true) => "yes",
            (true, false) => "**no**",
            (false, backed) if backed => "yes (not judged)",
            (false, _) => "no (not judged)",
        };
        writeln!(
            out,
            "| {:.0}–{:.0} | {} ms / {:.1}% | {} | {} | {verdict} |",
            p.phase.from_second,
            p.phase.to_second,
            p.phase.p95_ms,
            p.phase.error_rate * 100.0,
            figures(p.measured),
            rate(p.lowest_effective)
        )?;
    }
    writeln!(
        out,
        "\nAn unhealthy phase of at least {JUDGED_PHASE_SECONDS:.0} s must bring the outflow \
         below its set rate."
    )?;
    if let Some(rec) = &r.recovery {
        let seen = rec
            .back_to_half_after
            .map_or_else(|| "not seen".to_owned(), |after| format!("{after:.1} s"));
        writeln!(
            out,
            "After the fault ended at {:.0} s, back to half the set rate in **{seen}** (the \
             policy allows {:.1} s: {}).",
            rec.fault_ended_second,
            rec.allowed_seconds,
            if rec.in_time() { "in time" } else { "**late**" }
        )?;
    }
    writeln!(
        out,
        "Admissions against the outflow in force: largest excess since the start over in force \
         × time + burst {:.1}, largest shortfall between two reads under in force × time − \
         (burst + 1) while shoppers waited {:.1} (tolerance {:.1}).\n",
        r.max_excess, r.max_shortfall, r.tolerance
    )?;
    writeln!(
        out,
        "| seconds | checkout played | reported p95 / errors / answers | in force (min–max) | in force (mean) | admitted | admitted/s | ratio |"
    )?;
    writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for s in &r.spans {
        let played = s.phase.map_or_else(
            || "healthy".to_owned(),
            |p| format!("{} ms / {:.0}%", p.p95_ms, p.error_rate * 100.0),
        );
        let ratio = if s.effective_mean > 0.0 {
            format!("{:.2}", s.admitted_per_second / s.effective_mean)
        } else {
            "n/a".to_owned()
        };
        writeln!(
            out,
            "| {:.0}–{:.0} | {played} | {} | {:.2}–{:.2} | {:.2} | {} | {:.2} | {ratio} |",
            s.from_second,
            s.to_second,
            figures(s.reported),
            s.effective_min,
            s.effective_max,
            s.effective_mean,
            s.admitted,
            s.admitted_per_second
        )?;
    }
    writeln!(out)
}
