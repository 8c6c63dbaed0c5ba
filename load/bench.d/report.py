"""Turns load/bench's raw figures (JSON lines) into the report: OUT.md and OUT.json.

python3 report.py RAW.jsonl OUT --mode M --nproc N --connections C --reps R --command CMD --redis V

Each figure stands beside its baseline from the same run, with the ratio and the goal of
BENCHMARKS.md; pairs ran in alternation, and the medians are quoted.
"""
import argparse
import datetime
import json
import statistics


def load(path):
    """The records one after another; a simulator's report inside one spans many lines."""
    runs = {}
    text = open(path).read()
    decoder = json.JSONDecoder()
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return runs
        item, at = decoder.raw_decode(text, at)
        runs.setdefault(item["key"], []).append(item["value"])


def median(runs, key, field):
    values = [r[field] for r in runs.get(key, []) if isinstance(r, dict) and r.get(field) is not None]
    return statistics.median(values) if values else None


def last(runs, key):
    values = runs.get(key) or [None]
    return values[-1]


def fmt(value, digits=0, unit=""):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def per_second_of_window(hold):
    """Store commands and their Redis CPU per second over the window, INFO excluded."""
    if not hold:
        return None
    before, after, seconds = hold["before"], hold["after"], hold["window_seconds"]
    calls = usec = 0
    by_command = {}
    for name, stats in after.items():
        if name in ("info",):
            continue
        old = before.get(name, {"calls": 0, "usec": 0})
        delta = stats["calls"] - old["calls"]
        if delta > 0:
            by_command[name] = round(delta / seconds, 1)
        calls += delta
        usec += stats["usec"] - old["usec"]
    return {"calls_per_second": calls / seconds, "usec_per_second": usec / seconds, "by_command": by_command}


def endpoint(report, name):
    if not isinstance(report, dict):
        return None
    return report.get("endpoints", {}).get(name)


def server_gaps(buckets):
    """The server's own count of position gaps (cumulative buckets): how many, how many over 2 s,
    and the bound of the longest (the smallest bucket holding them all)."""
    if not isinstance(buckets, dict) or "+Inf" not in buckets:
        return None
    total = buckets["+Inf"]
    bounds = sorted((float(le), count) for le, count in buckets.items() if le != "+Inf")
    within_2s = next((count for le, count in bounds if le == 2.0), None)
    longest_within = next((le for le, count in bounds if count >= total), None)
    return {"count": total, "over_2s": None if within_2s is None else total - within_2s,
            "longest_within_s": longest_within}


