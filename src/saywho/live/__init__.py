"""Live transcription: who said what, as it is said (``saywho live``, the server's live page).

:class:`LiveEngine` takes audio chunks and a clock; :class:`LiveModels` loads the models
once, :func:`open_engine` starts a session on them.
"""

from __future__ import annotations

from saywho.live.engine import Clock, Committed, Fallback, LiveEngine, LiveUpdate
from saywho.live.session import FedClock, LiveModels, open_engine, run_simulated

__all__ = [
    "Clock",
    "Committed",
    "Fallback",
    "FedClock",
    "LiveEngine",
    "LiveModels",
    "LiveUpdate",
    "open_engine",
    "run_simulated",
]
