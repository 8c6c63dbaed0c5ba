#!/usr/bin/env python3
"""Bots' share of admissions over several simulator runs of one scenario, and the draw behind it.

A fair draw of a few thousand admissions moves a share near 1% by about a fifth of itself from
run to run, so one run cannot tell a share of 1.0 times the bots' share of identities from one of
1.1 times. Pooling the runs' admissions narrows it. Usage:

    load/bots_share.py [--limit SHARE] RUN_DIR [RUN_DIR ...]
    load/bots_share.py --fetch-draw BASE_URL RUN_DIR

Each RUN_DIR is a simulator's `--out` folder (its `report.json`). Prints each run, then the pooled
share with its 95% Wilson interval; with `--limit`, exits 1 unless the pooled interval lies wholly
at or below the limit.

With an opening window, the draw can be checked too. Run the simulator with `--journeys` and,
while the server still runs, `--fetch-draw` (it saves the opening window's published order as
`draw.json`). Then each run also shows: the bots' share of the window's entrants (the server's
record, not the crowd's clocks), the bots' mean place in the draw as a fraction of it (0.5 for a
fair draw, give or take 0.29/sqrt(bots)), the Kolmogorov-Smirnov distance of their places from
uniform, and their share of the draw's prefix that the admissions came from. Pooled, it gives the
bots' places in the first tenth of each run's draw against their share of the window: about 100
bots' places a run instead of the 20 to 40 admissions, so ten runs measure the draw's treatment
of bots to about 6% where their admissions measure it to about 13%. Standard library only.
"""

HEAD = 0.1

import argparse
import json
import math
import os
import sys
import urllib.request

Z95 = 1.959963984540054


def wilson(part, whole):
    """The Wilson score interval at 95% of part/whole."""
    if whole == 0:
        return (0.0, 1.0)
    p = part / whole
    centre = p + Z95 * Z95 / (2 * whole)
    spread = Z95 * math.sqrt(p * (1 - p) / whole + Z95 * Z95 / (4 * whole * whole))
    scale = 1 + Z95 * Z95 / whole
    return (max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale))


def fetch_draw(base_url, run_dir):
    """Saves the opening window's entrants, in the published window order, as draw.json."""
    with open(os.path.join(run_dir, "report.json"), encoding="utf-8") as file:
        event = json.load(file)["event_id"]
    order, after = [], None
    while True:
        url = f"{base_url}/v1/events/{event}/draw?window=0&limit=1000"
        if after:
            url += f"&after={after}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            page = json.load(answer)["windows"]["page"]
        order += page["entrants"]
        after = page["next"]
        if not after:
            break
    with open(os.path.join(run_dir, "draw.json"), "w", encoding="utf-8") as file:
        json.dump(order, file)
    print(f"{run_dir}: the opening window's {len(order)} entrants saved")


