"""The sockets' figures of `load/bench --ws-only`: store work per tick with 10 and with many
sockets held, round by round (the sizes ran in alternation), with the ratio and the medians,
and the socket figures of the large runs (RSS per socket, the longest wait for a message).

python3 ws_pairs.py RAW.jsonl --command CMD --nproc N
"""
import argparse
import datetime
import statistics

from report import endpoint, fmt, load, per_second_of_window


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--command", default="load/bench --ws-only")
    parser.add_argument("--nproc", default="?")
    args = parser.parse_args()
    runs = load(args.raw)
    small, large = runs.get("ws_small", []), runs.get("ws_large", [])
    reports = runs.get("ws_large_report", [])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# Store work per tick and sockets held, {now}\n")
    print(f"`{args.command}` on {args.nproc} cores; Redis INFO commandstats over each window.\n")
    print("| round | sockets (small / large) | commands/s | Redis µs/s | ratio commands | ratio µs "
          "| RSS per socket | longest gap | p99 gap |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios, usec_ratios = [], []
    for n, (a, b) in enumerate(zip(small, large), start=1):
        wa, wb = per_second_of_window(a), per_second_of_window(b)
        ratio = wb["calls_per_second"] / wa["calls_per_second"]
        usec_ratio = wb["usec_per_second"] / wa["usec_per_second"]
        ratios.append(ratio)
        usec_ratios.append(usec_ratio)
        rss = (b["hold_rss_kb"] - b["base_rss_kb"]) * 1024 / max(b["open_fds"], 1)
        gap = endpoint(reports[n - 1] if n <= len(reports) else None, "ws message gap") or {}
        print(f"| {n} | {a['open_fds']} / {b['open_fds']} "
              f"| {fmt(wa['calls_per_second'], 1)} / {fmt(wb['calls_per_second'], 1)} "
              f"| {fmt(wa['usec_per_second'])} / {fmt(wb['usec_per_second'])} "
              f"| {ratio:.2f} | {usec_ratio:.2f} | {fmt(rss / 1024, 1)} KB "
              f"| {fmt(gap.get('max_ms'))} ms | {fmt(gap.get('p99_ms'))} ms |")
    if ratios:
        print(f"\nMedian ratio (large / small): commands {statistics.median(ratios):.2f}, "
              f"Redis µs {statistics.median(usec_ratios):.2f} (goal 0.8–1.25).\n")
    for name, hold in (("small", small), ("large", large)):
        if hold:
            by = per_second_of_window(hold[-1])["by_command"]
            listed = ", ".join(f"`{k}` {v}" for k, v in sorted(by.items()))
            print(f"- last {name} run ({hold[-1]['open_fds']} sockets): {listed}")


if __name__ == "__main__":
    main()
