"""Live transcription with the real models (tiny.en): the engine on generated conversations
with an injected clock, and ``saywho live`` on a file in real time, on stdin, on a growing file
and on a URL."""

from __future__ import annotations

import dataclasses
import http.server
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from media import VOICES, conversation, silence, speech_samples, write_media
from saywho import Pipeline, models
from saywho.cli import main
from saywho.config import EMBEDDING_MODEL, LiveConfig
from saywho.engines import Recognizer
from saywho.errors import ConfigError
from saywho.identify.naming import Identification, VoicePrint
from saywho.live import (
    Committed,
    Fallback,
    FedClock,
    LiveEngine,
    LiveModels,
    LiveUpdate,
    open_engine,
    run_simulated,
)
from saywho.types import Audio, ModelInfo, Recognition, Span, Transcript, Utterance, Word

ORDER = (0, 1, 0, 1)


@pytest.fixture(scope="module")
def live_models(tiny_pipeline: Pipeline) -> LiveModels:
    return LiveModels(tiny_pipeline.config, tiny_pipeline.engines)


@pytest.fixture(scope="module")
def talk(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]:
    """Two voices taking turns, about 20 s."""
    return conversation(tmp_path_factory.mktemp("talk"), ORDER)


def run(
    live_models: LiveModels,
    samples: npt.NDArray[np.float32],
    live: LiveConfig,
    *,
    voices: Identification | None = None,
) -> tuple[Transcript, list[LiveUpdate], tuple[Committed, ...]]:
    clock = FedClock()
    engine = open_engine(live_models, live, clock=clock, voices=voices)
    updates: list[LiveUpdate] = []
    transcript = run_simulated(engine, clock, [samples], on_update=updates.append)
    return transcript, updates, engine.committed


def label_of_voice(
    words: list[tuple[Span, str | None]], truth: list[tuple[Span, int]], voice: int
) -> Counter[str | None]:
    """The labels of the words inside the true turns of ``voice``."""
    inside = [
        label
        for span, label in words
        for turn, who in truth
        if who == voice and turn.start <= (span.start + span.end) / 2 < turn.end
    ]
    return Counter(inside)


def test_words_arrive_with_two_steady_speakers_and_keep_them(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, truth = talk
    transcript, updates, committed = run(live_models, samples, LiveConfig(final_pass=False))
    # Words are committed during the stream, not only at its end, and each once.
    during = [c for update in updates for c in update.committed]
    assert len(during) >= 0.6 * len(committed) > 0
    assert during == list(committed[: len(during)])
    text = " ".join(c.word.text for c in committed).lower()
    for key in ("planning", "agenda", "release"):
        assert key in text
    words = [(c.word.span, c.word.speaker) for c in committed if c.word.span is not None]
    first = label_of_voice(words, truth, 0)
    second = label_of_voice(words, truth, 1)
    a, b = first.most_common(1)[0][0], second.most_common(1)[0][0]
    assert a is not None and b is not None and a != b
    assert first[a] >= 0.85 * sum(first.values())
    assert second[b] >= 0.85 * sum(second.values())
    # Without the final pass the files hold exactly what was shown.
    assert [(w.text, w.speaker) for w in transcript.words] == [
        (c.word.text, c.word.speaker) for c in committed
    ]
    assert {s.label for s in transcript.speakers} == {a, b}
    assert all(c.committed_s >= c.word.end for c in committed)


def test_the_final_pass_keeps_the_labels_shown_live(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, truth = talk
    transcript, _, committed = run(live_models, samples, LiveConfig(final_pass=True))
    live_words = [(c.word.span, c.word.speaker) for c in committed if c.word.span is not None]
    final_words = [(w.span, w.speaker) for w in transcript.words if w.span is not None]
    for voice in (0, 1):
        shown = label_of_voice(live_words, truth, voice).most_common(1)[0][0]
        final = label_of_voice(final_words, truth, voice).most_common(1)[0][0]
        assert final == shown
    assert transcript.duration_s == pytest.approx(samples.shape[0] / 16_000, abs=0.01)


def test_an_enrolled_voice_is_named_live_and_a_rename_reaches_earlier_words(
    live_models: LiveModels,
    tiny_pipeline: Pipeline,
    talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]],
    tmp_path: Path,
) -> None:
    samples, truth = talk
    # Alice's voice enrolled from other words than she says in the conversation.
    enrolment = speech_samples(
        "My name is Alice. I work on the data team and I look after the nightly reports.",
        tmp_path,
        voice=VOICES[0],
    )
    diarizer = tiny_pipeline.engines.diarizer
    assert diarizer is not None
    centroid = next(iter(diarizer.diarize(Audio(enrolment, 16_000)).centroids.values()))
    voices = Identification(
        (VoicePrint("alice", centroid),), 0.5, models.spec(EMBEDDING_MODEL).sha256
    )
    clock = FedClock()
    engine = open_engine(live_models, LiveConfig(final_pass=True), clock=clock, voices=voices)
    halfway = samples.shape[0] // 2
    renamed: str | None = None
    for start in range(0, samples.shape[0], 1_600):
        engine.feed(samples[start : start + 1_600])
        clock.now_s += 0.1
        if engine.due():
            update = engine.step()
            if start >= halfway and renamed is None:
                strangers = [s.label for s in update.speakers if s.name is None]
                if strangers:
                    renamed = strangers[0]
                    engine.rename(renamed, "Bob")
    transcript = engine.finish()
    names = {s.label: s.name for s in engine.last_update().speakers}
    words = [(c.word.span, names.get(c.word.speaker or "")) for c in engine.committed]
    alice = label_of_voice([(s, n) for s, n in words if s is not None], truth, 0)
    assert alice["alice"] >= 0.9 * sum(alice.values())
    assert renamed is not None and names[renamed] == "Bob"
    assert {s.display for s in transcript.speakers} >= {"alice", "Bob"}


