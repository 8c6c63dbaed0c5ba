-- touch: marks waiting shoppers as seen (each instance batches the sockets it holds).
-- KEYS cfg, st, then the ticket buckets of the identities
-- ARGV[1] now in ms, or '' for the Redis server's time
-- ARGV[2..] identities
-- Reply: how many waiting shoppers were marked.

-- An event without settings (unknown, or being removed: remove_event.lua) is not written to.
if redis.call('EXISTS', K.cfg) == 0 then
  return 0
end
local now = now_ms(ARGV[1])
-- Read lazily: a touch of nobody waiting (or of an unknown event) writes nothing.
local seen = nil
local marked = 0
for i = 2, #ARGV do
  local t = get_ticket(ARGV[i])
  if t and t.tag == 'w' then
    seen = seen or presence_now(now)
    t.seen = seen
    put_ticket(t)
    marked = marked + 1
  end
end
return marked