def figures(runs):
    f = {}
    f["join_redis"] = {k: median(runs, "join_redis", k) for k in ("per_second", "p50_ms", "p99_ms")}
    f["join_redis"]["non_2xx"] = sum(r.get("non_2xx", 0) for r in runs.get("join_redis", []))
    f["join_memory"] = {k: median(runs, "join_memory", k) for k in ("per_second", "p50_ms", "p99_ms")}
    f["join_memory"]["non_2xx"] = sum(r.get("non_2xx", 0) for r in runs.get("join_memory", []))
    # The longest answer of any round: a stall shows in one round, and a median would hide it.
    f["join_memory"]["max_ms"] = max((r["max_ms"] for r in runs.get("join_memory", [])
                                      if isinstance(r, dict) and r.get("max_ms") is not None), default=None)
    for key in ("zadd", "join_script", "evalsha_minimal", "bare_route", "limited_redis", "peer_join"):
        f[key] = {k: median(runs, key, k) for k in ("per_second", "p50_ms", "p99_ms")}
    f["limited_headers"] = last(runs, "limited_headers")
    f["join_script_reply"] = last(runs, "join_script_reply")
    f["limited_status"] = last(runs, "limited_status")

    ws_small, ws_large = last(runs, "ws_small"), last(runs, "ws_large")
    large_report = last(runs, "ws_large_report")
    if ws_large:
        open_sockets = ws_large["open_fds"]
        grown = (ws_large["hold_rss_kb"] - ws_large["base_rss_kb"]) * 1024
        gap = endpoint(large_report, "ws message gap")
        f["ws"] = {
            "target": ws_large["sockets"],
            "open_on_server": open_sockets,
            "peak_on_client": (large_report or {}).get("crowd", {}).get("sockets_peak"),
            "rss_base_kb": ws_large["base_rss_kb"],
            "rss_hold_kb": ws_large["hold_rss_kb"],
            "rss_bytes_per_socket": grown / open_sockets if open_sockets > 0 else None,
            "longest_gap_ms": gap["max_ms"] if gap else None,
            "gap_p99_ms": gap["p99_ms"] if gap else None,
            "server_errors": (large_report or {}).get("server_errors"),
            "server_gaps": server_gaps(last(runs, "ws_large_server_gaps")),
        }
    f["store_work"] = {"small": per_second_of_window(ws_small), "large": per_second_of_window(ws_large),
                       "sockets_small": (ws_small or {}).get("open_fds"),
                       "sockets_large": (ws_large or {}).get("open_fds")}

    outflow = last(runs, "outflow")
    if isinstance(outflow, dict):
        o = outflow["outflow"]
        f["outflow"] = {k: o.get(k) for k in ("set_per_second", "burst", "busy_seconds", "actual_per_second",
                                               "over_run_per_second", "accuracy", "max_excess", "exceeded",
                                               "admitted_total")}
        f["outflow"]["push_delay"] = outflow.get("admission_push_delay")
        f["outflow"]["server_errors"] = outflow.get("server_errors")
        f["outflow"]["ws_gap"] = endpoint(outflow, "ws message gap")
        f["outflow"]["sockets_peak"] = outflow.get("crowd", {}).get("sockets_peak")
    sale = last(runs, "sale")
    if isinstance(sale, dict):
        f["sale"] = {"shoppers": sale["crowd"]["shoppers"], "stock": sale["stock"],
                     "inversions": sale["order"]["inversions"], "ordered_pairs": sale["order"]["ordered_pairs"],
                     "server_errors": sale["server_errors"], "verdict": sale["verdict"],
                     "push_delay": sale.get("admission_push_delay"), "joins": sale.get("joins"),
                     "errors": sale.get("errors")}
    crowd = last(runs, "one_address")
    if isinstance(crowd, dict):
        f["one_address"] = {"shoppers": crowd["crowd"]["shoppers"], "refusals": crowd.get("shopper_refusals"),
                            "server_errors": crowd.get("server_errors"), "passed": crowd["verdict"]["passed"],
                            "failures": crowd["verdict"].get("failures")}
    push = [r for r in runs.get("push_cross", []) if isinstance(r, dict)]
    if push:
        f["push_cross"] = {k: median(runs, "push_cross", k) for k in
                           ("admitted", "per_second", "p50_ms", "p99_ms", "max_ms", "sockets_peak")}
        f["push_cross"]["rounds"] = len(push)
        f["push_cross"]["fewest_sockets"] = min((r.get("sockets_peak") or 0) for r in push)
        f["push_cross"]["server_errors"] = sum((r.get("server_errors") or 0) for r in push)
    f["idle_events"] = last(runs, "idle_events")
    f["memory_store"] = last(runs, "memory_store")
    f["redis_memory"] = last(runs, "redis_memory")
    f["redis_memory_uuid"] = last(runs, "redis_memory_uuid")
    f["redis_draw"] = last(runs, "redis_draw")
    f["ratelimit_in_process"] = last(runs, "ratelimit_in_process")
    return f


def ratio(a, b):
    return a / b if a is not None and b else None


