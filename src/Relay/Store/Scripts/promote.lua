-- promote: move due retries, and events whose lease expired (their worker crashed or hung), back to ready.
--
-- KEYS[1] retry zset  (target, partition)
-- KEYS[2] lease zset  (target, partition)
-- KEYS[3] ready list  (target, partition)
-- ARGV[1] now, unix ms
-- ARGV[2] max events to move from each zset
--
-- Returns {retries promoted, leases reclaimed}.
local function move(from)
  local ids = redis.call('ZRANGEBYSCORE', from, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
  for _, id in ipairs(ids) do
    redis.call('ZREM', from, id)
    redis.call('RPUSH', KEYS[3], ready_entry(id, ARGV[1]))
  end
  return #ids
end

local promoted = move(KEYS[1])
local reclaimed = move(KEYS[2])
return {promoted, reclaimed}
