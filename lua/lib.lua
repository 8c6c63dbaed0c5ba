-- lib.lua: shared by every script of the Redis store; prepended to each at compile time.
--
-- Each function mirrors one in Rust (src/domain/event.rs, src/queue/*.rs), so the Redis store
-- and the memory store compute the same thing; the conformance suite proves it.
--
-- KEYS[1] of every script is the event's key prefix `wr:{<event>}:`: all keys of one event share
-- the hash tag and live in one slot (one Redis Cluster node), which is what lets a script touch
-- keys it computes (the ticket buckets) besides the ones it is given.
--
--   cfg            string  the EventConfig as JSON, assembled from cfgf (read back by Rust)
--   cfgf           hash    field name -> that field's JSON as Rust wrote it: a change rewrites
--                          only the fields it names, and numbers never pass through Lua
--   cf             hash    the settings the scripts use (see load_cfg), written with cfg
--   inv            hash    SKU -> total units offered, written with cfg
--   st             hash    state: last (highest score handed out), srv (serving number), drawn
--                          ('0' open, 'c' closed with places pending, '1' drawn), and once
--                          closed cmt (the entrants' commitment), dseed (the seed the draw
--                          used) and dplaced (places given so far),
--                          tok/lt/ow (bucket tokens in millionths of a shopper, its last time, and
--                          '1' when the last drain left shoppers waiting),
--                          nx (no admission or reservation ends before this ms; 'none' when
--                          none is pending; absent in state written before it existed: unknown),
--                          pm/px (the presence clock: when presence was last recorded or the queue
--                          drained, in ms, and the ms of silence left out so far; absent: none yet),
--                          fr/fat (the outflow in force while it follows the checkout's health,
--                          thousandths of a shopper per second, '' for the set rate, and when it
--                          last changed, in ms; absent: never changed),
--                          wi/wb (the latest arrival window entered and the score below its
--                          range, see window.lua),
--                          and the counters joined, admitted, left, aband, aexp, ores, opaid, oexp
--   win            hash    arrival window number -> its entrants so far (window.lua)
--   wz:<window>    zset    that window's entrants: ticket id (16 bytes) by slot (window.lua)
--   q              zset    waiting identities by score (before the draw, pre-queue entrants
--                          all have score 0; see draw_state)
--   dord           zset    the entrants' ticket ids (hyphenated lowercase text) by place: the
--                          published draw order
--   tk:<hhhh>      hash    identity -> compact ticket record, in 65,536 buckets by the first four
--                          hex digits of SHA-1(identity), so each bucket stays a small listpack
--   adm            zset    identities holding an unused admission, by expiry (ms)
--   resv           zset    unpaid order ids by reserved_until (ms)
--   ord            hash    order id -> order JSON
--   ordt           hash    ticket id (16 raw bytes) -> the order made with that admission
--   stock          hash    SKU -> units left, always total - sold - held (never below zero; see
--                          refresh_stock); its fields are exactly the SKUs offered now
--   sold/held      hash    SKU -> units paid for / held by unpaid reservations (once any)
--   cl:<name>      hash    the identities holding a claim (a spent proof of work, an invitation's
--                          users) as fields, and '#until', its end
--   shp            hash    identity "\n" SKU -> units the shopper has in paid and unpaid orders,
--                          and identity "\n" -> the same in all SKUs (purchase limits)
--   hb:<instance>  string  the instance's latest heartbeat (ms), written by presence; it expires
--                          an hour past the grace period after the instance's last report

local PREFIX = KEYS[1]
local K = {
  cfg = PREFIX .. 'cfg',
  cfgf = PREFIX .. 'cfgf',
  inv = PREFIX .. 'inv',
  shp = PREFIX .. 'shp',
  cf = PREFIX .. 'cf',
  st = PREFIX .. 'st',
  q = PREFIX .. 'q',
  dord = PREFIX .. 'dord',
  adm = PREFIX .. 'adm',
  resv = PREFIX .. 'resv',
  ord = PREFIX .. 'ord',
  ordt = PREFIX .. 'ordt',
  stock = PREFIX .. 'stock',
  sold = PREFIX .. 'sold',
  held = PREFIX .. 'held',
}

-- One shopper in bucket tokens (millionths of a shopper).
local SHOPPER = 1000000

-- Mirrors MOST_DROPPED_PER_DRAIN (src/queue/outflow.rs).
local MOST_DROPPED_PER_DRAIN = 500

-- Mirrors PRESENCE_GAP_MS (src/queue/outflow.rs).
local PRESENCE_GAP_MS = 5000

-- The most ended admissions and reservations one call settles: at about 36 µs each on a busy
-- machine, 100,000 admissions ending at once held Redis for 3.6 s in one call. What is left
-- is settled by the next calls (every script of the event settles first).
local MOST_SETTLED_PER_CALL = 500

-- Ended admissions and reservations this call left for the next ones: they hold no place
-- under the cap any more, though they are still in `adm` and `resv`.
local UNSETTLED = { adm = 0, resv = 0 }

-- Integers are written with %d: Lua's default number formatting would round or use exponents.
local function int(x)
  return string.format('%d', x)
end

-- The time in ms: the injected clock's (ARGV[1]) when given, else the Redis server's, so that
-- every instance reads one clock.
local function now_ms(arg)
  if arg ~= nil and arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

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

-- Mirrors left_in_stock (src/domain/purchase.rs): an offered SKU's stock is its total less what
-- is sold and held, never below zero; a SKU not offered has no stock field.
local function refresh_stock(sku)
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

-- Units left in all SKUs together.
local function units_left()
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', K.stock)) do
    sum = sum + tonumber(v)
  end
  return sum
end

-- Mirrors event_status (src/domain/event.rs).
local function event_status(c, left, now)
  if c.operator_status == 'closed' then
    return 'closed'
  end
  if c.skus > 0 and left == 0 then
    return 'sold_out'
  end
  if now < c.prequeue_opens then
    return 'scheduled'
  end
  if now < c.starts_at then
    return 'prequeue'
  end
  if c.operator_status == 'paused' then
    return 'paused'
  end
  return 'open'
end

local function accepts_joins(status)
  return status == 'prequeue' or status == 'open' or status == 'paused'
end

-- Mirrors Room::free_places (src/queue/outflow.rs); math.huge when nothing limits it.
local function free_places(c, left)
  local unused = redis.call('ZCARD', K.adm) - UNSETTLED.adm
  local free = math.huge
  if c.max_active then
    local active = unused + redis.call('ZCARD', K.resv) - UNSETTLED.resv
    free = math.max(0, c.max_active - active)
  end
  if c.cap_follows_stock then
    -- Mirrors units_kept_per_admission (src/domain/purchase.rs).
    local each = math.max(1, math.min(c.ord_total or math.huge, c.shp_total or math.huge))
    if each == math.huge then
      each = 1
    end
    free = math.min(free, math.max(0, math.floor(left / each) - unused))
  end
  return free
end

-- Mirrors is_abandoned (src/queue/outflow.rs): zero turns abandonment off.
local function is_abandoned(seen, now, abandon_after_seconds)
  return abandon_after_seconds > 0 and now - seen >= abandon_after_seconds * 1000
end

-- Ticket records. A compact binary string, no JSON, to keep a waiting shopper small:
--   tag(1) ticket_id(16 raw bytes) joined_at(6, little endian ms) and then either
--   seen(6) [holder]                          (never admitted: 29 bytes, more while held)
--   admitted_at(6) expires_at(6) [order id]   (admitted: 35 bytes, more once used)
-- tags: w waiting, a admitted, x expired (admission ran out or place abandoned), l left.
-- An admitted record with an order id has used its admission. The holder (the instance id
-- holding the shopper's open socket, see presence.lua) is kept only while waiting, so a record
-- of any other tag is 29 bytes exactly when it was never admitted.
local function bucket_of(identity)
  return PREFIX .. 'tk:' .. string.sub(redis.sha1hex(identity), 1, 4)
end

local function get_ticket(identity, bucket)
  bucket = bucket or bucket_of(identity)
  local raw = redis.call('HGET', bucket, identity)
  if not raw then
    return nil
  end
  local t = {
    identity = identity,
    bucket = bucket,
    tag = string.sub(raw, 1, 1),
    tid = string.sub(raw, 2, 17),
    joined = struct.unpack('<I6', raw, 18),
  }
  if t.tag == 'w' or #raw == 29 then
    t.seen = struct.unpack('<I6', raw, 24)
    if #raw > 29 then
      t.holder = string.sub(raw, 30)
    end
  else
    t.adm_at = struct.unpack('<I6', raw, 24)
    t.exp = struct.unpack('<I6', raw, 30)
    if #raw > 35 then
      t.order = string.sub(raw, 36)
    end
  end
  return t
end

local function put_ticket(t)
  local raw = t.tag .. t.tid .. struct.pack('<I6', t.joined)
  if t.adm_at then
    raw = raw .. struct.pack('<I6I6', t.adm_at, t.exp) .. (t.order or '')
  else
    raw = raw .. struct.pack('<I6', t.seen or 0)
    if t.tag == 'w' and t.holder then
      raw = raw .. t.holder
    end
  end
  redis.call('HSET', t.bucket or bucket_of(t.identity), t.identity, raw)
end

-- Mirrors PresenceClock::at and reading (src/queue/outflow.rs): moves the event's presence clock
-- to `now` (a silence of the whole store beyond PRESENCE_GAP_MS is left out) and reads it. Seen
-- times and heartbeats are kept on this clock, so our outage is not the shoppers' absence.
local function presence_now(now)
  local clock = redis.call('HMGET', K.st, 'pm', 'px')
  local mark, excluded = tonumber(clock[1]), tonumber(clock[2] or '0')
  if mark then
    excluded = excluded + math.max(0, now - mark - PRESENCE_GAP_MS)
    mark = math.max(mark, now)
  else
    mark = now
  end
  redis.call('HSET', K.st, 'pm', int(mark), 'px', int(excluded))
  return now - excluded
end

-- Heartbeats of the instances holding shoppers, as this script has read them (ms; 0: none).
local BEATS = {}

local function beat_key(instance)
  return PREFIX .. 'hb:' .. instance
end

-- Mirrors last_seen (src/queue/outflow.rs): the later of the shopper's own seen time and their
-- holder's latest heartbeat.
local function last_seen(t)
  local seen = t.seen or t.joined
  if t.holder then
    local beat = BEATS[t.holder]
    if beat == nil then
      beat = tonumber(redis.call('GET', beat_key(t.holder)) or '0')
      BEATS[t.holder] = beat
    end
    seen = math.max(seen, beat)
  end
  return seen
end

-- Whether a waiting shopper has lost the place: the heartbeat is read only when the shopper's own
-- seen time is too old.
local function is_gone(t, now, abandon_after_seconds)
  return is_abandoned(t.seen or t.joined, now, abandon_after_seconds)
    and is_abandoned(last_seen(t), now, abandon_after_seconds)
end

-- A new ticket record, waiting and seen now (`seen` on the presence clock).
local function new_ticket(identity, tid, now, seen)
  return { identity = identity, tag = 'w', tid = tid, joined = now, seen = seen }
end

-- 'w' waiting, 'a' admitted, 'x' expired, 'l' left, as the ticket stands at `now`.
local function ticket_status(t, now)
  if t.tag == 'a' and not t.order and t.exp <= now then
    return 'x'
  end
  return t.tag
end

-- The reply for a ticket: { ticket_id, status, position, score, joined_at, admitted_at,
-- expires_at, used }; position and score only while waiting after the draw (false is nil).
-- `score` may be given when the caller knows it.
local function ticket_reply(t, now, drawn, score)
  local status = ticket_status(t, now)
  local position = false
  if status == 'w' and drawn then
    position = redis.call('ZRANK', K.q, t.identity) + 1
    score = score or tonumber(redis.call('ZSCORE', K.q, t.identity))
  else
    score = false
  end
  return {
    t.tid, status, position, score, t.joined, t.adm_at or false, t.exp or false,
    t.order and 1 or 0,
  }
end

-- The next-expiry marker `st.nx`: a lower bound of every score in `adm` and `resv`, so that
-- settling, which every script does first, costs nothing while nothing can have ended.
-- NEXT_EXPIRY caches the marker's raw value once this script has read it.
local NEXT_EXPIRY = nil

local function next_expiry_raw()
  if NEXT_EXPIRY == nil then
    NEXT_EXPIRY = redis.call('HGET', K.st, 'nx') or false
  end
  return NEXT_EXPIRY
end

-- Whether an admission or reservation may have ended by `now` (an absent marker: maybe).
local function may_have_ended(raw, now)
  if raw == 'none' then
    return false
  end
  local at = tonumber(raw)
  return at == nil or at <= now
end

-- To be called with the end of every admission or reservation added.
local function note_expiry(at)
  local raw = next_expiry_raw()
  if raw == 'none' or (tonumber(raw) ~= nil and at < tonumber(raw)) then
    NEXT_EXPIRY = int(at)
    redis.call('HSET', K.st, 'nx', NEXT_EXPIRY)
  end
end

-- Sets the marker to the earliest end still pending, after settling.
local function reset_next_expiry()
  local a = redis.call('ZRANGE', K.adm, 0, 0, 'WITHSCORES')
  local r = redis.call('ZRANGE', K.resv, 0, 0, 'WITHSCORES')
  local at = nil
  if a[2] then
    at = tonumber(a[2])
  end
  if r[2] and (at == nil or tonumber(r[2]) < at) then
    at = tonumber(r[2])
  end
  NEXT_EXPIRY = at and int(at) or 'none'
  redis.call('HSET', K.st, 'nx', NEXT_EXPIRY)
end

-- Admits a ticket now: it holds an unused admission until now + admission_ttl.
local function admit(c, t, now)
  t.tag = 'a'
  t.adm_at = now
  t.exp = now + c.admission_ttl_seconds * 1000
  t.seen = nil
  put_ticket(t)
  redis.call('ZADD', K.adm, int(t.exp), t.identity)
  note_expiry(t.exp)
end

-- The ticket id as hyphenated lowercase text (the lottery key and orders use it).
local function uuid_text(b)
  local h = string.format(string.rep('%02x', 16), string.byte(b, 1, 16))
  return string.sub(h, 1, 8) .. '-' .. string.sub(h, 9, 12) .. '-' .. string.sub(h, 13, 16)
    .. '-' .. string.sub(h, 17, 20) .. '-' .. string.sub(h, 21, 32)
end

-- The draw (mirrors draw_order, src/queue/draw.rs). Its keys are SHA-256 hashes over the
-- whole entrant set, which a script cannot compute for a large pre-queue in a short call (nor
-- at all: Redis's Lua has no SHA-256). So the scripts only close the pre-queue; the store then
-- reads the entrants (draw_entrants.lua), computes the commitment and the order in Rust, and
-- gives the places in batches (draw_place.lua), each a short script call.
--
-- While the draw is pending (`st.drawn` is 'c') every script that reads or changes the queue
-- answers 'draw_pending' and changes nothing, so the entrant set stays as it was at the close;
-- the store finishes the draw and runs the script again.

-- The draw's state: 'open' (before the start), 'pending' (closed, places being given) or
-- 'drawn'. At or after the start it closes the pre-queue. `drawn_flag`, when given, is
-- `st.drawn` as the caller read it.
local function draw_state(c, now, drawn_flag)
  if drawn_flag == nil then
    drawn_flag = redis.call('HGET', K.st, 'drawn')
  end
  if drawn_flag == '1' then
    return 'drawn'
  end
  if drawn_flag == 'c' then
    return 'pending'
  end
  if now < c.starts_at then
    return 'open'
  end
  redis.call('HSET', K.st, 'drawn', 'c')
  return 'pending'
end

-- Order items are stored as 'sku:qty,sku:qty' (SKUs hold neither ':' nor ',').
local function each_item(items)
  return string.gmatch(items, '([^:,]+):(%d+)')
end

-- Expires a reservation whose time ran out: its stock returns.
local function expire_order(id, o)
  o.s = 'expired'
  for sku, qty in each_item(o.it) do
    redis.call('HINCRBY', K.held, sku, '-' .. qty)
    add_holding(o.i, sku, -tonumber(qty))
    refresh_stock(sku)
  end
  redis.call('HSET', K.ord, id, cjson.encode(o))
end

-- Settles the ended reservations first (they return stock), then the ended admissions, at most
-- `budget` in all, the earliest ended first; the number settled.
local function settle_batch(cutoff, budget)
  local settled = 0
  local due = redis.call('ZRANGEBYSCORE', K.resv, '-inf', cutoff, 'LIMIT', 0, budget)
  if #due > 0 then
    local expired = 0
    for _, id in ipairs(due) do
      local raw = redis.call('HGET', K.ord, id)
      local o = raw and cjson.decode(raw)
      if o and o.s == 'reserved' then
        expire_order(id, o)
        expired = expired + 1
      end
    end
    -- The earliest ended are the lowest ranks.
    redis.call('ZREMRANGEBYRANK', K.resv, 0, #due - 1)
    redis.call('HINCRBY', K.st, 'oexp', expired)
    settled = #due
  end
  if settled >= budget then
    return settled
  end
  local ended = redis.call('ZRANGEBYSCORE', K.adm, '-inf', cutoff, 'LIMIT', 0, budget - settled)
  if #ended > 0 then
    local expired = 0
    for _, identity in ipairs(ended) do
      local t = get_ticket(identity)
      if t and t.tag == 'a' and not t.order then
        t.tag = 'x'
        put_ticket(t)
        expired = expired + 1
      end
    end
    redis.call('ZREMRANGEBYRANK', K.adm, 0, #ended - 1)
    redis.call('HINCRBY', K.st, 'aexp', expired)
    settled = settled + #ended
  end
  return settled
end

-- Settles what time has ended: admissions past their expiry become expired tickets, and
-- reservations past reserved_until expire and return their stock. Both free places under the cap.
-- Nothing is read while the next-expiry marker says nothing can have ended; `nx_raw`, when
-- given, is `st.nx` as the caller read it. At most MOST_SETTLED_PER_CALL are settled; the rest
-- are counted in UNSETTLED (so they hold no place) and left for the next calls, the marker
-- still showing them due.
local function settle(now, nx_raw)
  if nx_raw ~= nil then
    NEXT_EXPIRY = nx_raw or false
  end
  if not may_have_ended(next_expiry_raw(), now) then
    return
  end
  local cutoff = int(now)
  if settle_batch(cutoff, MOST_SETTLED_PER_CALL) >= MOST_SETTLED_PER_CALL then
    UNSETTLED.resv = redis.call('ZCOUNT', K.resv, '-inf', cutoff)
    UNSETTLED.adm = redis.call('ZCOUNT', K.adm, '-inf', cutoff)
  end
  reset_next_expiry()
end

-- Settles one reservation now if its time ran out, whatever settle left for later calls: an
-- order is never paid or shown reserved past its reserved_until.
local function settle_order(id, now)
  local until_ms = redis.call('ZSCORE', K.resv, id)
  if not until_ms or tonumber(until_ms) > now then
    return
  end
  local raw = redis.call('HGET', K.ord, id)
  local o = raw and cjson.decode(raw)
  if o and o.s == 'reserved' then
    expire_order(id, o)
    redis.call('HINCRBY', K.st, 'oexp', 1)
  end
  redis.call('ZREM', K.resv, id)
  UNSETTLED.resv = math.max(0, UNSETTLED.resv - 1)
end

-- Unused admissions plus unpaid reservations.
local function active_count()
  return redis.call('ZCARD', K.adm) + redis.call('ZCARD', K.resv) - UNSETTLED.adm - UNSETTLED.resv
end
