"""The knowledge base: entries loaded from `knowledge/*.yaml` and validated as a whole.

Loading is all-or-nothing: every problem in every file is collected and raised together as a
`KnowledgeError`, so a broken edit is never half-loaded and a running bot can keep its last
good knowledge. The file format is described in docs/knowledge-format.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cues import cue_problem
from bot.errors import KnowledgeError, Problem
from bot.text import normalize
from bot.yamlio import LineDict, LineList, line_of, load_yaml

KINDS = ("milestone", "faq", "overview", "smalltalk", "redirect")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_ANSWER = 4096  # Telegram's limit for one message
MAX_TITLE = 40  # stays readable on an inline button
MILESTONE_IDS = (
    "usmle-landscape",
    "choosing-specialty",
    "residency",
    "fellowship",
    "board-certification",
    "continuous-learning",
    "leadership-teaching",
    "work-life-balance",
    "career-transitions",
    "professional-network",
    "technology-innovation",
    "retirement",
    "maintaining-passion",
)
FAQ_IDS = (
    "faq-after-passing",
    "faq-choosing-specialty",
    "faq-continuing-education",
    "faq-work-life-balance",
    "faq-retirement",
)
SMALLTALK_IDS = ("greeting", "thanks", "goodbye", "about-bot")
CONTRACT_IDS = (*MILESTONE_IDS, *FAQ_IDS, "overview", *SMALLTALK_IDS)
LEARNED_FILE = "learned.yaml"

_FIELDS = {"id", "kind", "order", "title", "answer", "questions", "follow_ups", "cues"}
_REQUIRED = ("id", "kind", "title", "answer", "questions")
_TOP_KEYS = {"entries", "synonyms", "learned"}


@dataclass(frozen=True)
class Entry:
    """One answerable section of the guide."""

    id: str
    kind: str
    title: str
    answer: str
    questions: tuple[str, ...]
    follow_ups: tuple[str, ...] = ()
    order: int | None = None
    source: str = ""
    # Redirects only: words or phrases that alone show a question is about this uncovered
    # topic ("visa", "stipend", "texas"), however much else it shares with a covered one.
    cues: tuple[str, ...] = ()

    @property
    def is_fallback(self) -> bool:
        """Redirects answer with a pointer elsewhere: for the user it is a fallback."""
        return self.kind == "redirect"


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries plus the jargon table, indexed for lookup."""

    entries: tuple[Entry, ...]
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_id: dict[str, Entry] = field(init=False, repr=False)
    milestones: tuple[Entry, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {e.id: e for e in self.entries})
        ordered = sorted((e for e in self.entries if e.kind == "milestone"), key=_order_key)
        object.__setattr__(self, "milestones", tuple(ordered))

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, if any."""
        return self.by_id.get(entry_id)

    def of_kind(self, kind: str) -> tuple[Entry, ...]:
        """Entries of one kind, in file order (milestones in career order)."""
        if kind == "milestone":
            return self.milestones
        return tuple(e for e in self.entries if e.kind == kind)

    def milestone_position(self, entry_id: str) -> int | None:
        """1-based place of a milestone on the career map."""
        for i, entry in enumerate(self.milestones, start=1):
            if entry.id == entry_id:
                return i
        return None

    @property
    def phrasing_count(self) -> int:
        return sum(len(e.questions) for e in self.entries)


def _order_key(entry: Entry) -> int:
    return entry.order if entry.order is not None else 10**6


def phrasing_key(text: str) -> str:
    """The form the matcher sees: two phrasings with one key are duplicates."""
    return normalize(text)


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class _Draft:
    """An entry read from YAML, with the lines validation needs."""

    entry: Entry
    line: int
    key_lines: dict[str, int]
    question_lines: list[int]
    follow_up_lines: list[int]
    question_paths: list[str] = field(default_factory=list)


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate every YAML file in `directory`; raise KnowledgeError on any problem."""
    shown_dir = display_path(directory)
    if not directory.is_dir():
        raise KnowledgeError([Problem(shown_dir, 0, "knowledge folder not found")])
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise KnowledgeError([Problem(shown_dir, 0, "no .yaml files in the knowledge folder")])
    problems: list[Problem] = []
    drafts: list[_Draft] = []
    synonyms: dict[str, tuple[str, ...]] = {}
    synonym_seen: dict[str, tuple[str, str, int]] = {}
    learned: list[tuple[str, str, str, int]] = []
    for path in files:
        shown = display_path(path)
        data, found = load_yaml(path, shown)
        problems += found
        if found or data is None:
            continue
        if not isinstance(data, LineDict):
            problems.append(Problem(shown, line_of(data, 1), "a knowledge file must be a mapping"))
            continue
        for key in data:
            if key not in _TOP_KEYS:
                line = data.key_lines[key]
                problems.append(Problem(shown, line, f"unknown top-level key '{key}'"))
        drafts += _read_entries(data.get("entries"), data, shown, problems)
        _read_synonyms(data.get("synonyms"), data, shown, synonyms, synonym_seen, problems)
        learned += _read_learned(data.get("learned"), data, shown, problems)
    drafts = _apply_learned(drafts, learned, problems)
    problems += _check_whole(drafts, shown_dir)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(tuple(d.entry for d in drafts), synonyms)


