-- order: an order as it stands now, whoever owns it (settles expiries first).
-- KEYS the event's fixed keys settling touches
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] order id (hyphenated text)
-- Reply: the order's JSON (as in reserve.lua), or nil when there is no such event or order.

local now = now_ms(ARGV[1])
if redis.call('EXISTS', K.cfg) == 0 then
  return false
end
settle(now)
settle_order(ARGV[2], now)
return redis.call('HGET', K.ord, ARGV[2])
