"""Tell media from other files cheaply: open the container header with PyAV, decode nothing.

Decoding a whole file to find out whether it is audio would cost as much as transcribing
it; reading the header costs milliseconds. Like :mod:`saywho.audio.decode`, an adapter
over ``av``.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.error

__all__ = ["probe_duration_s"]


def probe_duration_s(path: Path) -> float | None:
    """The declared duration in seconds of the first audio stream of ``path``.

    ``None`` when ``path`` is not media PyAV can open or has no audio stream; ``0.0`` when it
    is audio that declares no duration (a raw stream). Never raises for a bad file.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return float(container.duration / av.time_base)
            return 0.0
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return None
