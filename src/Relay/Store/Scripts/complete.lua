-- complete: record a successful delivery of a leased event to one target.
--
-- KEYS[1]    lease zset    (target, partition)
-- KEYS[2]    event hash
-- KEYS[3]    history list  (attempt records of the event, capped)
-- KEYS[4..8] the target's state indexes, in the order of lib.lua's STATES
-- KEYS[9]    key queue of the event's ordering key (lib.lua's key_release; unused without one)
-- KEYS[10]   ready list   (target, partition)
-- KEYS[11]   blocked keys (target, partition)
-- ARGV[1] event id
-- ARGV[2] target id
-- ARGV[3] now, unix ms
-- ARGV[4] attempt record (JSON)
-- ARGV[5] retention, ms
-- ARGV[6] history cap (entries kept)
-- ARGV[7] lease deadline of this claim, unix ms
-- ARGV[8] the event's ordering key; '' for none
--
-- Returns 1 when recorded, 2 when recorded and the key's next event became ready; 0 when the lease was lost (expired and reclaimed), in which case nothing is written:
-- the event is queued again and will be delivered again, which at-least-once allows.
-- The lease deadline identifies this claim: a worker whose lease expired and was re-claimed by another
-- must not settle the newer claim.
local id = ARGV[1]
local leased = redis.call('ZSCORE', KEYS[1], id)
if not leased or tonumber(leased) ~= tonumber(ARGV[7]) then
  return 0
end
redis.call('ZREM', KEYS[1], id)

local t = ARGV[2]
local receivedAt = redis.call('HGET', KEYS[2], 'receivedAt')
if receivedAt then
  redis.call('HSET', KEYS[2], t .. '.state', 'delivered', t .. '.at', ARGV[3])
  redis.call('HDEL', KEYS[2], t .. '.next', t .. '.reason')
  redis.call('HINCRBY', KEYS[2], t .. '.attempts', 1)
end
index_state(4, 'delivered', id, receivedAt)
trim(KEYS[5], tonumber(ARGV[3]), tonumber(ARGV[5]))

redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[6]), -1)
keep_while_owed(KEYS[2], KEYS[3], tonumber(ARGV[5]))
if ARGV[8] ~= '' and key_release(KEYS[9], KEYS[10], KEYS[11], ARGV[8], id, ARGV[3]) then
  return 2
end
return 1
