-- drain: runs the leaky bucket once (mirrors src/queue/bucket.rs and outflow.rs). Any instance
-- may call it at any time, as often as it likes: N instances admit exactly what one would.
-- It drops at most MOST_DROPPED_PER_DRAIN departed shoppers, so it stays short.
-- KEYS the event's fixed keys (see the store's list), then the ticket buckets of the shoppers it
--   may pop and the heartbeats of instances that may hold them, as the store guessed them from
--   the previous drain's reply. The drain stops before a shopper whose bucket (or, to judge
--   abandonment, whose holder's heartbeat) it was not given, having popped only shoppers it
--   could judge: a valid drain that admitted fewer, owed the rest (the bucket keeps the credit).
--   It then names what it needs and the store calls again at once with those keys.
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] how many shoppers the calls before this one of the same drain dropped ('' for none):
--   one drain drops at most MOST_DROPPED_PER_DRAIN in all its calls
-- Reply: nil when there is no such event, else
--   { { identity, ticket_id, admitted_at, expires_at, ... }, abandoned, serving, queue_length,
--     status, active, admitted_total, last_score, stopped (1 when it stopped for keys, else 0),
--     { identity, ... } the shoppers now at the head of the queue (whose buckets the next call
--     needs; empty when it did not look), { instance, ... } holders whose heartbeat it needs },
--   or 'draw_pending' (nothing changed: the store finishes the draw and calls again).

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
-- Set when the drain stopped before a shopper whose keys it was not given.
local stopped, holders = false, {}
-- How many shoppers at the head of the queue the reply names (0: none).
local look = 0
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
  local most_dropped = MOST_DROPPED_PER_DRAIN - (tonumber(ARGV[2] or '') or 0)
  while admitted_count < allowed and abandoned < most_dropped
    and admitted_count + abandoned < poppable do
    -- The head is read, judged, and only then popped: a shopper is never taken out of the queue
    -- by a call that cannot write their record.
    local head = redis.call('ZRANGE', K.q, 0, 0, 'WITHSCORES')
    if #head == 0 then
      break
    end
    local identity, score = head[1], tonumber(head[2])
    local name = bucket_name(identity)
    if not declared(name) then
      stopped = true
      break
    end
    local t = get_ticket(identity, K[name])
    if not t then
      return error({ err = 'WRCORRUPT no ticket record for a queued identity' })
    end
    if beat_undeclared(t, presence, c.abandon_after_seconds) then
      stopped = true
      holders[#holders + 1] = t.holder
      break
    end
    redis.call('ZREM', K.q, identity)
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
  -- may go through: those held in an open window are not, so it does not pile up for them. A
  -- call that stopped for keys keeps it all: the call that follows at once spends it.
  local waiting
  if hold then
    waiting = admitted_count + abandoned < poppable
  else
    waiting = redis.call('ZCARD', K.q) > 0
  end
  local kept = stopped and tokens or math.min(capacity, tokens)
  redis.call('HSET', K.st, 'tok', int(kept), 'lt', int(last),
    'srv', int(serving), 'ow', waiting and '1' or '0')
  if admitted_count > 0 then
    redis.call('HINCRBY', K.st, 'admitted', admitted_count)
  end
  if abandoned > 0 then
    redis.call('HINCRBY', K.st, 'aband', abandoned)
  end
  -- The next call's shoppers: twice what this call popped (drains of other instances may pop
  -- some meanwhile), and after a stop twice what is still owed too; at least 64, at most 1,000.
  look = (admitted_count + abandoned) * 2
  if stopped then
    look = look + math.max(0, math.min(allowed, poppable) - admitted_count) * 2
  end
  look = math.min(1000, math.max(64, look))
end

local heads = {}
if look > 0 then
  heads = redis.call('ZRANGE', K.q, 0, look - 1)
end

local totals = redis.call('HMGET', K.st, 'admitted', 'last')
return { admitted, abandoned, serving, redis.call('ZCARD', K.q), status, active_count(),
  tonumber(totals[1]) or 0, tonumber(totals[2]) or 0, stopped and 1 or 0, heads, holders }
