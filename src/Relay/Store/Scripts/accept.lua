-- accept: dedupe, persist, index and enqueue one event, atomically.
-- Either all of it happens or none of it: an acked event is always queued to every matching target.
--
-- KEYS[1]   dedupe key   (string: event id, TTL = dedupe window)
-- KEYS[2]   event key    (hash: body, headers, metadata, per-target state; TTL = retention)
-- KEYS[3]   index key    (zset: event id -> received-at ms; newest-first listing)
-- KEYS[4..] ready list of each matching target
-- ARGV[1]   event id
-- ARGV[2]   dedupe window, ms
-- ARGV[3]   retention, ms
-- ARGV[4]   now, unix ms (time always comes from the caller)
-- ARGV[5..] field, value pairs of the event hash
--
-- Returns {1, id} when accepted; {0, first id} when the dedupe key is already held (a vendor retry).
local unpack = unpack or table.unpack

local existing = redis.call('GET', KEYS[1])
if existing then
  return {0, existing}
end

redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
for i = 4, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[1])
end

local now = tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
return {1, ARGV[1]}
