-- requeue: put one event back in one target's ready list, whatever happened to it before (replay, redrive).
-- The target's state starts over: pending, attempts 0, so the retry schedule runs again from its first step.
-- The attempt history is kept.
--
-- KEYS[1]     event hash
-- KEYS[2]     ready list  (target, partition)
-- KEYS[3]     lease zset  (target, partition)
-- KEYS[4]     retry zset  (target, partition)
-- KEYS[5]     dead zset   (target, partition)
-- KEYS[6..10] the target's state indexes, in the order of lib.lua's STATES
-- KEYS[11]    history list
-- KEYS[12]    key queue of the event's ordering key (ordered targets only)
-- KEYS[13]    blocked keys (target, partition)
-- ARGV[1] event id
-- ARGV[2] target id
-- ARGV[3] 'dead' = only when the event is in the target's dead letters (redrive); 'any' = in any state (replay)
-- ARGV[4] now, unix ms
-- ARGV[5] retention, ms
-- ARGV[6] the event's ordering key when the target is ordered by key, else ''. The event then goes to the back of its
--         key queue, except when it heads it (a blocked dead letter, or a retry): then it is delivered first.
--
-- Returns  1 queued;
--          2 already waiting in ready (state reset, not queued twice);
--          3 being delivered right now (left alone: that delivery is the requested one);
--          0 redrive only: no longer a dead letter (someone else moved it);
--         -1 the event has expired (retention): dropped from the dead letters, nothing queued.
local id = ARGV[1]
local t = ARGV[2]
local receivedAt = redis.call('HGET', KEYS[1], 'receivedAt')
if not receivedAt then
  redis.call('ZREM', KEYS[5], id)
  index_state(6, 'pending', id, nil)
  return -1
end

local wasDead = redis.call('ZREM', KEYS[5], id)
if ARGV[3] == 'dead' and wasDead == 0 then
  return 0
end
if redis.call('ZSCORE', KEYS[3], id) then
  return 3
end

local wasRetrying = redis.call('ZREM', KEYS[4], id)
local state = redis.call('HGET', KEYS[1], t .. '.state')
redis.call('HSET', KEYS[1], t .. '.state', 'pending', t .. '.attempts', 0)
redis.call('HDEL', KEYS[1], t .. '.next', t .. '.reason', t .. '.at')
index_state(6, 'pending', id, receivedAt)
keep_while_owed(KEYS[1], KEYS[11], tonumber(ARGV[5]))
if wasDead == 0 and wasRetrying == 0 and state ~= 'delivered' and state ~= 'dead' and state ~= 'quarantined' and state ~= 'purged' then
  return 2
end
if ARGV[6] ~= '' and redis.call('LINDEX', KEYS[12], 0) ~= id then
  key_append(KEYS[12], KEYS[2], id, ARGV[4])
  return 1
end
if ARGV[6] ~= '' then
  redis.call('ZREM', KEYS[13], ARGV[6])
end
redis.call('RPUSH', KEYS[2], ready_entry(id, ARGV[4]))
return 1
