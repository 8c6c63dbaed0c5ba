-- stats: counters and stock of an event (settles expiries first).
-- KEYS the event's fixed keys (settling's and q)
-- ARGV[1] now in ms, or '' for the Redis server's time
-- Reply: nil when there is no such event, else
--   { queue_length, serving, last_score, drawn, joined, admitted, active, left, abandoned,
--     admissions_expired, orders_reserved, orders_paid, orders_expired,
--     { sku, units_left, ... }, { sku, units_sold, ... }, { sku, units_held, ... } }
-- (sold and held list every SKU offered now, with 0 when none, and any other with a count)

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return false
end
settle(now)

-- Units per SKU: every SKU offered now (0 if none), and any other SKU that has a count.
local function units(key)
  local counts, flat = {}, redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    counts[flat[i]] = flat[i + 1]
  end
  for _, sku in ipairs(redis.call('HKEYS', K.stock)) do
    counts[sku] = counts[sku] or '0'
  end
  local reply = {}
  for sku, n in pairs(counts) do
    reply[#reply + 1] = sku
    reply[#reply + 1] = n
  end
  return reply
end

local st = redis.call('HMGET', K.st, 'srv', 'last', 'drawn', 'joined', 'admitted', 'left', 'aband',
  'aexp', 'ores', 'opaid', 'oexp')
-- A draw still giving places ('c') is not drawn yet.
st[3] = st[3] == '1' and '1' or '0'
local reply = { redis.call('ZCARD', K.q) }
for i = 1, #st do
  reply[#reply + 1] = tonumber(st[i] or '0')
  if i == 5 then
    reply[#reply + 1] = active_count()
  end
end
reply[#reply + 1] = redis.call('HGETALL', K.stock)
reply[#reply + 1] = units(K.sold)
reply[#reply + 1] = units(K.held)
return reply
