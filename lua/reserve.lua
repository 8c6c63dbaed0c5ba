-- reserve: consumes an admission and reserves stock, all or nothing.
-- KEYS the event's fixed keys (settling's and ordt), then the identity's ticket bucket
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] identity
-- ARGV[3] the admission's ticket id (16 raw bytes)
-- ARGV[4] the new order's id (hyphenated text)
-- ARGV[5] '1' if an idempotency key follows in ARGV[6], else '0' (ARGV[6] is then '')
-- ARGV[7..] SKU, quantity, SKU, quantity, ...
-- Reply: { 'reserved', order_json } | { 'replayed', order_json } | { 'existing', order_json } |
--        { 'not_admitted' } | { 'admission_used' } | { 'closed' } |
--        { 'purchase_limit', setting } | { 'sold_out', sku } | { 'unknown_sku', sku } |
--        { 'no_event' }
-- order_json: { o order id, i identity, t ticket id, s status, it 'sku:qty,...',
--               ru reserved_until, c created_at, k idempotency key (absent when none) }
-- Checks in order (mirrors EventState::reserve, src/store/memory/checkout.rs): an order already
-- made with this admission (replayed when the idempotency key matches, the same order when the
-- retry has no key, else the admission is used), the event not closed, a valid admission, SKUs
-- the event sells, the purchase limits, stock.

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return { 'no_event' }
end
settle(now)
local identity, tid, order_id = ARGV[2], ARGV[3], ARGV[4]
local key = nil
if ARGV[5] == '1' then
  key = ARGV[6]
end

local prior = redis.call('HGET', K.ordt, tid)
if prior then
  settle_order(prior, now)
  local raw = redis.call('HGET', K.ord, prior)
  local o = raw and cjson.decode(raw)
  if not o or o.i ~= identity then
    return { 'not_admitted' }
  end
  if key == nil then
    return { 'existing', raw }
  end
  if o.k == key then
    return { 'replayed', raw }
  end
  return { 'admission_used' }
end

if c.operator_status == 'closed' then
  return { 'closed' }
end

local t = get_ticket(identity)
if not t or t.tid ~= tid or ticket_status(t, now) ~= 'a' then
  return { 'not_admitted' }
end
if t.order then
  return { 'admission_used' }
end

-- A SKU listed twice counts twice against the stock.
local wanted, items = {}, {}
for i = 7, #ARGV, 2 do
  local sku, qty = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('HEXISTS', K.stock, sku) == 0 then
    return { 'unknown_sku', sku }
  end
  wanted[sku] = (wanted[sku] or 0) + qty
  items[#items + 1] = sku .. ':' .. int(qty)
end
local limit = broken_limit(c, identity, wanted)
if limit then
  return { 'purchase_limit', limit }
end
for i = 7, #ARGV, 2 do
  local sku = ARGV[i]
  if tonumber(redis.call('HGET', K.stock, sku) or '0') < wanted[sku] then
    return { 'sold_out', sku }
  end
end
for i = 7, #ARGV, 2 do
  redis.call('HINCRBY', K.held, ARGV[i], ARGV[i + 1])
  add_holding(identity, ARGV[i], tonumber(ARGV[i + 1]))
  refresh_stock(ARGV[i])
end

local order = {
  o = order_id,
  i = identity,
  t = uuid_text(tid),
  s = 'reserved',
  it = table.concat(items, ','),
  ru = now + c.reservation_ttl_seconds * 1000,
  c = now,
  k = key,
}
local raw = cjson.encode(order)
redis.call('HSET', K.ord, order_id, raw)
redis.call('HSET', K.ordt, tid, order_id)
redis.call('ZADD', K.resv, int(order.ru), order_id)
note_expiry(order.ru)
redis.call('ZREM', K.adm, identity)
t.order = order_id
put_ticket(t)
redis.call('HINCRBY', K.st, 'ores', 1)
return { 'reserved', raw }
