-- complete: record successful deliveries of leased events to one target, all in one partition.
-- Deliveries that finish while an earlier completion of the same target and partition is being written are settled
-- together (CompletionBatches), so under load one script call settles many; each event is checked and settled on
-- its own, exactly as if it came alone.
--
-- KEYS[1]    lease zset    (target, partition)
-- KEYS[2..6] the target's state indexes, in the order of lib.lua's STATES
-- KEYS[7]    ready list    (target, partition)
-- KEYS[8]    blocked keys  (target, partition)
-- then per event, 3 keys from KEYS[9]:
--   event hash; history list (attempt records of the event, capped); key queue of the event's ordering key
--   (lib.lua's key_release; a placeholder never touched without one)
-- ARGV[1] target id
-- ARGV[2] now, unix ms
-- ARGV[3] retention, ms
-- ARGV[4] history cap (entries kept)
-- then per event, 4 args from ARGV[5]: event id; attempt record (JSON); lease deadline of this claim, unix ms;
-- the event's ordering key ('' for none)
--
-- Returns one number per event, in order: 1 when recorded, 2 when recorded and the key's next event became ready; 0
-- when the lease was lost (expired and reclaimed), in which case nothing is written for that event: it is queued
-- again and will be delivered again, which at-least-once allows.
-- The lease deadline identifies the claim: a worker whose lease expired and was re-claimed by another must not
-- settle the newer claim.
local t = ARGV[1]
local now = ARGV[2]
local retention = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local settled = {}
local any = false
for i = 0, (#KEYS - 8) / 3 - 1 do
  local event, history, queue = KEYS[9 + i * 3], KEYS[10 + i * 3], KEYS[11 + i * 3]
  local id, record, deadline, key = ARGV[5 + i * 4], ARGV[6 + i * 4], ARGV[7 + i * 4], ARGV[8 + i * 4]
  local leased = redis.call('ZSCORE', KEYS[1], id)
  if not leased or tonumber(leased) ~= tonumber(deadline) then
    settled[#settled + 1] = 0
  else
    redis.call('ZREM', KEYS[1], id)
    local known = redis.call('HMGET', event, 'receivedAt', t .. '.state')
    local receivedAt = known[1]
    if receivedAt then
      redis.call('HSET', event, t .. '.state', 'delivered', t .. '.at', now)
      redis.call('HDEL', event, t .. '.next', t .. '.reason')
      redis.call('HINCRBY', event, t .. '.attempts', 1)
    end
    index_move(2, known[2], 'delivered', id, receivedAt)
    if redis.call('RPUSH', history, record) > cap then
      redis.call('LTRIM', history, -cap, -1)
    end
    keep_while_owed(event, history, retention)
    if key ~= '' and key_release(queue, KEYS[7], KEYS[8], key, id, now) then
      settled[#settled + 1] = 2
    else
      settled[#settled + 1] = 1
    end
    any = true
  end
end
if any then
  trim(KEYS[3], tonumber(now), retention)
end
return settled
