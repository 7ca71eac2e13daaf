-- requeue: put one event back in one target's ready list, whatever happened to it before (replay, redrive).
-- The target's state starts over: pending, attempts 0, so the retry schedule runs again from its first step.
-- The attempt history is kept.
--
-- KEYS[1] event hash
-- KEYS[2] ready list  (target, partition)
-- KEYS[3] lease zset  (target, partition)
-- KEYS[4] retry zset  (target, partition)
-- KEYS[5] dead zset   (target, partition)
-- ARGV[1] event id
-- ARGV[2] target id
-- ARGV[3] 'dead' = only when the event is in the target's dead letters (redrive); 'any' = in any state (replay)
--
-- Returns  1 queued;
--          2 already waiting in ready (state reset, not queued twice);
--          3 being delivered right now (left alone: that delivery is the requested one);
--          0 redrive only: no longer a dead letter (someone else moved it);
--         -1 the event has expired (retention): dropped from the dead letters, nothing queued.
local id = ARGV[1]
local t = ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[5], id)
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
if wasDead == 0 and wasRetrying == 0 and state ~= 'delivered' and state ~= 'dead' then
  return 2
end
redis.call('RPUSH', KEYS[2], id)
return 1
