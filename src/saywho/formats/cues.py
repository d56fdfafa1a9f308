"""Subtitle cues from a transcript, following broadcast practice (BBC, Netflix guides).

Pure: no I/O. The SRT and VTT writers only format what :func:`subtitle_cues` returns.

1. every speaker run (:func:`saywho.utterances.speaker_runs`) is cut into cues by dynamic
   programming: each cue fits ``max_line_count`` lines of ``max_line_width`` characters
   (the speaker label included) and ``max_cue_s`` seconds of speech; among the cuts that
   fit, the cheapest ends cues at sentence ends, then after commas, then before
   conjunctions, and leaves each cue time enough to be read;
2. two short one-line cues of different speakers share a cue, each line after a dash;
3. times: a cue shows from its first word for at least ``min_cue_s`` and long enough to
   read at ``max_chars_per_s``, at most ``max_cue_s``, and ends ``cue_gap_s`` before the
   next cue starts;
4. each cue's text is broken into balanced lines at natural phrase boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from saywho.config import WriteConfig
from saywho.formats.speakers import shown_speaker
from saywho.types import Span, Transcript, Utterance
from saywho.utterances import ends_sentence, speaker_runs

__all__ = ["Cue", "CueLine", "CueWord", "highlighted", "subtitle_cues", "wrap_lines"]

_CLAUSE_ENDS = frozenset(",;:\u2014\u2013")  # and the em and en dashes
_OPENERS = "\"'\u201c\u2018\u00ab([{"  # quotes and brackets that open
_CLOSERS = "\"'\u201d\u2019\u00bb)]}"
_CONJUNCTIONS = frozenset(
    " ".join(
        (
            "and but or nor so yet because although though while whereas if unless until",
            "when where whether which who that than as since after before",
        )
    ).split()
)
_NO_BREAK_AFTER = frozenset(
    " ".join(
        (
            "a an the to of in on at by for with from into my your his her its our their",
            "this that these those i we you he she it they is are was were be",
        )
    ).split()
)
# Costs of the cut between two cues, or of a line break, by what precedes it.
_SENTENCE_CUT, _CLAUSE_CUT, _CONJUNCTION_CUT, _PLAIN_CUT, _BAD_CUT = 0.0, 3.0, 6.0, 10.0, 16.0
_CUE_COST = 4.0  # each extra cue: prefer fewer, fuller cues
_SHORT_COST = 40.0  # per second a cue falls short of min_cue_s
_READING_COST = 8.0  # per second a cue falls short of the time its text takes to read
_LINE_BREAK_SHARE = 0.4  # a line break matters less than a cut between cues
_MIN_FLASH_S = 0.3  # a cue squeezed by the next one still shows this long (the next waits)


@dataclass(frozen=True, slots=True)
class CueWord:
    """A word of a cue as shown (no surrounding spaces) and when it is spoken, if known."""

    text: str
    span: Span | None


@dataclass(frozen=True, slots=True)
class CueLine:
    """One line of a cue: its words, who says them, and how it starts.

    ``label`` is the speaker's display name when the line shows it (the speaker changes),
    else ``None``; ``dash`` marks a line of a cue shared by two speakers.
    """

    words: tuple[CueWord, ...]
    speaker: str | None
    label: str | None
    dash: bool
    glue: str

    @property
    def text(self) -> str:
        """The words of the line, without dash or label."""
        return self.glue.join(word.text for word in self.words)

    @property
    def prefix(self) -> str:
        """What precedes the words: ``"- "`` and/or ``"Name: "``."""
        return ("- " if self.dash else "") + (f"{self.label}: " if self.label else "")

    @property
    def display(self) -> str:
        """The line as a plain-text subtitle shows it."""
        return self.prefix + self.text


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: when it shows and its lines."""

    span: Span
    lines: tuple[CueLine, ...]

    @property
    def text(self) -> str:
        """The lines as shown (labels and dashes included), joined by line breaks."""
        return "\n".join(line.display for line in self.lines)

    @property
    def speaker(self) -> str | None:
        """Who says the first line (display name), ``None`` without diarization."""
        return self.lines[0].speaker if self.lines else None

    @property
    def words(self) -> tuple[CueWord, ...]:
        """Every word of the cue, in order."""
        return tuple(word for line in self.lines for word in line.words)


@dataclass(frozen=True, slots=True)
class _Block:
    """A cue before its lines are broken and its times settled."""

    words: tuple[CueWord, ...]
    speaker: str | None
    label: str | None
    glue: str
    spoken: Span  # first word's start to last word's end

    @property
    def text(self) -> str:
        return self.glue.join(word.text for word in self.words)


