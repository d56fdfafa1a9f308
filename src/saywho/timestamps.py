"""The one timestamp formatter that every writer uses, and its millisecond rounding."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["format_timestamp", "milliseconds"]


def milliseconds(seconds: float) -> int:
    """Return ``seconds`` rounded to whole milliseconds, halves away from zero.

    The rounding works on the shortest decimal form of the float (``repr``), so that
    ``1.0005`` becomes 1001 ms as a reader expects, not 1000 ms as its binary value would.
    Raises :class:`ValueError` for a negative, infinite or NaN time.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a timestamp must be a finite, non-negative number of seconds: {seconds}")
    return int(Decimal(repr(float(seconds))).scaleb(3).quantize(Decimal(1), ROUND_HALF_UP))


def format_timestamp(
    seconds: float, *, decimal_marker: str = ".", always_include_hours: bool = False
) -> str:
    """Format ``seconds`` as ``MM:SS.mmm``, or ``HH:MM:SS.mmm`` from one hour on.

    ``decimal_marker`` separates the milliseconds (``","`` for SRT). With
    ``always_include_hours`` the hours are written even when zero. Seconds never read 60:
    59.9996 s is ``01:00.000``. Raises :class:`ValueError` for a negative time.
    """
    hours, rest_ms = divmod(milliseconds(seconds), 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    whole_seconds, millis = divmod(rest_ms, 1000)
    hours_part = f"{hours:02d}:" if always_include_hours or hours > 0 else ""
    return f"{hours_part}{minutes:02d}:{whole_seconds:02d}{decimal_marker}{millis:03d}"
