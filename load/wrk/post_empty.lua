-- wrk: the same request shape as a join (POST, a bearer header, a `{}` body) for the bare route.
-- Usage: wrk -t1 -c50 -d10s -s load/wrk/post_empty.lua http://127.0.0.1:8090/
function request()
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer x",
    ["Content-Type"] = "application/json",
  }, "{}")
end
