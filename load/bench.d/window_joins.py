"""Creates event `drop` with a 10-minute opening window, pauses it, and joins N signed-in
shoppers (dev login on; the admin token from WAITROOM_ADMIN_TOKEN).

    python3 load/bench.d/window_joins.py http://127.0.0.1:48123 3000
"""
import datetime, json, os, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
admin = os.environ["WAITROOM_ADMIN_TOKEN"]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r: return json.load(r) if r.length != 0 else None
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
call("POST", "/v1/admin/events", {"id": "drop", "name": "Drop", "starts_at": now, "outflow_per_second": 1, "outflow_burst": 1,
     "admission_ttl_seconds": 120, "inventory": {"SKU-1": 10}, "opening_window_seconds": 600}, admin)
call("PATCH", "/v1/admin/events/drop", {"status": "paused"}, admin)
for i in range(n):
    token = call("POST", "/v1/dev/login", {"user_id": "%08d-0000-4000-8000-000000000000" % i})["access_token"]
    call("POST", "/v1/events/drop/tickets", {}, token)
print("joined", n)
