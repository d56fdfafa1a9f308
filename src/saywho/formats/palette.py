"""Speaker colours shared by the documents that colour speakers (docx, html)."""

from __future__ import annotations

__all__ = ["PALETTE_SIZE", "UNKNOWN_COLOUR", "speaker_colour"]

# Distinguishable, dark enough for text on white (contrast >= 4.5:1), colour-blind aware.
_PALETTE = (
    "#1f5fa8",
    "#b3430e",
    "#2e7d32",
    "#8e24aa",
    "#00796b",
    "#c2185b",
    "#5d4037",
    "#455a64",
)
UNKNOWN_COLOUR = "#6b7280"
PALETTE_SIZE = len(_PALETTE)
"""How many speakers get a colour of their own before the palette repeats."""


def speaker_colour(index: int) -> str:
    """The colour (``#rrggbb``) of the speaker at ``index`` in order of appearance.

    A negative index (no speaker) gets grey; the palette repeats past its end.
    """
    return UNKNOWN_COLOUR if index < 0 else _PALETTE[index % len(_PALETTE)]
