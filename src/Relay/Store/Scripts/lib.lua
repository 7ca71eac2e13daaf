-- lib: functions the scripts share. StoreScripts puts this text in front of every other script when it loads it,
-- so each script can call them; it is never run on its own.
--
-- State indexes: for each target, one sorted set per state word below, scored by the event's received-at ms, so an
-- operator can list a target's dead (or delivered, or retrying...) events newest first without scanning. An event
-- is in exactly one of them per target. A script that moves an event passes the target's five state indexes as
-- consecutive KEYS in this order (StoreKeys.StateIndexes builds them; a test checks the two orders agree).
-- Lua 5.1 (Redis, Garnet) has unpack; later versions moved it to table.unpack.
local unpack = unpack or table.unpack

local STATES = {'pending', 'delivered', 'retrying', 'dead', 'quarantined'}

-- Puts `id` in the state index of `state` (KEYS[first..first+4] in the order of STATES) and takes it out of the
-- others. `receivedAt` is nil when retention has already expired the event: it then leaves every index.
local function index_state(first, state, id, receivedAt)
  for i, word in ipairs(STATES) do
    if word == state and receivedAt then
      redis.call('ZADD', KEYS[first + i - 1], receivedAt, id)
    else
      redis.call('ZREM', KEYS[first + i - 1], id)
    end
  end
end

-- index_state for an event whose state is known to have been `from` (its state field, which every script writes
-- with the index): moves it from that one index to the one of `to`, two writes instead of five. When `from` is not a
-- state word (no field yet, or expired), falls back to index_state.
local function index_move(first, from, to, id, receivedAt)
  local from_key, to_key
  for i, word in ipairs(STATES) do
    if word == from then
      from_key = KEYS[first + i - 1]
    end
    if word == to then
      to_key = KEYS[first + i - 1]
    end
  end
  if not from_key or not receivedAt then
    index_state(first, to, id, receivedAt)
    return
  end
  if from_key ~= to_key then
    redis.call('ZREM', from_key, id)
  end
  redis.call('ZADD', to_key, receivedAt, id)
end

-- Drops the entries of an index scored by received-at that retention has expired.
local function trim(key, now, retention)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - retention)
end

-- A ready list holds "<event id>|<ms it became ready>", so the age of the oldest waiting event (the queue's lag) is
-- read from the list's head alone.
local function ready_entry(id, now)
  return id .. '|' .. now
end

-- The event id of a ready entry (an entry written before entries carried a time is the id alone).
local function ready_id(entry)
  local bar = string.find(entry, '|', 1, true)
  return bar and string.sub(entry, 1, bar - 1) or entry
end

-- The store's clock, in unix ms: what lease deadlines are set and checked by, whichever replica runs the script.
local function store_now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Retention counts from the last time an event was owed: while any of its targets still owes it a delivery
-- (pending, retrying, or dead-lettered and not purged) the event and its history never expire; once none does, both
-- expire `retention` ms later. Called by every script that changes a target's state.
local function keep_while_owed(event, history, retention)
  local targets = redis.call('HGET', event, 'targets')
  if not targets then
    return
  end
  local fields = {}
  local start = 1
  while start <= #targets do
    local comma = string.find(targets, ',', start, true) or (#targets + 1)
    fields[#fields + 1] = string.sub(targets, start, comma - 1) .. '.state'
    start = comma + 1
  end
  -- One read for every target's state; a missing field comes back as false, which is owed by nobody.
  local states = #fields > 0 and redis.call('HMGET', event, unpack(fields)) or {}
  for i = 1, #fields do
    local state = states[i]
    if state == 'pending' or state == 'retrying' or state == 'dead' or state == 'quarantined' then
      redis.call('PERSIST', event)
      redis.call('PERSIST', history)
      return
    end
  end
  redis.call('PEXPIRE', event, retention)
  redis.call('PEXPIRE', history, retention)
end

-- Ordered delivery (a target with `ordering: key`): per target and ordering key, a key queue lists the key's events
-- not yet settled, in accept order. Only its head is ever ready, in flight or retrying, so one key never has two
-- events out at once while every other key flows; settling the head (delivered, or dead-lettered and skipped)
-- releases the next. A key whose head is a dead letter under `onDeadLetter: block` is recorded in the target's blocked
-- set (ordering key -> blocked at ms) until the dead letter is redriven or purged.

-- Puts `id` at the back of its key queue and makes it ready when it is the head.
local function key_append(queue, ready, id, now)
  if redis.call('RPUSH', queue, id) == 1 then
    redis.call('RPUSH', ready, ready_entry(id, now))
  end
end

-- When `id` heads its key queue: takes it off, unblocks the key, and makes the next event of the key ready; true
-- when there was one (the caller wakes the target's dispatcher). Nothing when `id` is not the head (it was queued
-- while the target was not ordered, or has been released already).
local function key_release(queue, ready, blocked, key, id, now)
  if redis.call('LINDEX', queue, 0) ~= id then
    return false
  end
  redis.call('LPOP', queue)
  redis.call('ZREM', blocked, key)
  local next_id = redis.call('LINDEX', queue, 0)
  if next_id then
    redis.call('RPUSH', ready, ready_entry(next_id, now))
    return true
  end
  return false
end
