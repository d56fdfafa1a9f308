"""Audio input and output: decoding any container to 16 kHz mono float32, and writing
mono samples back to WAV or FLAC."""

from saywho.audio.decode import SAMPLE_RATE, decode

__all__ = ["SAMPLE_RATE", "decode"]
