-- lease-release: give up a lease that the caller holds (compare-and-delete), so a standby takes over at once
-- instead of waiting for the time to live to run out.
--
-- KEYS[1] lease key (string; value = owner id)
-- ARGV[1] owner id
--
-- Returns 1 when released; 0 when the key is gone or held by another owner (nothing is written).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
