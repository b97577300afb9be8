"""Redirect cues: words that alone show a question is about a topic the guide does not cover.

Cue syntax (the `cues:` of a redirect entry, see docs/knowledge-format.md):
- "visa", "green card": these words, in a row;
- "*pril": a word with this ending that is neither a knowledge word nor everyday English
  (lisinopril, ramipril; not "april");
- "cme|license + texas|ohio": every " + " part somewhere in the question, each part one of
  its "|" alternatives.

Cues match whole words, not stems, so "connections" never meets "connecticut".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.text import normalize

MIN_CUE_STEM = 3  # "*pril" needs three letters before it: "ramipril", not "april"

Phrase = tuple[str, ...]
_ENDING = re.compile(r"\*[a-z]{3,}")


def parse_cue(cue: str) -> list[list[Phrase]]:
    """ "a|b c + d" -> [[("a",), ("b", "c")], [("d",)]]; an empty phrase means a bad cue."""
    return [[tuple(normalize(alt).split()) for alt in part.split("|")] for part in cue.split(" + ")]


def cue_problem(cue: str) -> str | None:
    """What is wrong with a cue as written, for `faqbot check`; None when it is fine."""
    if cue.startswith("*"):
        if not _ENDING.fullmatch(cue):
            return f"cue {cue!r}: a word-ending cue is '*' and 3+ letters, like '*pril'"
        return None
    if not all(phrase for part in parse_cue(cue) for phrase in part):
        return f"cue {cue!r} has a part with no words"
    return None


class CueIndex:
    """Every redirect cue of a knowledge base (by entry index), ready to test questions against."""

    def __init__(self, cues_by_entry: Sequence[Sequence[str]]) -> None:
        self.words: set[str] = set()  # every cue word: known, so never "corrected" away
        self._phrases: dict[Phrase, int] = {}
        self._endings: list[tuple[str, int]] = []
        self._compounds: list[tuple[list[frozenset[Phrase]], int]] = []
        # compound cues by the phrases of their first part: only those can hit
        self._compounds_by_phrase: dict[Phrase, list[int]] = {}
        # the phrase lengths to try at a word, by its first word: most words start none
        self._sizes: dict[str, set[int]] = {}
        for index, cues in enumerate(cues_by_entry):
            for cue in cues:
                if cue.startswith("*"):
                    self._endings.append((normalize(cue), index))
                    continue
                parts = parse_cue(cue)
                for part in parts:
                    for phrase in part:
                        self.words.update(phrase)
                        if phrase:
                            self._sizes.setdefault(phrase[0], set()).add(len(phrase))
                if len(parts) == 1 and len(parts[0]) == 1:
                    self._phrases.setdefault(parts[0][0], index)
                else:
                    for phrase in parts[0]:
                        self._compounds_by_phrase.setdefault(phrase, []).append(
                            len(self._compounds)
                        )
                    self._compounds.append(([frozenset(part) for part in parts], index))

    def hits(self, words: Sequence[str], *, known: Callable[[str], bool]) -> set[int]:
        """Indexes of the entries with a cue in `words` (a question's corrected words).

        `known(word)` says whether a word is a knowledge or everyday word, which an
        "*ending" cue must not match.
        """
        present: set[Phrase] = set()
        sizes = self._sizes
        for i, word in enumerate(words):
            for size in sizes.get(word, ()):
                present.add(tuple(words[i : i + size]))
        found = {self._phrases[p] for p in present if p in self._phrases}
        candidates = {c for p in present for c in self._compounds_by_phrase.get(p, ())}
        for candidate in candidates:
            parts, index = self._compounds[candidate]
            if all(not present.isdisjoint(part) for part in parts[1:]):
                found.add(index)
        for word in words:
            if self._endings and not known(word):
                for ending, index in self._endings:
                    if word.endswith(ending) and len(word) >= len(ending) + MIN_CUE_STEM:
                        found.add(index)
        return found
