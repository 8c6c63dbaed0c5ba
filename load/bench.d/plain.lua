-- wrk: the same request every time ($METHOD, default GET), each from a random client address
-- (X-Forwarded-For, believed from loopback), so a limiter keyed by client sees random keys.
-- Prints one JSON line of the run's figures at the end.
local method = os.getenv("METHOD") or "GET"
math.randomseed(os.time())

request = function()
  local address = string.format("%d.%d.%d.%d", math.random(1, 223), math.random(0, 255),
    math.random(0, 255), math.random(1, 254))
  return wrk.format(method, nil, { ["X-Forwarded-For"] = address }, nil)
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"per_second":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
