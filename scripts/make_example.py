"""Regenerate ``examples/interview.wav``: a short two-voice dialogue synthesised by eSpeak NG.

The demo in the README runs on this file. It is ours (synthesised here), so it can ship
with the project. Run: ``python scripts/make_example.py`` (needs the espeak-ng program).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from saywho.audio import SAMPLE_RATE, decode

TARGET = Path(__file__).resolve().parent.parent / "examples" / "interview.wav"
PAUSE_S = 0.6
DIALOGUE = (
    ("en+croak", "Good morning, and thank you for coming in today."),
    ("en-029+f2", "Thank you for having me. I am happy to be here."),
    ("en+croak", "Could you tell us how the project started?"),
    ("en-029+f2", "It started three years ago, with a small team and a very old computer."),
    ("en+croak", "And what did you learn along the way?"),
    ("en-029+f2", "We learned that honest measurement matters more than clever code."),
)


def synthesise(voice: str, text: str, folder: Path) -> np.ndarray:
    """One line of the dialogue as 16 kHz mono float32."""
    path = folder / "line.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True)
    return decode(path).samples.copy()


def main(argv: list[str] | None = None) -> int:
    """Write the example file (``--help`` says what it does and writes nothing)."""
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog=f"Writes {TARGET.relative_to(TARGET.parent.parent)} (overwriting it). "
        "Needs the espeak-ng program.",
    ).parse_args(argv)
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        lines = [synthesise(voice, text, Path(folder)) for voice, text in DIALOGUE]
    samples = np.concatenate([pause, *(np.concatenate([line, pause]) for line in lines)])
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    TARGET.parent.mkdir(exist_ok=True)
    with wave.open(str(TARGET), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    print(f"wrote {TARGET} ({samples.shape[0] / SAMPLE_RATE:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
