"""Audio input and output: decoding any container to 16 kHz mono float32, writing mono
samples back to WAV or FLAC, and lossy codec round trips in memory (:mod:`.codec`)."""

from saywho.audio.decode import SAMPLE_RATE, decode

__all__ = ["SAMPLE_RATE", "decode"]
