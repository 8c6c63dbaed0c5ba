#!/bin/sh
# Creates an open event for a load run: bench_setup.sh BASE_URL ADMIN_TOKEN EVENT_ID
# (starts a minute ago, slow outflow, so every join of the run waits at the tail; nobody is
# dropped as absent, so no drain of an earlier run pops a whole queue during a later one).
set -eu
base=$1 admin=$2 event=$3
curl -fsS -o /dev/null -X POST "$base/v1/admin/events" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"id\":\"$event\",\"name\":\"Load run\",\"starts_at\":\"$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)\",
       \"outflow_per_second\":1,\"outflow_burst\":1,\"admission_ttl_seconds\":300,
       \"allow_anonymous\":true,\"inventory\":{\"tee\":1000},\"mode\":\"queue\",\"abandon_after_seconds\":86400}"
