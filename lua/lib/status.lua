-- lib/status.lua: where the event stands: its status, the places the caps leave, the draw.

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

-- Mirrors EventStatus::accepts_joins (src/domain/event.rs).
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

-- The draw's state: 'open' (before the start), 'pending' (closed, places being given) or
-- 'drawn'. At or after the start it closes the pre-queue. `drawn_flag`, when given, is
-- `st.drawn` as the caller read it.
-- Mirrors EventState::draw_if_due (src/store/memory/state.rs), with the draw itself prepared
-- in steps (draw_members, draw_tickets, draw_place).
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
