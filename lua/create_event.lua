-- create_event: creates an event with its inventory, unless the id exists or the removal of an
-- event of that id is under way (remove_event.lua).
-- KEYS the event's fixed keys it writes: cfg, cfgf, cf, inv, stock, sold, held, st; then rm
-- ARGV[1] now in ms, or '' (unused: every script takes the time first)
-- ARGV[2..] the EventConfig's fields: name, the field's JSON, name, JSON, ...
-- Reply: 1 if created, 0 if the event existed or is being removed (nothing changes).
-- (Rust lists the id in `wr:events`, another slot, with its own command just before.)

if redis.call('EXISTS', K.cfg, K.rm) > 0 then
  return 0
end
local c = write_cfg_fields(ARGV, 2)
for sku in pairs(c.inventory) do
  refresh_stock(sku)
end
redis.call('HSET', K.st, 'last', '0', 'srv', '0', 'drawn', '0', 'nx', 'none')
return 1
