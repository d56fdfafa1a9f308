"""The WebSocket ``/v1/live``: a live session over one connection (protocol:
:mod:`saywho.server.live_protocol`; the session: :mod:`saywho.server.live`).

Two tasks share the connection: the receiver feeds audio to the session and passes renames
and "stop" on; the sender passes on what the session emits. A client that stops, goes away
or says nothing for :data:`IDLE_S` ends the stream, and the session becomes a job; a client
that breaks the protocol gets an error, the connection is closed, and the session is
discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from saywho.errors import ConfigError, SaywhoError
from saywho.server.live import Claim, End, LiveRoom, LiveSession
from saywho.server.live_protocol import (
    INTERNAL,
    POLICY,
    TRY_LATER,
    LiveProtocolError,
    Rename,
    Start,
    Stop,
    parse_audio,
    parse_text,
)
from saywho.server.options import JobOptions

__all__ = ["IDLE_S", "router"]

IDLE_S = 30.0
"""A client that sends nothing for this long has stopped."""

_Received = Start | Rename | Stop | npt.NDArray[np.float32] | Literal["gone", "idle"]


def router(room: LiveRoom) -> APIRouter:
    """The live session's WebSocket route."""
    live = APIRouter()

    @live.websocket("/v1/live")
    async def live_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        claim = room.claim()
        if claim is None:
            await _fail(
                websocket,
                TRY_LATER,
                "another live session is running on this server (one at a time); "
                "try again when it has ended",
            )
            return
        connected = None
        try:
            connected = await _open(websocket, room, claim)
        except LiveProtocolError as error:
            claim.release()
            await _fail(websocket, error.code, str(error))
        except SaywhoError as error:  # options the models refuse (a language), a model, …
            claim.release()
            await _fail(
                websocket, POLICY if isinstance(error, ConfigError) else INTERNAL, str(error)
            )
        finally:
            if connected is None:  # no session started: the room is free again
                claim.release()
        if connected is not None:  # the session frees the room when it ends
            await _converse(websocket, connected)

    return live


async def _open(websocket: WebSocket, room: LiveRoom, claim: Claim) -> _Connected | None:
    """Read the first message and start a session under ``claim``; None when there is
    nothing to start."""
    first = await _next(websocket, room)
    if isinstance(first, (str, Stop)):
        if not isinstance(first, str) or first != "gone":
            await websocket.close(1000, "nothing to do")
        return None
    if isinstance(first, Rename):
        raise LiveProtocolError(POLICY, "send start or audio first")
    options = first.options if isinstance(first, Start) else JobOptions()
    outbox: asyncio.Queue[dict[str, Any] | End] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def emit(message: dict[str, Any] | End) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is closed: the server stops
            loop.call_soon_threadsafe(outbox.put_nowait, message)

    session = await run_in_threadpool(room.open, claim, options, emit)
    session.start()  # what it says waits in the outbox until the sender runs, after this
    longest = room.max_s if math.isfinite(room.max_s) else None
    try:
        await websocket.send_json({"type": "ready", "max_s": longest})
    except (WebSocketDisconnect, RuntimeError, OSError):  # gone while the models loaded
        session.discard()
    if not isinstance(first, Start):
        session.feed(first)
    return _Connected(session, outbox)


@dataclass(frozen=True, slots=True)
class _Connected:
    """An open session and the queue of what it says."""

    session: LiveSession
    outbox: asyncio.Queue[dict[str, Any] | End]


async def _converse(websocket: WebSocket, connected: _Connected) -> None:
    session = connected.session
    sender = asyncio.create_task(_send_all(websocket, connected.outbox))
    receiver = asyncio.create_task(_receive_all(websocket, session))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if not receiver.done():  # the session ended by itself (its longest, a failure)
            receiver.cancel()
            return
        error = receiver.exception()
        if isinstance(error, LiveProtocolError):
            session.discard()
            sender.cancel()
            await _fail(websocket, error.code, str(error))
        elif error is not None:
            session.discard()
            raise error
        elif receiver.result() == "gone":
            session.stop()  # the recording is kept as a job all the same
            sender.cancel()
        else:
            await sender  # finishing, then the job, then the close
    finally:
        for task in (sender, receiver):
            task.cancel()


async def _receive_all(websocket: WebSocket, session: LiveSession) -> Literal["stop", "gone"]:
    """Feed the session until the client stops (or is idle) or goes away."""
    while True:
        message = await _next(websocket, session.room)
        if isinstance(message, np.ndarray):
            session.feed(message)
        elif isinstance(message, Rename):
            session.rename(message.label, message.name)
        elif isinstance(message, Start):
            raise LiveProtocolError(POLICY, "start must be the first message")
        elif message == "gone":
            return "gone"
        else:  # stop, or idle
            session.stop()
            return "stop"


async def _next(websocket: WebSocket, room: LiveRoom) -> _Received:
    """The client's next message, parsed; ``gone`` or ``idle`` when there is none."""
    try:
        message = await asyncio.wait_for(websocket.receive(), IDLE_S)
    except TimeoutError:
        return "idle"
    if message["type"] == "websocket.disconnect":
        return "gone"
    data = message.get("bytes")
    if data is not None:
        return parse_audio(data)
    return parse_text(message.get("text") or "", room.service.settings.models)


async def _send_all(websocket: WebSocket, outbox: asyncio.Queue[dict[str, Any] | End]) -> None:
    """Pass on what the session says, until its end (then close the connection)."""
    while True:
        message = await outbox.get()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # client gone
            if isinstance(message, End):
                await websocket.close(message.code, message.reason)
            else:
                await websocket.send_json(message)
        if isinstance(message, End):
            return


async def _fail(websocket: WebSocket, code: int, message: str) -> None:
    """Say what went wrong, then close with ``code`` (the reason: the message, shortened)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_json({"type": "error", "message": message})
        await websocket.close(code, _reason(message))


def _reason(message: str) -> str:
    """A close reason: at most 123 bytes of UTF-8."""
    encoded = message.encode("utf-8")
    if len(encoded) <= 123:
        return message
    return encoded[:120].decode("utf-8", "ignore") + "..."
