"""Rendered PDFs, kept by a hash of everything that shapes them.

The key is an HMAC (keyed with the app's SECRET_KEY) over the HTML, the paper, the
stylesheets and fonts, and the engine version: opaque, so a key says nothing about the
couple, and any change to the content or the settings gives a new key. PDFs hold
clinical data, so the shared (Redis) copy lives for a short TTL only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEY_PREFIX = "tandem:pdf:"
# Seconds one Redis call may take (connecting, or waiting for an answer); the config's
# REDIS_TIMEOUT has the same default for the rate limiter.
REDIS_TIMEOUT = 0.5
# Seconds Redis is left alone after a failed call.
RETRY_AFTER = 30


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

    A Redis outage must not stop PDFs, nor slow them: each call waits at most `timeout`
    seconds, and after a failure Redis is left alone for RETRY_AFTER seconds, so a hung
    server costs one request half a second, not every request. Meanwhile PDFs are simply
    rendered again (no copy is kept in memory instead: they hold clinical data, and the
    shared copy's short TTL is the point). The outage is logged once, and the recovery.
    """

    def __init__(
        self,
        url: str,
        ttl: int,
        max_entry_bytes: int,
        timeout: float = REDIS_TIMEOUT,
        prefix: str = KEY_PREFIX,
        what: str = "PDF",
    ) -> None:
        import redis

        self.prefix = prefix
        self.what = what  # for the log: "PDF cache (Redis) unavailable; rendering PDFs ..."
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._lock = threading.Lock()
        self._retry_at = 0.0  # monotonic time before which Redis is not asked
        self._down = False

    def _usable(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_AFTER
            first, self._down = not self._down, True
        if first:  # a cache miss, not an error page; said once per outage
            log.warning(
                "%s cache (Redis) unavailable; rendering %ss without it, trying again "
                "every %d seconds",
                self.what,
                self.what,
                RETRY_AFTER,
                exc_info=True,
            )

    def _answered(self) -> None:
        if self._down:
            with self._lock:
                recovered, self._down = self._down, False
            if recovered:
                log.info("%s cache (Redis) is answering again", self.what)

    def get(self, key: str) -> bytes | None:
        if not self._usable():
            return None
        try:
            pdf = self._client.get(self.prefix + key)
        except Exception:
            self._failed()
            return None
        self._answered()
        return pdf if isinstance(pdf, bytes) else None

    def set(self, key: str, pdf: bytes) -> None:
        if len(pdf) > self.max_entry_bytes or not self._usable():
            return
        try:
            self._client.set(self.prefix + key, pdf, ex=self.ttl)
        except Exception:  # the PDF was made; only the shared copy is lost
            self._failed()
            return
        self._answered()

    def clear(self) -> None:
        try:
            keys = list(self._client.scan_iter(match=self.prefix + "*", count=500))
            for start in range(0, len(keys), 500):
                self._client.delete(*keys[start : start + 500])
        except Exception:  # entries left behind expire after the TTL
            self._failed()

    def close(self) -> None:
        """Close the connections to Redis (an app that is done with the cache)."""
        self._client.close()
