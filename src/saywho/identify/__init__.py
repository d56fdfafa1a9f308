"""Names for voices: a local voice library, open-set identification, linking across files.

store.py    the SQLite voice library (adapter)
match.py    prints, one-to-one open-set matching, cross-file linking (pure)
naming.py   the same on transcripts: identify, link_speakers, relabel (pure)
enroll.py   prints from audio (diarizer + CAM++) or from a transcript's speaker
extract.py  one person's speech in or out of a recording (pure); saywho.audio.encode writes it
"""

from saywho.identify.enroll import MIN_ENROLL_SPEECH_S, Enroller, Enrolment, enroll_from_transcript
from saywho.identify.match import DEFAULT_THRESHOLD
from saywho.identify.naming import VoicePrint, identify, link_speakers
from saywho.identify.store import Voice, VoiceLibrary, default_library_path

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_ENROLL_SPEECH_S",
    "Enroller",
    "Enrolment",
    "Voice",
    "VoiceLibrary",
    "VoicePrint",
    "default_library_path",
    "enroll_from_transcript",
    "identify",
    "link_speakers",
]
