"""Career stages: where a user is on the career map, and how to hear it in what they write.

A stage maps to the milestone the user is at. The conversation marks that milestone
"📍 you are here" on the career map and leads menus and follow-ups with the milestone after it.

Detection is deliberately narrow: only first-person statements ("I'm a PGY-2", "I'm an IMG who
just passed Step 2", "I've been an attending for years", "I'm retiring soon") count. Questions
about a stage ("how do I become an attending?"), other people ("my friend passed Step 2"),
negations ("I'm not a resident") and hypotheticals ("when I'm a fellow, ...") do not. It runs on
`bot.matching.normalize`d text, so "I'm" arrives as "im" and "PGY-2" as "pgy2".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.matching import normalize


@dataclass(frozen=True)
class Stage:
    """One career stage: its id (used in `st:<id>` buttons), wording, and milestone."""

    id: str
    label: str  # for buttons: "Resident"
    you_are: str  # completes "Got it, you're …": "a resident"
    milestone: str  # the milestone id where this stage is on the map


STAGES: tuple[Stage, ...] = (
    Stage("student", "Student / preparing", "a student preparing for the USMLE", "usmle-landscape"),
    Stage("applying", "Passed USMLE, applying", "applying after the USMLE", "choosing-specialty"),
    Stage("resident", "Resident", "a resident", "residency"),
    Stage("fellow", "Fellow", "a fellow", "fellowship"),
    Stage("new-attending", "New attending", "a new attending", "board-certification"),
    Stage("attending", "Attending", "an attending", "leadership-teaching"),
    Stage("late-career", "Late career", "in your late career", "retirement"),
)
BY_ID: dict[str, Stage] = {s.id: s for s in STAGES}


def get_stage(stage_id: str | None) -> Stage | None:
    """The stage with this id, if any (unknown ids from an old database read as None)."""
    return BY_ID.get(stage_id) if stage_id else None


@dataclass(frozen=True)
class StageMention:
    """A stage heard in a message, with the span of the normalised text that said it."""

    stage: Stage
    start: int
    end: int
    normalized: str

    @property
    def rest(self) -> str:
        """The normalised message without the statement."""
        return " ".join((self.normalized[: self.start] + " " + self.normalized[self.end :]).split())


# "I am", "I'm", "I work as", "I've been" ... (normalised: "im", "i m", "ive been").
_I = r"(?:i am|im|i m|i work as|i ve been|ive been|i have been)"
_ADV = r"(?:(?:now|currently|already|still|just|finally|recently|officially|actually|a|an)\s+)*"
_ORD = r"(?:(?:first|second|third|fourth|fifth|sixth|seventh|final|last|\d(?:st|nd|rd|th)?) year )"
_W = r"(?:[a-z0-9]+ )"  # one free word, e.g. a specialty: "a cardiology fellow"
_STEP2 = r"(?:step ?2(?: ck| cs)?|step ?3|(?:the |my )?usmle|all (?:the |my |three )?steps)"

_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "late-career",
        rf"\b{_I} {_ADV}(?:retiring|about to retire|going to retire|planning to retire|"
        r"(?:close to|near|nearing|approaching|thinking about|considering) retirement|"
        r"retired|semi retired|in (?:my )?late career|late in my career|"
        r"at the end of my career)\b",
    ),
    (
        "late-career",
        r"\bi (?:ll|will|plan to|am going to|m going to) retire "
        r"(?:soon|next year|this year|in a (?:few|couple) (?:of )?years)\b",
    ),
    (
        "new-attending",
        rf"\b{_I} {_ADV}(?:an? )?(?:new|newly minted|newly qualified|first year|early career|"
        r"junior|brand new) (?:attending|consultant|staff physician)\b",
    ),
    (
        "new-attending",
        r"\bi (?:just|recently) (?:became|started as|started working as) "
        r"an? (?:attending|consultant)\b",
    ),
    (
        "new-attending",
        r"\bi (?:just|recently|finally) (?:finished|completed|graduated from) "
        r"(?:my )?(?:residency|fellowship)\b",
    ),
    (
        "new-attending",
        rf"\b{_I} {_ADV}(?:done with|finished with|fresh out of|just out of) "
        r"(?:my )?(?:residency|fellowship)\b",
    ),
    (
        "fellow",
        rf"\b{_I} {_ADV}(?:an? )?{_ORD}?{_W}{{0,2}}fellow\b"
        r"(?! doctor| physician| student| resident| img| colleague| human| traveler)",
    ),
    (
        "fellow",
        rf"\b{_I} {_ADV}(?:in|doing|in my|starting|halfway through) (?:a |my )?{_W}?fellowship\b",
    ),
    (
        "resident",
        rf"\b{_I} {_ADV}(?:an? )?{_ORD}?{_W}?(?P<what>resident|intern|registrar|house officer)\b",
    ),
    ("resident", rf"\b{_I} {_ADV}(?:an? )?pgy ?\d\b"),
    (
        "resident",
        rf"\b{_I} {_ADV}(?:in|doing|in my|starting|halfway through) (?:my |a )?{_ORD}?{_W}?"
        r"(?:residency|intern year|internship)\b",
    ),
    ("resident", r"\bi (?:just |finally )?matched(?: into| in| at| to|$)"),
    (
        "attending",
        rf"\b{_I} (?:(?:now|currently|already|still|finally|officially|actually) )*"
        rf"an? {_W}?(?:attending|consultant|staff physician|practicing physician)\b",
    ),
    ("attending", rf"\b{_I} {_ADV}(?:in )?(?:my )?(?:mid ?career|mid career)\b"),
    (
        "applying",
        rf"\b(?P<me>i|im|i m|i am|ive|i ve|i have)\b(?P<between>(?: [a-z0-9]+){{0,6}}?) "
        rf"passed {_STEP2}",
    ),
    (
        "applying",
        rf"\b{_I} {_ADV}(?:applying|about to apply|going to apply|preparing to apply|"
        r"getting ready to apply)(?: for| to| into)? (?:the )?(?:residency|match|programs?|eras)\b",
    ),
    ("applying", rf"\b{_I} {_ADV}(?:an? )?{_W}?(?:residency )?applicant\b"),
    (
        "student",
        r"\b(?P<me>i|im|i m|i am|ive|i ve|i have)\b(?P<between>(?: [a-z0-9]+){0,6}?) "
        r"passed step ?1\b",
    ),
    ("student", rf"\b{_I} {_ADV}(?:an? )?{_ORD}?{_W}{{0,2}}(?:student|ms ?[1-4]|m[1-4])\b"),
    ("student", rf"\b{_I} {_ADV}(?:in|at|still in) med(?:ical)? school\b"),
    (
        "student",
        rf"\b{_I} {_ADV}(?:studying|preparing|prepping|revising|getting ready) for "
        r"(?:the |my )?(?:usmle|step ?1|step ?2(?: ck)?|step ?3)\b",
    ),
)
_COMPILED = tuple((stage, re.compile(pattern)) for stage, pattern in _PATTERNS)

# A statement right after one of these is hypothetical: "when im a resident ...".
_CONDITIONAL = frozenset("when if once until before after unless whether while till".split())
# Someone else did it: "i heard he passed step 2".
_OTHERS = frozenset(
    """he she they we you friend friends brother sister wife husband son daughter colleague
    colleagues someone somebody people classmate classmates cousin partner""".split()
)
# Residents of a country, not of a hospital.
_NOT_TRAINING = frozenset("permanent legal us u s uk canadian tax".split())
# Words that turn a statement into a request: then the question is answered too.
_ASKS = frozenset(
    """how what which should can could would when where why do does is are any tips advice help
    thinking considering wondering worried want wanna need looking plan planning interested
    unsure confused struggling tell explain next know""".split()
)


def detect_stage(text: str) -> StageMention | None:
    """The career stage a first-person statement in `text` declares, if any (earliest wins)."""
    norm = normalize(text)
    found: StageMention | None = None
    for stage_id, pattern in _COMPILED:
        for m in pattern.finditer(norm):
            if not _plausible(norm, m):
                continue
            if found is None or m.start() < found.start:
                found = StageMention(BY_ID[stage_id], m.start(), m.end(), norm)
            break
    return found


def _plausible(norm: str, m: re.Match[str]) -> bool:
    before = norm[: m.start()].split()
    if before and before[-1] in _CONDITIONAL:
        return False
    if before[-2:] == ["what", "if"]:
        return False
    if {"not", "never", "no"} & set(m.group(0).split()):
        return False
    groups = m.groupdict()
    between = (groups.get("between") or "").split()
    if any(w in _OTHERS or w == "not" for w in between):
        return False
    what = groups.get("what")
    if what == "resident":
        words = norm[: m.end()].split()
        if len(words) >= 2 and words[-2] in _NOT_TRAINING:
            return False
    return True


def asks_something(text: str, mention: StageMention) -> bool:
    """Whether the message asks for something beyond declaring the stage."""
    if "?" in text:
        return True
    return any(word in _ASKS for word in mention.rest.split())
