-- update_event: changes the named settings of an existing event, and only those, in one step on
-- the settings in force (mirrors EventChange::apply, src/domain/event_change.rs).
-- KEYS cfg, cfgf, cf, inv, stock, sold, held
-- ARGV[1] now in ms, or '' (unused: every script takes the time first)
-- ARGV[2..] the changed fields: name, the field's JSON, name, JSON, ...
-- Reply: the settings in force after the change (JSON), or nil if there is no such event.
-- Each offered SKU's stock is derived again from its total (refresh_stock); a SKU no longer
-- offered leaves the stock, and keeps its sold and held counts should it come back.

local raw = redis.call('GET', K.cfg)
if not raw then
  return false
end
local old = cjson.decode(raw)
if redis.call('EXISTS', K.cfgf) == 0 then
  -- Settings stored whole, before they were kept field by field: split them once.
  for name, value in pairs(old) do
    redis.call('HSET', K.cfgf, name, cjson.encode(value))
  end
end
local new = write_cfg_fields(ARGV, 2)
for sku in pairs(old.inventory) do
  if new.inventory[sku] == nil then
    redis.call('HDEL', K.stock, sku)
  end
end
for sku in pairs(new.inventory) do
  refresh_stock(sku)
end
return redis.call('GET', K.cfg)
