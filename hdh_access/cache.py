"""The shared cache's backend (``CACHE_URL``): Django's Redis cache, with one Redis client per
connection pool instead of one per operation.

Django's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache operation, and
each copies its table of about two hundred response callbacks when it is made: about 70 µs of CPU,
three or four times a page (the session, the permissions, the site's configuration, the forecast
baseline). A client holds no connection of its own (each command takes one from the pool and gives
it back), so one client per pool serves every operation. Django keeps a cache object per thread,
so each thread keeps its own clients too.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}  # connection pool -> its client

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, which its stubs do not declare.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
