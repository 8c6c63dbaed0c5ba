-- remove_event: begins, or takes up again, the removal of a closed event. This call makes the
-- event gone for every script and reader at once (its settings are deleted) and marks the
-- removal under way (`rm`), which create_event.lua refuses to create over; the store then
-- deletes the event's other keys in batches of plain UNLINKs, the mark last. A removal cut
-- short (the instance stopped between batches) leaves the mark, and the next call goes on.
-- KEYS cfg, cfgf, cf, rm, win
-- ARGV[1] now (unused)
-- Reply: 'no_event' | 'open' (not closed: nothing changed) | { 'removing' | 'resuming',
--        window... }: begun by this call or by an earlier one cut short, and the arrival
--        windows whose `wz:<window>` keys the store must delete too.

local reply = { 'removing' }
if redis.call('EXISTS', K.cfg) == 1 then
  if redis.call('HGET', K.cf, 'operator_status') ~= 'closed' then
    return 'open'
  end
  redis.call('SET', K.rm, '1')
  redis.call('UNLINK', K.cfg, K.cfgf, K.cf)
elseif redis.call('EXISTS', K.rm) == 1 then
  reply[1] = 'resuming'
else
  return 'no_event'
end
for _, window in ipairs(redis.call('HKEYS', K.win)) do
  reply[#reply + 1] = window
end
return reply
