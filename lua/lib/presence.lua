-- lib/presence.lua: when a waiting shopper's page was last seen, and who has gone.

-- Mirrors is_abandoned (src/queue/outflow.rs): zero turns abandonment off.
local function is_abandoned(seen, now, abandon_after_seconds)
  return abandon_after_seconds > 0 and now - seen >= abandon_after_seconds * 1000
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

-- presence_now for a script whose every call has the same `now` (one call carrying many
-- requests): the first moves the clock to `now`, the others would find it there.
local PRESENCE_READ = nil
local function presence_once(now)
  if PRESENCE_READ == nil then
    PRESENCE_READ = presence_now(now)
  end
  return PRESENCE_READ
end

-- Heartbeats of the instances holding shoppers, as this script has read them (ms; 0: none).
local BEATS = {}

local function beat_key(instance)
  return K['hb:' .. instance]
end

-- Whether judging `t` (see is_gone) would read a heartbeat the script was not given.
local function beat_undeclared(t, now, abandon_after_seconds)
  return t.holder ~= nil and BEATS[t.holder] == nil and not declared('hb:' .. t.holder)
    and is_abandoned(t.seen or t.joined, now, abandon_after_seconds)
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
