"""The knowledge base: the shipped content honours the contract, and broken copies are refused
with exact `path:line: message` lines (the form `faqbot check` prints)."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.config import bundled_knowledge_dir
from bot.errors import KnowledgeError
from bot.knowledge import KnowledgeBase, display_path, load_knowledge

# The public contract of issue 2, written out here rather than imported, so that a change
# to the module's constants cannot silently change what these tests demand.
MILESTONES = [
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
]
FAQS = [
    "faq-after-passing",
    "faq-choosing-specialty",
    "faq-continuing-education",
    "faq-work-life-balance",
    "faq-retirement",
]
SMALLTALK = ["greeting", "thanks", "goodbye", "about-bot"]
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# the knowledge is parsed with libyaml when PyYAML has it, which words this error differently
MAPPING_ERROR = "mapping values are not allowed " + (
    "in this context" if yaml.__with_libyaml__ else "here"
)


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return load_knowledge(bundled_knowledge_dir())


@pytest.fixture
def kdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the shipped knowledge at ./knowledge (cwd = tmp_path)."""
    shutil.copytree(bundled_knowledge_dir(), tmp_path / "knowledge")
    monkeypatch.chdir(tmp_path)
    return Path("knowledge")


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return [str(p) for p in info.value.problems]


# A valid extra entry; each test below breaks one thing in a copy of it. Line numbers:
#  1 entries:
#  2   - id: quokka-care
#  3     kind: faq
#  4     title: Quokka care
#  5     answer: Feed them leaves.
#  6     questions:
#  7       - quokka husbandry
#  8     follow_ups: [residency]
GOOD_EXTRA = """
entries:
  - id: quokka-care
    kind: faq
    title: Quokka care
    answer: Feed them leaves.
    questions:
      - quokka husbandry
    follow_ups: [residency]
"""
# A second valid entry to append to GOOD_EXTRA (lines 9-14; its phrasing on line 14).
WOMBAT = """
  - id: wombat-care
    kind: faq
    title: Wombat care
    answer: Dig a burrow.
    questions:
      - wombat digging
"""[1:]


# ----------------------------------------------------------------- the shipped knowledge


def test_shipped_knowledge_loads(shipped: KnowledgeBase) -> None:
    assert len(shipped.entries) >= len(MILESTONES) + len(FAQS) + 1 + len(SMALLTALK)
    assert shipped.phrasing_count >= 5 * len(shipped.entries)


def test_every_contract_id_is_present_with_its_kind(shipped: KnowledgeBase) -> None:
    expected = {
        **dict.fromkeys(MILESTONES, "milestone"),
        **dict.fromkeys(FAQS, "faq"),
        "overview": "overview",
        **dict.fromkeys(SMALLTALK, "smalltalk"),
    }
    found = {i: shipped.by_id[i].kind for i in expected if i in shipped.by_id}
    assert found == expected


def test_milestones_are_the_contract_in_career_order(shipped: KnowledgeBase) -> None:
    milestones = shipped.of_kind("milestone")
    assert [e.id for e in milestones] == MILESTONES
    assert [e.order for e in milestones] == list(range(1, 14))
    assert [shipped.milestone_position(i) for i in MILESTONES] == list(range(1, 14))


def test_answers_and_titles_fit_chat_and_buttons(shipped: KnowledgeBase) -> None:
    too_long = {e.id: len(e.answer) for e in shipped.entries if len(e.answer) > 900}
    assert too_long == {}
    long_titles = {e.id: e.title for e in shipped.entries if len(e.title) > 40}
    assert long_titles == {}
    assert all(e.answer.strip() and e.title.strip() for e in shipped.entries)


def test_ids_fit_callback_data_and_follow_ups_resolve(shipped: KnowledgeBase) -> None:
    assert [e.id for e in shipped.entries if not ID_RE.match(e.id)] == []
    assert all(len(f"e:{e.id}".encode()) <= 64 for e in shipped.entries)
    dangling = {(e.id, f) for e in shipped.entries for f in e.follow_ups if f not in shipped.by_id}
    assert dangling == set()


