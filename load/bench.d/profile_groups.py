#!/usr/bin/env python3
"""Groups `perf script` samples (from stdin) of a waitroom server by what they were doing.

    perf script -i perf.data | profile_groups.py [--folded OUT]

Each sample's stack is matched against the groups below. Inclusive: a sample counts once for
every group with a frame on its stack (a middleware's inclusive share holds what it wraps: the
rate limiter's layer wraps the handler). Leaf: the sample counts for the group of
its innermost frame that matches one (the rest, "other"). With --folded, also writes the stacks
in the folded form flamegraph tools read (frames joined by ';', then the count).
"""

import argparse
import collections
import re
import sys

# (group, pattern on a frame's symbol), checked in this order for the leaf.
GROUPS = [
    ("allocator (jemalloc, malloc, free)", r"_rjem_|je_|jemalloc|\bmalloc\b|\bfree\b|__libc_|realloc|cfree"),
    ("user token check (HS256: HMAC-SHA-256, base64, claims)", r"jsonwebtoken|hmac|sha2::|base64|identity::|Claims"),
    ("rate limiter", r"waitroom_ratelimit|ratelimit::"),
    ("join in the store", r"waitroom::store::|QueueStore|group_commit|MemoryStore|RedisStore"),
    ("Redis client and its connection", r"redis::|combine::"),
    ("JSON (serde_json)", r"serde_json|serde::"),
    ("request validation and answer (waitroom http)", r"waitroom::http::|waitroom::queue::|waitroom::admission::"),
    ("HTTP (hyper, axum, tower)", r"hyper|axum|tower|http::|httparse|h1::"),
    ("metrics and tracing", r"metrics|tracing"),
    ("tokio runtime", r"tokio::|mio::"),
    ("kernel (network, syscalls, scheduling)", r"\[kernel\.kallsyms\]"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in GROUPS]


def samples(lines):
    """Yields each sample's frames, innermost first."""
    frames = []
    in_sample = False
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames, in_sample = [], False
            continue
        if line.startswith((" ", "\t")):
            if in_sample:
                parts = line.strip().split(" ", 1)
                symbol = parts[1] if len(parts) > 1 else parts[0]
                # Kept with its DSO, "name (dso)": the kernel is told by its DSO.
                frames.append(re.sub(r"\+0x[0-9a-f]+(?= \(|$)", "", symbol))
        else:
            in_sample = True
    if frames:
        yield frames


def group_of(symbol):
    for name, pattern in COMPILED:
        if pattern.search(symbol):
            return name
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folded", help="write folded stacks here")
    args = parser.parse_args()
    inclusive = collections.Counter()
    leaf = collections.Counter()
    folded = collections.Counter()
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        groups = [group_of(f) for f in frames]
        for name in set(g for g in groups if g):
            inclusive[name] += 1
        leaf[next((g for g in groups if g), "other")] += 1
        names = (re.sub(r"\s*\([^()]*\)$", "", f) for f in reversed(frames))
        folded[";".join(names)] += 1
    if total == 0:
        sys.exit("no samples")
    print(f"{total} samples of the server")
    print("| group | inclusive | leaf |")
    print("| --- | ---: | ---: |")
    for name, _ in GROUPS + [("other", None)]:
        print(f"| {name} | {100 * inclusive[name] / total:.1f}% | {100 * leaf[name] / total:.1f}% |")
    if args.folded:
        with open(args.folded, "w", encoding="utf-8") as out:
            for stack, count in folded.most_common():
                out.write(f"{stack} {count}\n")


if __name__ == "__main__":
    main()
