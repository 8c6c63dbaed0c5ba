//! SVG plots of a run: the queue over time, admissions per second against the set rate, and the
//! latency CDF of each endpoint. SVG only, so nothing is needed from the system (no fonts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use plotters::prelude::*;

use super::Report;
use super::latency::cdf_points;

/// The file names of the plots, in the order they are drawn.
pub const PLOT_FILES: [&str; 3] = ["queue-length.svg", "admissions.svg", "latency-cdf.svg"];

const SIZE: (u32, u32) = (900, 480);

/// Draws every plot into `dir`; returns the paths written.
pub fn draw_all(
    dir: &Path,
    report: &Report,
    histograms: &BTreeMap<String, Histogram<u64>>,
) -> Result<Vec<PathBuf>, String> {
    let [queue, admissions, cdf] = PLOT_FILES.map(|name| dir.join(name));
    queue_length(&queue, report)?;
    admissions_per_second(&admissions, report)?;
    latency_cdf(&cdf, histograms)?;
    Ok(vec![queue, admissions, cdf])
}

fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |error| format!("cannot draw {what}: {error}")
}

fn queue_length(path: &Path, report: &Report) -> Result<(), String> {
    let err = failed("the queue length plot");
    let points = &report.queue_length;
    let x_max = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let x_min = points.iter().map(|p| p.0).fold(0.0, f64::min);
    let y_max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64 * 1.05;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Queue length", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start")
        .y_desc("waiting")
        .draw()
        .map_err(&err)?;
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|&(t, n)| (t, n as f64)),
            &BLUE,
        ))
        .map_err(&err)?;
    root.present().map_err(&err)
}

fn admissions_per_second(path: &Path, report: &Report) -> Result<(), String> {
    let err = failed("the admissions plot");
    let outflow = &report.outflow;
    let seconds = outflow.per_second.len().max(1) as f64;
    let peak = outflow.per_second.iter().copied().max().unwrap_or(0) as f64;
    let y_max = peak.max(outflow.set_per_second) * 1.2 + 1.0;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Admissions per second against the set rate",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..seconds, 0.0..y_max)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start")
        .y_desc("admissions")
        .draw()
        .map_err(&err)?;
    // A step line: each second's count held across that second.
    let steps = outflow
        .per_second
        .iter()
        .enumerate()
        .flat_map(|(second, &count)| {
            let s = second as f64;
            [(s, count as f64), (s + 1.0, count as f64)]
        });
    chart
        .draw_series(LineSeries::new(steps, &BLUE))
        .map_err(&err)?
        .label("admitted")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    let set = outflow.set_per_second;
    chart
        .draw_series(LineSeries::new(
            [(0.0, set), (seconds, set)],
            RED.stroke_width(2),
        ))
        .map_err(&err)?
        .label("set rate")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)
}

fn latency_cdf(path: &Path, histograms: &BTreeMap<String, Histogram<u64>>) -> Result<(), String> {
    let err = failed("the latency CDF");
    let curves: Vec<(&String, Vec<(f64, f64)>)> = histograms
        .iter()
        // One-off calls (creating the event, the final admin read) make no curve worth reading.
        .filter(|(name, histogram)| histogram.len() >= 10 && name.as_str() != "ws message gap")
        .map(|(name, histogram)| (name, cdf_points(histogram)))
        .collect();
    let x_max = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.5;
    let x_min = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .fold(x_max, f64::min)
        .max(0.01)
        / 1.5;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency CDF per endpoint", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..1.0)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("milliseconds (log)")
        .y_desc("share of requests at or below")
        .draw()
        .map_err(&err)?;
    for (index, (name, points)) in curves.into_iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.into_iter().map(|(ms, share)| (ms.max(x_min), share)),
                color,
            ))
            .map_err(&err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)
}
