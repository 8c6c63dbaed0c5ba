-- wrk: each request joins the queue as a new signed-in shopper.
-- Usage: wrk -t1 -c50 -d10s -s load/wrk/join_users.lua \
--          http://127.0.0.1:8080/v1/events/<event>/tickets -- <token file>
-- The token file holds one user JWT per line (load/wrk/user_tokens.py writes it); every line is
-- used once per run, so a run must not send more requests than the file has lines.
local tokens = {}
local next_token = 0

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. tokens[next_token],
    ["Content-Type"] = "application/json",
  }, "{}")
end
