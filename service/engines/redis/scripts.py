"""Lua scripts of the Redis engine (docs/redis.md#keys-and-scripts; semantics of centrifuge
v0.28.2).

All scripts are run with ``EVALSHA`` and fall back to ``EVAL`` on ``NOSCRIPT`` (which also
caches them); see ``Shard.script``.  Keys of one script always share a cluster slot (``{ch}``).
One difference from v4, only where v4 would break: when the meta hash is missing (expired
before the stream, i.e. history_meta_ttl < history_ttl) a leftover stream of the old epoch is
deleted, so ``XADD`` never fails on a smaller ID and old-epoch publications are never served
under the new epoch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Script:
    """Lua source and its SHA1 (the ``EVALSHA`` handle)."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


# KEYS: stream, meta, idempotent result (the meta key again when ARGV[7] is "").
# ARGV: payload, history size, history ttl (s), PUB/SUB channel ("" = do not publish),
#       meta ttl (s, "0" = none), new epoch, result ttl (s; "" = not idempotent).
# Returns {offset, epoch}; publishes "__p1:<offset>:<epoch>__" .. payload.  With a result
# key: a result stored there is returned at once (nothing stored or published), else this one
# is stored there (fields s and e) for the result ttl (docs/beyond_v4.md#idempotent-publish).
PUBLISH_HISTORY = Script("""
if ARGV[7] ~= "" then
  local found = redis.call("hmget", KEYS[3], "s", "e")
  if found[1] then
    return {found[1], found[2]}
  end
end
local epoch
if redis.call("exists", KEYS[2]) ~= 0 then
  epoch = redis.call("hget", KEYS[2], "e")
else
  redis.call("del", KEYS[1])
end
if epoch == false or epoch == nil then
  epoch = ARGV[6]
  redis.call("hset", KEYS[2], "e", epoch)
end
local offset = redis.call("hincrby", KEYS[2], "s", 1)
if ARGV[5] ~= "0" then
  redis.call("expire", KEYS[2], ARGV[5])
end
redis.call("xadd", KEYS[1], "MAXLEN", ARGV[2], offset, "d", ARGV[1])
redis.call("expire", KEYS[1], ARGV[3])
if ARGV[4] ~= "" then
  redis.call("publish", ARGV[4], "__p1:" .. offset .. ":" .. epoch .. "__" .. ARGV[1])
end
if ARGV[7] ~= "" then
  redis.call("hset", KEYS[3], "s", offset, "e", epoch)
  redis.call("expire", KEYS[3], ARGV[7])
end
return {offset, epoch}
""")

# KEYS: idempotent result.  ARGV: payload, PUB/SUB channel, result ttl (s).
# An idempotent publish without history: PUBLISH unless a result is stored (then nothing);
# stores s = 0, e = "" for the result ttl.  Returns 1 when it published, 0 when suppressed.
PUBLISH_IDEMPOTENT = Script("""
if redis.call("exists", KEYS[1]) ~= 0 then
  return 0
end
redis.call("publish", ARGV[2], ARGV[1])
redis.call("hset", KEYS[1], "s", "0", "e", "")
redis.call("expire", KEYS[1], ARGV[3])
return 1
""")

# KEYS: stream, meta.
# ARGV: include publications ("1"/"0"), from entry ID, limit ("0" = no COUNT),
#       reverse ("1"/"0"), meta ttl (s, "0" = leave unchanged), new epoch.
# Returns {top offset or false, epoch, entries or nothing}.
HISTORY = Script("""
local offset = redis.call("hget", KEYS[2], "s")
local epoch
if redis.call("exists", KEYS[2]) ~= 0 then
  epoch = redis.call("hget", KEYS[2], "e")
else
  redis.call("del", KEYS[1])
end
if epoch == false or epoch == nil then
  epoch = ARGV[6]
  redis.call("hset", KEYS[2], "e", epoch)
end
if ARGV[5] ~= "0" then
  redis.call("expire", KEYS[2], ARGV[5])
end
local pubs = nil
if ARGV[1] ~= "0" then
  if ARGV[4] == "0" then
    if ARGV[3] ~= "0" then
      pubs = redis.call("xrange", KEYS[1], ARGV[2], "+", "COUNT", ARGV[3])
    else
      pubs = redis.call("xrange", KEYS[1], ARGV[2], "+")
    end
  else
    if ARGV[3] ~= "0" then
      pubs = redis.call("xrevrange", KEYS[1], ARGV[2], "-", "COUNT", ARGV[3])
    else
      pubs = redis.call("xrevrange", KEYS[1], ARGV[2], "-")
    end
  end
end
return {offset, epoch, pubs}
""")

# KEYS: presence expire zset, presence data hash.  ARGV: ttl (s), expire at (unix s),
# client ID, protobuf ClientInfo.  Entries whose expiry passed are dropped first, as a read
# drops them: the keys' own EXPIRE is pushed back by every add, so in a channel whose other
# clients keep refreshing, the entry of a client whose removal failed (engine down when it
# left) would otherwise stay until somebody asks for the presence.
ADD_PRESENCE = Script("""
local now = tonumber(ARGV[2]) - tonumber(ARGV[1])
local expired = redis.call("zrangebyscore", KEYS[1], "0", now)
if #expired > 0 then
  for num = 1, #expired do
    redis.call("hdel", KEYS[2], expired[num])
  end
  redis.call("zremrangebyscore", KEYS[1], "0", now)
end
redis.call("zadd", KEYS[1], ARGV[2], ARGV[3])
redis.call("hset", KEYS[2], ARGV[3], ARGV[4])
redis.call("expire", KEYS[1], ARGV[1])
redis.call("expire", KEYS[2], ARGV[1])
""")

# KEYS: presence expire zset, presence data hash.  ARGV: client ID.
REMOVE_PRESENCE = Script("""
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("zrem", KEYS[1], ARGV[1])
""")

# KEYS: presence expire zset, presence data hash.  ARGV: now (unix s).
# Drops expired members, returns HGETALL of the data hash.
PRESENCE = Script("""
local expired = redis.call("zrangebyscore", KEYS[1], "0", ARGV[1])
if #expired > 0 then
  for num = 1, #expired do
    redis.call("hdel", KEYS[2], expired[num])
  end
  redis.call("zremrangebyscore", KEYS[1], "0", ARGV[1])
end
return redis.call("hgetall", KEYS[2])
""")