def subtitle_cues(transcript: Transcript, options: WriteConfig | None = None) -> tuple[Cue, ...]:
    """Return the subtitle cues of ``transcript``, in order, never overlapping.

    ``options`` (default: the transcript's own ``config.write``) set the limits. Every
    word appears in exactly one cue, in order; untimed words stay with the word before
    them. ``speaker`` names are display names (``UNKNOWN`` for words nobody was found to
    say, ``None`` without diarization). A word longer than a line gets a line of its own.
    """
    opts = options if options is not None else transcript.config.write
    runs = [
        u for u in speaker_runs(transcript.utterances, gap_s=opts.utterance_gap_s) if _has_text(u)
    ]
    glue = " " if any(" " in u.text.strip() for u in runs) else ""
    blocks: list[_Block] = []
    previous: str | None = None
    for index, run in enumerate(runs):
        speaker = shown_speaker(transcript, run.speaker)
        words = _cue_words(run)
        next_start = runs[index + 1].span.start if index + 1 < len(runs) else math.inf
        changed = index == 0 or speaker != previous
        blocks.extend(_cut(words, speaker, changed, glue, next_start, opts))
        previous = speaker
    return _timed(_share_cues(blocks, opts), opts)


def wrap_lines(
    words: Sequence[str], *, first_width: int, width: int, glue: str = " "
) -> tuple[tuple[str, ...], ...]:
    """Break ``words`` into the fewest lines that fit, balanced, at natural boundaries.

    The first line has ``first_width`` characters (a label takes the rest of ``width``).
    Among the breaks into that many lines, the one whose line lengths are most even, with
    breaks after punctuation or before conjunctions preferred, wins. A word longer than a
    line gets its own line.
    """
    if not words:
        return ((),)
    count = _lines_needed(words, first_width, width, glue)
    offset = width - first_width  # the label: it counts towards the first line's balance
    total = sum(len(w) for w in words) + len(glue) * (len(words) - 1) + offset
    target = total / count
    # best[k][i]: cheapest way to put words[:i] on k lines; links for the path back.
    best: list[dict[int, tuple[float, int]]] = [{0: (0.0, 0)}]
    for line in range(1, count + 1):
        limit = first_width if line == 1 else width
        row: dict[int, tuple[float, int]] = {}
        for start, (cost, _) in best[line - 1].items():
            length = -len(glue)
            for end in range(start + 1, len(words) + 1):
                length += len(glue) + len(words[end - 1])
                if length > limit and end > start + 1:
                    break
                remaining = len(words) - end
                if (remaining and line == count) or (not remaining and line < count):
                    continue
                shown = length + (offset if line == 1 else 0)
                step = (shown - target) ** 2 / max(target, 1.0)
                if remaining:
                    step += _LINE_BREAK_SHARE * _cut_cost(words[end - 1], words[end])
                if end not in row or cost + step < row[end][0]:
                    row[end] = (cost + step, start)
        best.append(row)
    if len(words) not in best[count]:  # cannot happen: a word alone always fits its line
        return (tuple(words),)
    lines: list[tuple[str, ...]] = []
    end = len(words)
    for line in range(count, 0, -1):
        start = best[line][end][1]
        lines.append(tuple(words[start:end]))
        end = start
    return tuple(reversed(lines))


def highlighted(cue: Cue) -> tuple[tuple[Span, int | None], ...]:
    """Karaoke: the times at which each word of ``cue`` is the one being spoken.

    Pairs of a span and the index of the word (in :attr:`Cue.words`) spoken during it;
    the spans cover the cue without gaps or overlap, each word from its start to the next
    word's start (the first from the cue's start, the last to its end). Untimed words,
    and words timed outside the cue, are never highlighted alone. A cue without timed
    words gives its own span with ``None``.
    """
    starts = [
        (index, max(cue.span.start, word.span.start))
        for index, word in enumerate(cue.words)
        if word.span is not None and word.span.start < cue.span.end
    ]
    if not starts:
        return ((cue.span, None),)
    starts[0] = (starts[0][0], cue.span.start)
    for number in range(1, len(starts)):  # recognizer times may step back a little
        starts[number] = (starts[number][0], max(starts[number][1], starts[number - 1][1]))
    shown: list[tuple[Span, int | None]] = []
    for number, (index, start) in enumerate(starts):
        end = starts[number + 1][1] if number + 1 < len(starts) else cue.span.end
        begin = _ms(start)
        if _ms(end) > begin:
            shown.append((Span(begin, _ms(end)), index))
    return tuple(shown) if shown else ((cue.span, None),)


# -- 1. cutting a speaker run into blocks ---------------------------------------------------------


