-- lib/settings.lua: the event's settings as the scripts read and write them.

-- The settings the scripts use, as a flat hash written with the JSON (decoding the JSON on
-- every call would cost as much as the rest of a join).
local SETTINGS = {
  'starts_at', 'prequeue_opens', 'outflow_milli_per_second', 'outflow_burst', 'max_active',
  'cap_follows_stock', 'admission_ttl_seconds', 'reservation_ttl_seconds', 'mode',
  'abandon_after_seconds', 'operator_status', 'seed', 'skus',
  'ord_total', 'ord_sku', 'shp_total', 'shp_sku',
  'win_open', 'win_every', 'win_seed',
}

-- The event's settings (numbers as numbers, max_active nil when unset), or nil.
local function load_cfg()
  local v = redis.call('HMGET', K.cf, unpack(SETTINGS))
  if not v[1] then
    return nil
  end
  return {
    starts_at = tonumber(v[1]),
    prequeue_opens = tonumber(v[2]),
    outflow_milli_per_second = tonumber(v[3]),
    outflow_burst = tonumber(v[4]),
    max_active = tonumber(v[5]),
    cap_follows_stock = v[6] == '1',
    admission_ttl_seconds = tonumber(v[7]),
    reservation_ttl_seconds = tonumber(v[8]),
    mode = v[9],
    abandon_after_seconds = tonumber(v[10]),
    operator_status = v[11],
    seed = v[12],
    skus = tonumber(v[13]),
    ord_total = tonumber(v[14] or ''),
    ord_sku = tonumber(v[15] or ''),
    shp_total = tonumber(v[16] or ''),
    shp_sku = tonumber(v[17] or ''),
    -- Arrival windows (window.lua); absent in settings written before they existed: off.
    win_open = tonumber(v[18] or '0') or 0,
    win_every = tonumber(v[19] or '0') or 0,
    win_seed = v[20] or '',
  }
end

-- One part of a purchase limit ({ total, per_sku }) as stored in cf: '' when there is none.
local function limit_part(limit, part)
  if limit == nil or limit == cjson.null or limit[part] == nil or limit[part] == cjson.null then
    return ''
  end
  return int(limit[part])
end

-- Stores an EventConfig: the JSON as given (what Rust reads back) and the settings hash.
-- Returns the decoded config.
local function store_cfg(json)
  local c = cjson.decode(json)
  local skus = 0
  for _ in pairs(c.inventory) do
    skus = skus + 1
  end
  local opens = c.prequeue_opens_at
  if opens == cjson.null then
    opens = c.created_at
  end
  local max_active = ''
  if c.max_active ~= cjson.null then
    max_active = int(c.max_active)
  end
  redis.call('SET', K.cfg, json)
  redis.call('HSET', K.cf,
    'starts_at', int(c.starts_at),
    'prequeue_opens', int(opens),
    'outflow_milli_per_second', int(c.outflow_milli_per_second),
    'outflow_burst', int(c.outflow_burst),
    'max_active', max_active,
    'cap_follows_stock', c.cap_follows_stock and '1' or '0',
    'admission_ttl_seconds', int(c.admission_ttl_seconds),
    'reservation_ttl_seconds', int(c.reservation_ttl_seconds),
    'mode', c.mode,
    'abandon_after_seconds', int(c.abandon_after_seconds),
    'operator_status', c.operator_status,
    'seed', c.seed,
    'skus', int(skus),
    'ord_total', limit_part(c.max_units_per_order, 'total'),
    'ord_sku', limit_part(c.max_units_per_order, 'per_sku'),
    'shp_total', limit_part(c.max_units_per_shopper, 'total'),
    'shp_sku', limit_part(c.max_units_per_shopper, 'per_sku'))
  local w = c.arrival_windows
  if w == nil or w == cjson.null then
    w = { opening_seconds = 0, every_seconds = 0, seed = '' }
  end
  redis.call('HSET', K.cf, 'win_open', int(w.opening_seconds), 'win_every', int(w.every_seconds),
    'win_seed', w.seed)
  redis.call('DEL', K.inv)
  for sku, total in pairs(c.inventory) do
    redis.call('HSET', K.inv, sku, int(total))
  end
  return c
end

-- Writes the settings fields given as name, JSON, name, JSON, ... from args[from] on, over the
-- ones kept, and stores the settings they make up. Returns the decoded config.
local function write_cfg_fields(args, from)
  local pairs_ = {}
  for i = from, #args do
    pairs_[#pairs_ + 1] = args[i]
  end
  if #pairs_ > 0 then
    redis.call('HSET', K.cfgf, unpack(pairs_))
  end
  local flat = redis.call('HGETALL', K.cfgf)
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
  end
  return store_cfg('{' .. table.concat(parts, ',') .. '}')
end
