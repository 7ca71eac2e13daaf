-- extend: push back the deadline of a lease the caller still holds, while its delivery runs (a slow deferred check
-- and a slow target together can outlast one lease).
--
-- KEYS[1] lease zset  (target, partition)
-- ARGV[1] event id
-- ARGV[2] the caller's lease deadline, ms (identifies its claim)
-- ARGV[3] lease length from now, ms
--
-- Returns the new deadline; 0 when the lease was lost (expired and reclaimed, or settled): nothing is written and the
-- caller must stop, since another worker may hold the event now.
local leased = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not leased or tonumber(leased) ~= tonumber(ARGV[2]) then
  return 0
end
local deadline = store_now() + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
return deadline
