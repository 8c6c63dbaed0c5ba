-- join: joins identities to the queue, each in turn, or returns their tickets when waiting or
-- admitted. One call carries the joins an instance collected while its previous call was on the
-- wire (group commit): each join gets exactly what it would get from a call of its own, in the
-- order given, at the same `now`.
-- KEYS the event's fixed keys (see the store's list), inside an arrival window `win` and
--   `wz:<window>` (asked for with WRKEYS when missing), then the ticket bucket of each identity,
--   in the order of the identities
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2k], ARGV[2k+1] (k >= 1) an identity and its new ticket id (16 raw bytes), the id used
--   only if a ticket is created
-- Reply: one reply per join, in order: { 'no_event' } | { 'not_accepting', status } |
--        { 'existing', ticket } | { 'created', ticket }, a ticket as in lib.lua's ticket_reply;
--        or 'draw_pending' for the whole call (nothing changed: the store finishes the draw and
--        calls again); or the error WRKEYS naming the window's keys when they were not given
--        (nothing changed).

local now = now_ms(ARGV[1])
local c = load_cfg()
local replies = {}
if not c then
  for i = 2, #ARGV, 2 do
    replies[#replies + 1] = { 'no_event' }
  end
  return replies
end
-- The window a join falls in depends on `now` alone, the same for every join of the call.
local window = window_keys(c, now)
if window and not (declared(window[1]) and declared(window[2])) then
  return need_keys(window)
end
-- The draw's state cannot change between the joins of one call (they share `now`).
local st = redis.call('HMGET', K.st, 'drawn', 'nx')
local state = draw_state(c, now, st[1])
if state == 'pending' then
  return 'draw_pending'
end
local drawn = state == 'drawn'
settle(now, st[2])

-- What the joins of one call would each read the same, read once: the units left (until
-- settling changes a SKU's stock) and the line's length (which only the joins' own ZADDs change
-- here).
local LEFT, LEFT_AT = nil, nil
local function left_now()
  if LEFT_AT ~= STOCK_CHANGES then
    LEFT, LEFT_AT = units_left(), STOCK_CHANGES
  end
  return LEFT
end

local QUEUED = nil
local function queued_now()
  if QUEUED == nil then
    QUEUED = redis.call('ZCARD', K.q)
  end
  return QUEUED
end

-- The event's join count and highest score handed out (`st.joined`, `st.last`): only joins
-- change them, so a call reads them once (its first created ticket), keeps them here as its
-- joins move them, and writes them once at its end (write_counts; nothing read, nothing moved).
local COUNTS = nil
local function counts_now()
  if COUNTS == nil then
    local v = redis.call('HMGET', K.st, 'last', 'joined')
    COUNTS = { last = tonumber(v[1] or '0'), joined = tonumber(v[2] or '0') }
  end
  return COUNTS
end

local function write_counts()
  if COUNTS then
    redis.call('HSET', K.st, 'joined', int(COUNTS.joined), 'last', int(COUNTS.last))
  end
end

local function enqueue(score, identity)
  local added = redis.call('ZADD', K.q, score, identity)
  if QUEUED ~= nil then
    QUEUED = QUEUED + added
  end
end

local function join_one(identity, tid, bucket)
  -- Settling again costs nothing: the next-expiry marker is cached and ahead of `now`.
  settle(now)
  local seen = presence_once(now)

  local old = get_ticket(identity, bucket)
  if old then
    local status = ticket_status(old, now)
    if status == 'w' then
      old.seen = seen
      put_ticket(old)
    end
    if status == 'w' or status == 'a' then
      return { 'existing', ticket_reply(old, now, drawn) }
    end
  end

  local left = left_now()
  local status = event_status(c, left, now)
  if not accepts_joins(status) then
    return { 'not_accepting', status }
  end

  -- An admission that ran out but that settling left for later calls (MOST_SETTLED_PER_CALL)
  -- is settled now, before its ticket is replaced: `adm` holds only unused admissions.
  if old and old.tag == 'a' and redis.call('ZREM', K.adm, identity) == 1 then
    redis.call('HINCRBY', K.st, 'aexp', 1)
    UNSETTLED.adm = math.max(0, UNSETTLED.adm - 1)
  end
  -- A left or expired ticket is replaced by a new one at the tail.
  local t = new_ticket(identity, tid, now, seen)
  t.bucket = bucket
  local counts = counts_now()
  counts.joined = counts.joined + 1
  local last = counts.last
  if not drawn then
    enqueue(0, identity)
    put_ticket(t)
    return { 'created', ticket_reply(t, now, drawn) }
  end
  local queued = queued_now()
  if c.mode == 'safety_net' and status == 'open' and queued == 0 and free_places(c, left) > 0 then
    counts.last = last + 1
    redis.call('HSET', K.st, 'srv', int(last + 1))
    redis.call('HINCRBY', K.st, 'admitted', 1)
    admit(c, t, now)
    return { 'created', ticket_reply(t, now, drawn) }
  end
  -- Inside an arrival window the score comes from the window's draw (window.lua).
  local windowed, reserved = window_join_score(c, now, t.tid, last)
  if windowed then
    counts.last = reserved
    enqueue(int(windowed), identity)
    put_ticket(t)
    return { 'created', ticket_reply(t, now, true, windowed) }
  end
  -- The tail's score is above every other, so its place is the queue's new length.
  counts.last = last + 1
  enqueue(int(last + 1), identity)
  put_ticket(t)
  local reply = ticket_reply(t, now, false)
  reply[3], reply[4] = queued + 1, last + 1
  return { 'created', reply }
end

for i = 2, #ARGV, 2 do
  replies[#replies + 1] = join_one(ARGV[i], ARGV[i + 1], bucket_at(i / 2))
end
write_counts()
return replies