def test_every_answerable_entry_has_many_phrasings(shipped: KnowledgeBase) -> None:
    few = {e.id: len(e.questions) for e in shipped.entries if len(e.questions) < 5}
    assert few == {}


def test_jargon_table_covers_the_issue_terms(shipped: KnowledgeBase) -> None:
    variants = {v.casefold() for vs in shipped.synonyms.values() for v in vs}
    terms = set(shipped.synonyms) | variants
    for word in ("pgy", "img", "cme", "moc", "eras", "the match", "boards", "telehealth"):
        assert word in terms, word


# ----------------------------------------------------------------- validation, exact lines


def test_a_valid_extra_file_loads(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA)
    kb = load_knowledge(kdir)
    assert kb.by_id["quokka-care"].follow_ups == ("residency",)
    assert kb.by_id["quokka-care"].source == "knowledge/extra.yaml:2"


def test_yaml_syntax_error_names_its_line(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("title: Quokka care", "title: Quokka: care"))
    assert problems(kdir) == [f"knowledge/extra.yaml:4: YAML syntax error: {MAPPING_ERROR}"]


def test_duplicate_key(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("    answer:", "    title: Again\n    answer:"))
    assert problems(kdir) == ["knowledge/extra.yaml:5: duplicate key 'title'"]


def test_duplicate_id_names_both_files(kdir: Path) -> None:
    write(kdir, "extra-a.yaml", GOOD_EXTRA)
    write(kdir, "extra-b.yaml", GOOD_EXTRA.replace("quokka husbandry", "quokka feeding"))
    assert problems(kdir) == [
        "knowledge/extra-b.yaml:2: duplicate id 'quokka-care' (first at knowledge/extra-a.yaml:2)"
    ]


def test_duplicate_of_a_shipped_id(kdir: Path) -> None:
    shipped_source = load_knowledge(kdir).by_id["residency"].source
    write(
        kdir,
        "zz-extra.yaml",
        GOOD_EXTRA.replace("id: quokka-care", "id: residency").replace("[residency]", "[overview]"),
    )
    assert problems(kdir) == [
        f"knowledge/zz-extra.yaml:2: duplicate id 'residency' (first at {shipped_source})"
    ]


def test_unknown_kind(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("kind: faq", "kind: faqs"))
    assert problems(kdir) == [
        "knowledge/extra.yaml:3: entry 'quokka-care': unknown kind 'faqs' "
        "(one of: milestone, faq, overview, smalltalk, redirect)"
    ]


def test_missing_field(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("    answer: Feed them leaves.\n", ""))
    assert problems(kdir) == ["knowledge/extra.yaml:2: entry 'quokka-care': missing field 'answer'"]


def test_follow_up_to_an_unknown_id(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("[residency]", "[residency, wombat-care]"))
    assert problems(kdir) == [
        "knowledge/extra.yaml:8: 'quokka-care' follows up to unknown id 'wombat-care'"
    ]


@pytest.mark.parametrize("bad_id", ["Residency_2", "a" * 41, "-residency", "résidency"])
def test_invalid_id(kdir: Path, bad_id: str) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("id: quokka-care", f"id: {bad_id}"))
    assert problems(kdir) == [
        f"knowledge/extra.yaml:2: invalid id '{bad_id}': "
        "use lowercase letters, digits and '-', at most 40"
    ]


def test_an_id_of_40_characters_is_fine(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("id: quokka-care", f"id: {'q' * 40}"))
    assert "q" * 40 in load_knowledge(kdir).by_id


def test_answer_over_telegram_limit(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("Feed them leaves.", "x" * 4097))
    assert problems(kdir) == [
        "knowledge/extra.yaml:5: entry 'quokka-care': answer is 4097 characters, "
        "Telegram allows 4096"
    ]


def test_answer_of_exactly_4096_characters_is_accepted(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("Feed them leaves.", "x" * 4096))
    assert len(load_knowledge(kdir).by_id["quokka-care"].answer) == 4096