# -- the command --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_talk(
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Two short turns (about 9 s) in a WAV file."""
    folder = tmp_path_factory.mktemp("short")
    samples, _ = conversation(folder, (0, 1))
    return write_media(folder / "short.wav", samples)


def outputs_of(out: Path, stem: str) -> dict[str, object]:
    result = json.loads((out / f"{stem}.json").read_text())
    assert (out / f"{stem}.live.wav").stat().st_size > 100_000
    assert isinstance(result, dict)
    return result


def spoken_words(result: dict[str, object]) -> list[str]:
    utterances = result["utterances"]
    assert isinstance(utterances, list)
    return [w["text"].lower().strip(".,?!") for u in utterances for w in u["words"]]


def test_live_plays_a_file_in_real_time(short_talk: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    code = main(["live", str(short_talk), "--realtime", "-o", str(out), "--model", "tiny.en"])
    assert code == 0
    assert time.monotonic() - started >= 8.0  # played at its natural pace
    words = spoken_words(outputs_of(out, "short"))
    assert {"morning", "agenda"} <= set(words)


@pytest.mark.parametrize("raw", [False, True], ids=["wav", "raw-pcm"])
def test_live_reads_standard_input(short_talk: Path, tmp_path: Path, raw: bool) -> None:
    out = tmp_path / "out"
    data = short_talk.read_bytes()
    extra = ["--raw", "s16le:16000:1"] if raw else []
    if raw:
        data = data[44:]  # the PCM samples of the WAV file, without its header
    result = subprocess.run(
        [
            *(sys.executable, "-m", "saywho.cli", "live", "-", "-o", str(out)),
            *("--name", "piped", *extra, "--model", "tiny.en", "--no-final-pass"),
        ],
        input=data,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    words = spoken_words(outputs_of(out, "piped"))
    assert {"morning", "agenda"} <= set(words)


def test_live_follows_a_file_while_it_is_written(short_talk: Path, tmp_path: Path) -> None:
    growing = tmp_path / "growing.wav"
    data = short_talk.read_bytes()
    growing.write_bytes(data[:44] + data[44 : 44 + 32_000])  # the header, then one second

    def write_the_rest() -> None:
        with growing.open("ab") as stream:
            for first in range(44 + 32_000, len(data), 16_000):
                time.sleep(0.25)
                stream.write(data[first : first + 16_000])
                stream.flush()

    writer = threading.Thread(target=write_the_rest)
    writer.start()
    out = tmp_path / "out"
    code = main(["live", str(growing), "--follow", "-o", str(out), "--model", "tiny.en"])
    writer.join()
    assert code == 0
    result = outputs_of(out, "growing")
    duration = result["duration_s"]
    assert isinstance(duration, float)
    assert duration == pytest.approx((len(data) - 44) / 32_000, abs=0.1)  # all of it was read
    assert {"morning", "agenda"} <= set(spoken_words(result))


@pytest.fixture
def served(short_talk: Path) -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(short_talk.parent))
    handler.log_message = lambda *args: None  # type: ignore[assignment, method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{short_talk.name}"
    server.shutdown()
    server.server_close()


@pytest.mark.enable_socket
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_live_reads_a_url(served: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["live", served, "-o", str(out), "--name", "radio", "--model", "tiny.en"])
    assert code == 0
    assert {"morning", "agenda"} <= set(spoken_words(outputs_of(out, "radio")))


def test_a_source_that_cannot_be_read_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_media = tmp_path / "notes.wav"
    not_media.write_text("not audio")
    assert main(["live", str(tmp_path / "missing.wav"), "-o", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["live", str(not_media), "-o", str(tmp_path), "--model", "tiny.en"]) == 2
    assert "notes.wav" in capsys.readouterr().err
    assert main(["live", "-", "--raw", "s16le:16000", "-o", str(tmp_path)]) == 2
    assert "FORMAT:RATE:CHANNELS" in capsys.readouterr().err


def test_silence_gives_empty_results_not_an_error(tmp_path: Path) -> None:
    quiet = write_media(tmp_path / "quiet.wav", silence(4.0))
    out = tmp_path / "out"
    assert main(["live", str(quiet), "-o", str(out), "--model", "tiny.en"]) == 0
    assert spoken_words(outputs_of(out, "quiet")) == []


def test_sessions_with_other_settings_share_the_loaded_models(live_models: LiveModels) -> None:
    config = live_models.config
    hinted = dataclasses.replace(
        config, diarize=dataclasses.replace(config.diarize, max_speakers=2)
    )
    twin = live_models.with_config(hinted)
    assert twin.windows is live_models.windows
    assert twin.pipeline.engines is live_models.pipeline.engines
    assert twin.config.diarize.max_speakers == 2
    german = dataclasses.replace(
        config, recognize=dataclasses.replace(config.recognize, language="de")
    )
    with pytest.raises(ConfigError, match="English-only"):
        live_models.with_config(german)
    bigger = dataclasses.replace(
        config, recognize=dataclasses.replace(config.recognize, model="base")
    )
    with pytest.raises(ConfigError, match="model"):
        live_models.with_config(bigger)


def test_an_abandoned_session_closes_without_a_final_pass(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    clock = FedClock()
    engine = open_engine(live_models, clock=clock)
    engine.feed(samples[: 3 * 16_000])
    clock.now_s = 3.0
    engine.step()
    audio = engine.close()
    assert isinstance(audio, Audio) and audio.duration_s == pytest.approx(3.0)
    assert engine.shown is None  # no transcript was made


class FakeRecognizer:
    """A recognizer that hears :meth:`words` in any samples."""

    info = ModelInfo("fake", "recognize", None)

    def recognize(
        self,
        samples: npt.NDArray[np.float32],
        on_progress: object = None,
        *,
        language: str | None = None,
        prompt: str | None = None,
    ) -> Recognition:
        del on_progress
        self.language, self.prompt = language, prompt
        duration_s = samples.shape[0] / 16_000
        words = self.words(duration_s)
        return Recognition("en", None, (Utterance(Span(0.0, duration_s), "", words),))

    def words(self, duration_s: float) -> tuple[Word, ...]:
        raise NotImplementedError


def engine_on(
    live_models: LiveModels, recognizer: Recognizer, clock: FedClock, **options: Any
) -> LiveEngine:
    """A live engine (no final pass) on ``recognizer`` and the test's window diarizer."""
    return LiveEngine(
        live_models.pipeline,
        LiveConfig(final_pass=False),
        recognizer=recognizer,
        window_diarizer=live_models.windows,
        clock=clock,
        **options,
    )


