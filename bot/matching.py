"""Matching a free-text question to a knowledge entry.

The pipeline, applied alike to the knowledge's phrasings (once, at index time) and to each
question:

1. normalise: case, accents, apostrophes, punctuation, emoji;
2. correct typos of words neither the knowledge nor everyday English knows (rapidfuzz, edit
   distance 1-2; bot/lexicon.py says what everyday English is);
3. rewrite jargon through the synonym table (PGY-2 -> residency, CME -> continuing ...);
4. stem lightly, so "certified", "certify" and "certification" meet.

Scoring weighs each shared word by its rarity across entries (IDF), so one shared common word
("the", "specialty") cannot carry a match, and measures how much of the *question* an entry
explains: words the knowledge has never seen count against every entry, the more so the rarer
they are in English ("metformin" a lot, "nephew" barely). Redirect cues (bot/cues.py) catch
questions on topics the guide does not cover even when they share its words. Filler ("hey",
"bot", "please"), particles from users' own languages ("yaar", "pues") and chat shorthand
("rn", "ngl") weigh almost nothing or nothing, and a number at most a little ("30 years" is not
the "conrad 30" visa waiver). Some words are context, not topic: a relative who only speaks
("my wife says") or is asked about ("my husband, a PGY-3, ...") is not family time, what the
user sets aside ("money aside, ...") is not the question, a greeting before a question gives
way to the question, a thanks or goodbye that asks nothing is small talk whatever it
mentions, and a redirect cue outside the asking clause ("with 300k in loans, how do I find
meaning again") gives way when that clause alone is clearly about a covered topic, or
carries a covered topic's cue. Conversely, a message that asks is rarely a thanks or a
goodbye, and one that never addresses the bot is rarely about the bot. The decision
follows Rasa's FallbackClassifier: answer above a threshold with a margin over the runner-up,
ask "did you mean" when close, else fall back.

This is the only module that imports rapidfuzz.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot import lexicon
from bot.common_words import COMMON_WORDS
from bot.config import MatchingConfig
from bot.cues import CueIndex
from bot.knowledge import Entry, KnowledgeBase
from bot.text import normalize as normalize

log = logging.getLogger(__name__)

Decision = Literal["answer", "clarify", "fallback"]

# Words that carry no topic. Kept small on purpose: "career", "doctor" and the like are left
# to IDF, which already makes them cheap because every entry uses them.
_ENGLISH_STOP_WORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being but by
    can could did do does doing done for from get got had has have having he her here him his
    how i if in into is it its just me might more most much must my myself no nor not now of
    off on once one only or other our out over own same shall she should so some such than that
    the their them then there these they this those through to too under until up upon us very
    was we were what when where which while who whom why will with would im ive id dont cant
    wont whats hows thats theres lets gonna wanna gotta kinda
    really actually basically anyone someone something anything thing things way ways know
    think want need like much many lot lots bit even still ever well advice advise tips tip
    suggestion suggestions info information idea ideas thoughts opinion explain anybody
    everyone everybody somebody honestly seriously literally totally guess wondering wonder
    curious ask asking said say says yes yeah also else without within cannot exactly stuff
    precisely truly simply generally usually typically against whether among further
    themselves whenever per depends aside besides""".split()
)
# particles users mix in from their own languages: "bhai", "pues", "naman"
_LOANED_PARTICLES = frozenset(
    """yaar yar bhai bhaiya kya hai nahi accha acha ji arre arey matlab toh bas wallah walla
    inshallah insha allah habibi yalla khalas mashallah pues oye bueno pero entonces po naman
    diba talaga abeg wahala sha jare haba abi bro bruh dude lah leh mein hoon hain liye kuch
    aage gaye hote khud aake bhi nahin hum aap mera meri mujhe hota raha rahi wala wali karna
    karne karo karu chahiye kaise kaisa kahan kyun ke ki ka se ko jo sab
    que para como muy porque tambien""".split()
)
# chat shorthand: "im so confused rn", "cynical af"; unknown, it would weigh as a rare term
_CHAT_SHORTHAND = frozenset(
    """rn ngl imo imho idk atm fr smh ikr btw af lmao lmfao omg wtf ya yall ppl thru cuz
    coz bc rly def defo prob probs lowkey highkey istg fml ugh irl nvm fyi jk tbf iirc r
    afaik shud shld wud cud alot appt appts""".split()
)
STOP_WORDS = _ENGLISH_STOP_WORDS | _LOANED_PARTICLES | _CHAT_SHORTHAND
# Chat filler: it must not move a real question's score, but alone it is small talk.
FILLER_WORDS = frozenset(
    """hey hi hello hiya heya yo bot please pls plz thank thanks thx ty ok okay sorry quick
    question questions help guys sir madam dear doc friend buddy hmm um uh ah oh wow tell
    kindly hope you your yours yourself u ur bye cya""".split()
)
FILLER_WEIGHT = 0.2
PHRASING_SHARE = 0.75  # the rest of the score is how much of the question the entry covers
COMMON_WEIGHT = 0.7  # everyday English words: see bot/common_words.py
EVERYDAY_ONLY_FACTOR = 0.3  # a match made only of everyday words rarely means the topic
SHORT_QUESTION_WORDS = 3  # up to this many words, also compare the whole string
WHOLE_STRING_CUTOFF = 86  # fuzz.ratio needed for a whole-string match ("bey" ~ "bye")
CENTRAL_PHRASINGS = 3  # a word in this many phrasings of an entry is fully "about" it
WORD_MEMO_SIZE = 65536  # words whose correction and stem are remembered
MIN_CORRECTION_TARGET = 4  # never "correct" a word into short jargon such as cme, moc, img
UNKNOWN_WORD_FACTOR = 0.5  # an unseen rare word weighs this share of the rarest known word
UNKNOWN_EVERYDAY_SHARE = 0.15  # an unseen everyday word ("nephew") weighs this share of that
NUMBER_WEIGHT = 0.3  # at most: "stay in love with this job for 30 years" is not a visa waiver
CLOSING_IDS = ("thanks", "goodbye")  # a message opening with these and asking nothing is one
ASKING_CLOSING_FACTOR = 0.5  # ... and a message that asks is rarely one
ABOUT_ID = "about-bot"
UNADDRESSED_ABOUT_FACTOR = 0.5  # a message that does not address the bot is rarely about it
GOODBYE_ID = "goodbye"
GREETING_ID = "greeting"  # a message opening with one is about whatever follows it
# Each repeat of a concept ("telehealth, EHR and AI tools" are three) adds this share of it.
REPEAT_BONUS = 0.5
MIN_CUE_CORRECTION = 5  # a typo of fewer letters never becomes a cue word
CUE_SCORE = 60.0  # a redirect cue ("visa", "stipend") makes its redirect at least this sure
CUE_LEAD = 10.0  # ... and this far ahead of every covered topic
TOPIC_CUE_LEAD = 2.0  # a covered topic's cue puts it just ahead of its neighbours ...
TOPIC_CUE_MIN = 15.0  # ... when the question already leans its way: scores at least this
TOPIC_CUE_WINDOW = 15.0  # ... and at most this far below the best
# A redirect cue outside the asking part ("with 300k in loans, how do I find meaning again")
# is context when that part alone is this sure of a covered topic.
CONTEXT_ASK_MIN = 50.0
_QUESTION_WORDS = frozenset(
    "how what why which when where who whom whose should can could would".split()
)
_ASKING_WORDS = _QUESTION_WORDS | frozenset("do does is are am tell explain".split())
_CLAUSE_BREAK = re.compile(r"[.!,;:\n]+")
_USMLE_SCORE = re.compile(r"^[12]\d\d$")  # "I got a 245": a three-digit score
_SCORE_CONTEXT = frozenset("step steps ck cs usmle score scores points comlex level".split())


