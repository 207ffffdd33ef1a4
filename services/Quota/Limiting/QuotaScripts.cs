namespace ThinkWatch.Quota.Limiting;

/// <summary>
/// The Lua scripts that make every decision atomic in Redis. All keys of one call share the hash
/// tag of the configured prefix (<c>{tw}</c>), so each script runs on one shard of a Redis Cluster.
/// <para>
/// A sliding window is a hash of <see cref="Buckets"/> buckets (each 1% of the window) plus its
/// running total <c>t</c> and oldest live bucket <c>o</c>: a check reads two fields and drops only
/// the buckets that left the window since the last call, so its cost does not grow with the
/// window's length, and the window is exact to one bucket (1%).
/// </para>
/// <para>
/// A budget for one period is a hash: used tokens <c>u</c> and micro-dollars <c>c</c>, reserved
/// <c>rt</c>/<c>rc</c>, each reservation <c>r:{id}</c> ("tokens:micro"), thresholds already
/// announced <c>a{pct}</c>; and a sorted set of reservation ids by expiry, so reservations of
/// requests that never settle are released by whoever touches the budget next.
/// </para>
/// </summary>
public static class QuotaScripts
{
    public const int Buckets = 100;

    private const string Prelude = """
        local now = tonumber(ARGV[1])

        -- The window's total after dropping the buckets that left it; whether the hash exists.
        local function slide(key, width, size)
          local cur = math.floor(now / width)
          local first = cur - size + 1
          local meta = redis.call('HMGET', key, 't', 'o')
          local total, oldest = tonumber(meta[1]), tonumber(meta[2])
          if total == nil or oldest == nil then
            return 0, cur, first, false
          end
          if oldest < first then
            if first - oldest >= size then
              redis.call('DEL', key)
              return 0, cur, first, false
            end
            for b = oldest, first - 1 do
              local v = redis.call('HGET', key, b)
              if v then
                total = total - tonumber(v)
                redis.call('HDEL', key, b)
              end
            end
            redis.call('HSET', key, 't', total, 'o', first)
          end
          return total, cur, first, true
        end

        local function add(key, width, size, amount)
          local total, cur, first, exists = slide(key, width, size)
          if not exists then
            redis.call('HSET', key, 'o', first)
          end
          -- The expiry moves on once per bucket: a key outlives its newest bucket by a window.
          if redis.call('HINCRBY', key, cur, amount) == amount then
            redis.call('PEXPIRE', key, width * (size + 1))
          end
          redis.call('HINCRBY', key, 't', amount)
          return total + amount, cur
        end

        -- How long until enough of the window's count leaves it for `need` more (one HGETALL, refusals only).
        local function wait(key, need, cur, width, size)
          local first, buckets, counts = cur - size + 1, {}, {}
          local all = redis.call('HGETALL', key)
          for i = 1, #all, 2 do
            local b = tonumber(all[i])
            if b and b >= first then
              table.insert(buckets, b)
              counts[b] = tonumber(all[i + 1])
            end
          end
          table.sort(buckets)
          local freed = 0
          for _, b in ipairs(buckets) do
            freed = freed + counts[b]
            if freed >= need then
              return (b + size) * width - now
            end
          end
          return width * size
        end

        local function release(h, z, id)
          local amount = redis.call('HGET', h, 'r:' .. id)
          if amount then
            local t, c = string.match(amount, '(%d+):(%d+)')
            -- 0 - x, not -x: Lua writes -0 as "-0", which HINCRBY refuses.
            redis.call('HINCRBY', h, 'rt', 0 - tonumber(t))
            redis.call('HINCRBY', h, 'rc', 0 - tonumber(c))
            redis.call('HDEL', h, 'r:' .. id)
          end
          redis.call('ZREM', z, id)
        end

        local function purge(h, z)
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', now)) do
            release(h, z, id)
          end
        end

        -- A budget outlives its period by a day. Relative to the caller's clock, never Redis's:
        -- an absolute PEXPIREAT judged by a Redis clock that runs ahead of the Quota hosts' would
        -- drop a budget's state the moment it is written.
        local function keep(pend)
          return math.max(pend - now, 0) + 86400000
        end

        local function budget(h)
          local m = redis.call('HMGET', h, 'u', 'c', 'rt', 'rc')
          return tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0, tonumber(m[4]) or 0
        end

        """;

