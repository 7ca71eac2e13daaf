-- claim: lease up to N ready events of one target in one partition.
-- A lease is a deadline on the store's own clock (TIME), never a replica's, so a replica whose clock runs ahead cannot
-- reclaim a live lease; if the worker dies, promote.lua returns the event to ready after the deadline, and a worker
-- that needs longer extends it (extend.lua).
--
-- KEYS[1] ready list  (target, partition; entries "<id>|<ready at ms>")
-- KEYS[2] lease zset  (event id -> lease deadline ms)
-- ARGV[1] max events to claim
-- ARGV[2] lease length, ms
--
-- Returns {lease deadline ms, claimed id, ...}, oldest first (no ids when none is ready).
local deadline = store_now() + tonumber(ARGV[2])
local claimed = {deadline}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then
    break
  end
  local id = ready_id(entry)
  redis.call('ZADD', KEYS[2], deadline, id)
  claimed[#claimed + 1] = id
end
return claimed
