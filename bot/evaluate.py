"""Labelled questions -> an accuracy report.

An eval file is a YAML list of `{q, accept: [ids], style}` (an optional `split` names a part
such as `dev` or `holdout`). Empty `accept` means the bot must fall back. A question counts as
right when it is answered with an accepted entry, or, for an empty `accept`, when the bot
falls back (plainly or through a redirect entry).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import FaqbotError, Problem
from bot.knowledge import KnowledgeBase, display_path
from bot.matching import Match
from bot.yamlio import LineDict, LineList, line_of, load_yaml


class EvalFileError(FaqbotError):
    """The eval file cannot be used."""


@dataclass(frozen=True)
class Case:
    """One labelled question."""

    q: str
    accept: tuple[str, ...]
    style: str
    split: str = ""


@dataclass(frozen=True)
class Outcome:
    """How the matcher did on one case."""

    case: Case
    match: Match

    @property
    def in_scope(self) -> bool:
        return bool(self.case.accept)

    @property
    def correct(self) -> bool:
        if not self.case.accept:
            return self.match.decision == "fallback"
        entry = self.match.entry
        return (
            self.match.decision == "answer" and entry is not None and entry.id in self.case.accept
        )


@dataclass
class Tally:
    """Right / total counts for one slice of the cases."""

    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def rate(self) -> float:
        return 100.0 * self.right / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"right": self.right, "total": self.total, "rate": round(self.rate, 1)}


@dataclass
class Report:
    """Every figure `faqbot eval` prints."""

    overall: Tally = field(default_factory=Tally)
    in_scope: Tally = field(default_factory=Tally)
    out_of_scope: Tally = field(default_factory=Tally)
    smalltalk: Tally = field(default_factory=Tally)
    clarify: Tally = field(default_factory=Tally)
    by_style: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_entry: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_split: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    # "holdout in-scope", "holdout out-of-scope": the targets are per kind, so per split too
    by_split_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "in_scope_answered": self.in_scope.as_dict(),
            "out_of_scope_fallback": self.out_of_scope.as_dict(),
            "smalltalk": self.smalltalk.as_dict(),
            "clarify_rate": round(self.clarify.rate, 1),
            "by_style": {k: v.as_dict() for k, v in sorted(self.by_style.items())},
            "by_entry": {k: v.as_dict() for k, v in sorted(self.by_entry.items())},
            "by_split": {k: v.as_dict() for k, v in sorted(self.by_split.items())},
            "by_split_kind": {k: v.as_dict() for k, v in sorted(self.by_split_kind.items())},
            "misses": [
                {
                    "q": o.case.q,
                    "accept": list(o.case.accept),
                    "style": o.case.style,
                    "decision": o.match.decision,
                    "id": o.match.entry.id if o.match.entry else None,
                    "score": o.match.score,
                }
                for o in self.misses
            ],
        }


def load_cases(path: Path, kb: KnowledgeBase) -> list[Case]:
    """Read and check an eval file; unknown ids in `accept` are problems."""
    shown = display_path(path)
    data, problems = load_yaml(path, shown)
    if problems:
        raise EvalFileError(problems)
    if not isinstance(data, LineList):
        raise EvalFileError([Problem(shown, line_of(data, 1), "an eval file is a list of cases")])
    cases: list[Case] = []
    for item, line in zip(data, data.item_lines, strict=True):
        if not isinstance(item, LineDict) or not isinstance(item.get("q"), str):
            problems.append(Problem(shown, line, "each case needs 'q' (the question)"))
            continue
        accept = item.get("accept") or []
        if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
            problems.append(Problem(shown, line, "'accept' must be a list of entry ids"))
            continue
        for entry_id in accept:
            if kb.get(entry_id) is None:
                problems.append(Problem(shown, line_of(entry_id, line), f"unknown id '{entry_id}'"))
        style = str(item.get("style") or ("out-of-scope" if not accept else "plain"))
        cases.append(Case(str(item["q"]), tuple(accept), style, str(item.get("split") or "")))
    if problems:
        raise EvalFileError(problems)
    return cases


def evaluate(cases: Iterable[Case], match: Callable[[str], Match], kb: KnowledgeBase) -> Report:
    """Run every case through `match` and tally the results."""
    report = Report()
    for case in cases:
        outcome = Outcome(case, match(case.q))
        ok = outcome.correct
        report.overall.add(ok)
        (report.in_scope if outcome.in_scope else report.out_of_scope).add(ok)
        if case.accept and all(_kind(kb, a) == "smalltalk" for a in case.accept):
            report.smalltalk.add(ok)
        report.clarify.add(outcome.match.decision == "clarify")
        report.by_style[case.style].add(ok)
        for entry_id in case.accept or ("(fallback)",):
            report.by_entry[entry_id].add(ok)
        if case.split:
            report.by_split[case.split].add(ok)
            kind = "in-scope" if outcome.in_scope else "out-of-scope"
            report.by_split_kind[f"{case.split} {kind}"].add(ok)
        if not ok:
            report.misses.append(outcome)
    return report


def _kind(kb: KnowledgeBase, entry_id: str) -> str:
    entry = kb.get(entry_id)
    return entry.kind if entry else ""


_KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm".split()


def _neighbours(letter: str) -> str:
    for r, row in enumerate(_KEYBOARD):
        c = row.find(letter)
        if c >= 0:
            near = row[max(c - 1, 0) : c + 2].replace(letter, "")
            for other in (r - 1, r + 1):
                if 0 <= other < len(_KEYBOARD):
                    near += _KEYBOARD[other][c : c + 1]
            return near or letter
    return "etaoin".replace(letter, "")  # not on the keyboard (é, digits): a common letter


def typo_variants(question: str, count: int) -> list[str]:
    """`count` deterministic one-typo variants: a swap, drop, double or a neighbour key.

    Every variant differs from the question; a question with no word of three letters or
    more ("hi") has none.
    """
    words = question.split()
    long_words = [i for i, w in enumerate(words) if sum(ch.isalpha() for ch in w) >= 4]
    long_words = long_words or [
        i for i, w in enumerate(words) if sum(ch.isalpha() for ch in w) >= 3
    ]
    if not long_words:
        return []
    out: list[str] = []
    for n in range(count):
        rng = random.Random(f"{question}#{n}")
        for _ in range(50):  # a swap of two equal letters changes nothing: draw again
            variant = _one_typo(words, rng.choice(long_words), rng)
            if variant != question:
                out.append(variant)
                break
    return out


def _one_typo(words: list[str], i: int, rng: random.Random) -> str:
    word = words[i]
    letters = [k for k, ch in enumerate(word) if ch.isalpha()]
    k = rng.choice(letters[1:-1] or letters)
    op = rng.choice(("swap", "drop", "double", "near"))
    if op == "swap" and k + 1 < len(word):
        changed = word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    elif op == "drop":
        changed = word[:k] + word[k + 1 :]
    elif op == "double":
        changed = word[:k] + word[k] + word[k:]
    else:
        changed = word[:k] + rng.choice(_neighbours(word[k].lower())) + word[k + 1 :]
    return " ".join([*words[:i], changed, *words[i + 1 :]])


def with_typos(cases: Iterable[Case], count: int) -> list[Case]:
    """The typo variants of every case, labelled like their clean form."""
    return [
        Case(variant, case.accept, case.style, case.split)
        for case in cases
        for variant in typo_variants(case.q, count)
    ]


def format_report(report: Report, title: str) -> str:
    """The report as aligned text lines."""

    def row(name: str, tally: Tally) -> str:
        return f"  {name:<28} {tally.rate:5.1f}%  ({tally.right}/{tally.total})"

    lines = [
        f"{title}",
        row("overall correct", report.overall),
        row("in-scope answered right", report.in_scope),
        row("out-of-scope fell back", report.out_of_scope),
        row("small talk recognised", report.smalltalk),
        f"  {'clarify rate':<28} {report.clarify.rate:5.1f}%",
    ]
    if report.by_split:
        lines.append(" by split:")
        lines += [row(k, v) for k, v in sorted(report.by_split.items())]
        lines += [row(k, v) for k, v in sorted(report.by_split_kind.items())]
    lines.append(" by style:")
    lines += [row(k, v) for k, v in sorted(report.by_style.items())]
    lines.append(" by entry:")
    lines += [row(k, v) for k, v in sorted(report.by_entry.items())]
    lines.append(f" misses ({len(report.misses)}):")
    for o in report.misses:
        got = o.match.entry.id if o.match.entry else "-"
        want = ", ".join(o.case.accept) or "fallback"
        lines.append(
            f"  - {o.case.q!r}: got {o.match.decision} {got} ({o.match.score:.0f}), want {want}"
        )
    return "\n".join(lines)
