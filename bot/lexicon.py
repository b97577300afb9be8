"""How common an English word is, from pyspellchecker's bundled frequency list.

The knowledge base knows a few thousand words; real questions use many more. This tells the
matcher an ordinary word it has never seen ("nephew", "july") from a term outside every topic
("metformin", "ckd"), and stops typo correction from "fixing" a real word ("hanging") into a
knowledge word ("changing").
"""

from __future__ import annotations

import math
from functools import lru_cache

from spellchecker import SpellChecker

# Counts are occurrences in pyspellchecker's English corpus; "residency" has ~1,900,
# "nephew" ~15,000, "the" ~76 million.
REAL_WORD_COUNT = 300  # at least this common: a real word, never a typo to correct
RARE_COUNT = 100  # at most this common: weighs as much as an unknown term
EVERYDAY_COUNT = 100_000  # at least this common: weighs the least
MAX_TYPO_WORD = 20  # longer "words" are not typos (and their edits would cost a lot)


@lru_cache(maxsize=1)
def _counts() -> dict[str, int]:
    """Only words above RARE_COUNT: rarer ones weigh as unknown anyway (47k of 160k words)."""
    counts = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return {word: n for word, n in counts.items() if n > RARE_COUNT}


def count(word: str) -> int:
    """Occurrences of `word` (lowercase) in the English corpus; 0 when unknown."""
    return _counts().get(word, 0)


def is_real_word(word: str) -> bool:
    """Common enough that a user typing it meant it."""
    return count(word) >= REAL_WORD_COUNT


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=16384)
def typo_count(word: str) -> int:
    """The count of the most common real word one edit away ("overwhleming" ->
    "overwhelming"), so a mistyped everyday word is not mistaken for a rare term."""
    counts = _counts()
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    edits |= {a + c + b for a, b in splits for c in _LETTERS}
    return max((counts.get(e, 0) for e in edits), default=0)


def rarity(word: str) -> float:
    """1.0 for a rare or unknown word, falling to 0.0 for the most everyday words
    (a word one typo away from a real one counts as that word)."""
    n = count(word) or (typo_count(word) if 4 < len(word) <= MAX_TYPO_WORD else 0)
    if n <= RARE_COUNT:
        return 1.0
    if n >= EVERYDAY_COUNT:
        return 0.0
    return 1.0 - math.log(n / RARE_COUNT) / math.log(EVERYDAY_COUNT / RARE_COUNT)
