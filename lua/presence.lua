-- presence: one instance's report on an event's open pages (mirrors src/store/memory/presence.rs):
-- its heartbeat, the shoppers whose socket opened on it (held by it, seen now) and those whose
-- last socket on it closed (released if it holds them, seen now). Only the shoppers named are
-- read, so a report with nothing opened or closed is one SET whatever the number of sockets.
-- KEYS cf, st, hb:<instance>, then the ticket buckets of the identities
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2] the instance id
-- ARGV[3] how many identities opened (n)
-- ARGV[4 .. 3+n] the identities that opened, then those that closed
-- Reply: false when there is no such event, else { held, released }

local now = now_ms(ARGV[1])
local c = load_cfg()
if not c then
  return false
end
local instance = ARGV[2]
-- The heartbeat and seen times are on the presence clock (see presence_now in lib.lua).
local seen = presence_now(now)
-- The key outlives the grace period: a holder's heartbeat must be readable as long as it could
-- keep a shopper in place. The expiry is only housekeeping for instances gone for good.
redis.call('SET', beat_key(instance), int(seen), 'PX', int(c.abandon_after_seconds * 1000 + 3600000))

local opened = tonumber(ARGV[3])
local held, released = 0, 0
for i = 4, 3 + opened do
  local t = get_ticket(ARGV[i])
  if t and t.tag == 'w' then
    t.seen = seen
    t.holder = instance
    put_ticket(t)
    held = held + 1
  end
end
for i = 4 + opened, #ARGV do
  local t = get_ticket(ARGV[i])
  if t and t.tag == 'w' and t.holder == instance then
    t.seen = seen
    t.holder = nil
    put_ticket(t)
    released = released + 1
  end
end
return { held, released }