def test_title_too_long_for_a_button(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("title: Quokka care", f"title: {'T' * 41}"))
    assert problems(kdir) == [
        "knowledge/extra.yaml:4: entry 'quokka-care': title is 41 characters, "
        "at most 40 fit a button"
    ]


def test_same_phrasing_under_two_entries(kdir: Path) -> None:
    # case, spacing and punctuation do not make a phrasing different
    extra = GOOD_EXTRA + WOMBAT.replace("wombat digging", "Quokka   Husbandry?")
    write(kdir, "extra.yaml", extra)
    assert problems(kdir) == [
        "knowledge/extra.yaml:14: phrasing 'Quokka   Husbandry?' appears in 'quokka-care' "
        "and in 'wombat-care' (also knowledge/extra.yaml:7)"
    ]


def test_phrasings_equal_for_the_matcher_are_duplicates(kdir: Path) -> None:
    """'what's ...' and 'whats ...' normalise to the same text in the matcher: only one of
    the two entries could ever be reached through it, so check must flag it."""
    extra = GOOD_EXTRA.replace("quokka husbandry", "what's quokka husbandry")
    extra += WOMBAT.replace("wombat digging", "whats quokka husbandry")
    write(kdir, "extra.yaml", extra)
    found = problems(kdir)
    assert len(found) == 1
    assert found[0].startswith("knowledge/extra.yaml:14: phrasing 'whats quokka husbandry'")


def test_a_contract_id_missing(kdir: Path) -> None:
    general = kdir / "general.yaml"
    text = general.read_text(encoding="utf-8")
    assert "- id: thanks\n" in text
    general.write_text(text.replace("- id: thanks\n", "- id: thanks-old\n"), encoding="utf-8")
    assert problems(kdir) == ["knowledge: required entry 'thanks' is missing"]


def test_unknown_field(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA + "    colour: blue\n")
    assert problems(kdir) == ["knowledge/extra.yaml:9: entry 'quokka-care': unknown field 'colour'"]


def test_small_talk_has_no_cues(kdir: Path) -> None:
    extra = GOOD_EXTRA.replace("kind: faq", "kind: smalltalk") + "    cues: [quokka food]\n"
    write(kdir, "extra.yaml", extra)
    assert problems(kdir) == [
        "knowledge/extra.yaml:9: entry 'quokka-care': small talk has no 'cues'"
    ]


def test_a_covered_entry_may_have_cues(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA + '    cues: ["feed|feeding + quokka|quokkas"]\n')
    entry = load_knowledge(kdir).by_id["quokka-care"]
    assert entry.cues == ("feed|feeding + quokka|quokkas",)


def test_a_covered_entrys_cue_needs_a_topic_and_an_ask(kdir: Path) -> None:
    """A lone phrase under a milestone's or FAQ's cues is almost always a misplaced phrasing."""
    write(kdir, "extra.yaml", GOOD_EXTRA + "    cues:\n      - how do i feed a quokka\n")
    assert problems(kdir) == [
        "knowledge/extra.yaml:10: entry 'quokka-care': cue 'how do i feed a quokka': a covered"
        " entry's cue needs ' + ' (a topic and an ask)"
    ]


def test_a_cue_without_words(kdir: Path) -> None:
    extra = (
        GOOD_EXTRA.replace("kind: faq", "kind: redirect")
        + '    cues:\n      - visa\n      - "?!"\n'
    )
    write(kdir, "extra.yaml", extra)
    assert problems(kdir) == [
        "knowledge/extra.yaml:11: entry 'quokka-care': cue '?!' has a part with no words"
    ]


def test_a_word_ending_cue_needs_letters(kdir: Path) -> None:
    extra = GOOD_EXTRA.replace("kind: faq", "kind: redirect") + '    cues: ["*1"]\n'
    write(kdir, "extra.yaml", extra)
    assert problems(kdir) == [
        "knowledge/extra.yaml:9: entry 'quokka-care': cue '*1': a word-ending cue is '*' "
        "and 3+ letters, like '*pril'"
    ]