def committed_before_the_end(
    live_models: LiveModels, recognizer: Recognizer, chunks: list[npt.NDArray[np.float32]]
) -> list[Committed]:
    """The words an engine on ``recognizer`` committed while ``chunks`` were streamed, not
    those of its last second (where the stream's end commits whatever is left)."""
    clock = FedClock()
    engine = engine_on(live_models, recognizer, clock)
    run_simulated(engine, clock, chunks)
    end_s = sum(chunk.shape[0] for chunk in chunks) / 16_000
    return [c for c in engine.committed if c.committed_s < end_s - 1.0]


class Looping(FakeRecognizer):
    """A recognizer stuck in a repetition loop (Whisper does this on some audio)."""

    def words(self, duration_s: float) -> tuple[Word, ...]:
        return tuple(Word("just,", Span(t, t + 0.05), 0.5) for t in np.arange(0.0, duration_s, 0.1))


def test_a_recognizer_stuck_in_a_loop_never_stalls_the_stream(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    stream = np.concatenate([samples, samples, samples])  # about a minute of speech
    clock = FedClock()
    engine = engine_on(live_models, Looping(), clock)
    updates: list[LiveUpdate] = []
    run_simulated(engine, clock, [stream], on_update=updates.append)
    assert engine.committed == ()  # every recognition was a loop: none is shown
    assert max(update.delay_s for update in updates) < 25.0  # the buffer moved on
    assert updates[-1].heard_s == pytest.approx(
        stream.shape[0] / 16_000, abs=1.1
    )  # a step a second


class LoopsWhenPrompted(FakeRecognizer):
    """Hears a sentence of four words every two seconds, unless it is prompted: then it
    repeats the prompt's words over and over (Whisper prompted with a sentence that the audio
    says again does this)."""

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def words(self, duration_s: float) -> tuple[Word, ...]:
        self.prompts.append(self.prompt)
        if self.prompt is not None:
            times = np.arange(0.0, duration_s, 0.1)
            return tuple(Word("again", Span(t, t + 0.05), 0.5) for t in times)
        return said_again(duration_s)


def said_again(duration_s: float) -> tuple[Word, ...]:
    """The words of "we said it again." every two seconds, one every half second."""
    texts = ("we", "said", "it", "again.")
    return tuple(
        Word(texts[k % 4], Span(0.5 * k, 0.5 * k + 0.3), 0.9)
        for k in range(int(duration_s / 0.5) - 1)
    )


def test_a_buffer_whose_recognition_looped_is_heard_again_without_the_prompt(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    recognizer = LoopsWhenPrompted()
    clock = FedClock()
    engine = engine_on(live_models, recognizer, clock)
    run_simulated(engine, clock, [samples, samples])
    prompted = [k for k, prompt in enumerate(recognizer.prompts) if prompt is not None]
    assert prompted  # a new buffer is prompted with the final text before it
    assert all(recognizer.prompts[k + 1] is None for k in prompted[:-1])  # once, then not
    last_s = samples.shape[0] * 2 / 16_000
    assert engine.committed[-1].word.end > last_s - 5.0  # words come to the end of the stream
    assert all(c.word.text != "again" for c in engine.committed)


class Wavering(FakeRecognizer):
    """Hears a sentence of four words every two seconds, but every other recognition hears
    the buffer differently, and never twice the same way (Whisper's guess about a word now
    and then flips for one recognition and comes back)."""

    def __init__(self) -> None:
        self.calls = 0

    def words(self, duration_s: float) -> tuple[Word, ...]:
        self.calls += 1
        heard = said_again(duration_s)
        if self.calls % 2:
            return heard
        return tuple(dataclasses.replace(w, text=f"uh{self.calls}") for w in heard)


def test_a_guess_that_flips_for_one_recognition_does_not_hold_the_words_back(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    live = committed_before_the_end(live_models, Wavering(), [samples])
    assert len(live) >= 10  # the recognitions either side of a flip agree
    assert all(not c.word.text.startswith("uh") for c in live)


class StopsShort(FakeRecognizer):
    """Hears the sentences of the first 4 s of any buffer and nothing after them (Whisper
    now and then ends a decoding early, and goes on doing so for that buffer)."""

    def words(self, duration_s: float) -> tuple[Word, ...]:
        return tuple(w for w in said_again(duration_s) if w.end <= 4.0)


def test_speech_that_whisper_stops_short_of_is_heard_from_the_last_final_sentence(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    live = committed_before_the_end(live_models, StopsShort(), [samples, samples])
    assert len(live) >= 20
    waits_s = [c.committed_s - c.word.end for c in live]
    # The buffer moves on after two recognitions that stop short, not once it is 10 s long.
    assert float(np.median(waits_s)) < 4.5


class Slow(FakeRecognizer):
    """A recognizer whose every call costs ``cost_s`` on the stream's clock (a machine too
    slow for its model), hearing one word per call."""

    def __init__(self, clock: FedClock, cost_s: float, name: str) -> None:
        self.clock, self.cost_s, self.calls = clock, cost_s, 0
        self.info = ModelInfo(name, "recognize", None)

    def words(self, duration_s: float) -> tuple[Word, ...]:
        self.calls += 1
        self.clock.now_s += self.cost_s
        return (Word("hello", Span(0.0, min(0.5, duration_s)), 0.9),)


def slow_engine(live_models: LiveModels, fallback: Fallback) -> tuple[LiveEngine, FedClock, Slow]:
    """An engine on a recognizer dearer than the longest step (4 s), with ``fallback``."""
    clock = FedClock()
    slow = Slow(clock, cost_s=5.0, name="big")
    engine = engine_on(live_models, slow, clock, concurrent=False, fallback=fallback)
    return engine, clock, slow


def test_a_machine_too_slow_for_its_model_switches_to_the_smaller_one_and_says_so(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    loaded: list[Slow] = []

    def load_small() -> Slow:
        loaded.append(Slow(clock, cost_s=0.2, name="small"))
        return loaded[-1]

    engine, clock, slow = slow_engine(live_models, Fallback("small", load_small))
    updates: list[LiveUpdate] = []
    run_simulated(engine, clock, [samples], on_update=updates.append)
    assert slow.calls == 3  # three steps in a row too dear, then the fallback
    assert len(loaded) == 1 and loaded[0].calls > 3
    notices = [u.notice for u in updates]
    assert notices[1] is not None and "use a smaller model" in notices[1]
    assert all(n is not None and n.startswith("switched to small") for n in notices[3:])


def test_no_fallback_for_a_stream_in_a_language_it_does_not_know(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    never = Fallback("small", lambda: pytest.fail("loaded"), frozenset({"de"}))
    engine, clock, slow = slow_engine(live_models, never)
    run_simulated(engine, clock, [samples[: 16_000 * 10]])
    assert slow.calls >= 4  # an English stream stays on its model
    assert live_models.fallback is None  # the test's models are tiny.en already: no smaller one


def test_a_stream_on_base_falls_back_to_tiny_en_loaded_once(
    base_pipeline: Pipeline, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    fallback = LiveModels(base_pipeline.config, base_pipeline.engines).fallback
    assert fallback is not None and fallback.model == "tiny.en"
    assert fallback.languages == frozenset({"en"})
    smaller = fallback.load()
    assert smaller is fallback.load()  # loaded once, then shared
    assert smaller.info.name == "tiny.en"
    recognition = smaller.recognize(samples[: 16_000 * 8], language="en")
    assert any(u.words for u in recognition.utterances)


class Languages(FakeRecognizer):
    """Hears a word a second, and notes the language it was asked for; as a detector, hears
    German in less than 10 s of audio and English in more (base did this on an AMI meeting)."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []
        self.detected_on_s: list[float] = []

    def words(self, duration_s: float) -> tuple[Word, ...]:
        self.asked.append(self.language)
        return tuple(Word("word", Span(t, t + 0.4), 0.9) for t in np.arange(0.2, duration_s, 1.0))

    def detect_language(self, samples: npt.NDArray[np.float32]) -> tuple[str, float]:
        self.detected_on_s.append(samples.shape[0] / 16_000)
        return ("de", 0.9) if samples.shape[0] < 10 * 16_000 else ("en", 0.8)


def test_the_language_is_detected_again_as_the_speech_doubles_and_fixed_at_30_s(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    voiced = np.flatnonzero(np.abs(samples) > 0.01)
    speech = samples[voiced[0] :]  # speech from the first sample on, as in a cut recording
    stream = np.concatenate([speech, samples, samples])  # about a minute of speech
    recognizer = Languages()
    clock = FedClock()
    engine = engine_on(live_models, recognizer, clock, languages=recognizer)
    run_simulated(engine, clock, [stream])
    lengths = recognizer.detected_on_s
    assert lengths[-1] == pytest.approx(30.0, abs=0.01)  # then fixed: detected no more
    assert len(lengths) <= 6
    assert all(later >= 2 * earlier - 0.01 for earlier, later in pairwise(lengths[:-1]))
    asked = recognizer.asked
    assert "de" in asked and asked[-1] == "en"
    switched = asked.index("en")
    assert set(asked[switched:]) == {"en"}  # English from the first guess on 10 s or more
    assert engine.finish().language == "en"


def test_without_a_detector_the_language_found_first_is_kept(
    live_models: LiveModels, talk: tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]
) -> None:
    samples, _ = talk
    recognizer = Languages()
    clock = FedClock()
    run_simulated(engine_on(live_models, recognizer, clock), clock, [samples])
    assert recognizer.asked[0] is None and set(recognizer.asked[1:]) == {"en"}
    assert recognizer.detected_on_s == []
