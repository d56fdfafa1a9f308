"""Audio input: decoding any container to 16 kHz mono float32."""

from saywho.audio.decode import SAMPLE_RATE, decode

__all__ = ["SAMPLE_RATE", "decode"]
