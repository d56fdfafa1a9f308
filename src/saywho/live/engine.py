"""The live engine: audio chunks in, words with speakers out, within seconds.

    feed(chunk) ─► stream buffer (and the recording)
    step():  detect (VAD on the new audio) ─► recognize the buffer since the last cut ┐
             diarize the last 10 s (on a thread of its own, meanwhile) ──────────────┤
             agree: words two recognitions share become final ◄──────────────────────┘
             commit: a final word gets the speaker diarization heard it from
    finish(): the last words, then the whole recording transcribed as a file is, its
              speakers given the labels shown live

Time is injected: ``clock()`` says where the stream is now, in seconds (the wall clock for a
microphone, the audio fed so far in tests), so latency is measured in stream seconds and the
engine runs faster than real time when it is fed faster. The engine never rewrites a committed
word. When a step costs more than ``target_load`` of the time between steps, it steps less
often (and says so) instead of falling further behind; when even its longest steps cost too
much, it switches to a smaller Whisper if it was given one (:class:`Fallback`), and says so.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.config import LiveConfig
from saywho.diarize.segment import FRAME_STEP_SAMPLES, GRID, WINDOW_SAMPLES
from saywho.engines import LanguageDetector, Recognizer, SpeechDetector
from saywho.identify.match import DEFAULT_THRESHOLD
from saywho.identify.naming import Identification, relabel, with_names
from saywho.live.agreement import agreed_prefix, fresh_words
from saywho.live.language import StreamLanguage
from saywho.live.mapping import live_labels
from saywho.live.recording import Recording
from saywho.live.tails import recheck_tails
from saywho.live.timeline import SpeakerTimeline
from saywho.live.tracker import SpeakerTracker, TrackerSettings
from saywho.live.window import LocalSpeakers, RunPrints, WindowDiarizer, window_start
from saywho.pipeline import Pipeline
from saywho.types import SAMPLE_RATE, Audio, Span, Speaker, Transcript, Utterance, Word
from saywho.utterances import ends_sentence, speaker_runs

__all__ = ["Clock", "Committed", "Fallback", "LiveEngine", "LiveUpdate"]

Clock = Callable[[], float]
"""Where the stream is now, in seconds since it started."""

_PROMPT_CHARS = 200
"""Whisper is prompted with this much of the text already final."""
_CONTEXT_S = 0.5
"""A buffer cut in silence keeps this much audio before the speech that follows."""
_WINDOW_S = WINDOW_SAMPLES / SAMPLE_RATE
_EPSILON_S = 1e-6
"""Stream times a step apart may differ from the step by float rounding."""
_MAX_WORDS_PER_S = 6.0
"""More words than this per second of new audio is Whisper looping, not anyone talking."""
_SKIPPED_S = 2.0
"""Seconds of speech after the final words that two recognitions in a row left out: the
buffer then starts after the last final sentence."""
_SLOW_STEPS = 3
"""This many steps in a row over budget at the longest step interval: switch to the fallback."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """A smaller Whisper for when the stream's own falls behind: ``model`` (its name, shown
    to the user), ``load`` (gives it, loaded; called once, when needed), ``languages`` it
    recognizes (``None``: any)."""

    model: str
    load: Callable[[], Recognizer]
    languages: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Committed:
    """A word as it appeared live: with its speaker, at ``committed_s`` on the stream clock."""

    word: Word
    committed_s: float


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """What a step changed: newly ``committed`` words (never rewritten), the ``tentative``
    tail (text not final yet, or no speaker yet), the speakers met, and how the engine keeps
    up: ``heard_s`` of stream received, ``delay_s`` from the end of the audio it has processed
    to now, ``load`` (compute time ÷ stream time over recent steps, on the wall clock for the
    compute whatever the engine's clock), the current ``step_s``,
    and a ``notice`` when it had to slow down."""

    committed: tuple[Committed, ...]
    tentative: tuple[Word, ...]
    speakers: tuple[Speaker, ...]
    heard_s: float
    delay_s: float
    load: float
    step_s: float
    notice: str | None = None


class LiveEngine:
    """One live session: :meth:`feed` audio, call :meth:`step` when :meth:`due`, then
    :meth:`finish`. Not thread-safe except :meth:`feed` (a capture thread may feed)."""

    def __init__(
        self,
        pipeline: Pipeline,
        live: LiveConfig | None = None,
        *,
        recognizer: Recognizer,
        window_diarizer: WindowDiarizer,
        clock: Clock,
        voices: Identification | None = None,
        recording: Path | None = None,
        concurrent: bool = True,
        fallback: Fallback | None = None,
        languages: LanguageDetector | None = None,
    ) -> None:
        """``pipeline`` does the final pass (and lends its VAD); ``recognizer`` recognizes the
        stream (the pipeline's Whisper with faster decoding settings, say); ``fallback``
        replaces it when the machine cannot keep up; ``languages`` finds the stream's language
        when the config gives none (see :mod:`saywho.live.language`; without it, the language
        the recognizer found first is kept)."""
        config = pipeline.config
        self.config = config
        self.pipeline = pipeline
        self.live = live if live is not None else LiveConfig()
        self._recognizer = recognizer
        self._fallback = fallback
        self._fell_back: str | None = None  # the fallback's model, once switched to
        self._slow_steps = 0
        self._detector: SpeechDetector | None = pipeline.engines.detector
        self._windows = window_diarizer
        self._clock = clock
        self._voices = voices
        self._concurrent = concurrent
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="saywho-live-diarize")
        self._recording = Recording(recording)
        self._speech = _SpeechMap()
        hints = config.diarize.hints
        enrolled = voices.voices if voices is not None else ()
        threshold = voices.threshold if voices is not None else DEFAULT_THRESHOLD
        self._tracker = SpeakerTracker(
            TrackerSettings(
                threshold_distance=self.live.speaker_distance,
                enrolled_distance=1.0 - threshold,
                new_speaker_s=self.live.new_speaker_s,
                max_speakers=hints.max_speakers,
            ),
            enrolled,
        )
        self._timeline = SpeakerTimeline(GRID)
        split = config.diarize.split_threshold
        self._run_prints = (
            RunPrints(split, config.diarize.reliable_embedding_s) if split is not None else None
        )
        self._labels: dict[int, str] = {}
        self._folded: set[int] = set()  # speakers merged into older ones, timeline folded
        self._renames: dict[str, str] = {}
        self._language = StreamLanguage.configured(config.recognize.language)
        self._languages = languages
        self._buffer_start_s = 0.0  # Whisper hears the stream from here
        self._looped_from_s: float | None = None  # the buffer whose recognition looped
        self._final: list[Word] = []  # text final, in order
        self._waiting: list[Word] = []  # final words waiting for their speaker
        self._hypothesis: tuple[Word, ...] = ()  # the last recognition after the final words
        self._earlier: tuple[Word, ...] = ()  # the one before it (final words may be in it)
        self._committed: list[Committed] = []
        self._recognized_to_s = 0.0
        self._diarized_to_s = 0.0
        self._vad_to_s = 0.0
        self._last_step_s: float | None = None
        self._step_s = self.live.step_s
        self._load = 0.0
        self._compute_s = 0.0
        self._notice: str | None = None
        self.shown: Transcript | None = None
        """After :meth:`finish`: the transcript as it was shown live (before the final pass)."""

    # -- input ---------------------------------------------------------------------------

    def feed(self, samples: npt.NDArray[np.float32]) -> None:
        """Append 16 kHz mono float32 ``samples`` to the stream (any length)."""
        self._recording.append(samples)

    @property
    def heard_s(self) -> float:
        """Seconds of stream fed so far."""
        return self._recording.duration_s

    @property
    def compute_s(self) -> float:
        """Wall seconds spent in :meth:`step` so far (whatever the clock)."""
        return self._compute_s

    def due(self) -> bool:
        """Whether a step is due: ``step_s`` of stream since the last one."""
        last = self._last_step_s
        return last is None or self._clock() - last >= self._step_s

    @property
    def step_interval_s(self) -> float:
        """The time between steps now (it grows when the machine cannot keep up)."""
        return self._step_s

    def rename(self, label: str, name: str | None) -> None:
        """Show ``label`` as ``name`` from now on, and on its earlier words too (``None``:
        back to the label or the enrolled name)."""
        if name:
            self._renames[label] = name
        else:
            self._renames.pop(label, None)

    # -- one step ------------------------------------------------------------------------

    def step(self) -> LiveUpdate:
        """Process the audio fed since the last step."""
        began = time.perf_counter()
        now = self._clock()
        since_s = now - self._last_step_s if self._last_step_s is not None else self._step_s
        self._last_step_s = now
        self._advance(self._horizon_s())
        after = self._clock()
        committed = self._commit(after, final=False)
        computed_s = time.perf_counter() - began
        self._compute_s += computed_s
        self._pace(after - now)
        # The load is compute time over stream time, whatever the clock: above 1, a file fed
        # as fast as it runs is transcribed slower than it plays.
        self._load = 0.7 * self._load + 0.3 * computed_s / max(since_s, 1e-3)
        return self._update(committed, after)

    def finish(self) -> Transcript:
        """End the stream: commit what is left, then (``final_pass``) transcribe the whole
        recording again and give its speakers the labels shown live."""
        while (horizon_s := self._horizon_s()) > self._recognized_to_s:
            self._advance(horizon_s, closing=True)
        self._accept(self._hypothesis)
        self._hypothesis = ()
        self._commit(self._clock(), final=True)
        audio = self.close()
        live = self._live_transcript(audio)
        self.shown = live
        if not self.live.final_pass or (not live.utterances and not live.turns):
            return live
        return self._final_pass(audio, live)

    def close(self) -> Audio | Path:
        """Stop without the final pass (a session abandoned; :meth:`finish` calls it too):
        the diarization thread ends and the recording is closed; returns the recording's
        path, or its audio when it has no file."""
        self._pool.shutdown()
        return self._recording.close()

    def _horizon_s(self) -> float:
        """How far the next step reads: all that was fed, but audio fed faster than it is
        spoken (a pipe from a file) is taken a buffer, and a diarization window, at a time."""
        return min(
            self.heard_s,
            self._buffer_start_s + self.live.max_buffer_s,
            self._diarized_to_s + _WINDOW_S,
        )

    def _advance(self, audio_end_s: float, *, closing: bool = False) -> None:
        """Detect, recognize and diarize (meanwhile) up to ``audio_end_s``; ``closing``: the
        stream has ended, so the last stretch is diarized however short, and recognized."""
        self._detect(audio_end_s)
        diarizing = self._diarize_later(audio_end_s, closing=closing)
        if self._recognition_due(audio_end_s) or (closing and self._hypothesis):
            self._recognize(audio_end_s)
        self._recognized_to_s = max(self._recognized_to_s, audio_end_s)
        self._cut(audio_end_s)  # whatever Whisper made of it: a stalled buffer moves on
        if diarizing is not None:
            self._place(diarizing.result())
        kept_s = [self._buffer_start_s, self._vad_to_s - _CONTEXT_S, audio_end_s - _WINDOW_S]
        if (onset_s := self._language_from_s()) is not None:
            kept_s.append(onset_s)
        self._recording.release(min(kept_s))

    def last_update(self) -> LiveUpdate:
        """The state now, with nothing newly committed (after :meth:`finish` too)."""
        return self._update((), self._clock())

    @property
    def committed(self) -> tuple[Committed, ...]:
        """Every word committed so far, in order."""
        return tuple(self._committed)

    # -- stages --------------------------------------------------------------------------

    def _detect(self, audio_end_s: float) -> None:
        """VAD on the audio since the last detection (with a little context before it)."""
        if self._detector is None:
            self._speech.add(Span(self._vad_to_s, audio_end_s))
        elif audio_end_s - self._vad_to_s >= 0.1:
            start_s = max(0.0, self._vad_to_s - _CONTEXT_S)
            samples = self._recording.samples(start_s, audio_end_s)
            found = self._detector.detect(Audio(samples, SAMPLE_RATE), self.config.vad)
            for span in found:
                self._speech.add(span.shift(start_s))
        self._vad_to_s = audio_end_s

    def _recognition_due(self, audio_end_s: float) -> bool:
        """New speech since the last recognition, or a tail not agreed yet to confirm."""
        if audio_end_s <= self._recognized_to_s:
            return False
        if self._hypothesis:
            return True
        heard = self._speech.overlaps(
            Span(max(self._buffer_start_s, self._recognized_to_s - 0.3), audio_end_s)
        )
        if not heard:  # silence: Whisper need not hear it again
            self._buffer_start_s = max(self._buffer_start_s, audio_end_s - _CONTEXT_S)
            self._recognized_to_s = audio_end_s
        return heard

    def _recognize(self, audio_end_s: float) -> None:
        start_s = self._buffer_start_s
        samples = self._recording.samples(start_s, audio_end_s)
        # The prompt is the final text before the buffer: Whisper hears the rest again, and
        # prompted with it too, skips or garbles it. A buffer whose recognition looped is
        # heard without it until the next cut: Whisper prompted with a sentence that the
        # buffer says again goes on repeating it (one recognition without it, then prompted
        # again: mixtures' live cpWER 10.3 % tiny.en, 14.0 % base, against 10.0 and 10.8 %).
        prompt = None
        if self._looped_from_s != start_s:
            prompt = _tail_text(self._final, start_s + 0.01, _PROMPT_CHARS) or None
        self._guess_language(audio_end_s)
        language = self._language.language
        recognition = self._recognizer.recognize(samples, language=language, prompt=prompt)
        if self._languages is None:
            self._language.found(recognition.language)  # a stream keeps the language found first
        words = [
            dataclasses.replace(w, span=w.span.shift(start_s))
            for u in recognition.utterances
            for w in u.words
            if w.span is not None
        ]
        words = [w for w in words if w.span is not None and w.span.end <= audio_end_s + 0.5]
        final_end_s = self._final[-1].end if self._final else 0.0
        current = fresh_words(words, self._final, final_end_s)
        if len(current) > _MAX_WORDS_PER_S * (audio_end_s - max(final_end_s, start_s)) + 4:
            self._looped_from_s = start_s
            return  # a repetition loop, not speech: dropped (the buffer is cut all the same)
        earlier = fresh_words(self._earlier, self._final, final_end_s)
        agreed = max(agreed_prefix(self._hypothesis, current), agreed_prefix(earlier, current))
        self._accept(current[:agreed])
        self._earlier = self._hypothesis
        self._hypothesis = current[agreed:]
        self._recognized_to_s = audio_end_s

    def _language_from_s(self) -> float | None:
        """Where the audio the language is still to be detected on starts (the first speech;
        ``None`` when no detection is to come)."""
        if self._languages is None or self._language.fixed:
            return None
        return self._speech.onset_s

    def _guess_language(self, audio_end_s: float) -> None:
        """Detect the language again on the audio from the first speech, if it is due."""
        onset_s = self._language_from_s()
        if self._languages is None or onset_s is None:
            return
        heard_s = self._language.due(audio_end_s - onset_s)
        if heard_s is not None:
            samples = self._recording.samples(onset_s, onset_s + heard_s)
            language, _ = self._languages.detect_language(samples)
            self._language.detected(language, heard_s)

    def _accept(self, words: Sequence[Word]) -> None:
        """``words`` are final: they wait for their speaker."""
        self._final.extend(words)
        self._waiting.extend(words)

    def _cut(self, audio_end_s: float) -> None:
        """Keep Whisper's buffer short: past ``trim_s`` cut it after the last final sentence
        (at once when Whisper stopped short of the speech in it); if it is still
        ``max_buffer_s`` long, after the last final word; if still, drop its oldest audio
        (nothing was agreed in all that time) with the guesses about it. The buffer never
        stays at its longest, so the engine cannot stall."""
        inside = _ending_after(self._final, self._buffer_start_s)
        sentence_ends = [w.end for w in inside if ends_sentence(w.text)]
        if sentence_ends and self._stopped_short(inside[-1].end, audio_end_s):
            self._buffer_start_s = sentence_ends[-1]  # hear the rest from there
            return
        if audio_end_s - self._buffer_start_s < self.live.trim_s:
            return
        if sentence_ends:
            self._buffer_start_s = max(self._buffer_start_s, sentence_ends[-1])
        if audio_end_s - self._buffer_start_s >= self.live.max_buffer_s and inside:
            self._buffer_start_s = max(self._buffer_start_s, inside[-1].end)
        if audio_end_s - self._buffer_start_s >= self.live.max_buffer_s:
            self._buffer_start_s = audio_end_s - self.live.trim_s
            self._hypothesis = tuple(w for w in self._hypothesis if w.start >= self._buffer_start_s)
            self._earlier = tuple(w for w in self._earlier if w.start >= self._buffer_start_s)

    def _stopped_short(self, final_end_s: float, audio_end_s: float) -> bool:
        """Whisper heard nothing past the final words twice in a row, though VAD hears
        ``_SKIPPED_S`` of speech after them (it ends a decoding early now and then, most
        often where voices overlap, and goes on doing so for that buffer)."""
        if self._hypothesis or fresh_words(self._earlier, self._final, final_end_s):
            return False
        return self._speech.seconds(Span(final_end_s, audio_end_s)) >= _SKIPPED_S

    def _diarize_later(
        self, audio_end_s: float, *, closing: bool = False
    ) -> Future[LocalSpeakers] | None:
        new_s = audio_end_s - self._diarized_to_s
        if new_s <= 0.0 or (not closing and new_s < self.live.diarize_step_s - _EPSILON_S):
            return None
        if not self._speech.overlaps(Span(max(0.0, audio_end_s - _WINDOW_S), audio_end_s)):
            self._diarized_to_s = audio_end_s
            return None
        if self._concurrent:
            return self._pool.submit(self._diarize, audio_end_s)
        done: Future[LocalSpeakers] = Future()
        done.set_result(self._diarize(audio_end_s))
        return done

    def _diarize(self, audio_end_s: float) -> LocalSpeakers:
        end_sample = round(audio_end_s * SAMPLE_RATE)
        first = window_start(end_sample)
        samples = self._recording.samples(first * FRAME_STEP_SAMPLES / SAMPLE_RATE, audio_end_s)
        self._diarized_to_s = audio_end_s
        return self._windows.local_speakers(samples, first, self._run_prints)

    def _place(self, local: LocalSpeakers) -> None:
        """Match the window's local speakers to the stream's speakers; add its activity."""
        speakers = self._tracker.assign(local.prints, local.clean_s)
        active = local.activity.sum(axis=0) > 0  # (3,)
        placed = [s if active[k] else None for k, s in enumerate(speakers)]
        activity, placed = self._recheck_tails(local, placed)
        for index in placed:
            if index is not None and index not in self._labels:
                self._labels[index] = f"SPEAKER_{len(self._labels):02d}"
        self._timeline.add(local.first_frame, activity, placed, activity.shape[0])
        for speaker, into in self._tracker.merged.items():
            if speaker not in self._folded:
                self._timeline.fold(speaker, into)
                self._folded.add(speaker)

    def _recheck_tails(
        self, local: LocalSpeakers, placed: list[int | None]
    ) -> tuple[npt.NDArray[np.float32], list[int | None]]:
        """A local speaker whose newest stretch sounds like another speaker (closer by more
        than ``recheck_margin``, as offline re-checks short turns) gives that stretch to
        them (:mod:`saywho.live.tails`)."""
        margin = self.config.diarize.recheck_margin
        if margin is None or local.tail_prints is None or local.tail_first is None:
            return local.activity, placed
        return recheck_tails(
            local.activity,
            placed,
            local.tail_first,
            local.tail_prints,
            lambda print_, current, taken: self._tracker.closer(print_, current, taken, margin),
            lambda speaker, before: self._windows.print_before(local, speaker, before),
        )

    def _commit(self, now: float, *, final: bool) -> tuple[Committed, ...]:
        """Give waiting words their speaker, in order, once diarization has heard them and
        knows who spoke (a new voice is a speaker after 1.5 s of clean speech, and the windows
        that heard the word do not split evenly between two speakers): at the latest
        ``max_wait_s`` after the word, with the best guess then."""
        done: list[Committed] = []
        covered_s = self._timeline.covered_s if not final else float("inf")
        while self._waiting:
            word = self._waiting[0]
            heard = covered_s >= word.end + self.live.speaker_margin_s and (
                final
                or word.span is None
                or (self._timeline.settled(word.span) and not self._timeline.contested(word.span))
            )
            if not heard and now - word.end < self.live.max_wait_s:
                break
            index = self._timeline.speaker_of(word.span) if word.span is not None else None
            label = self._labels.get(index) if index is not None else None
            if label is None and self._committed:
                label = self._committed[-1].word.speaker  # no one heard: the one before
            done.append(Committed(dataclasses.replace(word, speaker=label), now))
            self._waiting.pop(0)
        self._committed.extend(done)
        return tuple(done)

    def _pace(self, spent_s: float) -> None:
        """Step less often when a step costs more than ``target_load`` of the interval
        (``spent_s`` on the engine's clock: a clock that stands still while the engine
        computes, as in tests, never slows it down); switch to the fallback Whisper after
        ``_SLOW_STEPS`` steps in a row too dear even at the longest interval."""
        live = self.live
        wanted = max(live.step_s, min(live.max_step_s, spent_s / live.target_load))
        self._step_s = 0.5 * self._step_s + 0.5 * wanted
        over = spent_s > live.target_load * live.max_step_s
        self._slow_steps = self._slow_steps + 1 if over else 0
        if self._slow_steps >= _SLOW_STEPS:
            self._switch_to_fallback()
        fell_back = f"switched to {self._fell_back} to keep up" if self._fell_back else None
        if spent_s > live.max_step_s:
            self._notice = (
                f"falling behind: a step took {spent_s:.1f} s, more than the longest step "
                f"({live.max_step_s:.0f} s)"
            )
            if self._fell_back is None:
                self._notice += "; use a smaller model (--model tiny.en)"
        elif self._step_s > 1.5 * live.step_s:
            self._notice = f"busy: stepping every {self._step_s:.1f} s to keep up"
        else:
            self._notice = None
        if fell_back is not None:
            self._notice = f"{fell_back}; {self._notice}" if self._notice else fell_back

    def _switch_to_fallback(self) -> None:
        """Recognize with the fallback Whisper from now on, if there is one for the stream's
        language (the final pass keeps the configured model)."""
        fallback = self._fallback
        if fallback is None:
            return
        language = self._language
        if language.language is not None and not (
            fallback.languages is None
            or (language.fixed and language.language in fallback.languages)
        ):
            return  # a stream in another language, or in one not fixed yet
        self._fallback = None
        self._languages = None  # the fallback's own language, if none was found yet
        self._recognizer = fallback.load()
        self._fell_back = fallback.model
        self._slow_steps = 0

    # -- results -------------------------------------------------------------------------

    def _update(self, committed: tuple[Committed, ...], now: float) -> LiveUpdate:
        tentative = (*self._waiting, *self._hypothesis)
        return LiveUpdate(
            committed=committed,
            tentative=tuple(tentative),
            speakers=self._speakers(),
            heard_s=self.heard_s,
            delay_s=max(0.0, now - min(self._recognized_to_s, self._diarized_to_s)),
            load=self._load,
            step_s=self._step_s,
            notice=self._notice,
        )

    def _speakers(self) -> tuple[Speaker, ...]:
        tracked = {s.index: s for s in self._tracker.speakers}
        result = []
        for index, label in sorted(self._labels.items(), key=lambda item: item[1]):
            speaker = tracked.get(index)
            name = self._renames.get(label, speaker.name if speaker is not None else None)
            centroid = tuple(float(x) for x in speaker.centroid) if speaker is not None else None
            result.append(Speaker(label, name, None, centroid))
        return tuple(result)

    def _live_transcript(self, audio: Audio | Path) -> Transcript:
        words = [c.word for c in self._committed]
        utterances = (
            (
                Utterance(
                    Span(words[0].start, words[-1].end),
                    " ".join(w.text for w in words),
                    tuple(words),
                ),
            )
            if words
            else ()
        )
        turns = self._timeline.turns(self._labels)
        spoken = {t.label for t in turns} | {w.speaker for w in words if w.speaker}
        detector = (self._detector.info,) if self._detector is not None else ()
        return Transcript(
            source=str(audio) if isinstance(audio, Path) else "live",
            duration_s=self.heard_s,
            language=self._language.language,
            language_probability=None,
            utterances=speaker_runs(utterances, gap_s=self.config.write.utterance_gap_s),
            config=self.config,
            models=(*detector, self._recognizer.info, *self._windows.models),
            speakers=tuple(s for s in self._speakers() if s.label in spoken),
            turns=turns,
        )

    def _final_pass(self, audio: Audio | Path, live: Transcript) -> Transcript:
        pipeline = self.pipeline
        if isinstance(audio, Path):
            final = pipeline.transcribe(audio, voices=self._voices)
        else:
            final = pipeline.transcribe_audio(audio, source="live", voices=self._voices)
        mapping = live_labels(final.turns, live.turns)
        final = relabel(final, mapping)
        names = {s.label: s.name for s in live.speakers if s.name is not None}
        return with_names(final, names)


def _tail_text(words: Sequence[Word], before_s: float, chars: int) -> str:
    """The last ``chars`` characters of the text of the ``words`` ending by ``before_s``
    (reading back from the end only as far as needed: a stream's words are many)."""
    texts: list[str] = []
    length = 0
    for word in reversed(words):
        if word.end > before_s:
            continue
        texts.append(word.text)
        length += len(word.text) + 1
        if length >= chars:
            break
    return " ".join(reversed(texts))[-chars:]


def _ending_after(words: Sequence[Word], start_s: float) -> list[Word]:
    """The last ``words`` that end after ``start_s``, in order (words are in time order)."""
    first = len(words)
    while first > 0 and words[first - 1].end > start_s:
        first -= 1
    return list(words[first:])


class _SpeechMap:
    """The speech regions found so far, merged."""

    def __init__(self) -> None:
        self._spans: list[Span] = []

    @property
    def onset_s(self) -> float | None:
        """Where the first speech starts (``None``: none found yet)."""
        return self._spans[0].start if self._spans else None

    def add(self, span: Span) -> None:
        if self._spans and span.start <= self._spans[-1].end:
            last = self._spans[-1]
            self._spans[-1] = Span(min(last.start, span.start), max(last.end, span.end))
        else:
            self._spans.append(span)

    def seconds(self, span: Span) -> float:
        """How many seconds of ``span`` are speech."""
        total = 0.0
        for region in reversed(self._spans):
            if region.end <= span.start:
                break
            total += max(0.0, min(region.end, span.end) - max(region.start, span.start))
        return total

    def overlaps(self, span: Span) -> bool:
        """Whether any of ``span`` is speech."""
        return self.seconds(span) > 0.0
