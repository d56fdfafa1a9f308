"""CAM++ speaker embeddings (ONNX) on 80-dim Kaldi fbank features (kaldi-native-fbank)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import numpy.typing as npt

from saywho.device import Resolved
from saywho.onnxrt import load_session
from saywho.types import SAMPLE_RATE

__all__ = ["EMBEDDING_DIM", "Embedder", "fbank"]

EMBEDDING_DIM = 192
MIN_SAMPLES = 1_600  # 0.1 s; CAM++ gives NaN below three 25 ms fbank frames


def fbank(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """80-dim log-mel filterbank, 25 ms / 10 ms frames, mean-normalised over time.

    The options are Kaldi's defaults (as ``torchaudio.compliance.kaldi.fbank``) with no
    dither, which is what CAM++ was trained on. ``samples``: (n,) float32 in [-1, 1] at
    16 kHz; returns (frames, 80).
    """
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = 80
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(SAMPLE_RATE, samples.tolist())
    computer.input_finished()
    features = np.array(
        [computer.get_frame(i) for i in range(computer.num_frames_ready)], dtype=np.float32
    )  # (frames, 80)
    centred: npt.NDArray[np.float32] = features - features.mean(axis=0, keepdims=True)
    return centred


class Embedder:
    """CAM++ with onnxruntime: one 192-dim voice print per stretch of speech."""

    def __init__(
        self, path: Path, threads: int, device: Resolved = "cpu", *, spinning: bool = True
    ) -> None:
        self._session = load_session(path, threads, device=device, spinning=spinning)
        self._input = self._session.get_inputs()[0].name

    def embed(self, clips: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Embed each clip (16 kHz float32, at least 0.1 s); returns (len(clips), 192)."""
        result = np.zeros((len(clips), EMBEDDING_DIM), dtype=np.float32)
        for index, clip in enumerate(clips):
            if clip.shape[0] < MIN_SAMPLES:
                raise ValueError(f"a clip of {clip.shape[0]} samples is too short to embed")
            features = fbank(clip)[None]  # (1, frames, 80)
            (embedding,) = self._session.run(None, {self._input: features})
            result[index] = np.asarray(embedding, dtype=np.float32).reshape(-1)
        return result
