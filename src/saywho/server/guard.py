"""The guard in front of every request: which requests reach the app at all.

In this order: the ``Host`` allow-list (DNS rebinding), the rate limit per client,
cross-site requests that would change something, then the API token where it is required
(:mod:`saywho.server.security` holds the rules; this is the ASGI middleware that applies
them). Every answer also gets the headers that keep our pages out of other sites' frames.

A WebSocket handshake (``/v1/live``) passes the same checks: it is a ``GET`` that changes
something, so a page of another site may not open one (browsers send ``Origin`` with every
handshake and carry cookies, so without this any page could talk to a server on loopback).
A refused handshake gets the HTTP status and JSON message a refused request gets.
"""

from __future__ import annotations

import json
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saywho.server.security import HostCheck, RateLimiter, TokenCheck, cross_site, token_required
from saywho.server.settings import ServerSettings

__all__ = ["COOKIE", "PUBLIC", "Guard"]

COOKIE = "saywho_token"
PUBLIC = ("/", "/live", "/docs", "/v1/openapi.json", "/v1/info", "/v1/login", "/favicon.ico")
"""Paths that never need the token."""


class Guard:
    """ASGI middleware, in this order: the ``Host`` allow-list, the rate limit per client,
    cross-site requests, then the API token where it is required. Every answer gets the
    headers that keep our pages out of other sites' frames."""

    def __init__(self, app: ASGIApp, settings: ServerSettings, token: TokenCheck | None) -> None:
        self.app = app
        self.settings = settings
        self.token = token
        self.limiter = RateLimiter(settings.requests_per_minute)
        self.hosts = HostCheck.for_bind(
            settings.host, settings.allowed_hosts, machine=(socket.gethostname(),)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if kind == "http":
            send = _with_headers(send, _ALWAYS)
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif kind == "http":
            await _refuse(send, *refusal)
        else:
            await _refuse_websocket(scope, send, *refusal)

    def _refusal(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        """Why the request of ``scope`` is refused (status, message, headers), or None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self.hosts.accepts(host):
            return (
                400,
                f"this server does not answer to the host {host!r}; "
                "start it with --allowed-host NAME to add a name",
                {},
            )
        client = scope["client"][0] if scope.get("client") else None
        wait_s = self.limiter.allow(client or "?")
        if wait_s > 0:
            return 429, "too many requests; slow down", {"retry-after": f"{wait_s:.0f}"}
        bearer = self._bearer(headers)
        # A WebSocket handshake is a GET that starts something: checked as a change is.
        method = scope["method"] if scope["type"] == "http" else "CONNECT"
        if not bearer and cross_site(method, headers, host, self.settings.cors_origins):
            return (
                403,
                "refused a cross-site request: a page of another site cannot change "
                "anything here (send the API token, or name that site with --cors-origin)",
                {},
            )
        path: str = scope["path"]
        public = path in PUBLIC or path.startswith("/static/")
        required = token_required(self.settings.auth, client)
        if not public and required and not (bearer or self._cookie(headers)):
            return (
                401,
                "an API token is required: send 'Authorization: Bearer <token>' "
                "(the token was printed when the server first started; "
                "`saywho serve --new-token` makes a new one)",
                {"www-authenticate": "Bearer"},
            )
        return None

    def _bearer(self, headers: dict[str, str]) -> bool:
        """Whether the request carries the token in ``Authorization`` (a page of another
        site cannot make a browser send that header by itself, unlike a cookie)."""
        bearer = headers.get("authorization", "")
        return (
            self.token is not None
            and bearer.lower().startswith("bearer ")
            and self.token.accepts(bearer[7:].strip())
        )

    def _cookie(self, headers: dict[str, str]) -> bool:
        if self.token is None:
            return False
        for item in headers.get("cookie", "").split(";"):
            key, _, value = item.strip().partition("=")
            if key == COOKIE and self.token.accepts(value):
                return True
        return False


# On every answer: no framing by other sites (clickjacking), no content sniffing.
_ALWAYS = ((b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"))


def _with_headers(send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


async def _refuse(send: Send, status: int, message: str, headers: dict[str, str]) -> None:
    await _answer(send, "http.response", status, message, headers)


async def _refuse_websocket(
    scope: Scope, send: Send, status: int, message: str, headers: dict[str, str]
) -> None:
    """Refuse a WebSocket handshake: with an HTTP answer where the server can send one
    (the ``websocket.http.response`` extension), else by closing it (the client sees 403)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    await _answer(send, "websocket.http.response", status, message, headers)


async def _answer(
    send: Send, kind: str, status: int, message: str, headers: dict[str, str]
) -> None:
    """Answer ``status`` with ``{"detail": message}``; ``kind``: the ASGI message type's
    prefix (an HTTP response, or the HTTP answer to a WebSocket handshake)."""
    body = json.dumps({"detail": message}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    start: Message = {"type": f"{kind}.start", "status": status, "headers": raw}
    await send(start)
    await send({"type": f"{kind}.body", "body": body})
