-- window.lua: arrival windows (mirrors src/queue/window.rs); prepended after lib.lua to the
-- scripts that place joins. Inside a window an arrival's score comes from a seeded hash of its
-- ticket id, not from its millisecond, within a range of WINDOW_SLOTS scores the window reserves
-- above every score handed out before its first arrival.

-- Mirrors WINDOW_SLOTS (src/queue/window.rs): 2^32, exact in a double.
local WINDOW_SLOTS = 4294967296

-- Mirrors ArrivalWindows::window_at and EventConfig::arrival_window_at: the number of the window
-- an arrival at `now` falls in, or nil.
local function arrival_window_at(c, now)
  if c.mode ~= 'queue' then
    return nil
  end
  local elapsed = now - c.starts_at
  if elapsed < 0 then
    return nil
  end
  local opening = c.win_open * 1000
  if elapsed < opening then
    return 0
  end
  local every = c.win_every * 1000
  if every == 0 then
    return nil
  end
  return 1 + math.floor((elapsed - opening) / every)
end

-- Mirrors window_score, window_slot and next_free_candidate, and the memory store's
-- EventState::window_score: the score of a join at `now` in a window (nil outside every window),
-- counting the entrant and reserving the window's range at its first join, and the highest score
-- reserved after it, which the caller keeps as `st.last`. `last` is the highest score handed out
-- before this join (a new range is reserved above it).
local function window_join_score(c, now, tid, last)
  local index = arrival_window_at(c, now)
  if index == nil then
    return nil
  end
  local st = redis.call('HMGET', K.st, 'wi', 'wb')
  local base = tonumber(st[2] or '')
  if st[1] ~= int(index) or base == nil then
    base = last
    last = last + WINDOW_SLOTS
    redis.call('HSET', K.st, 'wi', int(index), 'wb', int(base))
  end
  redis.call('HINCRBY', K.win, int(index), 1)
  local seed = redis.sha1hex(c.win_seed .. ':' .. int(index))
  local slot = tonumber(string.sub(redis.sha1hex(seed .. ':' .. uuid_text(tid)), 1, 8), 16)
  -- The window's record for the draw's publication (window_page.lua reads it): the ticket id's
  -- 16 bytes by slot, so equal slots go by ticket id, as in the memory store.
  redis.call('ZADD', K['wz:' .. int(index)], slot, tid)
  local score = base + 1 + slot
  while #redis.call('ZRANGEBYSCORE', K.q, int(score), int(score), 'LIMIT', 0, 1) > 0 do
    if score >= base + WINDOW_SLOTS then
      score = base + 1
    else
      score = score + 1
    end
  end
  return score, last
end

-- The keys a join at `now` writes besides the event's fixed ones (nil outside every window):
-- the window counts and the window's entrants. The store cannot know the window beforehand
-- (it depends on the settings and the server's clock), so join.lua asks for them (WRKEYS).
local function window_keys(c, now)
  local index = arrival_window_at(c, now)
  if index == nil then
    return nil
  end
  return { 'win', 'wz:' .. int(index) }
end

-- Mirrors EventState::window_hold: the score above which the drain admits nobody yet, because
-- those shoppers joined in the window still open at `now` (they are drawn among themselves by
-- slot, so none may go through before the window has closed and everyone in it is placed); nil
-- when no window is open or nobody joined the open one yet.
local function window_hold(c, now)
  local index = arrival_window_at(c, now)
  if index == nil then
    return nil
  end
  local st = redis.call('HMGET', K.st, 'wi', 'wb')
  if st[1] ~= int(index) then
    return nil
  end
  return tonumber(st[2] or '')
end
