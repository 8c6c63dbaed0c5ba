-- stats: counters and stock of an event (settles expiries first).
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time
-- Reply: nil when there is no such event, else
--   { queue_length, serving, last_score, drawn, joined, admitted, active, left, abandoned,
--     admissions_expired, orders_reserved, orders_paid, orders_expired,
--     { sku, units_left, ... }, { sku, units_sold, ... }, { sku, units_held, ... } }

local now = now_ms(ARGV[1])
if redis.call('EXISTS', K.cfg) == 0 then
  return false
end
settle(now)
local st = redis.call('HMGET', K.st, 'srv', 'last', 'drawn', 'joined', 'admitted', 'left', 'aband',
  'aexp', 'ores', 'opaid', 'oexp')
local reply = { redis.call('ZCARD', K.q) }
for i = 1, #st do
  reply[#reply + 1] = tonumber(st[i] or '0')
  if i == 5 then
    reply[#reply + 1] = active_count()
  end
end
reply[#reply + 1] = redis.call('HGETALL', K.stock)
reply[#reply + 1] = redis.call('HGETALL', K.sold)
reply[#reply + 1] = redis.call('HGETALL', K.held)
return reply