    /// <summary>
    /// Check. KEYS: one window per rule, then (budget hash, reservation set) per budget.
    /// ARGV: now, rules, budgets, reservation id, reservation expiry, then per rule (limit, width,
    /// buckets, increment) and per budget (token limit or -1, micro-dollar limit or -1, blocks 1/0,
    /// tokens to reserve, micro-dollars to reserve, period end).
    /// Returns {1, 0, 0, 0, used₁, reset₁, …} when admitted (everything counted and reserved), or
    /// {0, index, retry-after ms, 1 tokens | 2 dollars} for the first rule or budget that fails (nothing counted).
    /// </summary>
    public const string Check = Prelude + """
        local nr, nb = tonumber(ARGV[2]), tonumber(ARGV[3])
        local rid, rexp = ARGV[4], tonumber(ARGV[5])
        local totals = {}
        for i = 1, nr do
          local a = 6 + (i - 1) * 4
          local key, limit, width, size = KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
          local total, cur = slide(key, width, size)
          if total + 1 > limit then
            return {0, i, wait(key, total + 1 - limit, cur, width, size), 0}
          end
          totals[i] = total
        end
        local b0 = 6 + nr * 4
        for j = 1, nb do
          local a = b0 + (j - 1) * 6
          local h, z = KEYS[nr + 2 * j - 1], KEYS[nr + 2 * j]
          local lt, lc, block, et, ec, pend = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
          purge(h, z)
          if block == 1 then
            local u, c, rt, rc = budget(h)
            if lt >= 0 and u + rt + et > lt then
              return {0, nr + j, (u + et > lt) and (pend - now) or 1000, 1}
            end
            if lc >= 0 and c + rc + ec > lc then
              return {0, nr + j, (c + ec > lc) and (pend - now) or 1000, 2}
            end
          end
        end
        local out = {1, 0, 0, 0}
        for i = 1, nr do
          local a = 6 + (i - 1) * 4
          local width, size, inc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
          local used, cur = totals[i], math.floor(now / width)
          if inc > 0 then
            used, cur = add(KEYS[i], width, size, inc)
          end
          table.insert(out, used)
          table.insert(out, (cur + size) * width - now)
        end
        for j = 1, nb do
          local a = b0 + (j - 1) * 6
          local h, z = KEYS[nr + 2 * j - 1], KEYS[nr + 2 * j]
          local et, ec, pend = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
          if et > 0 or ec > 0 then
            redis.call('HSET', h, 'r:' .. rid, string.format('%d:%d', et, ec))
            redis.call('HINCRBY', h, 'rt', et)
            redis.call('HINCRBY', h, 'rc', ec)
            redis.call('ZADD', z, rexp, rid)
            redis.call('PEXPIRE', h, keep(pend))
            redis.call('PEXPIRE', z, keep(pend))
          end
        end
        return out
        """;

    /// <summary>
    /// Settle. KEYS: one window per token rule, then (budget hash, reservation set) per budget.
    /// ARGV: now, rules, budgets, reservation id, alert thresholds ("50,80,95,100"), then per rule
    /// (width, buckets, tokens) and per budget (tokens, micro-dollars, token limit or -1,
    /// micro-dollar limit or -1, period end). Releases the reservation, adds what was used, and
    /// returns {budget index, threshold, used tokens, used micro-dollars} for every threshold
    /// crossed for the first time this period.
    /// </summary>
    public const string Settle = Prelude + """
        local nr, nb = tonumber(ARGV[2]), tonumber(ARGV[3])
        local rid = ARGV[4]
        local thresholds = {}
        for th in string.gmatch(ARGV[5], '%d+') do
          table.insert(thresholds, tonumber(th))
        end
        for i = 1, nr do
          local a = 6 + (i - 1) * 3
          local inc = tonumber(ARGV[a + 2])
          if inc > 0 then
            add(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), inc)
          end
        end
        local out = {}
        local b0 = 6 + nr * 3
        for j = 1, nb do
          local a = b0 + (j - 1) * 5
          local h, z = KEYS[nr + 2 * j - 1], KEYS[nr + 2 * j]
          local at, ac, lt, lc, pend = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
          purge(h, z)
          release(h, z, rid)
          local u = redis.call('HINCRBY', h, 'u', at)
          local c = redis.call('HINCRBY', h, 'c', ac)
          redis.call('PEXPIRE', h, keep(pend))
          for _, th in ipairs(thresholds) do
            if (lt >= 0 and u * 100 >= lt * th) or (lc >= 0 and c * 100 >= lc * th) then
              if redis.call('HSETNX', h, 'a' .. th, 1) == 1 then
                table.insert(out, j)
                table.insert(out, th)
                table.insert(out, u)
                table.insert(out, c)
              end
            end
          end
        end
        return out
        """;

    /// <summary>
    /// Status. KEYS as for Check. ARGV: now, rules, budgets, then per rule (width, buckets).
    /// Returns per rule {used, reset ms} and per budget {used tokens, used micro-dollars, reserved tokens, reserved micro-dollars}.
    /// </summary>
    public const string Status = Prelude + """
        local nr, nb = tonumber(ARGV[2]), tonumber(ARGV[3])
        local out = {}
        for i = 1, nr do
          local width, size = tonumber(ARGV[4 + (i - 1) * 2]), tonumber(ARGV[5 + (i - 1) * 2])
          local total, cur = slide(KEYS[i], width, size)
          table.insert(out, total)
          table.insert(out, (cur + size) * width - now)
        end
        for j = 1, nb do
          local h, z = KEYS[nr + 2 * j - 1], KEYS[nr + 2 * j]
          purge(h, z)
          local u, c, rt, rc = budget(h)
          table.insert(out, u)
          table.insert(out, c)
          table.insert(out, rt)
          table.insert(out, rc)
        end
        return out
        """;
}
