-- update_event: replaces an existing event's settings.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' (unused: every script takes the time first)
-- ARGV[2] the new EventConfig as JSON
-- Reply: 1 if replaced, 0 if there is no such event.
-- A changed inventory moves each SKU's stock left by the change of its total, never below zero;
-- a SKU no longer offered leaves the stock.

local raw = redis.call('GET', K.cfg)
if not raw then
  return 0
end
local old = cjson.decode(raw)
local new = store_cfg(ARGV[2])

local function move_stock(sku, delta)
  local left = tonumber(redis.call('HGET', K.stock, sku) or '0') + delta
  redis.call('HSET', K.stock, sku, int(math.max(0, left)))
end

for sku, total in pairs(new.inventory) do
  move_stock(sku, total - (old.inventory[sku] or 0))
end
for sku in pairs(old.inventory) do
  if new.inventory[sku] == nil then
    redis.call('HDEL', K.stock, sku)
  end
end
-- Pre-queue entrants were scored with the old seed: the draw must compute their keys anew.
if new.seed ~= old.seed then
  redis.call('HSET', K.st, 'pstale', '1')
end
return 1
