-- lease-renew: extend a lease that the caller still holds (compare-and-extend).
--
-- KEYS[1] lease key (string; value = owner id)
-- ARGV[1] owner id
-- ARGV[2] new time to live, ms
--
-- Returns 1 when extended; 0 when the key is gone or held by another owner, in which case nothing is written:
-- the caller has lost the lease and must stop what it guards at once.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
