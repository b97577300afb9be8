"""`faqbot eval` underneath: typo variants, reading eval files, and counting right/wrong on a
tiny hand-built knowledge base whose every outcome is known by construction."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rapidfuzz.distance import OSA

from bot.evaluate import Case, EvalFileError, evaluate, load_cases, typo_variants, with_typos
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Matcher

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------- typo variants

QUESTIONS = [
    "how do I choose a specialty",
    "good morning",
    "tell me a joke",
    "uworld or amboss for step 3?",
    "why everybody say USMLE is the door for doctor career in America?",
    "Is board certification worth it after residency?",
    "résidency",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_typo_variants_are_n_single_edits_of_the_question(question: str) -> None:
    variants = typo_variants(question, 4)
    assert len(variants) == 4
    for variant in variants:
        assert variant != question, f"{question!r} came back unchanged"
        assert OSA.distance(question.casefold(), variant.casefold()) == 1, variant
        changed = [
            (a, b) for a, b in zip(question.split(), variant.split(), strict=False) if a != b
        ]
        assert len(variant.split()) == len(question.split())
        assert len(changed) == 1, variant


def test_typo_variants_are_deterministic() -> None:
    first = [typo_variants(q, 3) for q in QUESTIONS]
    assert [typo_variants(q, 3) for q in QUESTIONS] == first
    # a larger N extends the list; it does not reshuffle the first ones
    assert typo_variants(QUESTIONS[0], 5)[:3] == typo_variants(QUESTIONS[0], 3)


def test_typo_variants_are_the_same_in_every_process() -> None:
    script = (
        "import json\n"
        "from bot.evaluate import typo_variants\n"
        f"print(json.dumps([typo_variants(q, 3) for q in {QUESTIONS!r}]))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("0", "1", "777")
    }
    assert len(outputs) == 1


def test_zero_variants() -> None:
    assert typo_variants("how do I choose a specialty", 0) == []


def test_with_typos_labels_variants_like_their_clean_form() -> None:
    cases = [
        Case("how do I choose a specialty", ("choosing-specialty",), "plain", "dev"),
        Case("what is the salary of a surgeon", (), "out-of-scope", "holdout"),
    ]
    variants = with_typos(cases, 2)
    assert len(variants) == 4
    assert [(v.accept, v.style, v.split) for v in variants] == [
        (c.accept, c.style, c.split) for c in cases for _ in range(2)
    ]
    assert [v.q for v in variants[:2]] == typo_variants(cases[0].q, 2)


# ----------------------------------------------------------------- a tiny knowledge base

# Each contract entry gets one invented phrasing (also its title), so what the matcher does
# with a question is known in advance: an exact phrasing answers its entry, "mango" is shared
# by two unrelated milestones (a tie: clarify), "visa stamps" is a redirect (a fallback),
# and words the knowledge never saw fall back with no candidate.
PHRASINGS = {
    "usmle-landscape": "mango tango",
    "choosing-specialty": "mango bingo",
    "residency": "zephyr",
    "fellowship": "quasar",
    "board-certification": "nebula",
    "continuous-learning": "comet",
    "leadership-teaching": "meteor",
    "work-life-balance": "galaxy",
    "career-transitions": "pulsar",
    "professional-network": "photon",
    "technology-innovation": "quark",
    "retirement": "boson",
    "maintaining-passion": "lepton",
    "faq-after-passing": "walrus",
    "faq-choosing-specialty": "badger",
    "faq-continuing-education": "ferret",
    "faq-work-life-balance": "otter",
    "faq-retirement": "beaver",
    "overview": "roadmap",
    "greeting": "hello",
    "thanks": "thanks",
    "goodbye": "bye",
    "about-bot": "who are you",
    "redirect-visa": "visa stamps",
}


def _kind(entry_id: str, order: int) -> str:
    if entry_id in {"greeting", "thanks", "goodbye", "about-bot"}:
        return "smalltalk"
    if entry_id.startswith("faq-"):
        return "faq"
    if entry_id in {"overview"}:
        return "overview"
    if entry_id.startswith("redirect-"):
        return "redirect"
    return f"milestone\n    order: {order}"


@pytest.fixture
def tiny(tmp_path: Path) -> KnowledgeBase:
    lines = ["entries:"]
    for order, (entry_id, phrasing) in enumerate(PHRASINGS.items(), start=1):
        lines += [
            f"  - id: {entry_id}",
            f"    kind: {_kind(entry_id, order)}",
            f"    title: {phrasing.capitalize()}",
            f"    answer: All about {phrasing}.",
            f"    questions: [{phrasing}]",
        ]
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "tiny.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_knowledge(folder)


def test_the_tiny_base_behaves_as_constructed(tiny: KnowledgeBase) -> None:
    m = Matcher(tiny)
    zephyr = m.match("zephyr")
    assert zephyr.decision == "answer" and zephyr.entry is not None
    assert zephyr.entry.id == "residency"
    assert m.match("mango").decision == "clarify"
    visa = m.match("visa stamps")
    assert visa.decision == "fallback" and visa.entry is not None
    assert visa.entry.kind == "redirect"
    nothing = m.match("xylophone quartet")
    assert (nothing.decision, nothing.entry) == ("fallback", None)


CASES = [
    Case("zephyr", ("residency",), "plain"),  # a: answered, accepted       -> right
    Case("quasar", ("residency",), "plain"),  # b: answered, other entry    -> wrong
    Case("visa stamps", (), "out-of-scope"),  # c: redirect = fallback      -> right
    Case("xylophone quartet", (), "out-of-scope"),  # d: plain fallback     -> right
    Case("walrus", (), "out-of-scope"),  # e: answered, must fall back      -> wrong
    Case("mango", ("usmle-landscape",), "keyword"),  # f: clarify           -> wrong
    Case("hello", ("greeting",), "smalltalk"),  # g: small talk recognised  -> right
    Case("bye", ("thanks",), "smalltalk"),  # h: other small talk           -> wrong
    Case("zephyr", ("residency", "fellowship"), "plain"),  # i: any accept  -> right
    Case("xylophone quartet", ("residency",), "plain"),  # j: fell back     -> wrong
]


def test_evaluate_counts_right_and_wrong_as_documented(tiny: KnowledgeBase) -> None:
    report = evaluate(CASES, Matcher(tiny).match, tiny)
    data = report.as_dict()
    assert data["overall"] == {"right": 5, "total": 10, "rate": 50.0}
    assert data["in_scope_answered"] == {"right": 3, "total": 7, "rate": 42.9}
    assert data["out_of_scope_fallback"] == {"right": 2, "total": 3, "rate": 66.7}
    assert data["smalltalk"] == {"right": 1, "total": 2, "rate": 50.0}
    assert data["clarify_rate"] == 10.0
    assert {k: (v["right"], v["total"]) for k, v in data["by_style"].items()} == {
        "keyword": (0, 1),
        "out-of-scope": (2, 3),
        "plain": (2, 4),
        "smalltalk": (1, 2),
    }
    assert {k: (v["right"], v["total"]) for k, v in data["by_entry"].items()} == {
        "(fallback)": (2, 3),
        "fellowship": (1, 1),
        "greeting": (1, 1),
        "residency": (2, 4),
        "thanks": (0, 1),
        "usmle-landscape": (0, 1),
    }
    assert [(m["q"], m["decision"], m["id"]) for m in data["misses"]] == [
        ("quasar", "answer", "fellowship"),
        ("walrus", "answer", "faq-after-passing"),
        ("mango", "clarify", "usmle-landscape"),
        ("bye", "answer", "goodbye"),
        ("xylophone quartet", "fallback", None),
    ]
    assert data["by_split"] == data["by_split_kind"] == {}


def test_eval_file_is_read_with_defaults_and_splits(tiny: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "eval.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            - q: zephyr
              accept: [residency]
              split: dev
            - q: xylophone quartet
              accept: []
              split: holdout
            - q: quasar
              accept: [fellowship]
              style: keyword
              split: holdout
            """
        ),
        encoding="utf-8",
    )
    cases = load_cases(path, tiny)
    assert cases == [
        Case("zephyr", ("residency",), "plain", "dev"),
        Case("xylophone quartet", (), "out-of-scope", "holdout"),
        Case("quasar", ("fellowship",), "keyword", "holdout"),
    ]
    report = evaluate(cases, Matcher(tiny).match, tiny)
    assert {k: (v.right, v.total) for k, v in report.by_split.items()} == {
        "dev": (1, 1),
        "holdout": (2, 2),
    }
    assert {k: (v.right, v.total) for k, v in report.by_split_kind.items()} == {
        "dev in-scope": (1, 1),
        "holdout in-scope": (1, 1),
        "holdout out-of-scope": (1, 1),
    }


def test_eval_file_problems_name_their_lines(
    tiny: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("eval.yaml").write_text(
        "- q: zephyr\n  accept: [residency, zephyrs]\n- accept: [residency]\n"
        "- q: quasar\n  accept: fellowship\n",
        encoding="utf-8",
    )
    with pytest.raises(EvalFileError) as info:
        load_cases(Path("eval.yaml"), tiny)
    assert [str(p) for p in info.value.problems] == [
        "eval.yaml:2: unknown id 'zephyrs'",
        "eval.yaml:3: each case needs 'q' (the question)",
        "eval.yaml:4: 'accept' must be a list of entry ids",
    ]
