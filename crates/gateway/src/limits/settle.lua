-- Settles what `admit.lua` took, once the request has ended: tokens join the tokens window,
-- the parallel lease goes, and the budget's reservation becomes the real cost.
--
-- KEYS: as for admit.lua, four per owner.
-- ARGV: request id, then five per owner: tokens (-1: no tokens limit), parallel (1/0),
--   budget (1/0), reserved estimate, real cost.
local t = redis.call('TIME')
local sec = tonumber(t[1])
local rid = ARGV[1]
for i = 0, #KEYS / 4 - 1 do
  local k, a = i * 4, 1 + i * 5
  local tokens = tonumber(ARGV[a + 1])
  if tokens > 0 then
    redis.call('HINCRBY', KEYS[k + 2], sec, tokens)
    redis.call('PEXPIRE', KEYS[k + 2], 61000)
  end
  if ARGV[a + 2] == '1' then
    redis.call('ZREM', KEYS[k + 3], rid)
  end
  -- A budget key that expired meanwhile was re-seeded from the database, which has no
  -- reservation to release: the reservation is clamped at zero.
  if ARGV[a + 3] == '1' and redis.call('EXISTS', KEYS[k + 4]) == 1 then
    local left = redis.call('HINCRBY', KEYS[k + 4], 'reserved', -tonumber(ARGV[a + 4]))
    if left < 0 then
      redis.call('HSET', KEYS[k + 4], 'reserved', 0)
    end
    redis.call('HINCRBY', KEYS[k + 4], 'spent', ARGV[a + 5])
  end
end
return 1