def table(f):
    rows = []

    def row(what, ours, base, r, goal, ok, how):
        rows.append(f"| {what} | {ours} | {base} | {r} | {goal} | {verdict(ok)} | {how} |")

    j, z = f["join_redis"], f["zadd"]
    r = ratio(j["per_second"], z["per_second"])
    ok = None if r is None else (r >= 0.5 and j["p99_ms"] is not None and j["p99_ms"] <= 5)
    row("joins/s, Redis store", f"{fmt(j['per_second'])}/s, p99 {fmt(j['p99_ms'], 2)} ms",
        f"ZADD {fmt(z['per_second'])}/s (p99 {fmt(z['p99_ms'], 2)} ms); join script EVALSHA "
        f"{fmt(f['join_script']['per_second'])}/s (p99 {fmt(f['join_script']['p99_ms'], 2)} ms)", fmt(r, 2), "≥ 0.50 of ZADD; p99 ≤ 5 ms", ok,
        "wrk -t1 -c50, POST …/tickets, new identity each; redis-benchmark -c 50")

    m, b = f["join_memory"], f["bare_route"]
    r = ratio(m["per_second"], b["per_second"])
    row("joins/s, memory store", f"{fmt(m['per_second'])}/s, p99 {fmt(m['p99_ms'], 2)} ms",
        f"bare axum route {fmt(b['per_second'])}/s (p99 {fmt(b['p99_ms'], 2)} ms)", fmt(r, 2),
        "≥ 0.70 of the bare route", None if r is None else r >= 0.7, "wrk -t1 -c50, both")

    p = f["peer_join"]
    r = ratio(m["per_second"], p["per_second"])
    row("joins/s, memory store, against the in-process peer", f"{fmt(m['per_second'])}/s",
        f"the peer's join (a ticket in a BTreeMap behind a mutex, a signed cookie; no identity, no limiter, "
        f"no durability) {fmt(p['per_second'])}/s (p99 {fmt(p['p99_ms'], 2)} ms)", fmt(r, 2), "≥ 1.0 of the peer",
        None if r is None else r >= 1.0, "wrk -t1 -c50, both; examples/peer_route.rs")

    ok = None if m["p99_ms"] is None or m["max_ms"] is None else (m["p99_ms"] <= 5 and m["max_ms"] <= 20)
    row("memory-store joins' latency at 50 connections", f"p99 {fmt(m['p99_ms'], 2)} ms (median of the rounds); "
        f"longest {fmt(m['max_ms'], 1)} ms (all rounds)", f"bare route p99 {fmt(b['p99_ms'], 2)} ms", "—",
        "p99 ≤ 5 ms, no answer over 20 ms", ok, "wrk -t1 -c50 (latency percentiles and maximum)")

    ms = f.get("memory_store") or {}
    bps = ms.get("bytes_per_shopper")
    row("server memory per waiting shopper, memory store", f"{fmt(bps, 1)} bytes counted, "
        f"{fmt(ms.get('rss_per_shopper'), 1)} RSS; longest join {fmt(ms.get('longest_join_ms'), 1)} ms, "
        f"{fmt(ms.get('joins_over_20ms'))} over 20 ms", "UUID user ids, one join at a time", "—", "≤ 250 bytes",
        None if bps is None else bps <= 250, "cargo bench --bench memory_store (a counting allocator; VmRSS)")

    lr, e = f["limited_redis"], f["evalsha_minimal"]
    r = ratio(lr["per_second"], e["per_second"])
    ok = None if r is None else (r >= 0.5 and lr["p99_ms"] is not None and lr["p99_ms"] <= 5)
    row("rate-limit decisions/s, Redis store", f"{fmt(lr['per_second'])}/s, p99 {fmt(lr['p99_ms'], 2)} ms",
        f"EVALSHA minimal {fmt(e['per_second'])}/s (p99 {fmt(e['p99_ms'], 2)} ms)", fmt(r, 2),
        "≥ 0.50 of EVALSHA minimal; p99 ≤ 5 ms", ok,
        "wrk -t1 -c50, GET of the socket route without upgrade (426 after the limiter), random client per request")

    rl = f.get("ratelimit_in_process") or {}
    r = ratio(rl.get("waitroom_median_ns"), rl.get("governor_median_ns"))
    rc = ratio(rl.get("criterion_waitroom_ns"), rl.get("criterion_governor_ns"))
    row("rate-limit decision, in process", f"median {fmt(rl.get('waitroom_median_ns'))} ns, p99 "
        f"{fmt(rl.get('waitroom_p99_ns'))} ns; criterion {fmt(rl.get('criterion_waitroom_ns'), 1)} ns",
        f"governor keyed median {fmt(rl.get('governor_median_ns'))} ns, p99 {fmt(rl.get('governor_p99_ns'))} ns;"
        f" criterion {fmt(rl.get('criterion_governor_ns'), 1)} ns", f"{fmt(r, 2)}× (criterion {fmt(rc, 1)}×)",
        "≤ 3× governor", None if r is None else r <= 3, "cargo bench --bench ratelimit (timed checks; criterion)")

    ws = f.get("ws") or {}
    per_socket = ws.get("rss_bytes_per_socket")
    gap = ws.get("longest_gap_ms")
    ok = None
    if ws:
        ok = (ws["open_on_server"] >= 0.97 * ws["target"] and per_socket is not None and per_socket <= 16384
              and gap is not None and gap <= 2000)
    sg = ws.get("server_gaps") or {}
    server_side = (f"; the server's own: {fmt(sg.get('over_2s'))} of {fmt(sg.get('count'))} position gaps over 2 s, "
                   f"the longest under {fmt(sg.get('longest_within_s'), 2)} s") if sg else ""
    row("WebSockets held by one instance", f"{fmt(ws.get('open_on_server'))} open on the server "
        f"(client peak {fmt(ws.get('peak_on_client'))}); {fmt(per_socket / 1024 if per_socket else None, 1)} KB RSS"
        f" per socket; longest gap between messages {fmt(gap)} ms (queue nearly still){server_side}; with the queue moving "
        f"(outflow run, {fmt((f.get('outflow') or {}).get('sockets_peak'))} sockets) p99 gap "
        f"{fmt(((f.get('outflow') or {}).get('ws_gap') or {}).get('p99_ms'))} ms, longest "
        f"{fmt(((f.get('outflow') or {}).get('ws_gap') or {}).get('max_ms'))} ms",
        f"target {fmt(ws.get('target'))}; RSS {fmt(ws.get('rss_base_kb'))} KB before", "—",
        "15,000; ≤ 16 KB/socket; every socket updated within 2 s", ok,
        "waitroom-sim ws-hold (Redis store); /proc/PID/fd and VmRSS")

    sw = f["store_work"]
    small, large = sw.get("small"), sw.get("large")
    r = ratio(large["calls_per_second"], small["calls_per_second"]) if small and large else None
    ru = ratio(large["usec_per_second"], small["usec_per_second"]) if small and large else None
    row("store work per tick", f"{fmt(sw.get('sockets_large'))} sockets: "
        f"{fmt(large['calls_per_second'] if large else None, 1)} commands/s, "
        f"{fmt(large['usec_per_second'] if large else None)} µs/s of Redis",
        f"{fmt(sw.get('sockets_small'))} sockets: {fmt(small['calls_per_second'] if small else None, 1)} "
        f"commands/s, {fmt(small['usec_per_second'] if small else None)} µs/s",
        f"{fmt(r, 2)} (commands), {fmt(ru, 2)} (µs)", "the same within noise (0.8–1.25)",
        None if r is None else 0.8 <= r <= 1.25, "Redis INFO commandstats over a 10 s window")

    o = f.get("outflow") or {}
    pd = o.get("push_delay") or {}
    sale_pd = (f.get("sale") or {}).get("push_delay") or {}
    row("admission push delay", f"p99 {fmt(pd.get('p99_ms'))} ms ({fmt(pd.get('count'))} admissions; "
        f"sale: p99 {fmt(sale_pd.get('p99_ms'))} ms)", "—", "—", "p99 ≤ 250 ms",
        None if pd.get("p99_ms") is None else pd["p99_ms"] <= 250,
        "waitroom-sim, server admission time to the `admitted` message")

    pc = f.get("push_cross") or {}
    ok = None
    if pc:
        ok = pc["p99_ms"] is not None and pc["p99_ms"] <= 250 and pc["fewest_sockets"] >= 15000
    row("admission push across instances", f"p99 {fmt(pc.get('p99_ms'))} ms, p50 {fmt(pc.get('p50_ms'))} ms, "
        f"longest {fmt(pc.get('max_ms'))} ms ({fmt(pc.get('admitted'))} admissions a round; "
        f"{fmt(pc.get('server_errors'))} 5xx)", f"{fmt(pc.get('sockets_peak'))} sockets open at the peak "
        f"(fewest in a round {fmt(pc.get('fewest_sockets'))}), {fmt(pc.get('rounds'))} rounds", "—",
        "p99 ≤ 250 ms at 15,000 sockets", ok,
        "load/push_ab.sh: 3 instances on one Redis, every socket on the third")

    idle = f.get("idle_events") or {}
    pe = idle.get("per_event_per_second")
    row("idle events", f"{fmt(pe, 2)} Redis commands a second per event ({fmt(idle.get('per_second'), 1)}/s in all)",
        f"{fmt(idle.get('events'))} open events nobody is in, {fmt(idle.get('seconds'))} s", "—",
        "≤ 1 command/s per idle event", None if pe is None else pe <= 1,
        "load/idle_events.sh: Redis INFO commandstats, scripts' commands included")

    acc = o.get("accuracy")
    ok = None if acc is None else (abs(acc - 1) <= 0.01 and not o.get("exceeded"))
    row("outflow accuracy, 3 instances", f"{fmt(o.get('actual_per_second'), 2)}/s over "
        f"{fmt(o.get('busy_seconds'))} busy s; largest excess over rate × t + burst {fmt(o.get('max_excess'), 1)}",
        f"set {fmt(o.get('set_per_second'), 2)}/s, burst {fmt(o.get('burst'))}", fmt(acc, 4),
        "within ±1%; never above rate × t + burst", ok, "waitroom-sim against one of 3 instances on one Redis")

    mem = f.get("redis_memory") or {}
    bps = mem.get("bytes_per_shopper")
    row("Redis memory per waiting shopper", f"{fmt(bps, 1)} bytes (queue {fmt(mem.get('queue_share'), 1)})",
        f"{fmt(mem.get('shoppers'))} shoppers waiting", "—", "≤ 200 bytes", None if bps is None else bps <= 200,
        "cargo bench --bench redis_memory (INFO memory, all keys)")
    uuid = f.get("redis_memory_uuid") or {}
    bps = uuid.get("bytes_per_shopper")
    row("Redis memory per waiting shopper, UUID user ids", f"{fmt(bps, 1)} bytes (queue "
        f"{fmt(uuid.get('queue_share'), 1)})", f"{fmt(uuid.get('shoppers'))} shoppers waiting", "—",
        "≤ 160 bytes", None if bps is None else bps <= 160,
        "the same, WAITROOM_MEMORY_IDS=uuid (user ids of 36 characters)")

    d = f.get("redis_draw") or {}
    longest = max((d.get(k) or 0 for k in ("longest_draw_us", "longest_drain_us")), default=0)
    row("longest Redis command, draw and drains", f"{fmt(longest / 1000 if d else None, 1)} ms; draw "
        f"{fmt(d.get('draw_seconds'), 1)} s, order verifies: {d.get('verified', 'n/a')}",
        f"{fmt(d.get('entrants'))} entrants; {fmt(d.get('departed'))} absent drained", "—", "< 50 ms",
        d.get("bound_kept") if d else None, "cargo bench --bench redis_draw (SLOWLOG, LATENCY LATEST)")

    c = f.get("one_address") or {}
    ok = None if not c else (c["refusals"] == 0 and c["passed"])
    row("a crowd behind one address", f"{fmt(c.get('refusals'))} answers refusing a shopper (403 or 429); "
        f"{fmt(c.get('server_errors'))} 5xx; simulator's verdict "
        f"{'passed' if c.get('passed') else ('failed: ' + '; '.join(c.get('failures') or [])) if c else 'n/a'}",
        f"{fmt(c.get('shoppers'))} signed-in shoppers from one address", "—", "every one joins and waits; zero refused",
        ok, "waitroom-sim one-address.toml, shipped rules, Redis store")

    s = f.get("sale") or {}
    stock = s.get("stock") or {}
    ok = None
    if s:
        ok = (not stock.get("oversold")) and s["inversions"] == 0 and s["server_errors"] == 0
    row("full sale", f"sold {fmt(stock.get('sold_server'))} of {fmt(stock.get('offered'))}; "
        f"{fmt(s.get('inversions'))} inversions in {fmt(s.get('ordered_pairs'))} pairs; {fmt(s.get('server_errors'))} 5xx",
        f"{fmt(s.get('shoppers'))} shoppers", "—", "zero oversell, zero inversions, no 5xx", ok,
        "waitroom-sim flash-sale.toml, one instance + Redis")
    header = ("| what | waitroom | baseline (same run) | ratio | goal | verdict | how |\n"
              "| --- | --- | --- | --- | --- | --- | --- |")
    return header + "\n" + "\n".join(rows)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("raw")
    p.add_argument("out")
    for name in ("mode", "nproc", "connections", "reps", "command", "redis"):
        p.add_argument("--" + name)
    a = p.parse_args()
    runs = load(a.raw)
    f = figures(runs)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = {"date": now, "mode": a.mode, "nproc": int(a.nproc), "connections": int(a.connections),
            "alternated_rounds": int(a.reps), "command": a.command.strip(), "redis": a.redis}
    with open(a.out + ".json", "w") as out:
        json.dump({"meta": meta, "figures": f, "raw": runs}, out, indent=1)
    with open(a.out + ".md", "w") as out:
        out.write(f"# waitroom benchmark report, {now}\n\n")
        out.write(f"`{meta['command']}` ({a.mode} mode) on {a.nproc} cores (`nproc`), Redis {a.redis}; "
                  f"{a.connections} connections; load generators pinned to one core with `taskset`; "
                  f"pairs run in alternation, {a.reps} rounds, medians quoted. Raw numbers: "
                  f"`{a.out.split('/')[-1]}.json`. Where a join's time goes (profiles of the server, "
                  f"Redis's commands) is in `join-profile-2026-12-07.md`.\n\n")
        out.write(table(f) + "\n")
        out.write("\n## Each run of the alternated pairs\n\n| figure | runs (per second; p99 ms) |\n| --- | --- |\n")
        for key in ("join_redis", "zadd", "join_script", "evalsha_minimal", "limited_redis", "join_memory",
                    "bare_route", "peer_join"):
            cells = ", ".join(f"{r['per_second']:,.0f} ({r['p99_ms']:.2f})" for r in runs.get(key, [])
                              if isinstance(r, dict) and r.get("per_second") is not None)
            out.write(f"| {key} | {cells or 'n/a'} |\n")
        sw = f["store_work"]
        out.write("\n## Store commands per second over the window\n\n")
        for label in ("small", "large"):
            work = sw.get(label)
            if work:
                out.write(f"- {sw.get('sockets_' + label)} sockets: " + ", ".join(
                    f"`{name}` {rate}" for name, rate in sorted(work["by_command"].items())) + "\n")
    print(table(f))


if __name__ == "__main__":
    main()
