"""One frozen config per stage, and the merge rule: defaults < TOML file < flags.

A config file is TOML with one table per stage::

    [recognize]
    model = "tiny.en"
    beam_size = 1

    [vad]
    threshold = 0.4

Unknown tables or keys are a :class:`ConfigError` that names them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from saywho.errors import ConfigError

__all__ = [
    "EMBEDDING_MODEL",
    "MAX_SPEAKERS",
    "SEGMENTATION_MODEL",
    "STRATEGIES",
    "AttributeConfig",
    "DecodeConfig",
    "DiarizeConfig",
    "LiveConfig",
    "PipelineConfig",
    "RecognizeConfig",
    "SpeakerHints",
    "VadConfig",
    "WriteConfig",
    "config_from_options",
    "merge_config",
]

Task = Literal["transcribe", "translate"]
Strategy = Literal["attribute", "per-turn", "spacer"]
STRATEGIES: tuple[Strategy, ...] = ("attribute", "per-turn", "spacer")
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "float16", "float32", "default")
Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[Device, ...] = ("auto", "cpu", "cuda")
SpeakerLabels = Literal["change", "always", "never"]
SPEAKER_LABELS: tuple[SpeakerLabels, ...] = ("change", "always", "never")


MAX_SPEAKERS = 32
"""The largest speaker-count hint accepted (the server's limit too)."""

SEGMENTATION_MODEL = "segmentation-3.0"
"""Registry name of the diarization's local-speaker model."""
EMBEDDING_MODEL = "campplus-sv-zh-en-common"
"""Registry name of the voice-print model: the diarization's, and the voice library's."""


@dataclass(frozen=True, slots=True)
class DecodeConfig:
    """Reading the input: audio longer than ``max_duration_s`` is refused (``None``: any
    length), so that a small file that decodes to days of audio cannot exhaust memory."""

    max_duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_duration_s is not None and not self.max_duration_s > 0:
            raise ConfigError("decode.max_duration_s must be positive (or unset for no limit)")


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Voice activity detection in front of recognition (Silero VAD v6).

    The defaults are faster-whisper's own VAD defaults, so that our results and plain
    faster-whisper with ``vad_filter=True`` are comparable.
    """

    enabled: bool = True
    threshold: float = 0.5
    min_speech_s: float = 0.0
    min_silence_s: float = 2.0
    pad_s: float = 0.4
    max_speech_s: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"vad.threshold must be between 0 and 1, got {self.threshold}")
        for name in ("min_speech_s", "min_silence_s", "pad_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"vad.{name} must not be negative")
        if self.max_speech_s is not None and self.max_speech_s <= 0:
            raise ConfigError("vad.max_speech_s must be positive (or unset for no limit)")


@dataclass(frozen=True, slots=True)
class RecognizeConfig:
    """Speech recognition with faster-whisper.

    ``model`` is a registry name (``base``, ``tiny.en``), a path to a CTranslate2 Whisper
    directory, or a hub name such as ``large-v3`` (downloaded by faster-whisper, only then).
    ``threads`` 0 means one per CPU core. Whisper hears
    at most ``max_block_s`` of speech at once, so a long recording's spectrogram is never
    held whole; blocks break at silences.

    The decoding knobs are faster-whisper's and whisperX's: ``beam_size``, ``best_of``
    (candidates sampled at a temperature above 0), ``patience`` (beam search patience),
    ``condition_on_previous_text`` (prompt each window with the text before it). Decoding
    starts at ``temperature`` and, where the result fails faster-whisper's checks
    (repetition, low log-probability), retries at ``temperature_increment`` steps up to 1
    (``None``: no retry). ``device``: ``cpu``, ``cuda``, or ``auto`` (CUDA where
    CTranslate2 finds a GPU, else the CPU). ``batch_size`` N decodes N windows of 30 s at
    once with faster-whisper's batched pipeline (faster on a GPU), which cuts the speech into
    such windows at pauses with its own VAD and does not condition on previous text;
    ``None`` decodes one window after the other.
    """

    enabled: bool = True
    model: str = "base"
    language: str | None = None
    task: Task = "transcribe"
    beam_size: int = 5
    best_of: int = 5
    patience: float = 1.0
    temperature: float = 0.0
    temperature_increment: float | None = 0.2
    condition_on_previous_text: bool = True
    batch_size: int | None = None
    initial_prompt: str | None = None
    hotwords: str | None = None
    threads: int = 0
    compute_type: str = "int8"
    device: Device = "cpu"
    max_block_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.max_block_s >= 30.0:
            raise ConfigError("recognize.max_block_s must be at least 30 seconds")
        if self.task not in ("transcribe", "translate"):
            raise ConfigError(f"recognize.task must be transcribe or translate, got {self.task!r}")
        if self.beam_size < 1:
            raise ConfigError(f"recognize.beam_size must be at least 1, got {self.beam_size}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(
                f"recognize.batch_size must be at least 1 (or unset), got {self.batch_size}"
            )
        if self.best_of < 1:
            raise ConfigError(f"recognize.best_of must be at least 1, got {self.best_of}")
        if not 0.0 < self.patience < float("inf"):
            raise ConfigError(f"recognize.patience must be positive, got {self.patience}")
        if not 0.0 <= self.temperature <= 1.0:
            raise ConfigError(
                f"recognize.temperature must be between 0 and 1, got {self.temperature}"
            )
        step = self.temperature_increment
        if step is not None and not 0.0 < step <= 1.0:
            raise ConfigError(
                f"recognize.temperature_increment must be in (0, 1] or unset, got {step}"
            )
        if self.threads < 0:
            raise ConfigError(f"recognize.threads must be 0 (auto) or more, got {self.threads}")
        if self.compute_type not in COMPUTE_TYPES:
            raise ConfigError(
                f"recognize.compute_type must be one of {', '.join(COMPUTE_TYPES)}, "
                f"got {self.compute_type!r}"
            )
        if self.device not in DEVICES:
            raise ConfigError(f"recognize.device must be one of {', '.join(DEVICES)}")
        if not self.model:
            raise ConfigError("recognize.model must not be empty")

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The temperatures decoding tries in turn: ``temperature``, then up by the increment."""
        step = self.temperature_increment
        if step is None:
            return (self.temperature,)
        count = int((1.0 - self.temperature) / step + 1e-6) + 1
        return tuple(round(self.temperature + i * step, 6) for i in range(count))


@dataclass(frozen=True, slots=True)
class SpeakerHints:
    """What the caller knows about the number of speakers; ``None`` means unknown."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            flag = name.replace("_", "-")
            if value is not None and value < 1:
                raise ConfigError(f"{flag} must be at least 1, got {value}")
            if value is not None and value > MAX_SPEAKERS:
                raise ConfigError(f"{flag} must be at most {MAX_SPEAKERS}, got {value}")
        low, high = self.min_speakers, self.max_speakers
        if low is not None and high is not None and low > high:
            raise ConfigError(f"min-speakers {low} is more than max-speakers {high}")
        if self.num_speakers is not None and (
            (low is not None and self.num_speakers < low)
            or (high is not None and self.num_speakers > high)
        ):
            raise ConfigError(f"num-speakers {self.num_speakers} is outside min/max-speakers")

    def clamp(self, count: int) -> int:
        """The number of speakers to use when clustering alone found ``count``."""
        if self.num_speakers is not None:
            return self.num_speakers
        if self.min_speakers is not None:
            count = max(count, self.min_speakers)
        if self.max_speakers is not None:
            count = min(count, self.max_speakers)
        return count


@dataclass(frozen=True, slots=True)
class DiarizeConfig:
    """Speaker diarization: segmentation-3.0 windows, CAM++ embeddings, global clustering.

    ``num_speakers``, ``min_speakers`` and ``max_speakers`` are hints (``None``: unknown).
    ``cluster_threshold`` is the cosine distance at which speaker clusters stop merging;
    a cluster with less than ``min_speaker_s`` of speech is not a speaker of its own.
    A turn of at most 2 s moves to another speaker when its own voice print is closer to
    that speaker by more than ``recheck_margin`` (cosine); ``None`` skips that check.
    A frame counts one more person talking once the expected count, averaged over the
    windows that see it, passes a whole number by ``count_threshold`` (0.5: rounding).
    Two local speakers of one window are two people: clustering adds ``cannot_link`` to the
    cosine distance between their voice prints (0 turns that off). A light cluster (under
    ``min_speaker_s``) stays a speaker of its own when its centroid is farther than
    ``distinct_speaker`` from every heavier one and the short stretches that sound most like
    it bring it to ``min_speaker_s`` (``None``: light clusters are always folded); when
    segmentation heard it beside that heavier one in one window (two people at once), being
    farther than ``cluster_threshold`` is enough.
    Codecs pull different voices together, so each recording may lower ``cluster_threshold``
    to the midpoint of its own different-people pairs (two local speakers of one window) and
    same-person pairs (one local speaker followed across windows), never below
    ``threshold_floor`` (see ``saywho.diarize.calibrate``; ``None``, or a floor at or above
    ``cluster_threshold``: the threshold is fixed).
    A local speaker whose runs (pause to pause, each embedded on its own) form two groups
    farther apart than ``split_threshold`` (cosine, average linkage) holds two voices: the
    second one moves to a free local speaker of its window (``None``: no split; see
    ``saywho.diarize.split``). With ``split_across_recording``, so does a local speaker whose
    runs fall into two groups of all the recording's runs, cut at ``cluster_threshold``.
    """

    enabled: bool = True
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    window_step_s: float = 2.5
    cluster_threshold: float = 0.6
    min_speaker_s: float = 3.0
    min_embedding_s: float = 0.25
    reliable_embedding_s: float = 1.0
    min_turn_s: float = 0.1
    min_gap_s: float = 0.1
    recheck_margin: float | None = 0.1
    count_threshold: float = 0.4
    cannot_link: float = 1.0
    distinct_speaker: float | None = 0.7
    threshold_floor: float | None = 0.5
    split_threshold: float | None = 0.8
    split_across_recording: bool = True

    def __post_init__(self) -> None:
        if not 0.5 <= self.window_step_s <= 10.0:
            raise ConfigError("diarize.window_step_s must be between 0.5 and 10 seconds")
        if not 0.0 < self.cluster_threshold < 2.0:
            raise ConfigError("diarize.cluster_threshold must be between 0 and 2 (cosine distance)")
        if self.threshold_floor is not None and not 0.0 < self.threshold_floor < 2.0:
            raise ConfigError("diarize.threshold_floor must be between 0 and 2 (cosine distance)")
        if not 0.0 <= self.cannot_link <= 2.0:
            raise ConfigError("diarize.cannot_link must be between 0 and 2 (cosine distance)")
        if self.split_threshold is not None and not 0.0 < self.split_threshold < 2.0:
            raise ConfigError("diarize.split_threshold must be between 0 and 2 (cosine distance)")
        if self.distinct_speaker is not None and not 0.0 < self.distinct_speaker < 2.0:
            raise ConfigError("diarize.distinct_speaker must be between 0 and 2 (cosine distance)")
        if not 0.0 < self.count_threshold < 1.0:
            raise ConfigError("diarize.count_threshold must be between 0 and 1")
        _ = self.hints  # validates the speaker-count hints
        for name in (
            "min_speaker_s",
            "min_embedding_s",
            "reliable_embedding_s",
            "min_turn_s",
            "min_gap_s",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"diarize.{name} must not be negative")

    @property
    def hints(self) -> SpeakerHints:
        """The speaker-count hints as one value."""
        return SpeakerHints(self.num_speakers, self.min_speakers, self.max_speakers)


@dataclass(frozen=True, slots=True)
class AttributeConfig:
    """How recognition and diarization combine into who said what.

    ``strategy``: ``attribute`` recognizes the whole file and gives each word a speaker;
    ``per-turn`` diarizes first and recognizes each speaker's turns on their own;
    ``spacer`` joins the turns with ``spacer_s`` of silence between them and recognizes once.
    The two by-turn strategies merge one speaker's turns less than ``turn_gap_s`` apart.
    ``rule_*`` switch the boundary repairs of ``attribute`` on or off (see
    :mod:`saywho.attribute.rules`).
    """

    strategy: Strategy = "attribute"
    spacer_s: float = 1.0
    turn_gap_s: float = 1.0
    rule_nearest: bool = True
    rule_sentence: bool = True
    rule_reply: bool = True
    rule_untimed: bool = True

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"attribute.strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        for name in ("spacer_s", "turn_gap_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"attribute.{name} must not be negative")

    @property
    def rules(self) -> tuple[str, ...]:
        """The names of the boundary rules switched on."""
        return tuple(
            name
            for name in ("nearest", "sentence", "reply", "untimed")
            if getattr(self, f"rule_{name}")
        )


@dataclass(frozen=True, slots=True)
class WriteConfig:
    """How a transcript is written: its utterances (every format) and subtitle cues.

    An utterance is one speaker's run of words; it ends where the speaker changes, or at a
    pause of at least ``utterance_gap_s`` after a sentence ends (never inside a sentence).
    Subtitles (``srt``, ``vtt``) follow the BBC and Netflix timed-text guides by default:
    lines of at most ``max_line_width`` characters, the speaker label included, at most
    ``max_line_count`` lines a cue, cues shown ``min_cue_s`` to ``max_cue_s`` seconds, at
    most ``max_chars_per_s`` characters a second, and ``cue_gap_s`` (two frames at 25 fps)
    between cues. ``speaker_labels``: ``change`` labels a line where the speaker changes,
    ``always`` every cue, ``never`` none. ``highlight_words`` underlines each word while it
    is spoken (karaoke style: a cue is repeated once per word).
    """

    utterance_gap_s: float = 2.0
    max_line_width: int = 42
    max_line_count: int = 2
    min_cue_s: float = 0.83
    max_cue_s: float = 7.0
    max_chars_per_s: float = 20.0
    cue_gap_s: float = 0.08
    speaker_labels: SpeakerLabels = "change"
    highlight_words: bool = False

    def __post_init__(self) -> None:
        if self.speaker_labels not in SPEAKER_LABELS:
            raise ConfigError(
                f"write.speaker_labels must be one of {', '.join(SPEAKER_LABELS)}, "
                f"got {self.speaker_labels!r}"
            )
        if self.max_line_width < 10:
            raise ConfigError("write.max_line_width must be at least 10 characters")
        if self.max_line_count < 1:
            raise ConfigError("write.max_line_count must be at least 1")
        for name in ("utterance_gap_s", "cue_gap_s"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ConfigError(f"write.{name} must be a finite number, not negative")
        if not 0 <= self.min_cue_s < self.max_cue_s < float("inf"):
            raise ConfigError("write: need 0 <= min_cue_s < max_cue_s (finite)")
        if not 0 < self.max_chars_per_s < float("inf"):
            raise ConfigError("write.max_chars_per_s must be positive")


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """Live transcription of a stream (``saywho live``, the server's live page).

    The engine steps at least every ``step_s`` seconds of stream and, when a step costs more
    than ``target_load`` of the time between steps, steps less often, up to ``max_step_s``
    (it says so) instead of falling further behind. Whisper hears the stream from the last
    cut: once that buffer is longer than ``trim_s`` it is cut after the last final sentence
    (sooner when Whisper stops short of the speech in it twice in a row), and past
    ``max_buffer_s`` after the last final word. A final word gets its speaker once
    diarization has heard ``speaker_margin_s`` past its end, or after ``max_wait_s`` with
    the best guess then. Diarization looks at the last 10 s every ``diarize_step_s``.
    A voice becomes a new speaker after ``new_speaker_s`` of clean speech farther than
    ``speaker_distance`` (cosine) from everyone met so far. ``final_pass``: when the stream
    ends, the whole recording is transcribed again as a file is (the speakers keep the labels
    shown live).
    """

    step_s: float = 1.0
    max_step_s: float = 4.0
    target_load: float = 0.7
    trim_s: float = 10.0
    max_buffer_s: float = 20.0
    speaker_margin_s: float = 0.3
    max_wait_s: float = 4.0
    diarize_step_s: float = 1.0
    new_speaker_s: float = 1.5
    speaker_distance: float = 0.6
    final_pass: bool = True

    def __post_init__(self) -> None:
        if not 0.2 <= self.step_s <= self.max_step_s <= 30.0:
            raise ConfigError("live: need 0.2 <= step_s <= max_step_s <= 30 seconds")
        if not 0.1 <= self.target_load <= 1.0:
            raise ConfigError("live.target_load must be between 0.1 and 1")
        if not 2.0 <= self.trim_s <= self.max_buffer_s <= 28.0:
            raise ConfigError("live: need 2 <= trim_s <= max_buffer_s <= 28 seconds")
        if not 0.5 <= self.diarize_step_s <= 10.0:
            raise ConfigError("live.diarize_step_s must be between 0.5 and 10 seconds")
        if not 0.0 < self.speaker_distance < 2.0:
            raise ConfigError("live.speaker_distance must be between 0 and 2 (cosine distance)")
        for name in ("speaker_margin_s", "max_wait_s", "new_speaker_s"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"live.{name} must be zero or more")


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Every stage's config, as one value that a result records."""

    vad: VadConfig = field(default_factory=VadConfig)
    recognize: RecognizeConfig = field(default_factory=RecognizeConfig)
    diarize: DiarizeConfig = field(default_factory=DiarizeConfig)
    attribute: AttributeConfig = field(default_factory=AttributeConfig)
    write: WriteConfig = field(default_factory=WriteConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)


def merge_config(base: PipelineConfig, updates: Mapping[str, Mapping[str, Any]]) -> PipelineConfig:
    """Return ``base`` with ``updates`` (``{stage: {key: value}}``) applied.

    Raises :class:`ConfigError` naming any unknown stage or key, or a value of the wrong type.
    """
    stages: dict[str, Any] = {}
    for stage_name, values in updates.items():
        if stage_name not in _field_names(base):
            raise ConfigError(
                f"unknown config section [{stage_name}]; known: {', '.join(_field_names(base))}"
            )
        if not isinstance(values, Mapping):
            raise ConfigError(f"config section [{stage_name}] must be a table")
        stages[stage_name] = _replace_checked(getattr(base, stage_name), stage_name, values)
    return dataclasses.replace(base, **stages)


def _replace_checked(stage: Any, stage_name: str, values: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(type(stage))
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(
                f"unknown key {stage_name}.{key}; known: {', '.join(_field_names(stage))}"
            )
        if not _is_instance(value, hints[key]):
            raise ConfigError(f"{stage_name}.{key} has the wrong type: {value!r}")
    return dataclasses.replace(stage, **values)


def _field_names(instance: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(instance)]


def _is_instance(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is_instance(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def config_from_options(base: PipelineConfig, options: Mapping[str, Any]) -> PipelineConfig:
    """Apply flat keyword options (``model="tiny.en"``, ``vad=False``) to ``base``.

    Each key is a field of one stage config; a stage's own name (``vad``, ``diarize``)
    switches it on or off. ``None`` values are ignored. An unknown key is a
    :class:`ConfigError` naming it.
    """
    updates: dict[str, dict[str, Any]] = {}
    stage_of = {
        name: stage.name
        for stage in dataclasses.fields(base)
        for name in _field_names(getattr(base, stage.name))
        if name != "enabled"
    }
    switches = [
        stage.name
        for stage in dataclasses.fields(base)
        if "enabled" in _field_names(getattr(base, stage.name))
    ]
    for key, value in options.items():
        if value is None:
            continue
        if key in switches:
            updates.setdefault(key, {})["enabled"] = value
        elif key in stage_of:
            updates.setdefault(stage_of[key], {})[key] = value
        else:
            known = ", ".join(sorted([*switches, *stage_of]))
            raise ConfigError(f"unknown option {key!r}; known: {known}")
    return merge_config(base, updates)