def _text(value: Any) -> str | None:
    return str(value).strip() if isinstance(value, str) and value.strip() else None


def _read_entries(raw: Any, data: LineDict, shown: str, problems: list[Problem]) -> list[_Draft]:
    if raw is None:
        return []
    if not isinstance(raw, LineList):
        problems.append(Problem(shown, data.key_lines["entries"], "'entries' must be a list"))
        return []
    drafts = []
    for item, item_line in zip(raw, raw.item_lines, strict=True):
        if not isinstance(item, LineDict):
            problems.append(Problem(shown, item_line, "each entry must be a mapping"))
            continue
        draft = _read_entry(item, shown, problems)
        if draft is not None:
            drafts.append(draft)
    return drafts


def _read_entry(item: LineDict, shown: str, problems: list[Problem]) -> _Draft | None:
    ok = True
    lines = item.key_lines

    def bad(key: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.append(Problem(shown, lines.get(key, item.line), message))

    label = f"entry '{item.get('id')}'" if isinstance(item.get("id"), str) else "entry"
    for key in item:
        if key not in _FIELDS:
            bad(key, f"{label}: unknown field '{key}'")
    missing = [key for key in _REQUIRED if key not in item or item[key] is None]
    for key in missing:
        bad(key, f"{label}: missing field '{key}'")
    if missing:
        return None
    entry_id = item["id"]
    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        bad("id", f"invalid id {entry_id!r}: use lowercase letters, digits and '-', at most 40")
    kind = item["kind"]
    if kind not in KINDS:
        bad("kind", f"{label}: unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    title, answer = _text(item["title"]), _text(item["answer"])
    if title is None:
        bad("title", f"{label}: 'title' must be non-empty text")
    elif len(title) > MAX_TITLE:
        bad("title", f"{label}: title is {len(title)} characters, at most {MAX_TITLE} fit a button")
    if answer is None:
        bad("answer", f"{label}: 'answer' must be non-empty text")
    elif len(answer) > MAX_ANSWER:
        bad("answer", f"{label}: answer is {len(answer)} characters, Telegram allows {MAX_ANSWER}")
    order = item.get("order")
    if kind == "milestone" and (not isinstance(order, int) or isinstance(order, bool) or order < 1):
        bad("order", f"{label}: a milestone needs 'order', a whole number from 1")
    elif kind != "milestone" and order is not None:
        bad("order", f"{label}: only milestones have an 'order'")
    questions = _string_list(item, "questions", label, shown, problems, allow_empty=False)
    follow_ups = _string_list(item, "follow_ups", label, shown, problems, allow_empty=True)
    cues = _string_list(item, "cues", label, shown, problems, allow_empty=True)
    if cues and kind == "smalltalk":
        bad("cues", f"{label}: small talk has no 'cues'")
    for cue, line in cues or ():
        problem = cue_problem(cue)
        if problem is None and kind not in ("redirect", "smalltalk") and " + " not in cue:
            # a covered topic's cue is a topic and an ask; a lone phrase is a misplaced phrasing
            problem = f"cue {cue!r}: a covered entry's cue needs ' + ' (a topic and an ask)"
        if problem is not None:
            problems.append(Problem(shown, line, f"{label}: {problem}"))
            ok = False
    if questions is None or follow_ups is None or cues is None or not ok:
        return None
    entry = Entry(
        id=entry_id,
        kind=kind,
        title=title or "",
        answer=answer or "",
        questions=tuple(q for q, _ in questions),
        follow_ups=tuple(f for f, _ in follow_ups),
        order=order if kind == "milestone" else None,
        source=f"{shown}:{item.line}",
        cues=tuple(c for c, _ in cues),
    )
    return _Draft(entry, item.line, lines, [n for _, n in questions], [n for _, n in follow_ups])


def _string_list(
    item: LineDict, key: str, label: str, shown: str, problems: list[Problem], *, allow_empty: bool
) -> list[tuple[str, int]] | None:
    raw = item.get(key)
    line = item.key_lines.get(key, item.line)
    if raw is None and allow_empty:
        return []
    if not isinstance(raw, LineList) or (not raw and not allow_empty):
        problems.append(Problem(shown, line, f"{label}: '{key}' must be a non-empty list of text"))
        return None
    out = []
    for value, value_line in zip(raw, raw.item_lines, strict=True):
        text = _text(value)
        if text is None:
            problems.append(Problem(shown, value_line, f"{label}: '{key}' items must be text"))
            return None
        out.append((text, value_line))
    return out


def _read_synonyms(
    raw: Any,
    data: LineDict,
    shown: str,
    synonyms: dict[str, tuple[str, ...]],
    seen: dict[str, tuple[str, str, int]],
    problems: list[Problem],
) -> None:
    if raw is None:
        return
    if not isinstance(raw, LineDict):
        problems.append(Problem(shown, data.key_lines["synonyms"], "'synonyms' must be a mapping"))
        return
    for canonical, variants in raw.items():
        line = raw.key_lines[canonical]
        if not isinstance(variants, LineList) or not all(_text(v) for v in variants):
            problems.append(Problem(shown, line, f"synonyms '{canonical}': list the variants"))
            continue
        kept = []
        for variant, vline in zip(variants, variants.item_lines, strict=True):
            key = phrasing_key(variant)
            if key in seen and seen[key][0] != canonical:
                other, other_file, other_line = seen[key]
                problems.append(
                    Problem(
                        shown,
                        vline,
                        f"synonym '{variant}' is listed under '{canonical}' and under '{other}' "
                        f"({other_file}:{other_line})",
                    )
                )
                continue
            seen[key] = (canonical, shown, vline)
            kept.append(str(variant))
        synonyms[str(canonical)] = (*synonyms.get(str(canonical), ()), *kept)


def _read_learned(
    raw: Any, data: LineDict, shown: str, problems: list[Problem]
) -> list[tuple[str, str, str, int]]:
    """Phrasings added by operators (`learned: {entry-id: [phrasing, ...]}`)."""
    if raw is None:
        return []
    if not isinstance(raw, LineDict):
        problems.append(Problem(shown, data.key_lines["learned"], "'learned' must be a mapping"))
        return []
    out = []
    for entry_id, phrasings in raw.items():
        line = raw.key_lines[entry_id]
        if not isinstance(phrasings, LineList) or not all(_text(p) for p in phrasings):
            problems.append(Problem(shown, line, f"learned '{entry_id}': list the phrasings"))
            continue
        out += [
            (str(entry_id), str(p).strip(), shown, pline)
            for p, pline in zip(phrasings, phrasings.item_lines, strict=True)
        ]
    return out


def _apply_learned(
    drafts: list[_Draft], learned: Iterable[tuple[str, str, str, int]], problems: list[Problem]
) -> list[_Draft]:
    by_id = {d.entry.id: d for d in drafts}
    for entry_id, phrasing, shown, line in learned:
        draft = by_id.get(entry_id)
        if draft is None:
            problems.append(
                Problem(shown, line, f"learned phrasing for unknown entry '{entry_id}'")
            )
            continue
        old = draft.entry
        draft.entry = Entry(
            old.id, old.kind, old.title, old.answer, (*old.questions, phrasing),
            old.follow_ups, old.order, old.source, old.cues,
        )  # fmt: skip
        draft.question_lines.append(line)
        draft.question_paths.append(shown)
    return drafts


def _check_whole(drafts: list[_Draft], shown_dir: str) -> list[Problem]:
    """Checks that need every file: unique ids, follow-up targets, phrasings, contract ids."""
    problems: list[Problem] = []
    first: dict[str, _Draft] = {}
    for d in drafts:
        path = d.entry.source.rsplit(":", 1)[0]
        if d.entry.id in first:
            prev = first[d.entry.id].entry.source
            problems.append(Problem(path, d.line, f"duplicate id '{d.entry.id}' (first at {prev})"))
        else:
            first[d.entry.id] = d
    orders: dict[int, str] = {}
    phrasings: dict[str, tuple[str, str]] = {}
    for d in drafts:
        e = d.entry
        path = e.source.rsplit(":", 1)[0]
        if e.order is not None:
            if e.order in orders:
                line = d.key_lines.get("order", d.line)
                msg = f"milestone order {e.order} is used by '{orders[e.order]}' too"
                problems.append(Problem(path, line, msg))
            orders[e.order] = e.id
        for target, line in zip(e.follow_ups, d.follow_up_lines, strict=True):
            if target not in first:
                problems.append(
                    Problem(path, line, f"'{e.id}' follows up to unknown id '{target}'")
                )
            elif target == e.id:
                problems.append(Problem(path, line, f"'{e.id}' follows up to itself"))
        own = len(d.question_lines) - len(d.question_paths)
        qpaths = [path] * own + d.question_paths  # learned phrasings live in learned.yaml
        for question, line, qpath in zip(e.questions, d.question_lines, qpaths, strict=True):
            key = phrasing_key(question)
            if key in phrasings:
                owner, where = phrasings[key]
                same = "twice in" if owner == e.id else f"in '{owner}' and in"
                msg = f"phrasing '{question}' appears {same} '{e.id}' (also {where})"
                problems.append(Problem(qpath, line, msg))
            else:
                phrasings[key] = (e.id, f"{qpath}:{line}")
    for contract_id in CONTRACT_IDS:
        if contract_id not in first:
            problems.append(Problem(shown_dir, 0, f"required entry '{contract_id}' is missing"))
    return problems