def test_unknown_top_level_key(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA + "entires: []\n")
    assert problems(kdir) == ["knowledge/extra.yaml:9: unknown top-level key 'entires'"]


def test_milestone_without_order(kdir: Path) -> None:
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("kind: faq", "kind: milestone"))
    assert problems(kdir) == [
        "knowledge/extra.yaml:2: entry 'quokka-care': a milestone needs 'order', "
        "a whole number from 1"
    ]


def test_milestone_order_used_twice(kdir: Path) -> None:
    residency = load_knowledge(kdir).by_id["residency"]
    assert residency.order == 3
    write(kdir, "zz-extra.yaml", GOOD_EXTRA.replace("kind: faq", "kind: milestone\n    order: 3"))
    assert problems(kdir) == [
        "knowledge/zz-extra.yaml:4: milestone order 3 is used by 'residency' too"
    ]


def test_same_synonym_under_two_canonical_terms(kdir: Path) -> None:
    write(
        kdir,
        "extra.yaml",
        GOOD_EXTRA + "synonyms:\n  quokka: [marsupial, qk]\n  wombat: [burrower, Marsupial]\n",
    )
    assert problems(kdir) == [
        "knowledge/extra.yaml:11: synonym 'Marsupial' is listed under 'wombat' and under "
        "'quokka' (knowledge/extra.yaml:10)"
    ]


def test_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    assert problems(Path("empty")) == ["empty: no .yaml files in the knowledge folder"]


def test_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems(Path("nowhere")) == ["nowhere: knowledge folder not found"]


def test_every_problem_in_every_file_is_reported_together(kdir: Path) -> None:
    write(kdir, "extra-a.yaml", GOOD_EXTRA.replace("title: Quokka care", "title: Quokka: care"))
    write(
        kdir,
        "extra-b.yaml",
        GOOD_EXTRA.replace("quokka-care", "wombat-care")
        .replace("quokka husbandry", "wombat digging")
        .replace("kind: faq", "kind: faqs")
        .replace("[residency]", "[nowhere]"),
    )
    assert problems(kdir) == [
        f"knowledge/extra-a.yaml:4: YAML syntax error: {MAPPING_ERROR}",
        "knowledge/extra-b.yaml:3: entry 'wombat-care': unknown kind 'faqs' "
        "(one of: milestone, faq, overview, smalltalk, redirect)",
    ]


def test_every_problem_of_one_entry_is_reported_together(kdir: Path) -> None:
    """An unknown field must not hide the entry's other mistakes until the next run."""
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("kind: faq", "kind: faqs") + "    colour: blue\n")
    assert problems(kdir) == [
        "knowledge/extra.yaml:3: entry 'quokka-care': unknown kind 'faqs' "
        "(one of: milestone, faq, overview, smalltalk, redirect)",
        "knowledge/extra.yaml:9: entry 'quokka-care': unknown field 'colour'",
    ]


def test_a_broken_folder_is_never_half_loaded(kdir: Path) -> None:
    """One bad entry among thirty good ones still refuses the whole folder."""
    before = load_knowledge(kdir)
    write(kdir, "extra.yaml", GOOD_EXTRA.replace("kind: faq", "kind: faqs"))
    with pytest.raises(KnowledgeError) as info:
        result = load_knowledge(kdir)
        pytest.fail(f"loaded {len(result.entries)} entries from a broken folder")
    assert [p.path for p in info.value.problems] == ["knowledge/extra.yaml"]
    assert [p.line for p in info.value.problems] == [3]
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    # the previous good knowledge is untouched and still usable
    assert before.get("residency") is not None


def test_absolute_path_outside_cwd_is_shown_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(bundled_knowledge_dir(), tmp_path / "kb")
    write(tmp_path / "kb", "extra.yaml", GOOD_EXTRA + "    colour: blue\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    shown = display_path(tmp_path / "kb" / "extra.yaml")
    assert shown.startswith("/")
    assert problems(tmp_path / "kb") == [f"{shown}:9: entry 'quokka-care': unknown field 'colour'"]
