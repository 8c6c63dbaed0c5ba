#!/usr/bin/env python3
"""Checks a waitroom pre-queue draw from its public record alone (Python 3 standard library).

    python3 load/verify_draw.py https://queue.example.com spring-sale [--ticket TICKET_ID]

Fetches GET /v1/events/{event}/draw page by page, then checks that
  1. SHA-256 of the seed is the seed_hash published before the sale,
  2. SHA-256 of the entrants' ticket ids, sorted, one per line, is entrants_commitment,
  3. sorting the entrants by SHA-256(seed + ":" + entrants_commitment + ":" + ticket_id)
     gives exactly the published order.
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


def fetch(base, event, after):
    query = {"limit": str(PAGE)}
    if after is not None:
        query["after"] = after
    url = "%s/v1/events/%s/draw?%s" % (
        base.rstrip("/"),
        urllib.parse.quote(event, safe=""),
        urllib.parse.urlencode(query),
    )
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def read_record(base, event):
    """The first page's fields and every entrant, following the `next` cursors."""
    first = fetch(base, event, None)
    entrants = list(first.get("entrants") or [])
    page, seen_cursors = first, set()
    while page.get("next") is not None:
        cursor = page["next"]
        if cursor in seen_cursors:
            raise ValueError("the pages loop back to %s" % cursor)
        seen_cursors.add(cursor)
        page = fetch(base, event, cursor)
        entrants.extend(page.get("entrants") or [])
    return first, entrants


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
    if args.ticket:
        wanted = args.ticket.lower()
        if wanted not in order:
            print("NOT AN ENTRANT: ticket %s was not in the pre-queue when it closed" % wanted)
            sys.exit(1)
        print("ticket %s: place %d of %d" % (wanted, order.index(wanted) + 1, len(order)))
    else:
        for place, ticket in enumerate(order, start=1):
            print("%d %s" % (place, ticket))


if __name__ == "__main__":
    main()
