import { createHash } from 'node:crypto';

/**
 * GCRA in one atomic step, on Redis's own clock (`TIME`) so that gateways with skewed clocks agree.
 * The same steps as `gcraStep` in `algorithm/gcra.ts`, on integer microseconds.
 *
 * KEYS[1] the bucket; ARGV[1] the emission interval (µs), ARGV[2] the limit, ARGV[3] the cost.
 * Returns { allowed (0|1), remaining, resetUs, retryAfterUs }.
 * Only admissions write, always with a TTL of exactly the time until the budget is full again.
 */
export const GCRA_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local burst = interval * limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local base = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local v = tonumber(stored)
  if v and v > now then base = v end
end
local tat = base + interval * cost
if tat - now > burst then
  local remaining = math.floor((burst - (base - now)) / interval)
  if remaining < 0 then remaining = 0 end
  return { 0, remaining, base - now, tat - burst - now }
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
return { 1, math.floor((burst - (tat - now)) / interval), tat - now, 0 }
`;

export const GCRA_SHA = createHash('sha1').update(GCRA_LUA).digest('hex');
