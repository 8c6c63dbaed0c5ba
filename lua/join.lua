-- join: joins an identity to the queue, or returns its ticket when waiting or admitted.
-- KEYS[1] event prefix `wr:{<event>}:`
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] identity
-- ARGV[3] the new ticket id (16 raw bytes), used only if a ticket is created
-- Reply: { 'no_event' } | { 'not_accepting', status } | { 'existing', ticket } |
--        { 'created', ticket }, a ticket as in lib.lua's ticket_reply.

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return { 'no_event' }
end
local drawn = draw_if_due(c, now)
settle(now)
local identity = ARGV[2]

local old = get_ticket(identity)
if old then
  local status = ticket_status(old, now)
  if status == 'w' then
    old.seen = now
    put_ticket(old)
  end
  if status == 'w' or status == 'a' then
    return { 'existing', ticket_reply(old, now, drawn) }
  end
end

local left = units_left()
local status = event_status(c, left, now)
if not accepts_joins(status) then
  return { 'not_accepting', status }
end

-- A left or expired ticket is replaced by a new one at the tail.
local t = new_ticket(identity, ARGV[3], now)
t.bucket = bucket_of(identity)
redis.call('HINCRBY', K.st, 'joined', 1)
if not drawn then
  redis.call('ZADD', K.q, lottery_score(c, t.tid), identity)
  put_ticket(t)
elseif c.mode == 'safety_net' and status == 'open' and redis.call('ZCARD', K.q) == 0
    and free_places(c, left) > 0 then
  local score = redis.call('HINCRBY', K.st, 'last', 1)
  redis.call('HSET', K.st, 'srv', int(score))
  redis.call('HINCRBY', K.st, 'admitted', 1)
  admit(c, t, now)
else
  local score = redis.call('HINCRBY', K.st, 'last', 1)
  redis.call('ZADD', K.q, int(score), identity)
  put_ticket(t)
end
return { 'created', ticket_reply(t, now, drawn) }
