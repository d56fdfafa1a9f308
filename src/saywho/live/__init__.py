"""Live transcription: who said what, as it is said (``saywho live``, the server's live page).

:class:`LiveEngine` takes audio chunks and a clock; :func:`open_engine` loads its models.
"""

from __future__ import annotations

from saywho.live.engine import Clock, Committed, LiveEngine, LiveUpdate
from saywho.live.session import open_engine, run_simulated

__all__ = ["Clock", "Committed", "LiveEngine", "LiveUpdate", "open_engine", "run_simulated"]
