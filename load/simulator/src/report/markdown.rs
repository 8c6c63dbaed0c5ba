//! The report as a Markdown page a person reads first.

use std::fmt::Write;

use super::Report;
use super::calibration::{self, CalibrationReport};

/// Renders the report; `plots` are the SVG file names to link, if any were drawn.
pub fn render(report: &Report, plots: &[String]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, report, plots);
    out
}

fn option(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
}

fn write_report(out: &mut String, r: &Report, plots: &[String]) -> std::fmt::Result {
    let verdict = if r.verdict.passed { "PASSED" } else { "FAILED" };
    writeln!(out, "# Flash-sale rehearsal: {} ({verdict})\n", r.scenario)?;
    writeln!(
        out,
        "Server `{}`, event `{}`, start {}, {:.1} s from the start to the end of the run.\n",
        r.base_url, r.event_id, r.starts_at, r.run_seconds
    )?;
    for failure in &r.verdict.failures {
        writeln!(out, "- **failure**: {failure}")?;
    }
    if !r.verdict.failures.is_empty() {
        writeln!(out)?;
    }

    writeln!(out, "## Crowd\n")?;
    writeln!(
        out,
        "| shoppers | bots | bot identities | admitted on a socket | admitted by polling | sockets open at peak |"
    )?;
    writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |")?;
    let c = &r.crowd;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        c.shoppers,
        c.bots,
        c.bot_identities,
        c.admitted_on_socket,
        c.admitted_polling,
        c.sockets_peak
    )?;

    writeln!(out, "## Joins\n")?;
    let j = &r.joins;
    writeln!(
        out,
        "{} tickets from {} join requests in {:.2} s: **{:.0} joins/s** (peak {} in one second).\n",
        j.succeeded, j.requests, j.window_seconds, j.per_second, j.peak_per_second
    )?;

    writeln!(out, "## Latency (ms)\n")?;
    writeln!(
        out,
        "| endpoint | count | p50 | p90 | p95 | p99 | p99.9 | max |"
    )?;
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    let mut rows: Vec<_> = r
        .endpoints
        .iter()
        .map(|(name, s)| (name.as_str(), s))
        .collect();
    rows.push(("join → admission", &r.join_to_admission));
    rows.push(("admission push delay", &r.admission_push_delay));
    for (name, s) in rows {
        writeln!(
            out,
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            s.count, s.p50_ms, s.p90_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms
        )?;
    }
    writeln!(out)?;

    writeln!(out, "## Outflow\n")?;
    let o = &r.outflow;
    writeln!(
        out,
        "Set {:.2}/s (burst {}); over {} busy seconds {} admissions: **{} /s**, accuracy {}. Largest excess over rate × time + burst: {:.1} ({}); largest shortfall under rate × time − (burst + 1) while shoppers waited: {:.1} ({}).\n",
        o.set_per_second,
        o.burst,
        o.busy_seconds,
        o.admitted_while_busy,
        option(o.actual_per_second, 2),
        o.accuracy
            .map_or_else(|| "n/a".to_owned(), |a| format!("{:.1}%", a * 100.0)),
        o.max_excess,
        if o.exceeded {
            "**ceiling broken**"
        } else {
            "ceiling held"
        },
        o.max_shortfall,
        if r.checkout_follow.is_some() {
            "not judged against the set rate: the outflow follows the checkout, see below"
        } else if o.short {
            "**floor broken**"
        } else {
            "floor held"
        }
    )?;
    let server_count =
        |figure: Option<u64>| figure.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    writeln!(
        out,
        "The crowd saw {} admissions; the server counts {} admitted and {} joined.\n",
        r.crowd.admitted_on_socket + r.crowd.admitted_polling,
        server_count(r.admitted_server),
        server_count(r.joined_server)
    )?;
    writeln!(
        out,
        "Over the run: {} admissions, {} /s from the start to the last one.\n",
        o.admitted_total,
        option(o.over_run_per_second, 2)
    )?;
    let seconds: Vec<String> = o.per_second.iter().map(u64::to_string).collect();
    writeln!(
        out,
        "Admissions per second from the start: {}\n",
        seconds.join(" ")
    )?;

    if let Some(follow) = &r.checkout_follow {
        super::follow_markdown::write(out, follow)?;
    }

    writeln!(out, "## Order\n")?;
    let ord = &r.order;
    let windows = match ord.windows_seconds {
        (0, 0) => "no arrival windows: first come, first served".to_owned(),
        (opening, 0) => format!("an opening window of {opening} s, then first come, first served"),
        (opening, every) => format!("an opening window of {opening} s, then windows of {every} s"),
    };
    writeln!(
        out,
        "{} post-start joins stayed in the queue ({windows}); {} ordered pairs; **{} inversions**.",
        ord.post_start_queued, ord.ordered_pairs, ord.inversions
    )?;
    writeln!(
        out,
        "Post-start: {} admitted, Spearman rank correlation of join and admission order {} \
         (1 is first come, first served; 0 a draw).",
        ord.post_start_admitted,
        option(ord.post_start_spearman, 3)
    )?;
    writeln!(
        out,
        "Pre-queue: {} admitted, Spearman rank correlation of join and admission order {} (0 is a fair draw).\n",
        ord.prequeue_admitted,
        option(ord.prequeue_spearman, 3)
    )?;

    if let Some(b) = &r.bots {
        writeln!(out, "## Bots\n")?;
        writeln!(
            out,
            "Bots held {:.1}% of the tickets and got {:.2}% of the admissions ({} of {} admitted, \
             {} units paid; 95% interval for a draw of this size {:.2}–{:.2}%).\n",
            b.share_of_crowd * 100.0,
            b.share_of_admissions * 100.0,
            b.admitted,
            b.admissions,
            b.units_paid,
            b.share_of_admissions_95.0 * 100.0,
            b.share_of_admissions_95.1 * 100.0
        )?;
        if let (Some(window_share), Some(after)) =
            (b.share_of_opening_window, b.shoppers_after_opening_window)
        {
            writeln!(
                out,
                "Of the tickets answered within the opening window bots held {:.2}%; {} shoppers' \
                 tickets came after it closed.\n",
                window_share * 100.0,
                after
            )?;
        }
        if let Some(limit) = b.limit
            && b.share_of_admissions > limit
            && b.share_of_admissions_95.0 <= limit
        {
            writeln!(
                out,
                "Above the limit of {:.2}% by no more than chance explains: pool several runs \
                 (`load/bots_share.py`) to tell.\n",
                limit * 100.0
            )?;
        }
    }

    writeln!(out, "## Outcomes\n")?;
    writeln!(out, "| outcome | shoppers | bots |\n| --- | ---: | ---: |")?;
    for (outcome, count) in &r.outcomes {
        writeln!(out, "| {outcome} | {} | {} |", count.shoppers, count.bots)?;
    }
    writeln!(out)?;

    writeln!(out, "## Stock\n")?;
    let s = &r.stock;
    let sold = s
        .sold_server
        .map_or_else(|| "unknown".to_owned(), |sold| sold.to_string());
    writeln!(
        out,
        "Offered {}, sold {sold} (server), paid {} and reserved unpaid {} (crowd): {}.\n",
        s.offered,
        s.paid_client,
        s.reserved_unpaid_client,
        if s.oversold {
            "**OVERSOLD**"
        } else {
            "no oversell"
        }
    )?;

    write_calibration(out, &r.calibration)?;

    writeln!(out, "## Errors\n")?;
    writeln!(out, "{} server errors (5xx).\n", r.server_errors)?;
    writeln!(
        out,
        "{} answers refused a legitimate shopper (403 or 429).\n",
        r.shopper_refusals
    )?;
    if !r.errors.is_empty() {
        writeln!(out, "| kind | count |\n| --- | ---: |")?;
        for (kind, count) in &r.errors {
            writeln!(out, "| {kind} | {count} |")?;
        }
        writeln!(out)?;
    }

    if !plots.is_empty() {
        writeln!(out, "## Plots\n")?;
        for plot in plots {
            writeln!(out, "![{plot}]({plot})")?;
        }
    }
    Ok(())
}

