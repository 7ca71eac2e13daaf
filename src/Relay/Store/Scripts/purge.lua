-- purge: drop one dead letter of a target. It leaves the dead letters and the target's state indexes (a search for
-- dead events finds only real dead letters; the routed index keeps it, so a replay by time range still reaches it),
-- its state becomes 'purged', and since the target no longer owes it, the event expires after retention once no other
-- target owes it either (lib.lua's keep_while_owed).
--
-- KEYS[1]    dead zset   (target, partition)
-- KEYS[2]    event hash
-- KEYS[3]    history list
-- KEYS[4..8] the target's state indexes, in the order of lib.lua's STATES
-- KEYS[9]    key queue of the event's ordering key (lib.lua's key_release; unused without one)
-- KEYS[10]   ready list   (target, partition)
-- KEYS[11]   blocked keys (target, partition)
-- ARGV[1] event id
-- ARGV[2] target id
-- ARGV[3] only when dead-lettered at or before this, unix ms (a dead letter that arrives while purging is kept)
-- ARGV[4] retention, ms
-- ARGV[5] the event's ordering key; '' for none. A purged dead letter that held its key releases the next event.
-- ARGV[6] now, unix ms
--
-- Returns 1 when dropped; 0 when it is no longer a dead letter, or was dead-lettered after ARGV[3].
local id = ARGV[1]
local deadAt = redis.call('ZSCORE', KEYS[1], id)
if not deadAt or tonumber(deadAt) > tonumber(ARGV[3]) then
  return 0
end
redis.call('ZREM', KEYS[1], id)
index_state(4, nil, id, nil)
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2] .. '.state', 'purged')
  keep_while_owed(KEYS[2], KEYS[3], tonumber(ARGV[4]))
end
if ARGV[5] ~= '' then
  key_release(KEYS[9], KEYS[10], KEYS[11], ARGV[5], id, ARGV[6])
end
return 1
