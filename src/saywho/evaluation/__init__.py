"""Evaluation helpers: test material with exact ground truth, and scoring.

:mod:`~saywho.evaluation.mixtures` builds conversations with exact ground truth,
:mod:`~saywho.evaluation.files` reads references and hypotheses (RTTM, UEM, STM, saywho JSON),
:mod:`~saywho.evaluation.score` scores them (DER and JER by pyannote.metrics, WER by jiwer,
cpWER by meeteval: the optional extra ``saywho[eval]``), and
:mod:`~saywho.evaluation.command` is ``saywho evaluate``.
"""

from __future__ import annotations

from saywho.evaluation.files import (
    Hypothesis,
    SpokenText,
    StmLine,
    parse_rttm,
    parse_stm,
    parse_uem,
    read_hypothesis,
    read_rttm,
    read_stm,
    read_uem,
)
from saywho.evaluation.score import (
    DiarizationPair,
    DiarizationScore,
    DiarizationScores,
    TextPair,
    TextScore,
    TextScores,
    normalize_text,
    score_diarization,
    score_text,
)

__all__ = [
    "DiarizationPair",
    "DiarizationScore",
    "DiarizationScores",
    "Hypothesis",
    "SpokenText",
    "StmLine",
    "TextPair",
    "TextScore",
    "TextScores",
    "normalize_text",
    "parse_rttm",
    "parse_stm",
    "parse_uem",
    "read_hypothesis",
    "read_rttm",
    "read_stm",
    "read_uem",
    "score_diarization",
    "score_text",
]
