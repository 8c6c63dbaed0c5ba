-- pay: pays a reserved order of an identity.
-- KEYS the event's fixed keys settling touches
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] identity
-- ARGV[3] order id (hyphenated text)
-- Reply: { 'paid', order_json } | { 'already_paid', order_json } | { 'expired', order_json } |
--        { 'not_found' } (order_json as in reserve.lua)

local now = now_ms(ARGV[1])
if redis.call('EXISTS', K.cfg) == 0 then
  return { 'not_found' }
end
settle(now)
settle_order(ARGV[3], now)
local raw = redis.call('HGET', K.ord, ARGV[3])
if not raw then
  return { 'not_found' }
end
local o = cjson.decode(raw)
if o.i ~= ARGV[2] then
  return { 'not_found' }
end
if o.s == 'paid' then
  return { 'already_paid', raw }
end
if o.s == 'expired' then
  return { 'expired', raw }
end
o.s = 'paid'
for sku, qty in each_item(o.it) do
  redis.call('HINCRBY', K.held, sku, '-' .. qty)
  redis.call('HINCRBY', K.sold, sku, qty)
end
raw = cjson.encode(o)
redis.call('HSET', K.ord, ARGV[3], raw)
redis.call('ZREM', K.resv, ARGV[3])
redis.call('HINCRBY', K.st, 'opaid', 1)
return { 'paid', raw }
