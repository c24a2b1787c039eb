"""A thread-safe LRU cache that computes each key once, however many callers ask at the same time.

Used for loaded models (:func:`segcore.unet.model.load_model`) and, in the
app, for results shared by every visitor. Two rules:

- **Single flight**: while a key is being computed, other callers of
  :meth:`LruCache.get_or_compute` for that key wait for that computation
  instead of starting their own. If it raises one of ``shared_errors`` (a
  deterministic refusal such as a bad parameter), the waiters get the same
  error; any other exception (an interrupted caller) is raised only to its
  own caller, and the next waiter computes the value itself.
- **Bounded**: at most ``max_items`` entries and ``max_bytes`` bytes, as
  measured by ``weigh(value)``; the least recently used entries go first. A
  value heavier than ``max_bytes`` on its own is returned but not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any, Callable, Hashable

from .errors import SegcoreError


def _one(value: Any) -> int:
    return 1


class LruCache:
    """Least-recently-used mapping with single-flight computation (see the module docstring)."""

    def __init__(self, *, max_items: int | None = None, max_bytes: int | None = None,
                 weigh: Callable[[Any], int] = _one,
                 shared_errors: tuple[type[BaseException], ...] = (SegcoreError,)) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.weigh = weigh
        self.shared_errors = shared_errors
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, Future] = {}
        self._waiting: dict[Hashable, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    @property
    def nbytes(self) -> int:
        """Total weight of the values held now."""
        with self._lock:
            return self._bytes

    def waiting(self, key: Hashable) -> int:
        """How many callers wait now for another caller's computation of ``key``."""
        with self._lock:
            return self._waiting.get(key, 0)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        weight = int(self.weigh(value))
        with self._lock:
            self._store(key, value, weight)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, computing it with ``compute()`` once if it is missing."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = Future()
                    break  # this caller computes
                self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                return pending.result()
            except self.shared_errors:
                raise
            except BaseException:  # the computing caller was interrupted: try again
                continue
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if not self._waiting[key]:
                        del self._waiting[key]
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        weight = int(self.weigh(value))
        with self._lock:
            self._store(key, value, weight)
            del self._pending[key]
        pending.set_result(value)
        return value

    def _store(self, key: Hashable, value: Any, weight: int) -> None:
        if key in self._items:
            self._bytes -= self._items.pop(key)[1]
        if self.max_bytes is not None and weight > self.max_bytes:
            return
        self._items[key] = (value, weight)
        self._bytes += weight
        while self._items and ((self.max_items is not None and len(self._items) > self.max_items)
                               or (self.max_bytes is not None and self._bytes > self.max_bytes)):
            self._bytes -= self._items.popitem(last=False)[1][1]


def nbytes_of(value: Any, _depth: int = 0) -> int:
    """Bytes held by the numpy arrays inside ``value`` (dataclasses, dicts, lists and tuples are searched).

    >>> import numpy as np
    >>> nbytes_of({"mask": np.zeros((4, 4), np.uint8), "info": [np.zeros(3)]})
    40
    """
    import dataclasses

    import numpy as np

    if _depth > 6:
        return 0
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes_of(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return sum(nbytes_of(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v, _depth + 1) for v in value)
    return 0
