-- lib/settle.lua: admissions given, and admissions and reservations that end with time.

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

-- Mirrors the memory store's admit (src/store/memory/queueing.rs): the ticket holds an unused
-- admission until now + admission_ttl.
local function admit(c, t, now)
  t.tag = 'a'
  t.adm_at = now
  t.exp = now + c.admission_ttl_seconds * 1000
  t.seen = nil
  put_ticket(t)
  redis.call('ZADD', K.adm, int(t.exp), t.identity)
  note_expiry(t.exp)
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
  -- `adm` holds only unused admissions (a reservation, a leave or a new join takes the identity
  -- out), so every one ended is an expired admission. Its ticket record is left as it is: an
  -- admission past its end reads as expired (ticket_status), so settling touches no ticket
  -- bucket, and the keys it needs are the event's fixed ones.
  local ended = math.min(redis.call('ZCOUNT', K.adm, '-inf', cutoff), budget - settled)
  if ended > 0 then
    redis.call('ZREMRANGEBYRANK', K.adm, 0, ended - 1)
    redis.call('HINCRBY', K.st, 'aexp', ended)
    settled = settled + ended
  end
  return settled
end

-- Settles what time has ended: admissions past their expiry become expired tickets, and
-- reservations past reserved_until expire and return their stock. Both free places under the cap.
-- Nothing is read while the next-expiry marker says nothing can have ended; `nx_raw`, when
-- given, is `st.nx` as the caller read it. At most MOST_SETTLED_PER_CALL are settled; the rest
-- are counted in UNSETTLED (so they hold no place) and left for the next calls, the marker
-- still showing them due.
-- Mirrors EventState::settle (src/store/memory/state.rs), in bounded batches.
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

-- Mirrors EventState::active (src/store/memory/state.rs): unused admissions plus unpaid
-- reservations.
local function active_count()
  return redis.call('ZCARD', K.adm) + redis.call('ZCARD', K.resv) - UNSETTLED.adm - UNSETTLED.resv
end
