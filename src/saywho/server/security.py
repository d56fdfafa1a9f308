"""Who may call the server: the API token, loopback clients, and a rate limit per client;
which ``Host`` it answers to, and which cross-site requests it refuses.

The token is generated on first start, shown once, and only its SHA-256 is kept (a file
readable by its owner alone, mode 0600). A client sends it as ``Authorization: Bearer …``
(or the page's cookie, set by ``POST /v1/login``).

A web page the user visits could otherwise reach a server on loopback from the user's
browser: a cross-site ``POST`` (no token needed from loopback), or DNS rebinding (a site's
own name made to point at 127.0.0.1, so the browser reads our answers as the site's). So the
server answers only to the host names it is reached by (:class:`HostCheck`) and refuses
state-changing requests that a browser marks as coming from another site (:func:`cross_site`).
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HostCheck",
    "RateLimiter",
    "TokenCheck",
    "cross_site",
    "host_name",
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


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header: no port, no IPv6 brackets, lower case, no final dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""  # malformed: matches nothing
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


@dataclass(frozen=True, slots=True)
class HostCheck:
    """The host names the server answers to.

    ``names``: exact names (``*`` among them: any). ``any_ip``: any IP address written as
    such, for a server bound to every interface (an IP address cannot be rebound: a page
    whose origin is an IP address was served by that address).
    """

    names: frozenset[str]
    any_ip: bool = False

    @classmethod
    def for_bind(cls, bound: str, allowed: Iterable[str], machine: Iterable[str] = ()) -> HostCheck:
        """The check for a server bound to ``bound``, plus the ``allowed`` names.

        On loopback the loopback names are added; bound to every interface (``0.0.0.0``,
        ``::``) any IP address and the ``machine``'s own names are.
        """
        names = {host_name(bound), *(host_name(name) for name in allowed)}
        everywhere = bound.strip() in _ANY_ADDRESS
        if everywhere or is_loopback(bound):
            names.update(_LOOPBACK_NAMES)
        if everywhere:
            names.update(host_name(name) for name in machine if name)
        names.discard("")
        return cls(frozenset(names), any_ip=everywhere)

    def accepts(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header is ours to answer."""
        if not host_header:
            return False
        if "*" in self.names:
            return True
        host = host_name(host_header)
        if host in self.names:
            return True
        if not self.any_ip:
            return False
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def cross_site(
    method: str, headers: Mapping[str, str], host_header: str, allowed_origins: Iterable[str]
) -> bool:
    """Whether a state-changing request comes from a page of another site (refuse it).

    ``headers`` are lower-case names. Browsers send ``Sec-Fetch-Site`` (a page cannot forge
    it); older ones only ``Origin``, compared with the ``Host`` the request went to. A request
    with neither is not from a page (curl, httpx, a script): it is left to the token check.
    ``allowed_origins`` are the CORS origins the operator named (``*``: any).
    """
    if method.upper() in _SAFE_METHODS:
        return False
    origin = headers.get("origin")
    allowed = set(allowed_origins)
    if origin is not None and ("*" in allowed or origin in allowed):
        return False
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    if origin is None:
        return False
    _, _, rest = origin.partition("://")
    return not rest or rest.lower().rstrip("/") != host_header.strip().lower()


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
