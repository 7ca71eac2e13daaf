-- fail: record a failed delivery of a leased event to one target, and either schedule a retry or dead-letter it.
--
-- KEYS[1]     lease zset    (target, partition)
-- KEYS[2]     retry zset    (event id -> due ms)
-- KEYS[3]     dead zset     (event id -> dead-lettered at ms)
-- KEYS[4]     event hash
-- KEYS[5]     history list
-- KEYS[6..10] the target's state indexes, in the order of lib.lua's STATES
-- KEYS[11]    key queue of the event's ordering key (lib.lua's key_release; unused without one)
-- KEYS[12]    ready list   (target, partition)
-- KEYS[13]    blocked keys (target, partition)
-- ARGV[1]  event id
-- ARGV[2]  target id
-- ARGV[3]  now, unix ms
-- ARGV[4]  the target's new state: 'retrying' (due at ARGV[5]), 'dead' or 'quarantined' (both dead-lettered)
-- ARGV[5]  retry due at, unix ms (retrying only)
-- ARGV[6]  reason (short text: status code or error)
-- ARGV[7]  attempt record (JSON)
-- ARGV[8]  retention, ms
-- ARGV[9]  history cap
-- ARGV[10] 1 when this counts as an attempt, 0 when the event was only handed back (circuit open, shutdown)
-- ARGV[11] lease deadline of this claim, unix ms
-- ARGV[12] the event's ordering key; '' for none
-- ARGV[13] 'block' to hold the key behind a dead letter (onDeadLetter: block); anything else releases the next event
--          (a quarantined event always does: a forgery must not hold up the genuine events of its key)
--
-- Returns 1 when recorded, 2 when recorded and the key's next event became ready; 0 when the lease was lost
-- (nothing written).
-- The lease deadline identifies this claim: a worker whose lease expired and was re-claimed by another
-- must not settle the newer claim.
local id = ARGV[1]
local leased = redis.call('ZSCORE', KEYS[1], id)
if not leased or tonumber(leased) ~= tonumber(ARGV[11]) then
  return 0
end
redis.call('ZREM', KEYS[1], id)

local t = ARGV[2]
local state = ARGV[4]
local receivedAt = redis.call('HGET', KEYS[4], 'receivedAt')
if state == 'retrying' then
  redis.call('ZADD', KEYS[2], ARGV[5], id)
  if receivedAt then
    redis.call('HSET', KEYS[4], t .. '.state', state, t .. '.next', ARGV[5], t .. '.reason', ARGV[6])
  end
else
  redis.call('ZADD', KEYS[3], ARGV[3], id)
  if receivedAt then
    redis.call('HSET', KEYS[4], t .. '.state', state, t .. '.at', ARGV[3], t .. '.reason', ARGV[6])
    redis.call('HDEL', KEYS[4], t .. '.next')
  end
end
index_state(6, state, id, receivedAt)

if receivedAt and ARGV[10] == '1' then
  redis.call('HINCRBY', KEYS[4], t .. '.attempts', 1)
end

if ARGV[10] == '1' then
  redis.call('RPUSH', KEYS[5], ARGV[7])
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[9]), -1)
end
keep_while_owed(KEYS[4], KEYS[5], tonumber(ARGV[8]))
if ARGV[12] ~= '' and state ~= 'retrying' then
  if state == 'dead' and ARGV[13] == 'block' then
    if redis.call('LINDEX', KEYS[11], 0) == id then
      redis.call('ZADD', KEYS[13], ARGV[3], ARGV[12])
    end
  elseif key_release(KEYS[11], KEYS[12], KEYS[13], ARGV[12], id, ARGV[3]) then
    return 2
  end
end
return 1
