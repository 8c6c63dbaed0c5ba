#!/usr/bin/env python3
"""Checks a waitroom pre-queue draw and arrival windows from their public record alone
(Python 3 standard library).

    python3 load/verify_draw.py https://queue.example.com spring-sale [--ticket TICKET_ID]

Fetches GET /v1/events/{event}/draw page by page, then checks that
  1. SHA-256 of the seed is the seed_hash published before the sale,
  2. SHA-256 of the entrants' ticket ids, sorted, one per line, is entrants_commitment,
  3. sorting the entrants by SHA-256(seed + ":" + entrants_commitment + ":" + ticket_id)
     gives exactly the published order.
For an event with arrival windows it also fetches each published window's entrants
(?window=N) and checks that
  4. SHA-256 of the window secret, once published, is windows.seed_hash, and each window's seed
     is SHA-1(secret + ":" + N),
  5. sorting a window's entrants by the first 32 bits of SHA-1(seed + ":" + ticket_id), then by
     ticket id, gives exactly the published order, and their number is entrants_total.
Prints the order (or, with --ticket, that ticket's place) and exits 0; on any mismatch prints
one line starting with "MISMATCH:" and exits 1 (2 when the record cannot be fetched).
"""

import argparse
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

PAGE = 1000


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha1_hex(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def window_slot(seed, ticket):
    """An entrant's slot in its window: the first 32 bits of SHA-1(seed + ":" + ticket_id)."""
    return int(sha1_hex("%s:%s" % (seed, ticket))[:8], 16)


def fetch(base, event, after, window=None):
    query = {"limit": str(PAGE)}
    if window is not None:
        query["window"] = str(window)
    if after is not None:
        query["after"] = after
    url = "%s/v1/events/%s/draw?%s" % (
        base.rstrip("/"),
        urllib.parse.quote(event, safe=""),
        urllib.parse.urlencode(query),
    )
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def read_record(base, event, window=None):
    """The first page's fields and every entrant of the pre-queue (or of `window`, whose pages
    sit in `windows.page`), following the `next` cursors."""
    def part(page):
        return page if window is None else (page.get("windows") or {}).get("page") or {}

    first = fetch(base, event, None, window)
    entrants = list(part(first).get("entrants") or [])
    page, seen_cursors = part(first), set()
    while page.get("next") is not None:
        cursor = page["next"]
        if cursor in seen_cursors:
            raise ValueError("the pages loop back to %s" % cursor)
        seen_cursors.add(cursor)
        page = part(fetch(base, event, cursor, window))
        entrants.extend(page.get("entrants") or [])
    return first, entrants


def check_windows(base, event, windows):
    """Checks every published window; each window's entrants in window order, by number."""
    seed_hash = (windows.get("seed_hash") or "").lower()
    secret = windows.get("secret")
    if secret is not None and sha256_hex(secret) != seed_hash:
        mismatch("SHA-256 of the window secret is %s, the published windows.seed_hash is %s"
                 % (sha256_hex(secret), seed_hash))
    orders = {}
    for window in windows.get("closed") or []:
        number, seed = window.get("window"), (window.get("seed") or "").lower()
        if secret is not None and sha1_hex("%s:%s" % (secret, number)) != seed:
            mismatch("window %s: its seed is %s, SHA-1 of the secret gives %s"
                     % (number, seed, sha1_hex("%s:%s" % (secret, number))))
        try:
            _, entrants = read_record(base, event, number)
        except (urllib.error.URLError, ValueError, OSError) as error:
            print("cannot read window %s: %s" % (number, error))
            sys.exit(2)
        published = [entrant.lower() for entrant in entrants]
        if len(published) != window.get("entrants_total"):
            mismatch("window %s: %d entrants published, entrants_total says %s"
                     % (number, len(published), window.get("entrants_total")))
        if len(set(published)) != len(published):
            mismatch("window %s: an entrant is published more than once" % number)
        order = sorted(published, key=lambda ticket: (window_slot(seed, ticket), ticket))
        for place, (expected, got) in enumerate(zip(order, published), start=1):
            if expected != got:
                mismatch("window %s: place %d is %s, the slots give it to %s"
                         % (number, place, got, expected))
        print("ok: window %s: %d entrants, order recomputed from its seed" % (number, len(order)))
        orders[number] = order
    if secret is None:
        print("the window secret is not published yet (a window may still open): "
              "window seeds not checked against windows.seed_hash")
    else:
        print("ok: the window secret matches windows.seed_hash and every window's seed")
    return orders


def mismatch(message):
    print("MISMATCH: " + message)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description="Check a waitroom pre-queue draw.")
    parser.add_argument("base_url", help="the waiting room's address, e.g. https://queue.example.com")
    parser.add_argument("event", help="the event id")
    parser.add_argument("--ticket", help="print this ticket id's place")
    args = parser.parse_args()

    try:
        record, entrants = read_record(args.base_url, args.event)
    except (urllib.error.URLError, ValueError, OSError) as error:
        print("cannot read the draw: %s" % error)
        sys.exit(2)

    if not record.get("drawn"):
        print("not drawn yet; seed_hash %s, entrants_commitment %s"
              % (record.get("seed_hash"), record.get("entrants_commitment")))
        sys.exit(2)
    seed, seed_hash = record.get("seed") or "", (record.get("seed_hash") or "").lower()
    commitment = (record.get("entrants_commitment") or "").lower()

    if sha256_hex(seed) != seed_hash:
        mismatch("SHA-256 of the seed is %s, the published seed_hash is %s"
                 % (sha256_hex(seed), seed_hash))
    if len(entrants) != record.get("entrants_total"):
        mismatch("%d entrants published, entrants_total says %s"
                 % (len(entrants), record.get("entrants_total")))
    if len(set(entrants)) != len(entrants):
        mismatch("an entrant is published more than once")
    ids = sorted(entrant.lower() for entrant in entrants)
    computed = sha256_hex("".join(ticket + "\n" for ticket in ids))
    if computed != commitment:
        mismatch("the entrants hash to %s, the published entrants_commitment is %s"
                 % (computed, commitment))
    keyed = sorted((sha256_hex("%s:%s:%s" % (seed, commitment, t)), t) for t in ids)
    order = [ticket for _, ticket in keyed]
    published = [entrant.lower() for entrant in entrants]
    for place, (expected, got) in enumerate(zip(order, published), start=1):
        if expected != got:
            mismatch("place %d is %s, the lottery gives it to %s" % (place, got, expected))

    print("ok: seed matches seed_hash, %d entrants match the commitment, order recomputed"
          % len(order))
    windows = {}
    if record.get("windows") is not None:
        windows = check_windows(args.base_url, args.event, record["windows"])
    if args.ticket:
        wanted = args.ticket.lower()
        if wanted in order:
            print("ticket %s: place %d of %d" % (wanted, order.index(wanted) + 1, len(order)))
            return
        for number, entrants in windows.items():
            if wanted in entrants:
                print("ticket %s: window %s, place %d of %d"
                      % (wanted, number, entrants.index(wanted) + 1, len(entrants)))
                return
        print("NOT AN ENTRANT: ticket %s was not in the pre-queue when it closed, nor in a "
              "published window" % wanted)
        sys.exit(1)
    for place, ticket in enumerate(order, start=1):
        print("%d %s" % (place, ticket))
    for number, entrants in windows.items():
        for place, ticket in enumerate(entrants, start=1):
            print("window %s: %d %s" % (number, place, ticket))


if __name__ == "__main__":
    main()
