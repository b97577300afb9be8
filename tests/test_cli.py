"""The `faqbot` command as a user runs it: a real subprocess, real files, exact output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import bundled_knowledge_dir
from bot.evaluate import typo_variants
from bot.knowledge import KnowledgeBase, display_path, load_knowledge

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "tests" / "data" / "eval.yaml"
JSON_KEYS = {"query", "decision", "id", "kind", "title", "score", "candidates"}

# A valid extra knowledge file; the check tests break it (see tests/test_knowledge.py).
GOOD_EXTRA = """\
entries:
  - id: quokka-care
    kind: faq
    title: Quokka care
    answer: Feed them leaves.
    questions:
      - quokka husbandry
    follow_ups: [residency]
"""


def faqbot(
    *args: str | Path, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def assert_one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(bundled_knowledge_dir())


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty working folder: no ./config.yaml there to be picked up."""
    return tmp_path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the knowledge at tmp_path/knowledge with two problems in extra.yaml."""
    shutil.copytree(bundled_knowledge_dir(), tmp_path / "knowledge")
    text = GOOD_EXTRA.replace("kind: faq", "kind: faqs")
    text += "  - id: wombat-care\n    kind: faq\n    title: Wombat care\n"
    text += "    answer: Dig.\n    questions: [wombat digging]\n    colour: brown\n"
    (tmp_path / "knowledge" / "extra.yaml").write_text(text, encoding="utf-8")
    return tmp_path / "knowledge"


BROKEN_LINES = [
    "knowledge/extra.yaml:3: entry 'quokka-care': unknown kind 'faqs' "
    "(one of: milestone, faq, overview, smalltalk, redirect)",
    "knowledge/extra.yaml:14: entry 'wombat-care': unknown field 'colour'",
]


# ----------------------------------------------------------------- ask --json


def test_ask_json_prints_exactly_one_object_with_the_contract_keys(
    cwd: Path, kb: KnowledgeBase
) -> None:
    question = "how do I choose a specialty?"
    done = faqbot("ask", "--json", question, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == JSON_KEYS
    assert data["query"] == question
    assert data["decision"] == "answer"
    assert data["id"] in {"choosing-specialty", "faq-choosing-specialty"}
    entry = kb.by_id[data["id"]]
    assert (data["kind"], data["title"]) == (entry.kind, entry.title)
    assert isinstance(data["candidates"], list)
    assert 1 <= len(data["candidates"]) <= 3
    for candidate in data["candidates"]:
        assert set(candidate) == {"id", "score"}
        assert candidate["id"] in kb.by_id
        assert 0 <= candidate["score"] <= 100
    assert data["candidates"][0] == {"id": data["id"], "score": data["score"]}


def test_ask_json_plain_fallback_has_null_id_kind_title(cwd: Path) -> None:
    done = faqbot("ask", "--json", "what is the", cwd=cwd)
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data == {
        "query": "what is the",
        "decision": "fallback",
        "id": None,
        "kind": None,
        "title": None,
        "score": 0.0,
        "candidates": [],
    }


def test_ask_json_redirect_is_a_fallback_with_its_id_and_kind(cwd: Path, kb: KnowledgeBase) -> None:
    done = faqbot("ask", "--json", "do I need a J-1 waiver", cwd=cwd)
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["decision"] == "fallback"
    assert data["kind"] == "redirect"
    assert data["id"] in kb.by_id
    assert kb.by_id[data["id"]].kind == "redirect"
    assert data["title"] == kb.by_id[data["id"]].title


def test_ask_json_keeps_non_ascii_text(cwd: Path) -> None:
    data = json.loads(faqbot("ask", "--json", "résidency?", cwd=cwd).stdout)
    assert data["query"] == "résidency?"
    assert data["id"] == "residency"


def test_ask_json_stdin_writes_one_line_per_question_in_order(cwd: Path) -> None:
    questions = ["hi", "residency", "do I need a J-1 waiver", "what is the", "thanks!"]
    done = faqbot("ask", "--json", "-", cwd=cwd, stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(questions)
    results = [json.loads(line) for line in lines]
    assert [r["query"] for r in results] == questions
    assert all(set(r) == JSON_KEYS for r in results)
    assert [r["id"] for r in results] == ["greeting", "residency", results[2]["id"], None, "thanks"]
    # the batch answers exactly as one-off calls do
    single = json.loads(faqbot("ask", "--json", "do I need a J-1 waiver", cwd=cwd).stdout)
    assert results[2] == single


def test_ask_json_stdin_without_final_newline(cwd: Path) -> None:
    done = faqbot("ask", "--json", "-", cwd=cwd, stdin="hi\nbye")
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == ["greeting", "goodbye"]


# ----------------------------------------------------------------- ask, readable


def test_ask_prints_a_readable_answer_with_decision_and_score(cwd: Path, kb: KnowledgeBase) -> None:
    done = faqbot("ask", "residency", cwd=cwd)
    assert done.returncode == 0
    entry = kb.by_id["residency"]
    assert entry.title in done.stdout
    assert entry.answer.splitlines()[0] in done.stdout
    assert "answer" in done.stdout
    assert "score 100.0" in done.stdout
    assert not done.stdout.lstrip().startswith("{")


def test_ask_readable_fallback_says_so(cwd: Path) -> None:
    done = faqbot("ask", "what is the", cwd=cwd)
    assert done.returncode == 0
    assert "fallback" in done.stdout
    assert "score 0.0" in done.stdout


# ----------------------------------------------------------------- check


def test_check_passes_on_the_shipped_knowledge(cwd: Path, kb: KnowledgeBase) -> None:
    done = faqbot("check", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert f"{len(kb.entries)} entries" in lines[0]
    assert f"{kb.phrasing_count} phrasings" in lines[0]


def test_check_fails_on_a_broken_copy_with_exact_lines(broken: Path) -> None:
    done = faqbot("check", "--knowledge", "knowledge", cwd=broken.parent)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout == ""
    assert done.stderr.splitlines() == BROKEN_LINES


def test_check_with_an_absolute_knowledge_path_elsewhere(broken: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = faqbot("check", "--knowledge", broken, cwd=elsewhere)
    assert done.returncode == 1
    shown = display_path(broken / "extra.yaml")  # absolute: outside this test's cwd
    assert done.stderr.splitlines() == [
        line.replace("knowledge/extra.yaml", shown) for line in BROKEN_LINES
    ]


def test_every_command_refuses_broken_knowledge(broken: Path) -> None:
    for args in (["ask", "residency"], ["ask", "--json", "-"], ["eval", EVAL_FILE]):
        done = faqbot(*args, "--knowledge", "knowledge", cwd=broken.parent, stdin="hi\n")
        assert done.returncode == 1, args
        assert done.stdout == ""
        assert done.stderr.splitlines() == BROKEN_LINES


def test_knowledge_option_overrides_the_config(broken: Path) -> None:
    work = broken.parent
    (work / "config.yaml").write_text("knowledge: knowledge\n", encoding="utf-8")
    assert faqbot("check", cwd=work).returncode == 1  # ./config.yaml is read by default
    done = faqbot("check", "--knowledge", bundled_knowledge_dir(), cwd=work)
    assert done.returncode == 0, done.stderr


def test_check_on_a_missing_folder(cwd: Path) -> None:
    line = assert_one_clear_line(faqbot("check", "--knowledge", "nowhere", cwd=cwd))
    assert line == "nowhere: knowledge folder not found"


# ----------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    "command", [["check"], ["ask", "residency"], ["eval", str(EVAL_FILE)]], ids=lambda c: c[0]
)
def test_missing_config_file(cwd: Path, command: list[str]) -> None:
    line = assert_one_clear_line(faqbot(*command, "--config", "missing.yaml", cwd=cwd))
    assert line == "missing.yaml: file not found"


def test_bad_yaml_config(cwd: Path) -> None:
    (cwd / "bad.yaml").write_text("matching:\n  margin: 3\n oops: [\n", encoding="utf-8")
    line = assert_one_clear_line(faqbot("check", "--config", "bad.yaml", cwd=cwd))
    assert line.startswith("bad.yaml:3: YAML syntax error")


def test_unknown_option_in_config(cwd: Path) -> None:
    (cwd / "c.yaml").write_text("log_level: INFO\nmatching:\n  treshold: 3\n", encoding="utf-8")
    line = assert_one_clear_line(faqbot("ask", "residency", "--config", "c.yaml", cwd=cwd))
    assert line.startswith("c.yaml:3: unknown key 'matching.treshold'")


def test_unknown_command_line_option(cwd: Path) -> None:
    done = faqbot("check", "--frobnicate", cwd=cwd)
    assert done.returncode == 2
    line = assert_one_clear_line(done)
    assert "--frobnicate" in line


def test_config_thresholds_reach_the_matcher(cwd: Path) -> None:
    (cwd / "strict.yaml").write_text(
        "matching:\n  answer_threshold: 100.5\n  clarify_threshold: 100.5\n", encoding="utf-8"
    )
    loose = json.loads(faqbot("ask", "--json", "residency", cwd=cwd).stdout)
    assert loose["decision"] == "answer"
    done = faqbot("ask", "--json", "residency", "--config", "strict.yaml", cwd=cwd)
    strict = json.loads(done.stdout)
    assert strict["decision"] == "fallback"
    assert strict["id"] is None


# ----------------------------------------------------------------- eval


def _eval_cases() -> list[dict[str, object]]:
    cases = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
    assert isinstance(cases, list)
    return cases


def test_eval_prints_every_report_section(cwd: Path) -> None:
    done = faqbot("eval", EVAL_FILE, cwd=cwd)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"{len(_eval_cases())} questions" in out.splitlines()[0]
    for section in (
        "overall correct",
        "in-scope answered right",
        "out-of-scope fell back",
        "small talk recognised",
        "clarify rate",
        " by style:",
        " by entry:",
        " misses (",
    ):
        assert section in out, section
    styles = {str(c.get("style")) for c in _eval_cases()}
    for style in styles:
        assert f"  {style} " in out, style
    assert "typo variants" not in out


def test_eval_json_gives_the_documented_fields(cwd: Path) -> None:
    done = faqbot("eval", EVAL_FILE, "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    cases = _eval_cases()
    n = len(cases)
    out_of_scope = sum(1 for c in cases if not c.get("accept"))
    for key in (
        "overall",
        "in_scope_answered",
        "out_of_scope_fallback",
        "smalltalk",
        "clarify_rate",
        "by_style",
        "by_entry",
        "misses",
    ):
        assert key in data, key
    assert data["questions"] == n
    assert data["overall"]["total"] == n
    assert data["out_of_scope_fallback"]["total"] == out_of_scope
    assert data["in_scope_answered"]["total"] == n - out_of_scope
    assert (
        data["in_scope_answered"]["right"] + data["out_of_scope_fallback"]["right"]
        == data["overall"]["right"]
    )
    assert sum(t["total"] for t in data["by_style"].values()) == n
    assert len(data["misses"]) == n - data["overall"]["right"]
    assert 0 <= data["clarify_rate"] <= 100
    for miss in data["misses"]:
        assert {"q", "accept", "style", "decision", "id", "score"} <= set(miss)
    assert "typos" not in data


def test_eval_misses_agree_with_ask(cwd: Path) -> None:
    data = json.loads(faqbot("eval", EVAL_FILE, "--json", cwd=cwd).stdout)
    misses = data["misses"][:5]
    if not misses:
        pytest.skip("no misses to compare")
    done = faqbot("ask", "--json", "-", cwd=cwd, stdin="".join(m["q"] + "\n" for m in misses))
    asked = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(a["decision"], a["id"]) for a in asked] == [(m["decision"], m["id"]) for m in misses]


def test_eval_typos_adds_a_separate_report(cwd: Path) -> None:
    cases = _eval_cases()
    expected = sum(len(typo_variants(str(c["q"]), 2)) for c in cases)
    done = faqbot("eval", EVAL_FILE, "--typos", "2", cwd=cwd)
    assert done.returncode == 0, done.stderr
    head, _, typo_part = done.stdout.partition("typo variants:")
    assert "overall correct" in head
    assert typo_part.splitlines()[0].strip() == f"{expected} (2 per question)"
    assert "overall correct" in typo_part
    assert "misses (" in typo_part
    data = json.loads(faqbot("eval", EVAL_FILE, "--typos", "2", "--json", cwd=cwd).stdout)
    assert data["typos"]["per_question"] == 2
    assert data["typos"]["overall"]["total"] == expected
    assert data["overall"]["total"] == len(cases)


def test_eval_typos_gives_n_variants_per_question(cwd: Path) -> None:
    (cwd / "e.yaml").write_text(
        "- q: how do I choose a specialty\n  accept: [choosing-specialty, faq-choosing-specialty]\n"
        "- q: what is the salary of a cardiologist\n  accept: []\n"
        "- q: thanks a lot\n  accept: [thanks]\n  style: smalltalk\n",
        encoding="utf-8",
    )
    data = json.loads(faqbot("eval", "e.yaml", "--typos", "2", "--json", cwd=cwd).stdout)
    assert data["questions"] == 3
    assert data["typos"]["overall"]["total"] == 6
    assert data["by_style"]["smalltalk"]["total"] == 1
    assert data["by_style"]["out-of-scope"]["total"] == 1


def test_eval_file_with_an_unknown_id_names_its_line(cwd: Path) -> None:
    (cwd / "e.yaml").write_text(
        "- q: hi\n  accept: [greeting]\n- q: how do i retire\n  accept:\n    - retirement\n"
        "    - retirment\n",
        encoding="utf-8",
    )
    line = assert_one_clear_line(faqbot("eval", "e.yaml", cwd=cwd))
    assert line == "e.yaml:6: unknown id 'retirment'"


def test_eval_missing_file(cwd: Path) -> None:
    line = assert_one_clear_line(faqbot("eval", "nope.yaml", cwd=cwd))
    assert line == "nope.yaml: file not found"


def test_eval_negative_typos_is_a_usage_error(cwd: Path) -> None:
    done = faqbot("eval", EVAL_FILE, "--typos", "-1", cwd=cwd)
    assert done.returncode == 2
    assert "--typos" in assert_one_clear_line(done)
