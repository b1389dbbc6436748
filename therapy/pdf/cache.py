"""Rendered PDFs, kept by a hash of everything that shapes them.

The key is an HMAC (keyed with the app's SECRET_KEY) over the HTML, the paper, the
stylesheets and fonts, and the engine version: opaque, so a key says nothing about the
couple, and any change to the content or the settings gives a new key. PDFs hold
clinical data, so the shared (Redis) copy lives for a short TTL only.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEY_PREFIX = "tandem:pdf:"


class PdfCache(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, pdf: bytes) -> None: ...
    def clear(self) -> None: ...


class NoCache:
    """Caching turned off (PDF_CACHE = "none")."""

    def get(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, pdf: bytes) -> None:
        pass

    def clear(self) -> None:
        pass


class MemoryCache:
    """An in-process LRU bounded by the total bytes it holds."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> bytes | None:
        with self._lock:
            pdf = self._items.get(key)
            if pdf is not None:
                self._items.move_to_end(key)
            return pdf

    def set(self, key: str, pdf: bytes) -> None:
        if len(pdf) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = pdf
            self._bytes += len(pdf)
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class RedisCache:
    """Shared by every worker process; entries expire after `ttl` seconds.

    A Redis outage must not stop PDFs: errors are logged and the PDF is rendered again.
    """

    def __init__(self, url: str, ttl: int, max_entry_bytes: int) -> None:
        import redis

        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )

    def get(self, key: str) -> bytes | None:
        try:
            pdf = self._client.get(KEY_PREFIX + key)
        except Exception:  # a cache miss, not an error page
            log.warning("PDF cache (Redis) unavailable; rendering instead", exc_info=True)
            return None
        return pdf if isinstance(pdf, bytes) else None

    def set(self, key: str, pdf: bytes) -> None:
        if len(pdf) > self.max_entry_bytes:
            return
        try:
            self._client.set(KEY_PREFIX + key, pdf, ex=self.ttl)
        except Exception:  # the PDF was made; only the cached copy is lost
            log.warning("PDF cache (Redis) unavailable; not cached", exc_info=True)

    def clear(self) -> None:
        keys = list(self._client.scan_iter(match=KEY_PREFIX + "*", count=500))
        for start in range(0, len(keys), 500):
            self._client.delete(*keys[start : start + 500])
