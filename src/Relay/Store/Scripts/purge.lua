-- purge: drop a target's dead letters in one partition, up to a point in time.
-- The event hashes stay until retention expires them (other targets may still need them); the admin API shows
-- a dead state that is no longer in the dead letters as purged.
--
-- KEYS[1] dead zset  (target, partition)
-- ARGV[1] dead-lettered at or before, unix ms (dead letters that arrive while purging are kept)
--
-- Returns how many dead letters were dropped.
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
