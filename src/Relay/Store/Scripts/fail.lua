-- fail: record a failed delivery of a leased event to one target, and either schedule a retry or dead-letter it.
--
-- KEYS[1] lease zset    (target, partition)
-- KEYS[2] retry zset    (event id -> due ms)
-- KEYS[3] dead zset     (event id -> dead-lettered at ms)
-- KEYS[4] event hash
-- KEYS[5] history list
-- ARGV[1] event id
-- ARGV[2] target id
-- ARGV[3] now, unix ms
-- ARGV[4] retry due at, unix ms; 0 = dead-letter now
-- ARGV[5] reason (short text: status code or error)
-- ARGV[6] attempt record (JSON)
-- ARGV[7] retention, ms
-- ARGV[8] history cap
-- ARGV[9] 1 when this counts as an attempt, 0 when the event was only handed back (circuit open, shutdown)
-- ARGV[10] lease deadline of this claim, unix ms
--
-- Returns 1 when recorded; 0 when the lease was lost (nothing written).
-- The lease deadline identifies this claim: a worker whose lease expired and was re-claimed by another
-- must not settle the newer claim.
local leased = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not leased or tonumber(leased) ~= tonumber(ARGV[10]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])

local t = ARGV[2]
local exists = redis.call('EXISTS', KEYS[4]) == 1
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  if exists then
    redis.call('HSET', KEYS[4], t .. '.state', 'retrying', t .. '.next', ARGV[4], t .. '.reason', ARGV[5])
  end
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  if exists then
    redis.call('HSET', KEYS[4], t .. '.state', 'dead', t .. '.at', ARGV[3], t .. '.reason', ARGV[5])
    redis.call('HDEL', KEYS[4], t .. '.next')
  end
end

if exists and ARGV[9] == '1' then
  redis.call('HINCRBY', KEYS[4], t .. '.attempts', 1)
end

if ARGV[9] == '1' then
  redis.call('RPUSH', KEYS[5], ARGV[6])
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[8]), -1)
  redis.call('PEXPIRE', KEYS[5], ARGV[7])
end
return 1