def _cut(
    words: Sequence[CueWord],
    speaker: str | None,
    changed: bool,
    glue: str,
    next_start: float,
    opts: WriteConfig,
) -> list[_Block]:
    """Cut one speaker's run into blocks by dynamic programming over the cut positions."""
    n = len(words)
    starts = _anchor_starts(words)
    ends = _anchor_ends(words)
    # A cue may start at the first word and at any timed word (untimed ones stay behind).
    cuttable = [i in (0, n) or words[i].span is not None for i in range(n + 1)]
    label_first = speaker is not None and opts.speaker_labels != "never" and changed
    label_each = speaker is not None and opts.speaker_labels == "always"
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * n
    for i in range(n):
        if best[i][0] == math.inf or not cuttable[i]:
            continue
        label = speaker if (label_first and i == 0) or label_each else None
        first_width = opts.max_line_width - (len(label) + 2 if label else 0)
        found = False  # the first block that can end is taken even if too long (one word)
        for j in range(i + 1, n + 1):
            if not cuttable[j]:
                continue
            texts = [w.text for w in words[i:j]]
            spoken = ends[j - 1] - starts[i]
            lines = _lines_needed(texts, first_width, opts.max_line_width, glue)
            if found and (lines > opts.max_line_count or spoken > opts.max_cue_s):
                break
            found = True
            shown_until = starts[j] if j < n else next_start
            cost = (
                best[i][0]
                + _CUE_COST
                + _block_cost(texts, glue, label, spoken, shown_until - starts[i], opts)
            )
            if j < n:
                cost += _cut_cost(words[j - 1].text, words[j].text)
            if cost < best[j][0]:
                best[j] = (cost, i)
    blocks: list[_Block] = []
    j = n
    while j > 0:
        i = best[j][1]
        label = speaker if (label_first and i == 0) or label_each else None
        block_span = Span(starts[i], max(starts[i], ends[j - 1]))
        blocks.append(_Block(tuple(words[i:j]), speaker, label, glue, block_span))
        j = i
    return blocks[::-1]


def _block_cost(
    texts: Sequence[str],
    glue: str,
    label: str | None,
    spoken_s: float,
    available_s: float,
    opts: WriteConfig,
) -> float:
    """Penalties for a block that cannot stay up long enough to be read."""
    chars = sum(len(t) for t in texts) + len(glue) * (len(texts) - 1)
    chars += len(label) + 2 if label else 0
    shown = min(opts.max_cue_s, max(available_s - opts.cue_gap_s, spoken_s))
    short = _SHORT_COST * max(0.0, opts.min_cue_s - shown)
    return short + _READING_COST * max(0.0, chars / opts.max_chars_per_s - shown)


def _cut_cost(before: str, after: str) -> float:
    """How natural a break between ``before`` and ``after`` is (lower is better)."""
    if ends_sentence(before):
        return _SENTENCE_CUT
    if before.rstrip(_CLOSERS)[-1:] in _CLAUSE_ENDS:
        return _CLAUSE_CUT
    if after.lower().strip(_OPENERS) in _CONJUNCTIONS:
        return _CONJUNCTION_CUT
    if before.lower().strip(_OPENERS + _CLOSERS + ",") in _NO_BREAK_AFTER:
        return _BAD_CUT
    return _PLAIN_CUT


def _lines_needed(texts: Sequence[str], first_width: int, width: int, glue: str) -> int:
    """Lines a greedy wrap needs (the fewest possible; a too-long word takes a line)."""
    lines, length, limit = 1, -1, first_width
    for text in texts:
        grown = len(text) if length < 0 else length + len(glue) + len(text)
        if length >= 0 and grown > limit:
            lines, length, limit = lines + 1, len(text), width
        else:
            length = grown
    return lines


def _anchor_starts(words: Sequence[CueWord]) -> list[float]:
    """Each word's start; an untimed word takes the time of the word before (or after)."""
    times = [w.span.start if w.span is not None else math.nan for w in words]
    return _fill(times)


def _anchor_ends(words: Sequence[CueWord]) -> list[float]:
    times = [w.span.end if w.span is not None else math.nan for w in words]
    return _fill(times)


def _fill(times: list[float]) -> list[float]:
    known = [t for t in times if not math.isnan(t)]
    last = known[0] if known else 0.0
    filled = []
    for t in times:
        last = last if math.isnan(t) else t
        filled.append(last)
    return filled


def _cue_words(utterance: Utterance) -> list[CueWord]:
    """The words to show; where no word has a time, each gets a share of the utterance's
    span in proportion to its length (so that a long one can still be split)."""
    words = [CueWord(w.text.strip(), w.span) for w in utterance.words if w.text.strip()]
    if any(word.span is not None for word in words):
        return words
    return _spread([w.text for w in words] or utterance.text.split(), utterance.span)


