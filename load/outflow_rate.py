#!/usr/bin/env python3
"""Measures the outflow end to end: set rate against what the servers actually admit.

Starts a private redis-server and N waitroom instances on it (the binary given, default
target/debug/waitroom: the outflow's pace does not depend on the build), creates an event with
the given rate and burst, puts more signed-in shoppers in its pre-queue than the window can
admit, and reads the admitted count from the admin API a few seconds after the start and again
`--seconds` later. Prints one line of JSON: set rate, measured rate, admissions in the window
and the floor and ceiling the outflow promises for it (rate x T - (burst + 1), rate x T + burst).

    python3 load/outflow_rate.py --instances 2 --rate 10 --burst 1 --seconds 30
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import jwt


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, token=None, body=None, forwarded=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if forwarded:
        request.add_header("X-Forwarded-For", forwarded)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def wait_ready(url, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if call("GET", url + "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} never became ready")


def admitted(url, admin, event):
    _, detail = call("GET", f"{url}/v1/admin/events/{event}", token=admin)
    return detail["stats"]["admitted"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/debug/waitroom")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="outflow-rate-")
    admin, user_secret = secrets.token_hex(24), secrets.token_hex(32)
    redis_port = free_port()
    processes = [subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--dir", work], stdout=subprocess.DEVNULL)]
    urls = []
    try:
        time.sleep(0.5)
        for i in range(args.instances):
            port = free_port()
            env = dict(os.environ,
                       WAITROOM_LISTEN=f"127.0.0.1:{port}",
                       WAITROOM_REDIS_URL=f"redis://127.0.0.1:{redis_port}/",
                       WAITROOM_ADMIN_TOKEN=admin,
                       WAITROOM_USER_JWT_SECRET=user_secret,
                       WAITROOM_TRUSTED_PROXIES="127.0.0.0/8")
            log = open(os.path.join(work, f"waitroom-{i}.log"), "w")
            processes.append(subprocess.Popen([args.binary, "serve"], env=env,
                                              stdout=log, stderr=log))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_ready(url)

        shoppers = int(args.rate * (args.seconds + 10)) + 50
        starts = time.time() + 10 + shoppers / 200
        event = f"outflow-{secrets.token_hex(3)}"
        call("POST", urls[0] + "/v1/admin/events", token=admin, body={
            "id": event, "name": "outflow rate",
            "starts_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(starts)) + "Z",
            "outflow_per_second": args.rate, "outflow_burst": args.burst,
            "admission_ttl_seconds": 600, "abandon_after_seconds": 3600,
            "inventory": {"sku-1": 1_000_000},
        })
        for n in range(shoppers):
            token = jwt.encode({"sub": f"shopper-{n}", "exp": int(time.time()) + 3600},
                               user_secret, algorithm="HS256")
            forwarded = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            call("POST", f"{urls[n % len(urls)]}/v1/events/{event}/tickets", token=token,
                 body={}, forwarded=forwarded)
        time.sleep(max(0.0, starts + 3 - time.time()))
        first, at_first = admitted(urls[0], admin, event), time.monotonic()
        time.sleep(args.seconds)
        last, at_last = admitted(urls[0], admin, event), time.monotonic()
        span = at_last - at_first
        within = last - first
        print(json.dumps({
            "instances": args.instances, "set_per_second": args.rate, "burst": args.burst,
            "window_seconds": round(span, 2), "admitted_in_window": within,
            "actual_per_second": round(within / span, 3),
            "floor": round(args.rate * span - (args.burst + 1), 1),
            "ceiling": round(args.rate * span + args.burst, 1),
            "shoppers": shoppers,
        }))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


if __name__ == "__main__":
    main()
