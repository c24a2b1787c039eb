"""segcore.cache.LruCache: bounded by bytes, least recently used out, one computation per key."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from segcore.cache import LruCache, nbytes_of
from segcore.errors import InvalidParameterError
from segcore.result import SegmentationResult

MB = 2**20


def block(megabytes: int) -> np.ndarray:
    return np.zeros(megabytes * MB, np.uint8)


def test_eviction_by_size_keeps_the_total_under_the_bound():
    cache = LruCache(max_bytes=10 * MB, weigh=nbytes_of)
    for key in "abcd":
        cache.put(key, block(3))
    assert cache.nbytes == 9 * MB and len(cache) == 3
    assert "a" not in cache and all(k in cache for k in "bcd")


def test_the_least_recently_used_goes_first():
    cache = LruCache(max_bytes=10 * MB, weigh=nbytes_of)
    for key in "abc":
        cache.put(key, block(3))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", block(3))
    assert "b" not in cache and {"a", "c", "d"} == {k for k in "abcd" if k in cache}


def test_one_big_value_pushes_out_many_small_ones():
    cache = LruCache(max_bytes=10 * MB, weigh=nbytes_of)
    for i in range(10):
        cache.put(i, block(1))
    cache.put("big", block(8))
    assert cache.nbytes <= 10 * MB
    assert "big" in cache and len(cache) == 3


def test_a_value_over_the_bound_is_returned_but_not_kept():
    cache = LruCache(max_bytes=4 * MB, weigh=nbytes_of)
    cache.put("small", block(1))
    value = cache.get_or_compute("huge", lambda: block(5))
    assert value.nbytes == 5 * MB
    assert "huge" not in cache and "small" in cache and cache.nbytes == MB


def test_replacing_a_key_does_not_count_it_twice():
    cache = LruCache(max_bytes=10 * MB, weigh=nbytes_of)
    cache.put("a", block(4))
    cache.put("a", block(2))
    assert cache.nbytes == 2 * MB and len(cache) == 1


def test_a_count_bound_works_too():
    cache = LruCache(max_items=2)
    for key in "abc":
        cache.put(key, key)
    assert len(cache) == 2 and "a" not in cache


def test_nbytes_of_a_result_counts_every_array_it_holds():
    labels = np.zeros((10, 20), np.uint8)
    result = SegmentationResult(method="x", labels=labels, mask=labels > 0,
                                info={"probabilities": np.zeros((10, 20), np.float32), "steps": [np.zeros(5)],
                                      "count": 3})
    assert nbytes_of(result) == 200 + 200 + 800 + 40


def test_two_threads_asking_for_one_key_compute_once():
    cache = LruCache(max_items=8)
    started, release = threading.Event(), threading.Event()
    calls = []

    def compute():
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(30)  # hold the first computation until the second caller is waiting on it
        return object()

    got = {}
    first = threading.Thread(target=lambda: got.setdefault("first", cache.get_or_compute("k", compute)))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=lambda: got.setdefault("second", cache.get_or_compute("k", compute)))
    second.start()
    while not cache.waiting("k"):  # until the second caller waits on the first one's computation
        second.join(0.01)
        assert second.is_alive(), got
    release.set()
    first.join(30)
    second.join(30)
    assert len(calls) == 1
    assert got["first"] is got["second"]


def test_waiters_share_a_refusal_but_retry_after_an_interruption():
    cache = LruCache(max_items=8)
    with pytest.raises(InvalidParameterError):
        cache.get_or_compute("bad", lambda: (_ for _ in ()).throw(InvalidParameterError("refused")))
    assert "bad" not in cache  # errors are not cached

    started, release = threading.Event(), threading.Event()

    def interrupted():
        started.set()
        release.wait(30)
        raise KeyboardInterrupt  # stands for a caller whose page run was stopped

    errors = []

    def owner():
        try:
            cache.get_or_compute("k", interrupted)
        except KeyboardInterrupt as error:
            errors.append(error)

    got = []
    first = threading.Thread(target=owner)
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=lambda: got.append(cache.get_or_compute("k", lambda: "computed again")))
    second.start()
    while not cache.waiting("k"):
        second.join(0.01)
        assert second.is_alive(), got
    release.set()
    first.join(30)
    second.join(30)
    assert len(errors) == 1 and got == ["computed again"]
    assert cache.get("k") == "computed again"
