-- check: record a deferred check's final verdict on an event, once; the first verdict recorded stays.
-- Several targets (and replicas) may check the same event at once: all of them settle on the verdict in force.
--
-- KEYS[1] event hash
-- ARGV[1] verdict: 'pass' or 'quarantined'
-- ARGV[2] reason ('' for none)
--
-- Returns {verdict, reason} in force; nil when the event no longer exists (retention expired it), so nothing is
-- written and no hash without a TTL is left behind.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
if redis.call('HSETNX', KEYS[1], 'check', ARGV[1]) == 1 and ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'check.reason', ARGV[2])
end
return {redis.call('HGET', KEYS[1], 'check'), redis.call('HGET', KEYS[1], 'check.reason') or ''}
