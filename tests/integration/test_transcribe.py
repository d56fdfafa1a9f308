"""Real Whisper models on synthesised speech: words, times, language; edge cases and errors."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import saywho
from media import SENTENCE, resample, silence, speech_samples, tone, write_media
from saywho import Audio, Pipeline, PipelineConfig, RecognizeConfig, Transcript
from saywho.asr.whisper import WhisperRecognizer
from saywho.audio import decode
from saywho.config import DiarizeConfig
from saywho.errors import ConfigError, ModelError

EXPECTED = {re.sub(r"[^\w']", "", w.lower()) for w in SENTENCE.split()}


def recall(heard: set[str]) -> float:
    """The share of the sentence's distinct words that were recognized."""
    return len(EXPECTED & heard) / len(EXPECTED)


def words_of(transcript: Transcript) -> set[str]:
    return {re.sub(r"[^\w']", "", w.text.lower()) for w in transcript.words}


def assert_well_timed(transcript: Transcript) -> None:
    spans = [w.span for w in transcript.words]
    assert all(s is not None for s in spans)
    starts = [s.start for s in spans if s is not None]
    assert starts == sorted(starts), "word starts must be monotonic"
    for span in spans:
        assert span is not None
        assert 0.0 <= span.start <= span.end <= transcript.duration_s + 0.01


@pytest.mark.parametrize("fixture", ["tiny_pipeline", "base_pipeline"])
def test_recognizes_synthesised_english(
    request: pytest.FixtureRequest, tmp_path: Path, speech: npt.NDArray[np.float32], fixture: str
) -> None:
    pipeline: Pipeline = request.getfixturevalue(fixture)
    transcript = pipeline.transcribe(write_media(tmp_path / "speech.wav", speech))
    assert recall(words_of(transcript)) >= 0.7, transcript.text
    assert_well_timed(transcript)
    assert transcript.language == "en"
    assert transcript.language_probability is not None and transcript.language_probability > 0.5
    assert {m.role for m in transcript.models} == {"asr", "vad", "diarize"}
    assert all(m.sha256 and len(m.sha256) == 64 for m in transcript.models)


