"""Text normalisation shared by the matcher and the knowledge validator.

One function, so `faqbot check` calls two phrasings duplicates exactly when the matcher
cannot tell them apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_EMOJI_WORDS = {"👋": " hello ", "🙏": " thanks "}
_CONTRACTIONS = (
    (re.compile(r"\bcan['’]t\b"), "can not"),
    (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"n['’]t\b"), " not"),
    # spelled out, so "I'll" is not "ill", "we'd" not "wed", "we're" not "were"
    (re.compile(r"['’]ll\b"), " will"),
    (re.compile(r"['’]d\b"), " would"),
    (re.compile(r"['’]ve\b"), " have"),
    (re.compile(r"['’]re\b"), " are"),
    (re.compile(r"['’](m|s)\b"), r"\1"),  # "im" is a stop word; "doctor's" is "doctors"
)
# Written in capitals these are specialties; in lower case "im" is a lazy "I'm".
_UPPER_ABBREVIATIONS = {
    "IM": "internal medicine",
    "EM": "emergency medicine",
    "FM": "family medicine",
}
_UPPER_ABBREVIATION = re.compile(r"\b(?:" + "|".join(_UPPER_ABBREVIATIONS) + r")\b")
_PGY = re.compile(r"\bpgy\s*-?\s*(\d)")
_DOSE = re.compile(r"\b(\d+(?:\.\d+)?)(mg|mcg|ml|g|iu|units?)\b")
_YEARS = re.compile(r"\b(?:yrs|yr)\b")  # "3 yrs in": the word, so it is not "corrected"
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # no English word has a letter three times in a row
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


CACHED_LENGTH = 200  # phrasings and short messages: long messages are rarely seen twice


def normalize(text: str) -> str:
    """Lowercase, accent-free, punctuation-free text with single spaces."""
    # start-up normalises each phrasing several times; a cache of whole 4096-character
    # messages would only grow a running bot's memory
    return _normalize_cached(text) if len(text) <= CACHED_LENGTH else _normalize(text)


def _normalize(text: str) -> str:
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    text = _UPPER_ABBREVIATION.sub(lambda m: _UPPER_ABBREVIATIONS[m.group(0)], text)
    text = text.casefold()
    if not text.isascii():  # ASCII is already decomposed, with nothing to strip
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = _PGY.sub(r"pgy\1", text)  # "PGY-2", "pgy 2" and "PGY2" are one word
    text = _DOSE.sub(r"\1 \2", text)  # "50mg" is "50 mg": the unit is the word
    text = _NOT_ALNUM.sub(" ", text)
    text = _STRETCHED.sub(r"\1", text)  # "hellooo", "byeee", "sooo tired"
    text = _YEARS.sub(lambda m: "years" if m.group(0) == "yrs" else "year", text)
    return " ".join(text.split())


_normalize_cached = lru_cache(maxsize=16384)(_normalize)
