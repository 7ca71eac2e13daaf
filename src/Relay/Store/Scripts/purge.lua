-- purge: drop a target's dead letters in one partition, up to a point in time, a chunk at a time.
-- The event hashes stay until retention expires them (other targets may still need them); the admin API shows a
-- dead or quarantined state that is no longer in the dead letters as purged. A purged event leaves the target's state
-- indexes, so a search for dead events finds only real dead letters; it stays in the routed index (replay by time
-- range still reaches it).
--
-- KEYS[1]    dead zset  (target, partition)
-- KEYS[2..6] the target's state indexes, in the order of lib.lua's STATES
-- ARGV[1] dead-lettered at or before, unix ms (dead letters that arrive while purging are kept)
-- ARGV[2] most dead letters to drop in this call
--
-- Returns how many dead letters were dropped (fewer than ARGV[2] when none are left).
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  index_state(2, nil, id, nil)
end
return #ids
