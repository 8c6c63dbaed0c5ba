-- lib/keys.lua: an event's keys, and the limits every script of the Redis store shares.
--
-- The files of lua/lib/ are prepended to every event script at compile time, in this order:
-- time, keys, settings, stock, status, presence, tickets, settle (src/store/scripts.rs). A
-- function that computes a rule of the engine says which Rust function it mirrors (in
-- src/domain, src/queue or the memory store, src/store/memory), and the conformance suite proves
-- the two stores agree; the other functions only read and write the Redis layout below.
--
-- KEYS of every script are all the keys it touches, named by the store in Rust
-- (src/store/redis/keys.rs): the event's fixed keys the script needs, then the keys that depend on
-- what it is asked (the ticket buckets of the identities named, an instance's heartbeat, a
-- claim, an arrival window). No script builds a key name itself. In a Redis Cluster the server
-- checks a call's declared keys before the script runs: while the event's slot migrates it sends
-- the call where they all are (ASK, MOVED, followed by the client) or refuses it while they are
-- split (TRYAGAIN, retried by the client). A key a script computed itself would be read on
-- whichever node the call landed on, moved or not. All keys of one event share the hash tag
-- `wr:{<event>}:` and so one slot.
--
-- K maps each key's name (what follows the prefix: `st`, `tk:1a2b`, ...) to the key. Reading a
-- name the caller did not declare raises WRUNDECLARED (a bug in the store, never a state of the
-- data). A script that finds it needs a key it could not have been given beforehand (the window
-- a join falls in, the buckets of the shoppers a drain pops) says so before touching it: with
-- WRKEYS (nothing changed; the store calls again with those keys too) or, for the drain, in its
-- reply after a partial step (see drain.lua).
--
--   cfg            string  the EventConfig as JSON, assembled from cfgf (read back by Rust)
--   cfgf           hash    field name -> that field's JSON as Rust wrote it: a change rewrites
--                          only the fields it names, and numbers never pass through Lua
--   cf             hash    the settings the scripts use (see load_cfg), written with cfg
--   inv            hash    SKU -> total units offered, written with cfg
--   st             hash    state: last (highest score handed out), srv (serving number), drawn
--                          ('0' open, 'c' closed with places pending, '1' drawn), and once
--                          closed cmt (the entrants' commitment), dseed (the seed the draw
--                          used) and dplaced (places given so far),
--                          tok/lt/ow (bucket tokens in millionths of a shopper, its last time, and
--                          '1' when the last drain left shoppers waiting),
--                          nx (no admission or reservation ends before this ms; 'none' when
--                          none is pending; absent in state written before it existed: unknown),
--                          pm/px (the presence clock: when presence was last recorded or the queue
--                          drained, in ms, and the ms of silence left out so far; absent: none yet),
--                          fr/fat (the outflow in force while it follows the checkout's health,
--                          thousandths of a shopper per second, '' for the set rate, and when it
--                          last changed, in ms; absent: never changed),
--                          wi/wb (the latest arrival window entered and the score below its
--                          range, see window.lua),
--                          and the counters joined, admitted, left, aband, aexp, ores, opaid, oexp
--   win            hash    arrival window number -> its entrants so far (window.lua)
--   wz:<window>    zset    that window's entrants: ticket id (16 bytes) by slot (window.lua)
--   q              zset    waiting identities by score (before the draw, pre-queue entrants
--                          all have score 0; see draw_state)
--   dord           zset    the entrants' ticket ids (hyphenated lowercase text) by place: the
--                          published draw order
--   tk:<hhhh>      hash    identity -> compact ticket record, in 65,536 buckets by the first four
--                          hex digits of SHA-1(identity), so each bucket stays a small listpack
--   adm            zset    identities holding an unused admission, by expiry (ms)
--   resv           zset    unpaid order ids by reserved_until (ms)
--   ord            hash    order id -> order JSON
--   ordt           hash    ticket id (16 raw bytes) -> the order made with that admission
--   stock          hash    SKU -> units left, always total - sold - held (never below zero; see
--                          refresh_stock); its fields are exactly the SKUs offered now
--   sold/held      hash    SKU -> units paid for / held by unpaid reservations (once any)
--   cl:<name>      hash    the identities holding a claim (a spent proof of work, an invitation's
--                          users) as fields, and '#until', its end
--   shp            hash    identity "\n" SKU -> units the shopper has in paid and unpaid orders,
--                          and identity "\n" -> the same in all SKUs (purchase limits)
--   hb:<instance>  string  the instance's latest heartbeat (ms), written by presence; it expires
--                          an hour past the grace period after the instance's last report
--   rm             string  '1' while the event is being removed (remove_event.lua); claims and
--                          heartbeats are left to expire by themselves

local K = {}
-- Where the first ticket bucket is in KEYS (#KEYS + 1 when none). The keys before it are named in
-- K at once; the buckets only when a script first looks one up by name, since a grouped join or
-- ticket read takes each identity's bucket by its position (see bucket_at) and never names them.
local FIRST_BUCKET = #KEYS + 1
-- Every key starts with the same `wr:{<event>}:`, whose end is the first '}:'.
local TAG_END = select(2, string.find(KEYS[1] or '', '}:', 1, true))
for i = 1, #KEYS do
  local name = string.sub(KEYS[i], TAG_END + 1)
  if string.sub(name, 1, 3) == 'tk:' then
    FIRST_BUCKET = i
    break
  end
  K[name] = KEYS[i]
end
local ALL_NAMED = FIRST_BUCKET > #KEYS

-- Names the keys from the first bucket on in K.
local function name_all()
  ALL_NAMED = true
  for i = FIRST_BUCKET, #KEYS do
    rawset(K, string.sub(KEYS[i], TAG_END + 1), KEYS[i])
  end
end

setmetatable(K, {
  __index = function(_, name)
    if not ALL_NAMED then
      name_all()
      local key = rawget(K, name)
      if key then
        return key
      end
    end
    error({ err = 'WRUNDECLARED the script was not given the key ' .. tostring(name) })
  end,
})

-- Whether the key `name` was given (no error when it was not).
local function declared(name)
  if rawget(K, name) == nil and not ALL_NAMED then
    name_all()
  end
  return rawget(K, name) ~= nil
end

-- The n-th ticket bucket given (from 1), for scripts given one bucket per identity, in order.
local function bucket_at(n)
  return KEYS[FIRST_BUCKET + n - 1]
end

-- Ends the script asking for keys it was not given: nothing has been written (the caller checks
-- before any write) and the store calls again with them. `names` are key names as in K.
local function need_keys(names)
  return redis.error_reply('WRKEYS ' .. table.concat(names, ' '))
end

-- One shopper in bucket tokens (millionths of a shopper).
local SHOPPER = 1000000

-- Mirrors MOST_DROPPED_PER_DRAIN (src/queue/outflow.rs).
local MOST_DROPPED_PER_DRAIN = 500

-- Mirrors PRESENCE_GAP_MS (src/queue/outflow.rs).
local PRESENCE_GAP_MS = 5000

-- The most ended admissions and reservations one call settles: at about 36 µs each on a busy
-- machine, 100,000 admissions ending at once held Redis for 3.6 s in one call. What is left
-- is settled by the next calls (every script of the event settles first).
local MOST_SETTLED_PER_CALL = 500

-- Ended admissions and reservations this call left for the next ones: they hold no place
-- under the cap any more, though they are still in `adm` and `resv`.
local UNSETTLED = { adm = 0, resv = 0 }

-- Integers are written with %d: Lua's default number formatting would round or use exponents.
local function int(x)
  return string.format('%d', x)
end
