"""Real redis-server fixtures for the Redis-engine cases (data entering from Redis)."""

from tests.redis_fixtures import *  # noqa: F403
