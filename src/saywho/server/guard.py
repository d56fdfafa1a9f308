"""The guard in front of every request: which requests reach the app at all.

In this order: the ``Host`` allow-list (DNS rebinding), the rate limit per client,
cross-site requests that would change something, then the API token where it is required
(:mod:`saywho.server.security` holds the rules; this is the ASGI middleware that applies
them). Every answer also gets the headers that keep our pages out of other sites' frames.
"""

from __future__ import annotations

import json
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saywho.server.security import HostCheck, RateLimiter, TokenCheck, cross_site, token_required
from saywho.server.settings import ServerSettings

__all__ = ["COOKIE", "PUBLIC", "Guard"]

COOKIE = "saywho_token"
PUBLIC = ("/", "/docs", "/v1/openapi.json", "/v1/info", "/v1/login", "/favicon.ico")
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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, _ALWAYS)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self.hosts.accepts(host):
            await _refuse(
                send,
                400,
                f"this server does not answer to the host {host!r}; "
                "start it with --allowed-host NAME to add a name",
                {},
            )
            return
        client = scope["client"][0] if scope.get("client") else None
        wait_s = self.limiter.allow(client or "?")
        if wait_s > 0:
            await _refuse(
                send, 429, "too many requests; slow down", {"retry-after": f"{wait_s:.0f}"}
            )
            return
        bearer = self._bearer(headers)
        if not bearer and cross_site(scope["method"], headers, host, self.settings.cors_origins):
            await _refuse(
                send,
                403,
                "refused a cross-site request: a page of another site cannot change "
                "anything here (send the API token, or name that site with --cors-origin)",
                {},
            )
            return
        path: str = scope["path"]
        public = path in PUBLIC or path.startswith("/static/")
        required = token_required(self.settings.auth, client)
        if not public and required and not (bearer or self._cookie(headers)):
            await _refuse(
                send,
                401,
                "an API token is required: send 'Authorization: Bearer <token>' "
                "(the token was printed when the server first started; "
                "`saywho serve --new-token` makes a new one)",
                {"www-authenticate": "Bearer"},
            )
            return
        await self.app(scope, receive, send)

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
    body = json.dumps({"detail": message}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    start: Message = {"type": "http.response.start", "status": status, "headers": raw}
    await send(start)
    await send({"type": "http.response.body", "body": body})