def draw_figures(run_dir):
    """The bots in the published draw of one run, or None without journeys and draw."""
    journeys_path = os.path.join(run_dir, "journeys.json")
    draw_path = os.path.join(run_dir, "draw.json")
    if not (os.path.exists(journeys_path) and os.path.exists(draw_path)):
        return None
    with open(journeys_path, encoding="utf-8") as file:
        journeys = json.load(file)
    with open(draw_path, encoding="utf-8") as file:
        order = json.load(file)
    by_ticket = {j["ticket_id"]: j for j in journeys if j.get("ticket_id")}
    is_bot = [by_ticket.get(ticket, {}).get("actor") == "bot" for ticket in order]
    bots = sum(is_bot)
    if bots == 0:
        return None
    places = sorted(i / len(order) for i, bot in enumerate(is_bot) if bot)
    ks = max(max((i + 1) / bots - p, p - i / bots) for i, p in enumerate(places))
    admitted = {j["ticket_id"] for j in journeys if j.get("admission") and j.get("ticket_id")}
    last = max((i for i, ticket in enumerate(order) if ticket in admitted), default=-1)
    head = int(len(order) * HEAD)
    return {
        "head": head,
        "head_bots": sum(is_bot[:head]),
        "entrants": len(order),
        "bots": bots,
        "mean_place": sum(places) / bots,
        "ks": ks,
        "prefix": last + 1,
        "prefix_bots": sum(is_bot[: last + 1]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, help="the scenario's max_share_of_admissions")
    parser.add_argument("--fetch-draw", metavar="BASE_URL", help="save draw.json and stop")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    args = parser.parse_args()
    if args.fetch_draw:
        for run_dir in args.runs:
            fetch_draw(args.fetch_draw, run_dir)
        return

    bots_admitted = admissions = 0
    expected_by_window = prefix_bots = 0.0
    head_bots = head_expected = head_variance = 0.0
    identities_share = None
    print("| run | bots admitted | admissions | share | 95% interval | bots' share of the window "
          "(draw) | bots' mean place | KS (5% critical) |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for run_dir in args.runs:
        with open(os.path.join(run_dir, "report.json"), encoding="utf-8") as file:
            report = json.load(file)
        bots = report.get("bots")
        if not bots or "admissions" not in bots:
            sys.exit(f"{run_dir}: no bots, or a report from before admissions were counted")
        crowd = report["crowd"]
        share = crowd["bot_identities"] / (crowd["shoppers"] + crowd["bot_identities"])
        if identities_share is not None and abs(share - identities_share) > 1e-12:
            sys.exit(f"{run_dir}: a different crowd from the first run's; pool one scenario only")
        identities_share = share
        low, high = wilson(bots["admitted"], bots["admissions"])
        draw = draw_figures(run_dir)
        if draw:
            window_share = draw["bots"] / draw["entrants"]
            expected_by_window += draw["prefix"] * window_share
            prefix_bots += draw["prefix_bots"]
            head_bots += draw["head_bots"]
            head_expected += draw["head"] * window_share
            # Places drawn without replacement: the hypergeometric variance.
            head_variance += draw["head"] * window_share * (1 - window_share) * (1 - HEAD)
            drawn = (f"{100 * window_share:.2f}% of {draw['entrants']} | {draw['mean_place']:.4f} "
                     f"| {draw['ks']:.4f} ({1.36 / math.sqrt(draw['bots']):.4f}) |")
        else:
            drawn = "– | – | – |"
        print(
            f"| {run_dir} | {bots['admitted']} | {bots['admissions']} | "
            f"{100 * bots['admitted'] / max(1, bots['admissions']):.2f}% | "
            f"{100 * low:.2f}–{100 * high:.2f}% | {drawn}"
        )
        bots_admitted += bots["admitted"]
        admissions += bots["admissions"]

    low, high = wilson(bots_admitted, admissions)
    pooled = bots_admitted / max(1, admissions)
    print(
        f"\npooled: {bots_admitted} of {admissions} admissions, {100 * pooled:.3f}% "
        f"(95% interval {100 * low:.3f}–{100 * high:.3f}%); bots are {100 * identities_share:.3f}% "
        f"of the identities, so the pooled share is {pooled / identities_share:.3f} times theirs "
        f"(interval {low / identities_share:.3f}–{high / identities_share:.3f})"
    )
    if expected_by_window > 0:
        print(
            f"draw: bots held {prefix_bots:.0f} places of the prefixes the admissions came from, "
            f"{expected_by_window:.1f} expected from their share of each window "
            f"({prefix_bots / expected_by_window:.3f} times)"
        )
        spread = Z95 * math.sqrt(head_variance) / head_expected
        print(
            f"draw: in the first {100 * HEAD:.0f}% of each run's order bots held {head_bots:.0f} "
            f"places, {head_expected:.1f} expected from their share of each window "
            f"({head_bots / head_expected:.3f} times, give or take {spread:.3f} at 95%)"
        )
    if args.limit is not None:
        verdict = "at or below" if high <= args.limit else "not wholly below"
        print(f"the pooled interval is {verdict} the limit of {100 * args.limit:.2f}%")
        if high > args.limit:
            sys.exit(1)


if __name__ == "__main__":
    main()
