-- drain: runs the leaky bucket once (mirrors src/queue/bucket.rs and outflow.rs). Any instance
-- may call it at any time, as often as it likes: N instances admit exactly what one would.
-- It drops at most MOST_DROPPED_PER_DRAIN departed shoppers, so it stays short.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time
-- Reply: nil when there is no such event, else
--   { { identity, ticket_id, admitted_at, expires_at, ... }, abandoned, serving, queue_length,
--     status, active, admitted_total, last_score }, or 'draw_pending' (nothing changed: the store
--   finishes the draw and calls again).

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return false
end
if draw_state(c, now) == 'pending' then
  return 'draw_pending'
end
settle(now)
local presence = presence_now(now)
local left = units_left()
local status = event_status(c, left, now)

local admitted, abandoned = {}, 0
local bucket = redis.call('HMGET', K.st, 'tok', 'lt', 'srv', 'ow', 'fr')
local tokens, last = tonumber(bucket[1]), tonumber(bucket[2])
local serving = tonumber(bucket[3] or '0')
local owed = bucket[4] == '1'
-- Mirrors effective_rate in src/queue/backoff.rs: the rate the checkout's health allows, never
-- above the set one.
local rate = c.outflow_milli_per_second
local followed = tonumber(bucket[5] or '')
if followed and followed < rate then
  rate = followed
end

if now < c.starts_at or status ~= 'open' then
  -- No credit accrues while the outflow is stopped: `last` follows the clock.
  if last then
    redis.call('HSET', K.st, 'lt', int(math.max(last, now)))
  end
else
  local capacity = c.outflow_burst * SHOPPER
  if not last then
    tokens, last = capacity, c.starts_at
  end
  -- Mirrors Bucket::at: the credit since the last drain is owed whole to the shoppers that
  -- drain left waiting, and only up to the burst after an idle spell.
  tokens = tokens + rate * math.max(0, now - last)
  if not owed then
    tokens = math.min(capacity, tokens)
  end
  last = math.max(last, now)

  local allowed = math.min(math.floor(tokens / SHOPPER), free_places(c, left))
  local admitted_count = 0
  -- Shoppers held in the open arrival window are not popped: only those at or below its base
  -- are (counted once, not peeked at before every pop).
  local hold = window_hold(c, now)
  local poppable = hold and redis.call('ZCOUNT', K.q, '-inf', int(hold)) or math.huge
  while admitted_count < allowed and abandoned < MOST_DROPPED_PER_DRAIN
    and admitted_count + abandoned < poppable do
    local head = redis.call('ZPOPMIN', K.q)
    if #head == 0 then
      break
    end
    local identity, score = head[1], tonumber(head[2])
    local t = get_ticket(identity)
    if not t then
      return error({ err = 'WRCORRUPT no ticket record for a queued identity' })
    end
    if is_gone(t, presence, c.abandon_after_seconds) then
      t.tag = 'x'
      put_ticket(t)
      abandoned = abandoned + 1
    else
      admit(c, t, now)
      admitted_count = admitted_count + 1
      tokens = tokens - SHOPPER
      serving = math.max(serving, score)
      admitted[#admitted + 1] = identity
      admitted[#admitted + 1] = t.tid
      admitted[#admitted + 1] = t.adm_at
      admitted[#admitted + 1] = t.exp
    end
  end
  -- Mirrors Bucket::after_drain: at most the burst is kept. Credit is owed only to shoppers who
  -- may go through: those held in an open window are not, so it does not pile up for them.
  local waiting
  if hold then
    waiting = admitted_count + abandoned < poppable
  else
    waiting = redis.call('ZCARD', K.q) > 0
  end
  redis.call('HSET', K.st, 'tok', int(math.min(capacity, tokens)), 'lt', int(last),
    'srv', int(serving), 'ow', waiting and '1' or '0')
  if admitted_count > 0 then
    redis.call('HINCRBY', K.st, 'admitted', admitted_count)
  end
  if abandoned > 0 then
    redis.call('HINCRBY', K.st, 'aband', abandoned)
  end
end

local totals = redis.call('HMGET', K.st, 'admitted', 'last')
return { admitted, abandoned, serving, redis.call('ZCARD', K.q), status, active_count(),
  tonumber(totals[1]) or 0, tonumber(totals[2]) or 0 }
