"""Pure identification maths and transcript rewriting: prints, open-set matching, linking."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from saywho.config import EMBEDDING_MODEL, PipelineConfig
from saywho.errors import VoiceLibraryError
from saywho.identify.extract import extract_spans, render, resolve_speaker, subtract, union
from saywho.identify.match import link, match, unit, voice_print
from saywho.identify.naming import (
    VoicePrint,
    identify,
    link_speakers,
    relabel,
)
from saywho.types import ModelInfo, Span, Speaker, Transcript, Turn, Utterance, Word

SHA = "a" * 64


def directions(count: int, dim: int = 16, seed: int = 0) -> npt.NDArray[np.float32]:
    """``count`` random unit vectors, nearly orthogonal to each other in 16 dimensions."""
    return unit(np.random.default_rng(seed).normal(size=(count, dim)))


def near(vector: npt.NDArray[np.float32], cos: float, seed: int) -> npt.NDArray[np.float32]:
    """A unit vector with cosine ``cos`` to ``vector``."""
    noise = np.random.default_rng(seed).normal(size=vector.shape)
    noise -= noise @ vector * vector
    return unit(cos * vector + np.sqrt(1 - cos**2) * unit(noise))


def test_voice_print_weights_by_seconds() -> None:
    a, b = directions(2)
    print_ = voice_print(np.stack([a, b]), np.array([9.0, 1.0]))
    assert np.isclose(np.linalg.norm(print_), 1.0)
    assert print_ @ a > print_ @ b


def test_match_is_one_to_one_and_open_set() -> None:
    voices = directions(3)
    speakers = np.stack(
        [near(voices[1], 0.8, 1), near(voices[1], 0.7, 2), directions(1, seed=9)[0]]
    )
    found = match(speakers, voices, threshold=0.5)
    # Both first speakers sound like voice 1: only the closer gets it; the stranger gets nothing.
    assert [(m.speaker, m.voice) for m in found] == [(0, 1)]
    assert found[0].score == pytest.approx(0.8, abs=1e-5)


def test_match_prefers_the_assignment_that_names_more_speakers() -> None:
    voices = directions(2)
    # Speaker 0 is a bit closer to voice 0 than speaker 1, but speaker 1 matches only voice 0.
    s0 = unit(0.75 * voices[0] + 0.7 * voices[1])
    s1 = near(voices[0], 0.6, 3)
    found = match(np.stack([s0, s1]), voices, threshold=0.5)
    assert {(m.speaker, m.voice) for m in found} == {(0, 1), (1, 0)}


def test_match_with_nothing_enrolled_names_nobody() -> None:
    assert match(directions(2), np.zeros((0, 16), dtype=np.float32), 0.5) == ()


def test_link_joins_one_voice_across_files_never_within_one() -> None:
    a, b = directions(2)
    rows = np.stack([near(a, 0.9, 1), near(b, 0.9, 2), near(a, 0.9, 3), near(a, 0.9, 4)])
    # rows 2 and 3 come from the same file: they cannot both be "a".
    labels = link(rows, groups=[0, 0, 1, 1], threshold=0.5)
    assert labels[0] == labels[2] or labels[0] == labels[3]
    assert labels[2] != labels[3]
    assert labels[1] != labels[0]
    assert list(labels[:2]) == [0, 1]  # numbered by first appearance


def test_link_keeps_strangers_apart_and_pins_names() -> None:
    a, b, c = directions(3)
    rows = np.stack([a, b, c])
    assert len(set(link(rows, [0, 1, 2], 0.5))) == 3
    # Two rows with the same name are one person even if their voices differ.
    pinned = link(rows, [0, 1, 2], 0.5, fixed=[7, None, 7])
    assert pinned[0] == pinned[2] != pinned[1]


def naive_link(
    rows: npt.NDArray[np.float64], groups: list[int], threshold: float, fixed: list[int | None]
) -> list[int]:
    """Average linkage the slow, obvious way: every pair of clusters, every merge."""
    similarity = unit(rows).astype(np.float64) @ unit(rows).astype(np.float64).T
    first: dict[int, int] = {}
    owner = [
        first.setdefault(key, row) if key is not None else row for row, key in enumerate(fixed)
    ]
    clusters: dict[int, list[int]] = {}
    for row, cluster in enumerate(owner):
        clusters.setdefault(cluster, []).append(row)
    while True:
        best, pair = threshold, None
        for a in sorted(clusters):
            for b in sorted(clusters):
                if b <= a or {groups[r] for r in clusters[a]} & {groups[r] for r in clusters[b]}:
                    continue
                score = float(similarity[np.ix_(clusters[a], clusters[b])].mean())
                if score >= best and (pair is None or score > best):
                    best, pair = score, (a, b)
        if pair is None:
            break
        clusters[pair[0]] += clusters.pop(pair[1])
    label = {row: cluster for cluster, members in clusters.items() for row in members}
    order: dict[int, int] = {}
    return [order.setdefault(label[row], len(order)) for row in range(len(rows))]


def test_link_is_average_linkage_with_cannot_links_and_pins() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        people = rng.normal(size=(6, 16))
        n = int(rng.integers(1, 25))
        who = rng.integers(0, 6, size=n)
        rows = people[who] + rng.normal(scale=rng.uniform(0.3, 1.5), size=(n, 16))
        groups = [int(g) for g in rng.integers(0, 5, size=n)]
        fixed = [int(w) if rng.random() < 0.2 else None for w in who]
        expected = naive_link(rows, groups, 0.5, fixed)
        assert list(link(rows, groups, 0.5, fixed=fixed)) == expected


def transcript(
    speakers: tuple[Speaker, ...], turns: tuple[Turn, ...] = (), source: str = "x.wav"
) -> Transcript:
    words = tuple(
        Word(f"w{i}", t.span, 0.9, speaker=t.label, overlapping=("SPEAKER_01",))
        for i, t in enumerate(turns)
    )
    return Transcript(
        source=source,
        duration_s=10.0,
        language="en",
        language_probability=1.0,
        utterances=tuple(Utterance(w.span or Span(0, 0), w.text, (w,), w.speaker) for w in words),
        config=PipelineConfig(),
        models=(ModelInfo(EMBEDDING_MODEL, "diarize", SHA),),
        speakers=speakers,
        turns=turns,
    )


def speaker(label: str, vector: npt.NDArray[np.float32]) -> Speaker:
    return Speaker(label, centroid=tuple(float(x) for x in vector))


def test_identify_names_matches_and_leaves_strangers() -> None:
    alice, bob, stranger = directions(3)
    before = transcript(
        (speaker("SPEAKER_00", near(alice, 0.8, 5)), speaker("SPEAKER_01", stranger))
    )
    library = (VoicePrint("Alice", alice), VoicePrint("Bob", bob))
    after = identify(before, library, 0.5, model_sha256=SHA)
    assert [(s.name, s.confidence is not None) for s in after.speakers] == [
        ("Alice", True),
        (None, False),
    ]
    assert after.speakers[0].confidence == pytest.approx(0.8, abs=1e-4)
    assert before.speakers[0].name is None  # the input is not changed
    assert after.speaker_display("SPEAKER_00") == "Alice"


def test_identify_refuses_another_embedding_model() -> None:
    (alice,) = directions(1)
    with pytest.raises(VoiceLibraryError, match="re-enrol the voices"):
        identify(
            transcript((speaker("SPEAKER_00", alice),)),
            (VoicePrint("Alice", alice),),
            0.5,
            model_sha256="b" * 64,
        )


def test_relabel_rewrites_every_place_a_label_appears() -> None:
    a, b = directions(2)
    turns = (Turn(Span(0, 1), "SPEAKER_00"), Turn(Span(1, 2), "SPEAKER_01"))
    before = transcript((speaker("SPEAKER_00", a), speaker("SPEAKER_01", b)), turns)
    after = relabel(before, {"SPEAKER_00": "SPEAKER_01", "SPEAKER_01": "SPEAKER_00"})
    assert [t.label for t in after.turns] == ["SPEAKER_01", "SPEAKER_00"]
    assert [u.speaker for u in after.utterances] == ["SPEAKER_01", "SPEAKER_00"]
    assert after.words[0].overlapping == ("SPEAKER_00",)
    assert [s.centroid for s in after.speakers] == [
        before.speakers[1].centroid,
        before.speakers[0].centroid,
    ]


def test_link_speakers_gives_one_person_one_label_across_files() -> None:
    a, b, c = directions(3)
    first = transcript(
        (speaker("SPEAKER_00", near(a, 0.9, 1)), speaker("SPEAKER_01", near(b, 0.9, 2))),
        (Turn(Span(0, 1), "SPEAKER_00"), Turn(Span(1, 2), "SPEAKER_01")),
        "one.wav",
    )
    second = transcript(
        (speaker("SPEAKER_00", near(c, 0.9, 3)), speaker("SPEAKER_01", near(b, 0.9, 4))),
        (Turn(Span(0, 1), "SPEAKER_00"), Turn(Span(1, 2), "SPEAKER_01")),
        "two.wav",
    )
    linked, seen = link_speakers([first, second], 0.5)
    labels = [[s.label for s in t.speakers] for t in linked]
    assert labels == [["SPEAKER_00", "SPEAKER_01"], ["SPEAKER_01", "SPEAKER_02"]]
    # b is SPEAKER_01 in both files; c, new in file two, got the next free label.
    assert linked[1].turns[1].label == "SPEAKER_01"
    assert dict(seen)["SPEAKER_01"] == (0, 1)
    assert dict(seen)["SPEAKER_02"] == (1,)


def test_extract_spans_keeps_only_solo_speech_or_everything_else() -> None:
    turns = (
        Turn(Span(0.0, 4.0), "A"),
        Turn(Span(3.0, 5.0), "B"),
        Turn(Span(6.0, 8.0), "A"),
    )
    assert extract_spans(turns, "A", 10.0) == (Span(0.0, 3.0), Span(6.0, 8.0))
    assert extract_spans(turns, "A", 10.0, exclude=True) == (Span(4.0, 6.0), Span(8.0, 10.0))
    assert union([Span(1, 2), Span(0, 1.5)]) == (Span(0, 2),)
    assert subtract([Span(0, 10)], [Span(2, 3), Span(5, 6)]) == (
        Span(0, 2),
        Span(3, 5),
        Span(6, 10),
    )


def test_render_fades_cuts_and_keeps_timing_on_request() -> None:
    samples = np.ones(1000, dtype=np.float32)
    spans = (Span(0.1, 0.3), Span(0.5, 0.6))
    joined = render(samples, 1000, spans, keep_timing=False, fade_s=0.01)
    assert joined.shape == (300,)
    assert joined[0] == 0.0 and joined[150] == 1.0 and joined[-1] == 0.0
    timed = render(samples, 1000, spans, keep_timing=True, fade_s=0.01)
    assert timed.shape == (1000,)
    assert timed[50] == 0.0 and timed[200] == 1.0 and timed[400] == 0.0
    assert samples.min() == 1.0  # input untouched


def test_resolve_speaker_by_name_or_label() -> None:
    (a,) = directions(1)
    named = transcript((Speaker("SPEAKER_03", name="Zoë O'Brien", centroid=tuple(a)),))
    assert resolve_speaker(named, "Zoë O'Brien") == "SPEAKER_03"
    assert resolve_speaker(named, "SPEAKER_03") == "SPEAKER_03"
    with pytest.raises(VoiceLibraryError, match="no speaker 'Bob'"):
        resolve_speaker(named, "Bob")
