"""Hearing a career stage in what people write: first-person statements only."""

from __future__ import annotations

import pytest

from bot.config import bundled_knowledge_dir
from bot.knowledge import load_knowledge
from bot.stages import STAGES, asks_something, detect_stage, get_stage


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("I'm a PGY-2", "resident"),
        ("i am a pgy 3 in surgery", "resident"),
        ("I am an intern", "resident"),
        ("I'm halfway through my residency", "resident"),
        ("I just matched into IM", "resident"),
        ("I'm an IMG who just passed Step 2", "applying"),
        ("I passed the USMLE last month", "applying"),
        ("I'm applying to residency this fall", "applying"),
        ("I'm a third year medical student", "student"),
        ("im ms3", "student"),
        ("I'm studying for step 1", "student"),
        ("I passed step 1", "student"),
        ("I'm an attending", "attending"),
        ("I've been an attending for 10 years", "attending"),
        ("I'm a consultant", "attending"),
        ("I'm an early career attending", "new-attending"),
        ("I just finished residency", "new-attending"),
        ("I'm a fellow in cardiology", "fellow"),
        ("I'm a GI fellow", "fellow"),
        ("I'm doing a fellowship in nephrology", "fellow"),
        ("I'm retiring soon", "late-career"),
        ("I'm near retirement", "late-career"),
        ("Hi! I’m a PGY-1, what should I focus on?", "resident"),
    ],
)
def test_first_person_statements(text: str, stage: str) -> None:
    mention = detect_stage(text)
    assert mention is not None and mention.stage.id == stage


@pytest.mark.parametrize(
    "text",
    [
        "how do I become an attending?",
        "what is residency like",
        "my friend passed step 2",
        "I heard he passed step 2",
        "I'm not a resident",
        "when I'm a fellow, what should I do",
        "if I'm a resident can I moonlight",
        "I'm attending a conference next week",
        "I am a permanent resident",
        "I'm a fellow doctor",
        "I'm an IMG",
        "fellowship",
        "retirement planning",
    ],
)
def test_not_statements_of_a_stage(text: str) -> None:
    assert detect_stage(text) is None


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("I'm a PGY-2", False),
        ("I'm a PGY-2 thinking about fellowship", True),
        ("I'm an attending, how do I avoid burnout", True),
        ("I just passed step 2, what now?", True),
        ("I'm a fellow in cardiology", False),
    ],
)
def test_asks_something(text: str, asks: bool) -> None:
    mention = detect_stage(text)
    assert mention is not None and asks_something(text, mention) is asks


def test_the_earliest_statement_wins() -> None:
    mention = detect_stage("I'm a resident and I'm applying to fellowship")
    assert mention is not None and mention.stage.id == "resident"
    assert mention.rest == "and im applying to fellowship"


def test_every_stage_sits_on_a_milestone_in_career_order() -> None:
    kb = load_knowledge(bundled_knowledge_dir())
    positions = [kb.milestone_position(s.milestone) for s in STAGES]
    assert None not in positions and positions == sorted(positions)  # type: ignore[type-var]
    assert all(len(f"st:{s.id}".encode()) <= 64 for s in STAGES)
    assert get_stage("resident") is STAGES[2] and get_stage("astronaut") is None
    assert get_stage(None) is None
