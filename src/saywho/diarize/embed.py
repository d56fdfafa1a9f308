"""CAM++ speaker embeddings (ONNX) on 80-dim Kaldi fbank features (kaldi-native-fbank)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import numpy.typing as npt

from saywho.device import Resolved
from saywho.onnxrt import in_order, load_session, side_by_side
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
    computer.accept_waveform(SAMPLE_RATE, samples)
    computer.input_finished()
    features = np.array(
        [computer.get_frame(i) for i in range(computer.num_frames_ready)], dtype=np.float32
    )  # (frames, 80)
    centred: npt.NDArray[np.float32] = features - features.mean(axis=0, keepdims=True)
    return centred


class Embedder:
    """CAM++ with onnxruntime: one 192-dim voice print per stretch of speech.

    On the CPU, ``threads`` clips are embedded at once, each on one core: a clip of a few
    seconds is too small for CAM++ to share well between cores (on 2 cores, 32 clips of
    4 s: 0.67 s two at a time, 0.96 s one at a time on both). The prints are the same.
    """

    def __init__(
        self, path: Path, threads: int, device: Resolved = "cpu", *, spinning: bool = True
    ) -> None:
        self._workers, session_threads = side_by_side(threads, device)
        self._session = load_session(path, session_threads, device=device, spinning=spinning)
        self._input = self._session.get_inputs()[0].name

    def embed(self, clips: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Embed each clip (16 kHz float32, at least 0.1 s); returns (len(clips), 192)."""
        return self.embed_each(len(clips), clips.__getitem__)

    def embed_each(
        self,
        count: int,
        clip: Callable[[int], npt.NDArray[np.float32]],
        on_done: Callable[[int], None] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed ``clip(i)`` for ``i`` in ``range(count)``; returns (count, 192).

        Each clip is made by the worker that embeds it, when a core is free for it, so only
        a few clips are in memory at once and no core waits for a batch's slowest clip.
        ``on_done(k)`` is told, in order, that the first ``k`` prints are ready.
        """
        result = np.zeros((count, EMBEDDING_DIM), dtype=np.float32)
        prints = in_order(
            lambda index: self._one(clip(index)),
            range(count),
            min(self._workers, count),
            "saywho-embed",
        )
        for index, print_ in enumerate(prints):
            result[index] = print_
            if on_done is not None:
                on_done(index + 1)
        return result

    def _one(self, clip: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The voice print of one clip, shape (192,)."""
        if clip.shape[0] < MIN_SAMPLES:
            raise ValueError(f"a clip of {clip.shape[0]} samples is too short to embed")
        (embedding,) = self._session.run(None, {self._input: fbank(clip)[None]})
        return np.asarray(embedding, dtype=np.float32).reshape(-1)