def test_vad_keeps_times_on_the_recording_clock(
    tiny_pipeline: Pipeline, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    """Speech after 6 s of silence and again after 8 s more: words land where they were said."""
    samples = np.concatenate([silence(6.0), speech, silence(8.0), speech, silence(2.0)])
    transcript = tiny_pipeline.transcribe(write_media(tmp_path / "gaps.wav", samples))
    assert_well_timed(transcript)
    second_start = 6.0 + speech.shape[0] / 16_000 + 8.0
    first_half = [
        w for w in transcript.words if w.span is not None and w.span.start < second_start - 1
    ]
    second_half = [
        w for w in transcript.words if w.span is not None and w.span.start >= second_start - 1
    ]
    assert first_half and second_half
    assert first_half[0].span is not None and first_half[0].span.start == pytest.approx(
        6.3, abs=0.6
    )
    assert second_half[0].span is not None and second_half[0].span.start == pytest.approx(
        second_start + 0.3, abs=0.6
    )
    assert not any(
        w.span is not None
        and 6.0 + speech.shape[0] / 16_000 + 0.5 < w.span.start < second_start - 0.5
        for w in transcript.words
    )


LONG_TALK = (
    "Our garden has apple trees, tomatoes and a small pond full of frogs.",
    "The train to the northern mountains leaves every morning at seven.",
    "Remember to water the flowers and feed the cat before you go out.",
    "Yesterday the library opened a new room with maps and old letters.",
    "Seven children painted the fence blue while their teacher watched.",
    "The baker sells warm bread, sweet rolls and cheese pies on Sundays.",
    "A strong wind blew the leaves across the road and into the river.",
    "Please bring your passport and a pen when you come to the office.",
)


def test_long_speech_is_recognized_block_by_block(tmp_path: Path) -> None:
    """With 30 s blocks, eight sentences need several blocks; every sentence is still heard,
    on the recording's clock, with one language."""
    spoken = [speech_samples(text, tmp_path) for text in LONG_TALK]
    assert sum(s.shape[0] for s in spoken) / 16_000 > 30.0, "the test needs several blocks"
    samples = np.concatenate([part for s in spoken for part in (s, silence(2.0))])
    config = PipelineConfig(
        recognize=RecognizeConfig(model="tiny.en", max_block_s=30.0), diarize=DiarizeConfig(False)
    )
    transcript = Pipeline(config).transcribe(write_media(tmp_path / "long.wav", samples))
    assert_well_timed(transcript)
    start_s = 0.0
    for text, part in zip(LONG_TALK, spoken, strict=True):
        end_s = start_s + part.shape[0] / 16_000 + 2.0
        heard = {
            re.sub(r"[^\w']", "", w.text.lower())
            for w in transcript.words
            if w.span and start_s - 0.5 <= w.span.start < end_s
        }
        said = {re.sub(r"[^\w']", "", w.lower()) for w in text.split()}
        assert len(said & heard) >= 0.5 * len(said), (text, heard)  # none lost
        start_s = end_s
    said_words = sum(len(text.split()) for text in LONG_TALK)
    assert len(transcript.words) <= 1.2 * said_words, "no block may be heard twice"


def test_pure_silence_gives_an_empty_transcript(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    transcript = tiny_pipeline.transcribe(write_media(tmp_path / "silence.wav", silence(20.0)))
    assert transcript.utterances == ()
    assert transcript.duration_s == pytest.approx(20.0)


def test_a_steady_tone_invents_no_words(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    transcript = tiny_pipeline.transcribe(
        write_media(tmp_path / "hum.wav", tone(10.0, hz=50.0) * 0.2)
    )
    assert transcript.words == ()


def test_a_50_ms_file_gives_an_empty_transcript(tiny_pipeline: Pipeline, tmp_path: Path) -> None:
    transcript = tiny_pipeline.transcribe(write_media(tmp_path / "blip.wav", tone(0.05)))
    assert transcript.utterances == ()


@pytest.mark.parametrize(
    ("name", "rate", "channels", "codec", "min_recall"),
    [
        # eSpeak's synthetic voice loses much of its intelligibility below 4 kHz bandwidth.
        ("telephone.wav", 8_000, 1, "pcm_s16le", 0.5),
        ("surround.wav", 48_000, 6, "pcm_s16le", 0.7),
        ("speech.mp3", 44_100, 2, "libmp3lame", 0.7),
    ],
)
def test_telephone_surround_and_mp3_are_recognized(
    base_pipeline: Pipeline,
    tmp_path: Path,
    speech: npt.NDArray[np.float32],
    name: str,
    rate: int,
    channels: int,
    codec: str,
    min_recall: float,
) -> None:
    path = write_media(
        tmp_path / name, resample(speech, 16_000, rate), rate=rate, channels=channels, codec=codec
    )
    transcript = base_pipeline.transcribe(path)
    assert recall(words_of(transcript)) >= min_recall, transcript.text
    assert_well_timed(transcript)


def test_video_file_is_recognized(
    tiny_pipeline: Pipeline, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    path = write_media(
        tmp_path / "talk.mkv",
        resample(speech, 16_000, 48_000),
        rate=48_000,
        codec="libopus",
        channels=2,
        video="mpeg4",
        video_seconds=speech.shape[0] / 16_000,
    )
    assert recall(words_of(tiny_pipeline.transcribe(path))) >= 0.7


def test_base_detects_german(base_pipeline: Pipeline, tmp_path: Path) -> None:
    german = speech_samples(
        "Guten Morgen. Heute ist das Wetter sehr schön, "
        "und wir gehen zusammen in den Park spazieren.",
        tmp_path,
        voice="de",
    )
    transcript = base_pipeline.transcribe(write_media(tmp_path / "de.wav", german))
    assert transcript.language == "de"
    assert "morgen" in transcript.text.lower()


def test_detect_language_on_a_sentence_and_past_30_s(
    base_pipeline: Pipeline,
    tiny_pipeline: Pipeline,
    tmp_path: Path,
    speech: npt.NDArray[np.float32],
) -> None:
    german = speech_samples(
        "Guten Morgen. Heute ist das Wetter sehr schön, "
        "und wir gehen zusammen in den Park spazieren.",
        tmp_path,
        voice="de",
    )
    base = base_pipeline.engines.recognizer
    tiny = tiny_pipeline.engines.recognizer
    assert isinstance(base, WhisperRecognizer) and isinstance(tiny, WhisperRecognizer)
    assert base.detect_language(german)[0] == "de"
    language, probability = base.detect_language(speech)
    assert language == "en" and 0.5 < probability <= 1.0
    long = np.concatenate([speech] * (1 + 40 * 16_000 // speech.shape[0]))  # past 30 s
    assert base.detect_language(long)[0] == "en"
    assert tiny.detect_language(german) == ("en", 1.0)  # English-only: nothing to detect


def test_forced_language_and_translate_task(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    transcript = saywho.transcribe(
        write_media(tmp_path / "s.wav", speech),
        model="tiny.en",
        language="en",
        beam_size=1,
        vad=False,
    )
    assert transcript.language == "en"
    assert transcript.language_probability is None  # not detected, so no probability
    assert transcript.config.vad.enabled is False
    assert transcript.config.recognize.beam_size == 1
    assert recall(words_of(transcript)) >= 0.7


def test_the_api_needs_no_network(tmp_path: Path, speech: npt.NDArray[np.float32]) -> None:
    """Sockets are blocked for the whole suite; this states it where it matters most."""
    with pytest.raises(Exception, match="socket"):
        socket.create_connection(("127.0.0.1", 9))
    transcript = saywho.transcribe(write_media(tmp_path / "s.wav", speech), model="tiny.en")
    assert transcript.words


def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        Pipeline(PipelineConfig(recognize=RecognizeConfig(model="base", language="xx")))


def test_english_only_model_refuses_other_languages() -> None:
    with pytest.raises(ConfigError, match="English-only"):
        Pipeline(PipelineConfig(recognize=RecognizeConfig(model="tiny.en", language="de")))


def test_unknown_model_name_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="unknown model 'tiny-banana'"):
        Pipeline(PipelineConfig(recognize=RecognizeConfig(model="tiny-banana")))


def test_hub_model_is_only_fetched_on_request_and_fails_clearly_offline() -> None:
    with pytest.raises(ModelError, match="needs the network"):
        Pipeline(PipelineConfig(recognize=RecognizeConfig(model="large-v3")))


def test_a_bad_api_option_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="num-speakers must be at least 1"):
        saywho.transcribe("whatever.wav", num_speakers=0)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "interview.wav"


def test_batched_recognition_hears_what_sequential_hears() -> None:
    """--batch-size: faster-whisper's batched pipeline over a 52 s file (two 30 s windows)."""
    twice = decode(EXAMPLE)
    audio = Audio(np.concatenate([twice.samples, twice.samples]), twice.sample_rate)
    heard = {}
    for batch_size in (None, 4):
        config = PipelineConfig(
            recognize=RecognizeConfig(model="tiny.en", beam_size=1, batch_size=batch_size),
            diarize=DiarizeConfig(enabled=False),
        )
        reports: list[tuple[str, float]] = []
        transcript = Pipeline(config).transcribe_audio(
            audio, progress=lambda stage, done_s, _, seen=reports: seen.append((stage, done_s))
        )
        recognized = [done_s for stage, done_s in reports if stage == "recognize" and done_s > 0]
        assert len(recognized) >= 2  # the bar moves while Whisper works, not only at the end
        assert transcript.config.recognize.batch_size == batch_size
        starts = [w.span.start for w in transcript.words if w.span is not None]
        assert starts == sorted(starts) and starts[-1] < audio.duration_s
        assert starts[-1] > audio.duration_s / 2  # both halves recognized
        heard[batch_size] = transcript.text.lower()
    for text in heard.values():
        assert text.count("good morning") == 2
        assert text.count("learn along the way") == 2


SENTENCES = (
    "The meeting moved to Thursday afternoon, after lunch.",
    "Could you send me the numbers from last quarter?",
    "Honestly, the old version was faster on my laptop.",
    "I think we should leave before the rain starts.",
)


def greedy_whisper(pipeline: Pipeline) -> tuple[WhisperRecognizer, RecognizeConfig]:
    """The pipeline's loaded Whisper and a greedy config for its twins."""
    from saywho.asr.whisper import WhisperRecognizer

    recognizer = pipeline.engines.recognizer
    assert isinstance(recognizer, WhisperRecognizer)
    greedy = RecognizeConfig(model="tiny.en", threads=recognizer.config.threads, beam_size=1)
    return recognizer, greedy


def words_heard(recognizer: WhisperRecognizer, samples: npt.NDArray[np.float32]) -> list[str]:
    recognition = recognizer.recognize(samples, language="en")
    return [w.text for u in recognition.utterances for w in u.words]


def test_a_first_window_only_twin_decodes_a_prefix_of_what_the_model_decodes(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    recognizer, greedy = greedy_whisper(tiny_pipeline)
    parts = [np.concatenate([speech_samples(s, tmp_path), silence(0.4)]) for s in SENTENCES]
    # Cut inside a sentence just under 30 s: tiny.en then usually stops before the cut words
    # and faster-whisper decodes a second window for them; the twin does not.
    samples = np.concatenate([silence(0.3), *parts, *parts, *parts])[: round(28.8 * 16_000)]
    plain = recognizer.with_config(greedy)
    twin = recognizer.with_config(greedy, first_window_only=True)
    full = words_heard(plain, samples)
    for _ in range(2):  # every decoding starts afresh
        first = words_heard(twin, samples)
        assert len(first) >= 30
        assert first == full[: len(first)]
    assert words_heard(plain, samples) == full  # the loaded model itself is untouched


def test_a_twin_with_a_token_rate_stops_decoding_there(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    recognizer, greedy = greedy_whisper(tiny_pipeline)
    samples = np.concatenate([speech_samples(s, tmp_path) for s in SENTENCES[1:]])
    full = words_heard(recognizer.with_config(greedy, first_window_only=True), samples)
    capped_twin = recognizer.with_config(greedy, first_window_only=True, max_tokens_per_s=1.0)
    capped = words_heard(capped_twin, samples)
    duration_s = samples.shape[0] / 16_000
    assert len(full) >= 25 and duration_s < 12.0
    # at most 1 token a second and 16 spare: fewer tokens than that many words
    assert 3 <= len(capped) < duration_s + 16 < len(full)
    assert capped[:-1] == full[: len(capped) - 1]  # the last word may have been cut short


def test_a_short_buffer_heard_in_a_short_window_gives_the_same_words_and_times(
    tiny_pipeline: Pipeline, tmp_path: Path
) -> None:
    recognizer, greedy = greedy_whisper(tiny_pipeline)
    samples = np.concatenate([speech_samples(s, tmp_path) for s in SENTENCES[:3]])
    assert samples.shape[0] / 16_000 < 13.0
    long_twin = recognizer.with_config(greedy, first_window_only=True)
    short_twin = recognizer.with_config(greedy, first_window_only=True, short_window_s=15.0)
    heard = [long_twin.recognize(samples, language="en")]
    heard.append(short_twin.recognize(samples, language="en"))
    words = [[w for u in recognition.utterances for w in u.words] for recognition in heard]
    assert len(words[0]) >= 20
    assert [w.text for w in words[1]] == [w.text for w in words[0]]
    for short, long in zip(words[1], words[0], strict=True):
        assert short.span is not None and long.span is not None
        assert abs(short.span.start - long.span.start) < 0.2
        assert abs(short.span.end - long.span.end) < 0.2


def test_a_short_window_is_for_a_first_window_only_twin(tiny_pipeline: Pipeline) -> None:
    recognizer, greedy = greedy_whisper(tiny_pipeline)
    with pytest.raises(ConfigError, match="first window only"):
        recognizer.with_config(greedy, short_window_s=15.0)
    with pytest.raises(ConfigError, match="at most 30 s"):
        recognizer.with_config(greedy, first_window_only=True, short_window_s=40.0)


def test_a_first_window_only_twin_detects_the_language_at_every_call(
    base_pipeline: Pipeline, tmp_path: Path
) -> None:
    from saywho.asr.whisper import WhisperRecognizer

    recognizer = base_pipeline.engines.recognizer
    assert isinstance(recognizer, WhisperRecognizer)
    twin = recognizer.with_config(recognizer.config, first_window_only=True)
    samples = np.concatenate([silence(0.3), speech_samples("Good morning to you all.", tmp_path)])
    for _ in range(3):  # a stream's first recognitions, or one per session, on one twin
        recognition = twin.recognize(samples)
        assert recognition.language == "en" and recognition.utterances
