"""The shared cache's backend (hdh_access/cache.py): Django's Redis cache with one client per
connection pool, working as Django's does."""

from __future__ import annotations

import threading

from django.core.cache import cache, caches


def test_the_shared_cache_keeps_one_client_and_answers_as_djangos(shared_cache):
    assert type(caches["default"]).__module__ == "hdh_access.cache"
    client = cache._cache.get_client()
    assert cache.add("a", {"x": 1}, 60) and not cache.add("a", 2, 60)
    assert cache.get("a") == {"x": 1}
    cache.set_many({"b": 2, "c": [3]}, 60)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": {"x": 1}, "b": 2, "c": [3]}
    assert cache.incr("b") == 3 and cache.delete("a") and cache.get("a", "gone") == "gone"
    assert cache.touch("c", 1) and cache.has_key("c")
    assert cache._cache.get_client(write=True) is client  # one pool, one client, however many operations


def test_each_thread_has_its_own_cache_and_clients(shared_cache):
    cache.set("k", "main", 60)
    seen = {}

    def other():
        from django.core.cache import cache as theirs
        seen["value"], seen["client"] = theirs.get("k"), theirs._cache.get_client()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen["value"] == "main"
    assert seen["client"] is not cache._cache.get_client()