def _spread(texts: Sequence[str], span: Span) -> list[CueWord]:
    total = sum(len(t) + 1 for t in texts)
    words, done = [], 0
    for text in texts:
        start = span.start + span.duration * done / total
        done += len(text) + 1
        end = span.start + span.duration * done / total
        words.append(CueWord(text, Span(start, max(start, end))))
    return words


def _has_text(utterance: Utterance) -> bool:
    return bool(utterance.text.strip()) or any(w.text.strip() for w in utterance.words)


# -- 2. two speakers' short lines share a cue -----------------------------------------------------


def _share_cues(blocks: Sequence[_Block], opts: WriteConfig) -> list[tuple[_Block, ...]]:
    """Group blocks into cues: mostly one block a cue, two short ones of two speakers
    as a dash pair where one of them could not stay up long enough alone."""
    cues: list[tuple[_Block, ...]] = []
    i = 0
    while i < len(blocks):
        first = blocks[i]
        if i + 1 < len(blocks) and _may_share(first, blocks[i + 1], blocks, i, opts):
            cues.append((first, blocks[i + 1]))
            i += 2
        else:
            cues.append((first,))
            i += 1
    return cues


def _may_share(
    first: _Block, second: _Block, blocks: Sequence[_Block], index: int, opts: WriteConfig
) -> bool:
    if opts.max_line_count < 2 or first.speaker == second.speaker:
        return False
    for block in (first, second):
        width = len("- ") + (len(block.label) + 2 if block.label else 0) + len(block.text)
        if width > opts.max_line_width:
            return False
    if second.spoken.end - first.spoken.start > opts.max_cue_s:
        return False
    if second.spoken.start - first.spoken.end > opts.utterance_gap_s:
        return False
    after = blocks[index + 2].spoken.start if index + 2 < len(blocks) else math.inf
    return _too_short(first, second.spoken.start, opts) or _too_short(second, after, opts)


def _too_short(block: _Block, next_start: float, opts: WriteConfig) -> bool:
    shown = min(opts.max_cue_s, next_start - opts.cue_gap_s - block.spoken.start)
    chars = len(block.text) + (len(block.label) + 2 if block.label else 0)
    return shown < opts.min_cue_s or chars / max(shown, 1e-3) > opts.max_chars_per_s


# -- 3. times, and 4. lines -------------------------------------------------------------------


def _timed(cues: Sequence[tuple[_Block, ...]], opts: WriteConfig) -> tuple[Cue, ...]:
    result: list[Cue] = []
    previous_end = -math.inf
    for index, blocks in enumerate(cues):
        lines = _lines(blocks, opts)
        raw_start = blocks[0].spoken.start
        raw_end = max(b.spoken.end for b in blocks)
        start = _ms(max(raw_start, previous_end + opts.cue_gap_s, 0.0))
        chars = sum(len(line.display) for line in lines)
        needed = max(opts.min_cue_s, chars / opts.max_chars_per_s)
        wanted = min(max(raw_end, start + needed), start + opts.max_cue_s)
        if index + 1 < len(cues):
            limit = cues[index + 1][0].spoken.start - opts.cue_gap_s
        else:  # the last cue may outlast the media a little: players just let it go
            limit = math.inf
        end = min(wanted, limit)
        if end - start < min(_MIN_FLASH_S, wanted - start):
            end = start + min(_MIN_FLASH_S, wanted - start)  # the next cue waits for this one
        end = _ms(max(end, start))
        result.append(Cue(Span(start, end), lines))
        previous_end = end
    return tuple(result)


def _lines(blocks: Sequence[_Block], opts: WriteConfig) -> tuple[CueLine, ...]:
    if len(blocks) > 1:  # a dash pair: one line each
        return tuple(CueLine(b.words, b.speaker, b.label, True, b.glue) for b in blocks)
    block = blocks[0]
    first_width = opts.max_line_width - (len(block.label) + 2 if block.label else 0)
    texts = [w.text for w in block.words]
    broken = wrap_lines(
        texts,
        first_width=first_width,
        width=opts.max_line_width,
        glue=block.glue,
    )
    lines, position = [], 0
    for number, line in enumerate(broken):
        words = block.words[position : position + len(line)]
        position += len(line)
        label = block.label if number == 0 else None
        lines.append(CueLine(words, block.speaker, label, False, block.glue))
    return tuple(lines)


def _ms(seconds: float) -> float:
    """Seconds rounded to whole milliseconds, as the files write them."""
    return round(seconds, 3)
