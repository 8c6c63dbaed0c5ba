-- lib/stock.lua: units offered, sold and held, and each shopper's purchase limits.

-- Whether this script has made sure the event's totals are in `inv`.
local TOTALS_READY = false

-- An event stored before the totals were kept in `inv` gets them from its settings, once.
local function ensure_totals()
  if TOTALS_READY then
    return
  end
  TOTALS_READY = true
  if redis.call('EXISTS', K.inv) == 1 then
    return
  end
  local raw = redis.call('GET', K.cfg)
  if not raw then
    return
  end
  for sku, total in pairs(cjson.decode(raw).inventory) do
    redis.call('HSET', K.inv, sku, int(total))
  end
end

-- How many times this script has rewritten a SKU's stock (a join's call reads the units left
-- again only after one).
local STOCK_CHANGES = 0

-- Mirrors left_in_stock (src/domain/purchase.rs): an offered SKU's stock is its total less what
-- is sold and held, never below zero; a SKU not offered has no stock field.
local function refresh_stock(sku)
  STOCK_CHANGES = STOCK_CHANGES + 1
  ensure_totals()
  local total = redis.call('HGET', K.inv, sku)
  if not total then
    redis.call('HDEL', K.stock, sku)
    return
  end
  local sold = tonumber(redis.call('HGET', K.sold, sku) or '0')
  local held = tonumber(redis.call('HGET', K.held, sku) or '0')
  redis.call('HSET', K.stock, sku, int(math.max(0, tonumber(total) - sold - held)))
end

-- Moves `qty` units of `sku` into (or, negative, out of) what `identity` has.
local function add_holding(identity, sku, qty)
  redis.call('HINCRBY', K.shp, identity .. '\n' .. sku, qty)
  redis.call('HINCRBY', K.shp, identity .. '\n', qty)
end

-- Mirrors broken_limit (src/domain/purchase.rs): the setting an order of `wanted` (SKU -> units)
-- by `identity` would break, or nil.
local function broken_limit(c, identity, wanted)
  local order_total = 0
  for _, n in pairs(wanted) do
    order_total = order_total + n
    if c.ord_sku and n > c.ord_sku then
      return 'max_units_per_order'
    end
  end
  if c.ord_total and order_total > c.ord_total then
    return 'max_units_per_order'
  end
  if c.shp_total then
    local has = tonumber(redis.call('HGET', K.shp, identity .. '\n') or '0')
    if has + order_total > c.shp_total then
      return 'max_units_per_shopper'
    end
  end
  if c.shp_sku then
    for sku, n in pairs(wanted) do
      local has = tonumber(redis.call('HGET', K.shp, identity .. '\n' .. sku) or '0')
      if has + n > c.shp_sku then
        return 'max_units_per_shopper'
      end
    end
  end
  return nil
end

-- Mirrors EventState::units_left (src/store/memory/state.rs): units left in all SKUs together.
local function units_left()
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', K.stock)) do
    sum = sum + tonumber(v)
  end
  return sum
end
