"""Where each handler finds its adapter to the outside world (a register, an agency's system, an
SMS gateway, the post): chosen from the environment on first use, replaceable for a block
(tests, a demo). One slot per adapter, keyed when a handler has several (one per agency)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Generic, Hashable, Iterator, TypeVar

Adapter = TypeVar("Adapter")


class AdapterSlot(Generic[Adapter]):
    def __init__(self, from_environment: Callable[..., Adapter]):
        self._from_environment = from_environment
        self._chosen: dict[Hashable, Adapter] = {}
        self._lock = threading.Lock()

    def current(self, *key: Hashable) -> Adapter:
        """The adapter for `key` (none, or e.g. an agency), created on first use from the environment."""
        with self._lock:
            if key not in self._chosen:
                self._chosen[key] = self._from_environment(*key)
            return self._chosen[key]

    def set(self, adapter: Adapter | None, *key: Hashable) -> None:
        """Replace it; None means "choose again from the environment on next use"."""
        with self._lock:
            if adapter is None:
                self._chosen.pop(key, None)
            else:
                self._chosen[key] = adapter

    @contextmanager
    def use(self, adapter: Adapter, *key: Hashable) -> Iterator[Adapter]:
        """Use `adapter` inside the block, then put the previous one back."""
        with self._lock:
            previous = self._chosen.get(key)
            self._chosen[key] = adapter
        try:
            yield adapter
        finally:
            self.set(previous, *key)
