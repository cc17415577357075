-- Admits one request against every limit of its owners, atomically: either all counters move
-- or none does. Time is the Redis server's, so replicas with skewed clocks agree.
--
-- KEYS, four per owner: requests window (hash second -> count), tokens window (same),
-- parallel leases (sorted set request id -> lease expiry ms), budget (hash spent/reserved).
-- ARGV: request id, lease ms, budget key ttl ms, then six per owner:
--   rpm limit, tpm limit, parallel limit, budget max, budget seed, budget estimate (-1: none).
-- Returns {1} when admitted, else {0, owner index, what (1 requests, 2 tokens, 3 parallel,
-- 4 budget), limit, retry after ms, spent}.
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now_ms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local rid = ARGV[1]
local lease = tonumber(ARGV[2])
local budget_ttl = tonumber(ARGV[3])
local owners = #KEYS / 4

-- The last 60 whole seconds of a window; older seconds are deleted on the way.
local function window(key)
  local flat = redis.call('HGETALL', key)
  local live, stale, sum = {}, {}, 0
  for i = 1, #flat, 2 do
    local s, c = tonumber(flat[i]), tonumber(flat[i + 1])
    if s <= sec - 60 then
      stale[#stale + 1] = flat[i]
    else
      sum = sum + c
      live[#live + 1] = { s, c }
    end
  end
  if #stale > 0 then
    redis.call('HDEL', key, unpack(stale))
  end
  return sum, live
end

-- Milliseconds until `need` units have left the window, oldest second first.
local function retry_ms(live, need)
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, e in ipairs(live) do
    freed = freed + e[2]
    if freed >= need then
      return (e[1] + 60) * 1000 - now_ms
    end
  end
  return 60000
end

for i = 0, owners - 1 do
  local k, a = i * 4, 3 + i * 6
  local rpm, tpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local par, bmax = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if rpm >= 0 then
    local sum, live = window(KEYS[k + 1])
    if sum + 1 > rpm then
      return { 0, i, 1, rpm, retry_ms(live, sum + 1 - rpm), 0 }
    end
  end
  if tpm >= 0 then
    local sum, live = window(KEYS[k + 2])
    if sum >= tpm then
      return { 0, i, 2, tpm, retry_ms(live, sum - tpm + 1), 0 }
    end
  end
  if par >= 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now_ms)
    if redis.call('ZCARD', KEYS[k + 3]) >= par then
      return { 0, i, 3, par, 1000, 0 }
    end
  end
  if bmax >= 0 then
    local b = KEYS[k + 4]
    if redis.call('EXISTS', b) == 0 then
      redis.call('HSET', b, 'spent', ARGV[a + 5], 'reserved', 0)
      redis.call('PEXPIRE', b, budget_ttl)
    end
    local spent = tonumber(redis.call('HGET', b, 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', b, 'reserved') or '0')
    if bmax <= 0 or spent + reserved >= bmax then
      return { 0, i, 4, bmax, 0, spent }
    end
  end
end

for i = 0, owners - 1 do
  local k, a = i * 4, 3 + i * 6
  if tonumber(ARGV[a + 1]) >= 0 then
    redis.call('HINCRBY', KEYS[k + 1], sec, 1)
    redis.call('PEXPIRE', KEYS[k + 1], 61000)
  end
  if tonumber(ARGV[a + 3]) >= 0 then
    redis.call('ZADD', KEYS[k + 3], now_ms + lease, rid)
    redis.call('PEXPIRE', KEYS[k + 3], lease + 1000)
  end
  if tonumber(ARGV[a + 4]) >= 0 then
    redis.call('HINCRBY', KEYS[k + 4], 'reserved', ARGV[a + 6])
  end
end
return { 1 }