fn write_calibration(out: &mut String, c: &CalibrationReport) -> std::fmt::Result {
    writeln!(out, "## Chance of success\n")?;
    writeln!(
        out,
        "Each shopper's first chance shown after the start, against whether they then bought \
         (reserved): {} shoppers judged; {} who left by choice and {} cut off by the end of the \
         run are not. Brier score **{}** (0 is perfect; always 50% scores 0.25). A bucket of at \
         least {} shoppers fails the run when its share who bought is more than {:.0} points \
         from its mean shown chance.\n",
        c.judged,
        c.left,
        c.cut_off,
        option(c.brier, 3),
        calibration::JUDGED_BUCKET_SHOPPERS,
        calibration::TOLERANCE * 100.0
    )?;
    writeln!(out, "| shown | shoppers | mean shown | bought | |")?;
    writeln!(out, "| --- | ---: | ---: | ---: | --- |")?;
    let percent =
        |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0));
    for b in &c.buckets {
        let mark = if b.is_off() {
            "**off**"
        } else if b.shoppers < calibration::JUDGED_BUCKET_SHOPPERS {
            "too few to judge"
        } else {
            "within"
        };
        writeln!(
            out,
            "| {}–{}% | {} | {} | {} | {mark} |",
            b.from_percent,
            b.to_percent,
            b.shoppers,
            percent(b.mean_shown),
            percent(b.share_bought)
        )?;
    }
    writeln!(out)?;
    for b in c.off_buckets() {
        let ended: Vec<String> = b
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{count} {outcome}"))
            .collect();
        writeln!(
            out,
            "Shown {}–{}%, how they ended: {}.\n",
            b.from_percent,
            b.to_percent,
            ended.join(", ")
        )?;
    }
    Ok(())
}