@dataclass(frozen=True)
class Candidate:
    """One entry the question could mean, with its score (0-100)."""

    entry_id: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one question."""

    query: str
    decision: Decision
    entry: Entry | None
    candidates: tuple[Candidate, ...]

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


_PLURALS = (("ies", "y"), ("sses", "ss"), ("es", ""), ("s", ""))
_SUFFIXES = (
    ("ization", "ize"),
    ("isation", "ize"),
    ("ational", "ate"),
    ("ation", "at"),
    ("ition", "it"),
    ("ment", ""),
    ("ship", ""),
    ("ness", ""),
    ("ity", ""),
    ("ing", ""),
    ("ied", "y"),
    ("er", ""),
    ("ed", ""),
    ("ly", ""),
    ("al", ""),
)

# Words the rules would merge with a different concept: "internal" medicine is not an
# "intern", a "professor" is not the "profession", a "committee" is not a "commitment".
_STEM_EXCEPTIONS = {
    "internal": "internal",
    "professor": "professor",
    "professors": "professor",
    "committee": "committee",
    "committees": "committee",
    "quite": "quite",  # not "quit"
    "cares": "care",  # not "cars"
    "hates": "hate",  # not "hats"
    "bother": "bother",  # not the stop word "both"
    "letting": "let",  # not "letter"
    "former": "former",  # not "form"
    "signal": "signal",  # not "sign" (off)
    "signals": "signal",
    "chose": "choos",  # "which specialty should i chose": past tense or a slip, one concept
    "chosen": "choos",
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic stemmer: plural, one suffix, then cut long words to 7.

    Good enough to make "certified", "certify" and "certification" meet; not a linguist.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word in _STEM_EXCEPTIONS:
        return _STEM_EXCEPTIONS[word]
    for suffix, replacement in _PLURALS:
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and not base.endswith(("s", "u", "i")):
            word = base + replacement
            break
    for _ in range(2):
        for suffix, replacement in _SUFFIXES:
            base = word[: -len(suffix)]
            if not word.endswith(suffix) or len(base) < (5 if suffix == "ly" else 4):
                continue
            if suffix == "er" and base.endswith("e"):  # career, volunteer
                continue
            word = base + replacement
            break
        if suffix not in ("ship", "ment", "ness"):  # leadership -> leader -> lead
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if word.endswith("y") and len(word) > 4:
        word = word[:-1] + "i"
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # running -> runn -> run
    return word[:7]


@dataclass(frozen=True)
class _Analysis:
    tokens: list[str]  # stems with jargon rewritten, stop words dropped
    sources: dict[str, str]  # stem -> the word it came from (for unknown-word weights)
    words: list[str]  # the words as corrected for redirect cues


@dataclass(frozen=True)
class _Phrasing:
    entry: int
    tokens: frozenset[str]
    weight: float  # filler words discounted, as for a question with content
    full_weight: float  # filler words at full weight, as for a filler-only question


class Matcher:
    """An index over a knowledge base; `match()` answers one question."""

    def __init__(self, kb: KnowledgeBase, config: MatchingConfig | None = None) -> None:
        self.kb = kb
        self.config = config or MatchingConfig()
        self._entries: list[Entry] = list(kb.entries)
        self._synonyms = self._build_synonyms(kb.synonyms)
        # the variant lengths to try at a word, longest first: most words start none
        sizes: dict[str, set[int]] = {}
        for key in self._synonyms:
            sizes.setdefault(key[0], set()).add(len(key))
        self._variant_sizes = {w: sorted(n, reverse=True) for w, n in sizes.items()}
        self._vocab: set[str] = set(STOP_WORDS | FILLER_WORDS | COMMON_WORDS)
        self._word_memo: dict[str, tuple[str, str]] = {}
        self._cues = CueIndex([e.cues for e in self._entries])
        self._closings: dict[str, int] = {}  # "thank you so much" -> thanks
        for i, entry in enumerate(self._entries):
            if entry.id in CLOSING_IDS:
                for text in entry.questions:
                    self._closings.setdefault(normalize(text), i)
        self._closing_entries = frozenset(self._closings.values())
        self._about_entry = next((i for i, e in enumerate(self._entries) if e.id == ABOUT_ID), -1)
        self._max_closing = max((len(k.split()) for k in self._closings), default=0)
        self._greetings = {
            normalize(text): i
            for i, entry in enumerate(self._entries)
            if entry.id == GREETING_ID
            for text in entry.questions
        }
        self._max_greeting = max((len(k.split()) for k in self._greetings), default=0)
        texts = [(i, q) for i, e in enumerate(self._entries) for q in (e.title, *e.questions)]
        word_count: dict[str, int] = defaultdict(int)
        for _, text in texts:
            for word in normalize(text).split():
                word_count[word] += 1
        for variants in kb.synonyms.values():
            for variant in variants:
                for word in normalize(variant).split():
                    word_count[word] += 1
        for canonical in kb.synonyms:
            for word in normalize(canonical).split():
                word_count[word] += 1
        self._vocab |= set(word_count)
        self._knowledge_words = frozenset(w for w in word_count if len(w) >= 3 and w.isalpha())
        for word in self._vocab:
            word_count.setdefault(word, 0)  # known everyday words: valid, least preferred
        # Most frequent first, so an equally close correction picks the likelier word.
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in sorted(word_count, key=lambda w: (-word_count[w], w)):
            if len(word) >= MIN_CORRECTION_TARGET and word.isalpha():
                by_length[len(word)].append(word)
        self._by_length = dict(by_length)
        self._exact: dict[str, int] = {}
        analysed: list[tuple[int, list[str]]] = []
        self._exact_keys: list[str] = []
        for entry_index, text in texts:
            exact_key = normalize(text)
            if exact_key not in self._exact:
                self._exact[exact_key] = entry_index
                self._exact_keys.append(exact_key)
            analysed.append((entry_index, self._analyse(text, correct=False)))
        self._entry_tokens: list[set[str]] = [set() for _ in self._entries]
        for entry_index, tokens in analysed:
            self._entry_tokens[entry_index].update(tokens)
        df: dict[str, int] = defaultdict(int)
        for vocabulary in self._entry_tokens:
            for token in vocabulary:
                df[token] += 1
        n = max(len(self._entries), 1)
        self._idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}
        self._unknown_weight = UNKNOWN_WORD_FACTOR * math.log((n + 1) / 0.5)
        self._phrasings: list[_Phrasing] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        # How central a word is to an entry: a word in one phrasing is weaker evidence than
        # one in many ("are you an AI" does not make the bot's about page a tech topic).
        self._entry_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        token_phrasings: dict[tuple[str, int], int] = defaultdict(int)
        seen: set[tuple[int, frozenset[str]]] = set()
        for entry_index, tokens in analysed:
            content = frozenset(tokens)
            if not content:
                continue
            for token in content:
                token_phrasings[token, entry_index] += 1
            if (entry_index, content) in seen:
                continue  # the same words under the same entry score the same: score it once
            seen.add((entry_index, content))
            pid = len(self._phrasings)
            weight = sum(self._weight(t, has_content=True) for t in sorted(content))
            full = sum(self._weight(t, has_content=False) for t in sorted(content))
            self._phrasings.append(_Phrasing(entry_index, content, weight, full))
            for token in content:
                self._postings[token].append(pid)
        # the same, as flat lists: the scoring loop reads them for every shared phrasing
        self._phrasing_entry = [p.entry for p in self._phrasings]
        self._phrasing_weight = [p.weight for p in self._phrasings]
        self._phrasing_full_weight = [p.full_weight for p in self._phrasings]
        self._filler_only = frozenset(
            pid for pid, p in enumerate(self._phrasings) if p.tokens <= _FILLER_STEMS
        )
        for (token, entry_index), count in token_phrasings.items():
            centrality = 0.5 + 0.5 * min(count / CENTRAL_PHRASINGS, 1.0)
            self._entry_postings[token].append((entry_index, centrality))

    # ----------------------------------------------------------------- analysis

    @staticmethod
    def _build_synonyms(
        table: dict[str, tuple[str, ...]],
    ) -> dict[tuple[str, ...], tuple[str, ...]]:
        rewrites: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in table.items():
            target = tuple(stem(w) for w in normalize(canonical).split())
            for variant in variants:
                key = tuple(stem(w) for w in normalize(variant).split())
                if len(key) == 1 and key[0] in _STOP_STEMS:
                    continue  # "evenings" stems to "even": never rewrite a stop word
                if key and key != target:
                    rewrites[key] = target
        return rewrites

    def _correct(self, word: str) -> str:
        """The known word `word` was probably meant to be, or `word` itself."""
        if (
            self._is_known(word)  # a real word: "hanging" is not a typo of "changing"
            or word in self._cues.words
            or len(word) < 3
            or not word.isalpha()
            or self._plural_of_known(word)
        ):
            return word
        if len(word) == 3:  # "wat", "hw": only ever a chat word, never a topic
            found = process.extractOne(word, _SHORT_CHAT_WORDS, scorer=OSA.distance, score_cutoff=1)
            return found[0] if found is not None else word
        return self._correct_cached(word)

    def _corrected(self, word: str) -> tuple[str, str]:
        """The word as corrected, and its stem: memoised, as every message repeats most
        of its words from earlier ones."""
        found = self._word_memo.get(word)
        if found is None:
            if len(self._word_memo) >= WORD_MEMO_SIZE:  # a bot sees ever more distinct words
                self._word_memo.clear()
            corrected = self._correct(word)
            found = self._word_memo[word] = (corrected, stem(corrected))
        return found

    def _is_known(self, word: str) -> bool:
        """A knowledge word or everyday English: not a drug name, say."""
        return word in self._vocab or lexicon.is_real_word(word)

    def _plural_of_known(self, word: str) -> bool:
        """ "lors" is the plural of a known "lor", not a typo of "lots"."""
        return word.endswith("s") and (word[:-1] in self._vocab or word[:-2] in self._vocab)

    @lru_cache(maxsize=16384)  # noqa: B019 - one matcher per knowledge version, bounded cache
    def _correct_cached(self, word: str) -> str:
        for i in range(1, len(word)):  # "thiis", "fulll": a doubled key is the likeliest slip
            if word[i] == word[i - 1] and word[:i] + word[i + 1 :] in self._vocab:
                return word[:i] + word[i + 1 :]
        limit = 1 if len(word) < 8 else 2
        best: tuple[int, bool, bool, int, str] | None = None
        letters = sorted(word)
        skeleton = _consonants(word)
        for length in range(len(word) - limit, len(word) + limit + 1):
            choices = self._by_length.get(length)
            if not choices:
                continue
            found = process.extract(
                word, choices, scorer=OSA.distance, score_cutoff=limit, limit=None
            )
            for candidate, distance, rank in found:
                # equally close: swapped letters ("kidn" -> "kind", not "kids") first, then
                # a slip in a vowel ("servive" -> "survive", not "service"), then the word
                # the knowledge uses most
                key = (
                    int(distance),
                    sorted(candidate) != letters,
                    _consonants(candidate) != skeleton,
                    int(rank),
                    candidate,
                )
                if best is None or key < best:
                    best = key
        return best[-1] if best is not None else word

    def _analyse(self, text: str, *, correct: bool) -> list[str]:
        """Text -> stems with jargon rewritten; stop words dropped."""
        return self._analyse_full(normalize(text), correct=correct).tokens

    def _analyse_full(self, key: str, *, correct: bool) -> _Analysis:
        """`key` is the normalised text: a long message is not normalised twice."""
        typed = _mark_dismissed(_mark_speakers(_mark_scores(_mend_real_word_slips(key.split()))))
        if correct:
            typed = self._join_split_words(typed)
            pairs = [self._corrected(w) for w in typed]
            words = [word for word, _ in pairs]
            stems = [stemmed for _, stemmed in pairs]
        else:
            words = typed
            stems = [stem(w) for w in words]
        rewritten = self._rewrite(stems)
        # A short word is too easily "corrected" into a cue: "rota" is not "roth" (an IRA).
        cue_words = [
            c if len(t) >= MIN_CUE_CORRECTION else t for t, c in zip(typed, words, strict=True)
        ]
        return _Analysis(
            tokens=[t for t in rewritten if t not in _STOP_STEMS],
            sources=dict(zip(stems, words, strict=True)),
            words=cue_words,
        )

    def _join_split_words(self, words: list[str]) -> list[str]:
        """Join words that dictation or a stray space split: "e h r" -> "ehr", "fellow ship"
        -> "fellowship". Only into a word the knowledge itself uses."""
        out: list[str] = []
        known = self._knowledge_words
        i = 0
        while i < len(words):
            word = words[i]
            if len(word) == 1 and word.isalpha():  # only a letter starts a spelled-out word
                end = i
                while end < len(words) and len(words[end]) == 1 and words[end].isalpha():
                    end += 1
                # spelled out: "u s m l e"; "m o c a ..." is "moc a ..."
                size = next(
                    (n for n in range(end - i, 1, -1) if "".join(words[i : i + n]) in known),
                    0,
                )
                if size:
                    out.append("".join(words[i : i + size]))
                    i += size
                    continue
            if (
                i + 1 < len(words)
                and word + words[i + 1] in known
                and word not in _CHAT_WORDS  # "day to day" is not "today"
                and words[i + 1] not in _CHAT_WORDS
            ):
                out.append(word + words[i + 1])
                i += 2
                continue
            out.append(word)
            i += 1
        return out

    def _rewrite(self, stems: Sequence[str]) -> list[str]:
        """Replace the longest synonym variants by their canonical terms, twice, so "kind of
        doc" becomes "kind of doctor" and then "specialty". The second pass rewrites a first
        pass's output only whole: "kids" -> "work life balance" must not then lose its
        "work life" to another variant."""
        once, groups = self._rewrite_pass(stems, [-1] * len(stems))
        if all(g < 0 for g in groups):  # nothing rewritten: a second pass finds nothing either
            return once
        return self._rewrite_pass(once, groups)[0]

    def _rewrite_pass(
        self, stems: Sequence[str], groups: Sequence[int]
    ) -> tuple[list[str], list[int]]:
        """One left-to-right pass; `groups` numbers the tokens each earlier rewrite produced
        (-1: an original word). Returns the new tokens and their groups."""
        out: list[str] = []
        out_groups: list[int] = []
        i = 0
        while i < len(stems):
            for size in self._variant_sizes.get(stems[i], ()):
                if i + size > len(stems):
                    continue
                target = self._synonyms.get(tuple(stems[i : i + size]))
                if target is not None and self._whole_groups(groups, i, i + size):
                    out.extend(target)
                    out_groups.extend([i] * len(target))
                    i += size
                    break
            else:
                out.append(stems[i])
                out_groups.append(-1)
                i += 1
        return out, out_groups

    @staticmethod
    def _whole_groups(groups: Sequence[int], start: int, end: int) -> bool:
        """Does the window [start, end) hold every token of each rewrite it touches?"""
        inside = {g for g in groups[start:end] if g >= 0}
        return all(
            (start == 0 or groups[start - 1] != g) and (end == len(groups) or groups[end] != g)
            for g in inside
        )

    def _weight(self, token: str, *, has_content: bool, source: str | None = None) -> float:
        base = self._idf.get(token)
        if base is None:  # never seen: a rare term is evidence of another topic, "nephew" is not
            rarity = lexicon.rarity(source or token)
            base = self._unknown_weight * (
                UNKNOWN_EVERYDAY_SHARE + (1 - UNKNOWN_EVERYDAY_SHARE) * rarity
            )
        elif token.isdigit():  # "conrad 30": a number the knowledge uses is not its topic
            base = min(base, NUMBER_WEIGHT)
        if token in _COMMON_STEMS:
            base *= COMMON_WEIGHT
        if token in _FILLER_STEMS and has_content:
            return base * FILLER_WEIGHT
        return base

    # ----------------------------------------------------------------- matching

    def match(self, text: str) -> Match:
        """Decide what to do with one question."""
        query = text.strip()
        ranked = self.rank(query)[:3]
        candidates = tuple(Candidate(entry.id, round(s, 1)) for entry, s in ranked)
        match = self._decide(query, candidates)
        log.debug(
            "match %r -> %s %s %s",
            query[:80],
            match.decision,
            match.entry.id if match.entry else None,
            [(c.entry_id, c.score) for c in candidates],
        )
        return match

    def rank(self, query: str) -> list[tuple[Entry, float]]:
        """Every entry that shares anything with the question, best first (ties by file order)."""
        scores = self.score(query)
        ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(self._entries[i], score) for i, score in ordered]

    def score(self, query: str) -> dict[int, float]:
        """Scores (0-100) of the entries that share anything with the question."""
        key = normalize(query)
        if not key:
            return {}
        exact = self._exact.get(key)
        if exact is not None:
            return {exact: 100.0}
        rest = self._after_greeting(key)
        if rest is not None and ("?" in query or rest.split()[0] in _ASKING_WORDS):
            # "hi, what can you do": the question after the greeting is what to answer
            scores = self.score(rest)
            best = max(scores, key=lambda e: scores[e], default=None)
            if (
                best is not None
                and self._entries[best].id != GREETING_ID
                and (scores[best] >= WHOLE_STRING_CUTOFF or self._analyse(rest, correct=True))
            ):
                return scores
        analysis = self._analyse_full(key, correct=True)
        tokens = set(analysis.tokens)
        if not tokens:
            return self._score_whole_string(key, cutoff=85)
        counts = Counter(analysis.tokens)
        repeats = {t: 1.0 + REPEAT_BONUS * (n - 1) for t, n in counts.items()}
        scores = self._score_tokens(tokens, analysis.sources, repeats)
        if len(key.split()) <= SHORT_QUESTION_WORDS:  # "thanis", "bey": too short to correct
            for entry, score in self._score_whole_string(key, cutoff=WHOLE_STRING_CUTOFF).items():
                scores[entry] = max(scores.get(entry, 0.0), score)
        closing = self._closing(query, key)
        if self._about_entry in scores:
            if not _addresses_bot(key.split()):
                # "epic or cerner for my clinic" shares technology words with "are you an
                # ai", but the about page answers a message addressed to the bot
                scores[self._about_entry] *= UNADDRESSED_ABOUT_FACTOR
            elif _asks_what_bot_is(key.split()) and scores[self._about_entry] >= max(
                scores.values()
            ):
                # "is this chatgpt": a tie with the technology topic is about the bot
                _put_first(scores, self._about_entry, floor=0.0, lead=TOPIC_CUE_LEAD)
        if closing is None and self._asks(query):
            # "how to take care of myself in training" shares "take care" with a goodbye,
            # but a question is rarely a thanks or a goodbye
            for entry in self._closing_entries:
                if entry in scores:
                    scores[entry] *= ASKING_CLOSING_FACTOR
        if closing is not None:
            # "thanks so much, that helped me calm down after my shift": not a shift question
            _put_first(scores, closing, floor=self.config.answer_threshold)
        hits = self._cues.hits(analysis.words, known=self._is_known)
        context_only: bool | None = None  # are the redirect cues only context? (lazily)
        asked: set[int] = set()  # the covered topics the last clause asks, by their cues
        ask = _asking_part(query) if hits else None  # both checks below read it
        if any(not self._entries[e].is_fallback for e in hits):
            asked = self._tail_topics(query, ask)
        # A covered topic's cue ("switch ... into admin") first, so a redirect's cue still wins.
        # Each lift puts its entry on top, so the strongest claim goes last: a topic the last
        # clause asks, then the higher score (sorted, as a set's order is not the same in
        # every process).
        lift_order = sorted(
            hits,
            key=lambda e: (self._entries[e].is_fallback, e in asked, scores.get(e, 0.0), -e),
        )
        for entry in lift_order:
            if self._entries[entry].is_fallback:
                if closing is not None and self._entries[closing].id == GOODBYE_ID:
                    continue  # "ok bye, will come back after match day": leaving, not asking
                if context_only is None:
                    context_only = bool(asked) or self._cues_are_context(ask, scores)
                if context_only:
                    continue
                # "CME credits in Texas": the guide has CME, but not what one state requires
                _put_first(scores, entry, floor=CUE_SCORE)
            elif (
                closing is None  # "thanks, residency is brutal but this helped" stays thanks
                and scores.get(entry, 0.0) >= self._topic_cue_bar(scores, asked=entry in asked)
                and not self._faq_twin_leads(scores, entry)
            ):
                # "... swallowing your whole life": few words the entry knows, but its cue
                # says the topic, so enough to answer
                _put_first(scores, entry, floor=self.config.answer_threshold, lead=TOPIC_CUE_LEAD)
        return scores

    @staticmethod
    def _topic_cue_bar(scores: dict[int, float], *, asked: bool) -> float:
        """How high a covered topic must already score for its cue to lift it: near the
        best, or twice as far below it when the last clause itself asks the topic ("my hours
        are fine, I see my kids ... the work feels hollow, how do I find meaning again")."""
        window = TOPIC_CUE_WINDOW * (2 if asked else 1)
        return max(TOPIC_CUE_MIN, max(scores.values(), default=0.0) - window)

    def _tail_topics(self, query: str, ask: str | None) -> set[int]:
        """ "been doing uworld for step 3, but mostly what mindset helps me learn fast as a
        new intern": the covered topics whose cues the last clause carries, when it carries
        no redirect's. Such a topic's cue may lift it from further behind, and the redirect
        cues before it are only the user's background."""
        tail = _tail(query, ask)
        if tail is None:
            return set()
        words = self._analyse_full(normalize(tail), correct=True).words
        found = self._cues.hits(words, known=self._is_known)
        if any(self._entries[e].is_fallback for e in found):
            return set()
        return found

    def _cues_are_context(self, ask: str | None, scores: dict[int, float]) -> bool:
        """Are the message's redirect cues only its context? So when its asking part `ask`
        ("... , how do I find meaning again") has none and alone is clearly about the
        covered topic the whole message leans to most."""
        if ask is None:
            return False
        # a redirect cue in the asking part itself puts its redirect first here
        own = self.score(ask)
        best = max(own, key=lambda e: (own[e], -e), default=None)
        if best is None or own[best] < CONTEXT_ASK_MIN or self._entries[best].kind in _NOT_TOPICS:
            return False
        covered = [e for e in scores if self._entries[e].kind not in _NOT_TOPICS]
        top = max(covered, key=lambda e: (scores[e], -e), default=None)
        return top is not None and (
            top == best or self._related(self._entries[top].id, self._entries[best].id)
        )

    def _faq_twin_leads(self, scores: dict[int, float], entry: int) -> bool:
        """Is the best entry the FAQ twin of `entry`, or `entry` the FAQ twin of the best?
        Either answer is right then."""
        best = max(scores, key=lambda e: (scores[e], -e))
        return best != entry and _twins(self._entries[best], self._entries[entry])

    def _closing(self, query: str, key: str) -> int | None:
        """The thanks or goodbye entry, when the message opens (or ends) with one and
        asks nothing."""
        words = key.split()
        found = self._opening_closing(words) or self._ending_closing(query, words)
        if found is None:
            return None
        entry, end = found
        # "thanks! how do I ..." and "thanks! so what ..." ask; "... what he is going
        # through" does not
        clauses = [*_CLAUSE_BREAK.split(query), " ".join(words[end:])]  # "thank you how do i"
        if "?" in query or any(_opens_question(clause) for clause in clauses):
            return None
        return entry

    @staticmethod
    def _asks(query: str) -> bool:
        """Does the message ask something: a question mark, or a clause opening with a
        question word?"""
        return "?" in query or any(_opens_question(part) for part in _CLAUSE_BREAK.split(query))

    def _ending_closing(self, query: str, words: list[str]) -> tuple[int, int] | None:
        """The closing entry that is the message's last sentence ("ok im going to try to
        sleep now. bye"), and the message's length in words."""
        sizes = range(1, min(len(words) - 1, self._max_closing) + 1)
        if not any(" ".join(words[-size:]) in self._closings for size in sizes):
            return None  # most messages: no need to split them into sentences
        clauses = [p for p in _CLAUSE_BREAK.split(query) if p.strip()]
        last = self._closings.get(normalize(clauses[-1])) if len(clauses) > 1 else None
        return (last, len(words)) if last is not None else None

    def _after_greeting(self, key: str) -> str | None:
        """What follows an opening greeting ("hey there, what can you do" -> "what can you
        do"); None when the message does not open with one or is only one."""
        words = key.split()
        for size in range(min(len(words) - 1, self._max_greeting), 0, -1):
            if " ".join(words[:size]) in self._greetings:
                return " ".join(words[size:])
        return None

    def _opening_closing(self, words: list[str]) -> tuple[int, int] | None:
        """The closing entry the message opens with (after lead-ins such as "okay"), and
        the index of the first word after it."""
        for start in range(len(words)):
            for size in range(min(len(words) - start, self._max_closing), 0, -1):
                entry = self._closings.get(" ".join(words[start : start + size]))
                if entry is not None:
                    return entry, start + size
            if words[start] not in _LEAD_INS:  # "okay bye, off to the ward" is still a bye
                return None
        return None

    def _score_tokens(
        self, tokens: set[str], sources: dict[str, str], repeats: dict[str, float] | None = None
    ) -> dict[int, float]:
        """Weighted overlap of the question's words with each entry's phrasings."""
        # A garbled word ("tjat") is not content: "thanks tjat helped" is still small talk.
        has_content = any(t not in _FILLER_STEMS and t in self._idf for t in tokens)
        repeats = repeats or {}
        # sorted: float sums must not depend on set order (hash randomisation)
        base = {
            t: self._weight(t, has_content=has_content, source=sources.get(t))
            for t in sorted(tokens)
        }
        # A repeated concept weighs more in the question, but a phrasing is covered once.
        weights = {t: w * repeats.get(t, 1.0) for t, w in base.items()}
        total = sum(weights.values())
        if total <= 0:
            return {}
        # overlap_once: each shared word once; overlap adds what repeats weigh on top
        overlap_once: dict[int, float] = {}
        postings = self._postings
        get = overlap_once.get
        for token, once in base.items():
            for pid in postings.get(token, ()):
                overlap_once[pid] = get(pid, 0.0) + once
        overlap = overlap_once
        extra = {t: weights[t] - w for t, w in base.items() if weights[t] != w}
        if extra:
            overlap = dict(overlap_once)
            for token, more in extra.items():
                for pid in postings.get(token, ()):
                    overlap[pid] += more
        sizes = self._phrasing_weight if has_content else self._phrasing_full_weight
        if not has_content:  # "please" alone may only meet small talk like "help", "thanks"
            overlap_once = {p: o for p, o in overlap_once.items() if p in self._filler_only}
        best_phrasing = self._best_phrasings(overlap_once, overlap, sizes, total)
        coverage: dict[int, float] = defaultdict(float)
        for token, weight in weights.items():
            for entry_index, centrality in self._entry_postings.get(token, ()):
                coverage[entry_index] += weight * centrality
        share = PHRASING_SHARE if has_content else 1.0
        scores = {
            e: 100.0 * (share * best_phrasing[e] + (1 - share) * coverage[e] / total)
            for e in best_phrasing
        }
        if has_content and not any(t in self._idf and t not in _EVERYDAY_STEMS for t in tokens):
            # "how do I change a tire": sharing only everyday words is no evidence of a topic
            # (small talk is everyday words by nature: "good night" keeps its score)
            scores = {
                e: s if self._entries[e].kind == "smalltalk" else s * EVERYDAY_ONLY_FACTOR
                for e, s in scores.items()
            }
        return scores

    def _best_phrasings(
        self,
        overlap_once: dict[int, float],
        overlap: dict[int, float],
        sizes: list[float],
        total: float,
    ) -> dict[int, float]:
        """Each met entry's best phrasing similarity: the F1 of covering the phrasing (o/s,
        each shared word once) and covering the question (o'/T, repeats included).

        In closed form F1 = 2 o o' / (o T + o' s), which is 2 o / (s + T) when nothing
        repeats (o' = o): one division per phrasing, as this runs for every phrasing that
        shares a word with the question. Neither share exceeds 1, as shared words are a
        subset of both the question's and the phrasing's."""
        best: dict[int, float] = {}
        found = best.get
        entry_of = self._phrasing_entry
        if overlap is overlap_once:
            for pid, once in overlap_once.items():
                value = once / (sizes[pid] + total)
                entry = entry_of[pid]
                if value > found(entry, -1.0):
                    best[entry] = value
            return {entry: 2.0 * value for entry, value in best.items()}
        for pid, once in overlap_once.items():
            more = overlap[pid]
            value = 2.0 * once * more / (once * total + more * sizes[pid])
            entry = entry_of[pid]
            if value > found(entry, -1.0):
                best[entry] = value
        return best

    def _score_whole_string(self, key: str, *, cutoff: float) -> dict[int, float]:
        """Compare the whole question with every phrasing: for "who are you" (all stop
        words) and for short questions whose one typo word correction could not mend."""
        found = process.extractOne(key, self._exact_keys, scorer=fuzz.ratio, score_cutoff=cutoff)
        if found is None:
            return {}
        return {self._exact[found[0]]: float(found[1])}

    def _decide(self, query: str, candidates: tuple[Candidate, ...]) -> Match:
        cfg = self.config
        if not candidates or candidates[0].score < cfg.clarify_threshold:
            return Match(query, "fallback", None, candidates)
        best = self.kb.by_id[candidates[0].entry_id]
        if best.is_fallback:
            return Match(query, "fallback", best, candidates)
        runner_up = candidates[1] if len(candidates) > 1 else None
        lead = candidates[0].score - (runner_up.score if runner_up else 0.0)
        related = runner_up is not None and self._related(best.id, runner_up.entry_id)
        if candidates[0].score >= cfg.answer_threshold and (lead >= cfg.margin or related):
            return Match(query, "answer", best, candidates)
        return Match(query, "clarify", best, candidates)

    def _related(self, a: str, b: str) -> bool:
        """Linked entries: answering either is right, and the other shows as a follow-up."""
        first, second = self.kb.by_id[a], self.kb.by_id[b]
        if first.kind == second.kind == "smalltalk":
            return True
        return b in first.follow_ups or a in second.follow_ups

    def clarify_options(self, match: Match) -> list[Entry]:
        """The entries to offer in a "did you mean": close to the best, never a redirect."""
        if not match.candidates:
            return []
        floor = max(self.config.clarify_threshold, match.score - 2 * self.config.margin - 10)
        out = []
        for candidate in match.candidates:
            entry = self.kb.by_id[candidate.entry_id]
            if candidate.score >= floor and not entry.is_fallback:
                out.append(entry)
        return out


# words that address the bot: "are you ...", "this bot", "am I talking to a human"
_ADDRESS_WORDS = frozenset(
    """you your yours yourself u ur bot bots chat chatbot here talking speaking
    chatting corresponding texting human""".split()
)
# "this" addresses the bot only as "is this ...", "this bot", "this thing": not "all this tech"
_ADDRESSING_THIS = frozenset("bot chat thing service app".split())
# openings that ask what the bot itself is: "are you ...", "is this ..."
_WHAT_BOT_IS = (("are", "you"), ("are", "u"), ("r", "u"), ("is", "this"))


def _twins(a: Entry, b: Entry) -> bool:
    """An FAQ and the milestone on the same topic: the milestone the FAQ links first, when
    it links back. (Other links are neighbours: the CME FAQ links board certification.)"""
    faq, milestone = (a, b) if a.kind == "faq" else (b, a)
    return (
        faq.kind == "faq"
        and milestone.kind == "milestone"
        and faq.follow_ups[:1] == (milestone.id,)
        and faq.id in milestone.follow_ups
    )


def _addresses_bot(words: list[str]) -> bool:
    if not _ADDRESS_WORDS.isdisjoint(words):
        return True
    return any(
        word == "this"
        and (
            (i > 0 and words[i - 1] == "is")
            or (i + 1 < len(words) and words[i + 1] in _ADDRESSING_THIS)
        )
        for i, word in enumerate(words)
    )


def _asks_what_bot_is(words: list[str]) -> bool:
    return tuple(words[:2]) in _WHAT_BOT_IS


_NOT_TOPICS = frozenset({"smalltalk", "redirect"})
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_CLAUSE = re.compile(r"[,;:]+|\s(?=(?:but|so|anyway|anyways)\s)")
# "..., but how do I ...", "... but more importantly how do I ..."
_ASK_OPENERS = frozenset("but so anyway anyways more importantly mainly really actually".split())
_WH_WORDS = frozenset("how what which why where whats hows".split())
# "how do I plan for retirement | when I'm still paying off loans": the rest is context
_SUBORDINATE = re.compile(r"\b(?:when|while|because|since|bc|cause|cuz|coz|although|though|with)\b")
# "is it enforceable ...", "any free ones?": an ask about what the context names
_ANAPHORIC = re.compile(
    r"(?:(?:what|how|when|where|which|why)\s+)?"  # "what do they usually ask"
    r"(?:is|are|does|do|will|would|can|could|was|should)\s+(?:it|that|this|they|those|these)\b"
    r"|any\s+(?:free\s+)?ones?\b"
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _opens_question(text: str, openers: frozenset[str] = _QUESTION_WORDS) -> bool:
    for found in _WORD.finditer(text.lower()):
        word = found.group().replace("'", "").replace("’", "")
        if word not in _ASK_OPENERS:
            return word in openers
    return False


def _asking_part(query: str) -> str | None:
    """The part of a longer message that asks, without its context: the last clause that
    opens with a wh-word ("..., how do I ..."), else the last question sentence, cut
    before a "when"/"because" clause. None when the whole message is the ask, or the
    ask only points back at its context ("is it enforceable?")."""
    sentences = [s.strip() for s in _SENTENCE.findall(query) if s.strip()]
    ask = None
    for sentence in reversed(sentences):
        clauses = _CLAUSE.split(sentence)
        opening = [i for i, clause in enumerate(clauses) if _opens_question(clause, _WH_WORDS)]
        if opening:
            ask = " ".join(clauses[opening[-1] :])
            break
    if ask is None:
        asking = [s for s in sentences if s.endswith("?") or _opens_question(s)]
        if not asking:
            return None
        ask = asking[-1]
    ask = ask.lower().strip(" ,;:")
    if _ANAPHORIC.match(ask):
        return None
    head = _SUBORDINATE.split(ask, maxsplit=1)[0]
    if _opens_question(head):
        ask = head
    return ask if _NOT_ALNUM.sub("", ask) != _NOT_ALNUM.sub("", query.lower()) else None


def _tail(query: str, ask: str | None) -> str | None:
    """The asking part `ask` (see _asking_part), else the last clause of a message of
    several ("..., but mostly I want to know ..."); None for a one-clause message."""
    if ask is not None:
        return ask
    sentences = [s.strip() for s in _SENTENCE.findall(query) if s.strip()]
    if not sentences:
        return None
    clauses = [c for c in _CLAUSE.split(sentences[-1]) if c.strip()]
    if len(sentences) == 1 and len(clauses) == 1:
        return None
    tail = clauses[-1].lower().strip() if clauses else ""
    # "is it enforceable if ...": it asks about the context itself
    return tail if tail and not _ANAPHORIC.match(tail) else None


def _put_first(
    scores: dict[int, float], entry: int, *, floor: float, lead: float = CUE_LEAD
) -> None:
    """Lift `entry` `lead` above every other entry (and to at least `floor`), capped at 100."""
    best_other = max((s for e, s in scores.items() if e != entry), default=0.0)
    lifted = max(scores.get(entry, 0.0), best_other + lead, floor)
    scores[entry] = min(lifted, 100.0)
    if lifted > 100.0:  # at the cap, the others make room: a tie at 100 is not a lead
        for other, score in scores.items():
            if other != entry:
                scores[other] = min(score, 100.0 - lead)


def _mark_scores(words: list[str]) -> list[str]:
    """ "I got a 245 on step 2" -> "... a score on step 2"; "100 miles" and "200 patients"
    are counts, not scores."""
    if not any(len(word) == 3 and _USMLE_SCORE.match(word) for word in words):
        return words  # most messages: no three-digit number at all
    out = list(words)
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        counted = after.isalpha() and after not in STOP_WORDS and after not in _SCORE_CONTEXT
        # "step 2 ck 235 enough?", "step 1 250 good?": right after the exam it is a score
        before = [w for w in words[max(i - 2, 0) : i] if not w.isdigit() or len(w) > 1]
        after_exam = bool(before) and before[-1] in _SCORE_CONTEXT
        if _USMLE_SCORE.match(word) and (after_exam or not counted):
            out[i] = "score"
    return out


def _consonants(word: str) -> str:
    """A word's consonants, a doubled one once: people misspell vowels and double letters
    ("realy") far more often than other consonants."""
    bare = word.translate(_NO_VOWELS)
    return "".join(c for i, c in enumerate(bare) if i == 0 or bare[i - 1] != c)


_NO_VOWELS = str.maketrans("", "", "aeiouy")


def _mend_real_word_slips(words: list[str]) -> list[str]:
    """ "how dose the match work": a typo that is itself a word (and a clinical cue), so
    correction cannot see it; right after "how", "why", "where" or "when" it is "does"."""
    return [
        "does"
        if word == "dose" and i > 0 and words[i - 1] in ("how", "why", "where", "when")
        else word
        for i, word in enumerate(words)
    ]


def _mark_speakers(words: list[str]) -> list[str]:
    """ "my wife says I should ..." -> "my someone says ...": a relative who only speaks is
    context, not a question about family time (work-life balance)."""
    out = list(words)
    for i, word in enumerate(words[:-1]):
        if word not in _RELATIVES:
            continue
        verb = words[i + 1] if words[i + 1] != "keeps" else "".join(words[i + 2 : i + 3])
        following = [w for w in words[i + 1 : i + 5] if w not in _LINKING][:2]
        # "my husband pgy3 ...", "my son is consultant now": asking for someone in medicine
        if verb in _SPEECH_VERBS or any(_is_career_role(w) for w in following):
            out[i] = "someone"
    return out


def _is_career_role(word: str) -> bool:
    return word in _CAREER_ROLES or bool(_TRAINING_YEAR.fullmatch(word))


_LINKING = frozenset("is was just now also a an already currently still".split())
_TRAINING_YEAR = re.compile(r"(?:pgy|ms|py)\d?|m[1-4]")
_CAREER_ROLES = frozenset(
    """intern resident fellow attending doctor doc physician surgeon consultant student
    img md registrar cardiologist finishing finished matched passed graduating graduated
    applying thinking considering planning practicing""".split()
)


_RELATIVES = frozenset(
    "wife husband family parents mom mum mother dad father son daughter kids partner spouse"
    " fiance fiancee girlfriend boyfriend".split()
)
_SPEECH_VERBS = frozenset(
    "says said say asks asked ask asking saying telling wants want thinks think told tells"
    " pushes pushing insists insisting assumes assume assuming expects expect expecting".split()
)


def _mark_dismissed(words: list[str]) -> list[str]:
    """ "loans aside, ...", "besides the money, ...": what the user sets aside is not the
    question ("money aside, is a fellowship worth it" is not a salary question). Saving
    money ("putting money aside") is not setting it aside."""
    out = list(words)
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        if word == "aside" and after != "from":  # "aside from X" sets aside what follows
            before = words[max(i - 3, 0) : i]
            if _SAVING_VERBS.isdisjoint(before):
                for j in range(max(i - 2, 0), i):
                    if words[j] not in _QUESTION_WORDS:
                        out[j] = "something"
        elif word == "besides" or (word == "from" and i > 0 and words[i - 1] == "aside"):
            j = i + 1
            while j < len(words) and words[j] in _DETERMINERS:
                j += 1
            for k in range(j, min(j + 2, len(words))):
                if words[k] not in _QUESTION_WORDS:
                    out[k] = "something"
    return out


_SAVING_VERBS = frozenset("put puts putting set sets setting kept keep keeping".split())
_DETERMINERS = frozenset("the a an my our your his her their all any this that".split())


def _stems(words: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


_STOP_STEMS = _stems(STOP_WORDS) - _stems(FILLER_WORDS)
_COMMON_STEMS = _stems(COMMON_WORDS)
_CHAT_WORDS = STOP_WORDS | FILLER_WORDS
_LEAD_INS = frozenset("ok okay alright right well so oh ah cool great nice awesome perfect".split())
_SHORT_CHAT_WORDS = sorted(w for w in _CHAT_WORDS if 3 <= len(w) <= 4)
_FILLER_STEMS = _stems(FILLER_WORDS)
_EVERYDAY_STEMS = _COMMON_STEMS | _FILLER_STEMS
