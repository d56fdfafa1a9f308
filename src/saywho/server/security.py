"""Who may call the server: the API token, loopback clients, and a rate limit per client.

The token is generated on first start, shown once, and only its SHA-256 is kept (a file
readable by its owner alone, mode 0600). A client sends it as ``Authorization: Bearer …``
(or the page's cookie, set by ``POST /v1/login``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RateLimiter",
    "TokenCheck",
    "is_loopback",
    "load_or_create_token",
    "token_required",
    "without_paths",
]

TOKEN_FILE = "token.sha256"


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_required(auth: str, client: str | None) -> bool:
    """Whether a request from ``client`` must carry the token, under the ``auth`` mode.

    ``remote``: from clients not on loopback; ``always``; ``none``: never.
    """
    if auth == "none":
        return False
    return auth == "always" or not is_loopback(client)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """Checks a presented token against the stored digest."""

    digest: str

    def accepts(self, token: str | None) -> bool:
        """True if ``token`` is the server's token (compared in constant time)."""
        if not token:
            return False
        presented = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        return hmac.compare_digest(presented, self.digest)


def load_or_create_token(data_dir: Path, *, renew: bool = False) -> tuple[TokenCheck, str | None]:
    """The server's token check, and the new token when one was just generated (else None).

    The digest lives in ``data_dir/token.sha256`` with mode 0600.
    """
    path = data_dir / TOKEN_FILE
    if path.exists() and not renew:
        return TokenCheck(path.read_text(encoding="ascii").strip()), None
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(digest + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    return TokenCheck(digest), token


def without_paths(message: str, labels: Mapping[Path, str], root: Path) -> str:
    """``message`` fit for a client: each path of ``labels`` becomes its label (the client's
    file name), any other path under ``root`` (the data directory) becomes ``<data dir>``."""
    for path, label in labels.items():
        message = message.replace(str(path), label)
    return re.sub(re.escape(str(root)) + r"[^\s'\"]*", "<data dir>", message)


class RateLimiter:
    """A token bucket per client address: ``per_minute`` requests, bursts up to that many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> float:
        """0 if ``client`` may make a request now, else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:
                self._forget_idle(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, (_, last) in self._buckets.items() if now - last > 120]
        for key in idle:
            del self._buckets[key]
