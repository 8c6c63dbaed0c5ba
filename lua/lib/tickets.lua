-- lib/tickets.lua: ticket records as kept in their buckets, and the ticket as answered.

-- Ticket records. A compact binary string, no JSON, to keep a waiting shopper small:
--   tag(1) ticket_id(16 raw bytes) joined_at(6, little endian ms) and then either
--   seen(6) [holder]                          (never admitted: 29 bytes, more while held)
--   admitted_at(6) expires_at(6) [order id]   (admitted: 35 bytes, more once used)
-- tags: w waiting, a admitted, x place abandoned, l left. An admission that ran out keeps its
-- tag 'a' and reads as expired (ticket_status), so settling it touches no ticket bucket.
-- An admitted record with an order id has used its admission. The holder (the instance id
-- holding the shopper's open socket, see presence.lua) is kept only while waiting, so a record
-- of any other tag is 29 bytes exactly when it was never admitted.
-- The name of an identity's bucket (src/store/redis/keys.rs computes the same in Rust).
local function bucket_name(identity)
  return 'tk:' .. string.sub(redis.sha1hex(identity), 1, 4)
end

-- An identity's bucket, which the caller must have given.
local function bucket_of(identity)
  return K[bucket_name(identity)]
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
