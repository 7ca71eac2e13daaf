-- accept: dedupe, persist, index and enqueue one event, atomically.
-- Either all of it happens or none of it: an acked event is always queued to every matching target.
--
-- KEYS[1]   dedupe key     (string: event id, TTL = dedupe window)
-- KEYS[2]   event key      (hash: body, headers, metadata, per-target state; no TTL while a target owes it,
--                           see lib.lua's keep_while_owed; an event routed nowhere expires after retention)
-- KEYS[3]   events index   (zset: event id -> received-at ms; newest-first listing)
-- KEYS[4]   source index   (zset, the same for the event's source)
-- KEYS[5]   type index     (zset, the same for the event's type)
-- KEYS[6]   types          (zset: event type -> last received-at ms, for type globs)
-- KEYS[7..] per matching target, 4 keys: ready list, routed index (zset, every event routed to the target),
--           pending state index (not trimmed: an event leaves it when its state changes, and is owed until then),
--           key queue of the event's ordering key (ordered targets; for others a placeholder never touched)
-- ARGV[1]   event id
-- ARGV[2]   dedupe window, ms
-- ARGV[3]   retention, ms
-- ARGV[4]   now = received-at, unix ms (time always comes from the caller)
-- ARGV[5]   event type
-- ARGV[6]   one character per matching target, in KEYS order: '1' = ordered by key (lib.lua's key_append), '0' = not
-- ARGV[7..] field, value pairs of the event hash
--
-- Returns {1, id} when accepted; {0, first id} when the dedupe key is already held (a vendor retry).
local existing = redis.call('GET', KEYS[1])
if existing then
  return {0, existing}
end

local id = ARGV[1]
local retention = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
redis.call('SET', KEYS[1], id, 'PX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
if #KEYS == 6 then
  redis.call('PEXPIRE', KEYS[2], retention)
end
for i = 3, 5 do
  redis.call('ZADD', KEYS[i], now, id)
  trim(KEYS[i], now, retention)
end
redis.call('ZADD', KEYS[6], now, ARGV[5])
trim(KEYS[6], now, retention)

local ordered = ARGV[6]
for first = 7, #KEYS, 4 do
  if string.sub(ordered, (first - 3) / 4, (first - 3) / 4) == '1' then
    key_append(KEYS[first + 3], KEYS[first], id, now)
  else
    redis.call('RPUSH', KEYS[first], ready_entry(id, now))
  end
  redis.call('ZADD', KEYS[first + 1], now, id)
  trim(KEYS[first + 1], now, retention)
  redis.call('ZADD', KEYS[first + 2], now, id)
end
return {1, id}
