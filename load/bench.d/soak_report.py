#!/usr/bin/env python3
"""The soak's report: load/results/soak-<date>.md and .svg from the bench's samples (CSV, a line
every 10 s) and the simulator's report.json.

Flat after warm-up means: over the samples taken after the warm-up (the first quarter of the
sale), each series' mean over the last five minutes of the sale is within 10% of its mean over
the five minutes after the warm-up. Redis also keeps a record of every shopper who joined (the
event's tickets and orders stay until it is removed), so its memory is judged per shopper
joined as well as in bytes.
"""
import argparse
import csv
import json

WARM_UP_SHARE = 0.25
SPAN_SECONDS = 300
TOLERANCE = 0.10


def read_samples(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        try:
            out.append({k: (float(v) if v not in ("", None) else None) for k, v in row.items()})
        except ValueError:
            continue
    return out


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def span(samples, key, start, end):
    return mean([s[key] for s in samples if s["seconds"] is not None and start <= s["seconds"] < end])


def svg_plot(samples, series, path, warm):
    """A plain SVG line chart: one line per series, in MiB against minutes."""
    width, height, left, bottom, top, right = 900, 420, 70, 50, 30, 200
    xs = [s["seconds"] for s in samples]
    values = [s[key] / scale for s in samples for key, scale, _, _ in series if s[key] is not None]
    x_max = max(xs) or 1
    y_max = max(values) * 1.1 if values else 1
    def px(x):
        return left + (width - left - right) * x / x_max
    def py(y):
        return height - bottom - (height - bottom - top) * y / y_max
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18">Memory during the soak (MiB, sampled every 10 s)</text>']
    for i in range(6):
        y = y_max * i / 5
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.0f}</text>')
    minute = 60
    for m in range(0, int(x_max // minute) + 1, 2):
        x = m * minute
        parts.append(f'<text x="{px(x):.1f}" y="{height - bottom + 18}" text-anchor="middle">{m}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">minutes since the first sample</text>')
    parts.append(f'<line x1="{px(warm):.1f}" x2="{px(warm):.1f}" y1="{top}" y2="{height - bottom}" stroke="#999" stroke-dasharray="4 4"/>')
    parts.append(f'<text x="{px(warm) + 4:.1f}" y="{top + 12}" fill="#666">end of warm-up</text>')
    for n, (key, scale, label, colour) in enumerate(series):
        points = " ".join(f"{px(s['seconds']):.1f},{py(s[key] / scale):.1f}" for s in samples if s[key] is not None)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        y = top + 20 + n * 18
        parts.append(f'<line x1="{width - right + 10}" x2="{width - right + 30}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{width - right + 36}" y="{y + 4}">{label}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("report")
    ap.add_argument("out")
    ap.add_argument("--began", required=True)
    ap.add_argument("--ended", required=True)
    ap.add_argument("--nproc", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--nginx-errors", default="0")
    ap.add_argument("--instance-errors", default="0")
    args = ap.parse_args()

    samples = read_samples(args.samples)
    with open(args.report) as f:
        report = json.load(f)
    # The sale began by the first sample that saw the event (sign-in comes before it).
    began = next((s["seconds"] for s in samples if s.get("joined") is not None), 0.0)
    length = report.get("run_seconds") or samples[-1]["seconds"] - began
    sale_end = began + length
    warm = began + length * WARM_UP_SHARE
    early = (warm, warm + SPAN_SECONDS)
    late = (sale_end - SPAN_SECONDS, sale_end)

    for s in samples:
        joined = s.get("joined")
        s["redis_per_joined"] = s["redis_used_memory"] / joined if joined else None

    series = [
        ("instance_1_rss_kb", "RSS of instance 1 (KiB)"),
        ("instance_2_rss_kb", "RSS of instance 2 (KiB)"),
        ("redis_used_memory", "Redis used_memory (bytes)"),
        ("redis_used_memory_rss", "Redis used_memory_rss (bytes)"),
        ("redis_keys", "Redis keys"),
        ("redis_per_joined", "Redis used_memory per shopper joined (bytes)"),
    ]
    rows, flat = [], {}
    for key, label in series:
        a, b = span(samples, key, *early), span(samples, key, *late)
        change = (b - a) / a if a and b is not None else None
        flat[key] = change is not None and abs(change) <= TOLERANCE
        peak = max((s[key] for s in samples if s[key] is not None and s["seconds"] >= warm), default=None)
        fmt = lambda v: "n/a" if v is None else f"{v:,.0f}"
        rows.append(f"| {label} | {fmt(a)} | {fmt(b)} | {'n/a' if change is None else f'{change:+.1%}'} | {fmt(peak)} |")

    stock = report.get("stock", {})
    verdict = report.get("verdict", {})
    crowd = report.get("crowd", {})
    servers_flat = flat["instance_1_rss_kb"] and flat["instance_2_rss_kb"]
    lines = [
        f"# Soak: a {length / 60:.0f}-minute sale on two instances behind nginx, one Redis",
        "",
        f"{args.began}–{args.ended} UTC, a shared {args.nproc}-core machine, Redis {args.redis} (no persistence),",
        "release builds. Command:",
        "",
        "```",
        "load/bench --soak",
        "```",
        "",
        "It plays `load/scenarios/soak.toml` with the simulator (pinned to one core) through nginx",
        "(`deploy/nginx.conf`, access log off) in front of two instances sharing the bench's Redis,",
        "and samples every 10 s each instance's RSS (`/proc/<pid>/status`), Redis's `used_memory`,",
        "`used_memory_rss` and `DBSIZE`, and the event's `joined` counter (`load/results/soak-*.csv`,",
        "plotted in `soak-*.svg`; the simulator's own report is `soak-*-simulator.md`).",
        "",
        "## The sale",
        "",
        "| | |",
        "| --- | --- |",
        f"| shoppers, bots | {crowd.get('shoppers')} shoppers, {crowd.get('bots')} bots ({crowd.get('bot_identities')} identities) |",
        f"| joined (server) | {report.get('joined_server')} |",
        f"| admitted (server) | {report.get('admitted_server')} |",
        f"| sockets open at once, most | {crowd.get('sockets_peak')} |",
        f"| units offered / sold (server) / paid (simulator) | {stock.get('offered')} / {stock.get('sold_server')} / {stock.get('paid_client')} |",
        f"| oversold | {stock.get('oversold')} |",
        f"| HTTP 5xx answers | {report.get('server_errors')} |",
        f"| 403/429 to honest shoppers | {report.get('shopper_refusals')} |",
        f"| errors seen by the simulator | {json.dumps(report.get('errors', {}))} |",
        f"| `[error]` lines in nginx's log | {args.nginx_errors} |",
        f"| `ERROR` lines in the instances' logs | {args.instance_errors} |",
        f"| simulator verdict | {'passed' if verdict.get('passed') else 'failed: ' + '; '.join(verdict.get('failures', []))} |",
        "",
        "## Memory after the warm-up",
        "",
        f"The event was first seen at {began:.0f} s. Warm-up: until {warm:.0f} s (a quarter of the sale). Means over {early[0]:.0f}–{early[1]:.0f} s",
        f"and over the sale's last five minutes ({late[0]:.0f}–{late[1]:.0f} s); flat is within 10%.",
        "",
        "| series | mean after warm-up | mean at the end | change | highest after warm-up |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Instances' RSS flat: **{'yes' if servers_flat else 'no'}**. Redis memory per shopper joined flat: "
        f"**{'yes' if flat['redis_per_joined'] else 'no'}** (Redis's bytes grow with the shoppers it",
        "keeps a record of; per shopper joined they stay level when nothing else accumulates).",
        "",
        "## Every minute",
        "",
        "| s | instance 1 RSS (KiB) | instance 2 RSS (KiB) | Redis used_memory (B) | Redis RSS (B) | keys | joined |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in samples:
        if int(s["seconds"]) % 60 < 10:
            cell = lambda k: "" if s[k] is None else f"{s[k]:,.0f}"
            lines.append(f"| {s['seconds']:.0f} | {cell('instance_1_rss_kb')} | {cell('instance_2_rss_kb')} | "
                         f"{cell('redis_used_memory')} | {cell('redis_used_memory_rss')} | {cell('redis_keys')} | {cell('joined')} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    svg_plot(samples, [
        ("instance_1_rss_kb", 1024, "instance 1 RSS", "#1f77b4"),
        ("instance_2_rss_kb", 1024, "instance 2 RSS", "#ff7f0e"),
        ("redis_used_memory", 1048576, "Redis used_memory", "#2ca02c"),
        ("redis_used_memory_rss", 1048576, "Redis RSS", "#d62728"),
    ], args.out + ".svg", warm)


if __name__ == "__main__":
    main()
