-- draw_members: one page of the pre-queue's entrants by identity alone, no ticket record read,
-- in identity order after `cursor`. Before the start the store reads it to prepare the draw
-- (draw_tickets.lua then gives the ticket ids it has not read yet); at the close, to find the
-- entrants it has not read. Every entrant scores 0 until the draw gives places, so identity
-- order is the queue's own and a page is one ZRANGE BYLEX.
-- KEYS cf, st, q
-- ARGV[1] now in ms, or '' for the Redis server's time (unused)
-- ARGV[2] the last identity of the previous page, '' for the first page
-- ARGV[3] how many identities at most
-- Reply: { 'no_event' } | { 'drawn' } | { 'placing' } (another caller is giving places) |
--        { 'members', state ('open' before the close, 'pending' after it), seed,
--          leaves so far (st.left), entrants now, { identity, ... } }

local c = load_cfg()
if not c then
  return { 'no_event' }
end
local st = redis.call('HMGET', K.st, 'drawn', 'left', 'dplaced')
if st[1] == '1' then
  return { 'drawn' }
end
if tonumber(st[3] or '0') > 0 then
  return { 'placing' }
end
local from = '-'
if ARGV[2] ~= '' then
  from = '(' .. ARGV[2]
end
local members = redis.call('ZRANGE', K.q, from, '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
local state = 'open'
if st[1] == 'c' then
  state = 'pending'
end
return { 'members', state, c.seed, tonumber(st[2] or '0'), redis.call('ZCARD', K.q), members }
