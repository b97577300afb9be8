"""`faqbot report` and `faqbot export` on a real database, and the HTML page in a real browser."""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import PrivacyConfig, bundled_knowledge_dir
from bot.report import collect, format_text, parse_since, render_html
from bot.state import LoggedQuestion
from bot.storage import DAY, SqliteStore

CHROMIUM = "/usr/bin/chromium"
EVIL = "<script>alert('x')</script> & “quotes”"
VOID = {"meta", "br", "img", "hr", "input", "link"}


def fill(store: SqliteStore, now: float) -> None:
    """A week of questions: answers, a clarify, fallbacks (one hostile), votes."""
    for day in range(6):
        at = now - day * DAY - 60
        qid = store.log_question(
            LoggedQuestion(1, 1, "private", "residency", "answer", "residency", 90.0, (), at)
        )
        store.add_feedback(1 + day, day % 3 != 0, question_id=qid)
    store.log_question(
        LoggedQuestion(2, 2, "private", "burnout", "answer", "work-life-balance", 80)
    )
    store.log_question(LoggedQuestion(2, 2, "private", "hmm", "clarify", "fellowship", 50))
    for _ in range(2):
        store.log_question(
            LoggedQuestion(3, 3, "private", EVIL, "fallback", None, 10.0, (("residency", 10.0),))
        )
    store.log_question(
        LoggedQuestion(4, 4, "private", "old", "fallback", None, 1.0, (), now - 30 * DAY)
    )
    store.add_feedback(9, True, entry_id="retirement")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    store = SqliteStore(path)
    fill(store, time.time())
    store.close()
    return path


@pytest.fixture
def config_file(tmp_path: Path, db: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"storage: {db.name}\nknowledge: {bundled_knowledge_dir()}\n")
    return path


class Page(HTMLParser):
    """Structure of an HTML page: tags, ids, text, and whether non-void tags balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids |= {v for k, v in attrs if k == "id" and v}
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


SECTIONS = {"summary", "per-day", "decisions", "top-entries", "helpful", "hours", "unanswered"}


def test_text_summary(db: Path) -> None:
    with SqliteStore(db) as store:
        data = collect(store, parse_since("7d"), titles={"residency": "Residency"})
    text = format_text(data)
    assert "Questions: 10 (answered 70% · did-you-mean 10% · fell back 20%)" in text
    assert "6  Residency" in text
    assert "Helpful: 71% 👍 of 7 votes" in text
    assert f"2× {EVIL}" in text


def test_html_is_self_contained_escaped_and_has_every_chart(db: Path) -> None:
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    with SqliteStore(db) as store:
        data = collect(store, parse_since("7d"), titles={"residency": "Residency & co"})
    page = render_html(data)
    doc = parse(page)
    assert doc.errors == [] and doc.stack == []
    assert doc.ids >= SECTIONS
    assert doc.tags.count("svg") == 4  # per day, decision mix, top entries, helpful share
    assert "script" not in doc.tags and "link" not in doc.tags and "img" not in doc.tags
    assert "http://" not in page.replace("http://www.w3.org/", "")  # nothing fetched
    assert "https://" not in page
    text = "".join(doc.text)
    assert EVIL in text and "Residency & co" in text  # shown as text, never as markup
    assert "&lt;script&gt;" in page


def test_html_without_matplotlib_still_has_the_numbers(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.report.charts", lambda data: None)
    with SqliteStore(db) as store:
        page = render_html(collect(store, None))
    doc = parse(page)
    assert doc.errors == [] and "svg" not in doc.tags
    assert "no-charts" in doc.ids and "faqbot[report]" in page
    assert doc.ids >= SECTIONS


@pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"no headless browser: {CHROMIUM} is not installed"
)
def test_the_page_renders_in_a_real_headless_browser(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    with SqliteStore(db) as store:
        page = render_html(collect(store, parse_since("7d")))
    html_file = tmp_path / "report.html"
    html_file.write_text(page, encoding="utf-8")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = parse(done.stdout)
    assert dom.ids >= SECTIONS
    assert dom.tags.count("svg") == 4
    assert "script" not in dom.tags  # the hostile question stayed text
    assert EVIL in "".join(dom.text)


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("7d", now) == now - 7 * DAY
    assert parse_since("24h", now) == now - DAY
    assert parse_since("2w", now) == now - 14 * DAY
    assert parse_since("all", now) is None
    assert parse_since("2024-06-01") == 1_717_200_000.0
    with pytest.raises(ValueError, match=r"expected e\.g\. 7d"):
        parse_since("last tuesday")


# ------------------------------------------------------------------------ CLI


def test_cli_report_prints_and_writes_html(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--config", str(config_file), "--html", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "faqbot report:" in printed and "Residency" in printed and f"wrote {out}" in printed
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", "--config", str(config_file), "--since", "all"]) == 0
    assert "Questions: 11" in capsys.readouterr().out


def test_cli_fails_in_one_line_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("storage: missing.sqlite3\n")
    for argv in (["report"], ["export", "--csv", str(tmp_path / "x.csv")]):
        assert main([*argv, "--config", str(config)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "missing.sqlite3: no database here" in err
    assert not (tmp_path / "missing.sqlite3").exists() and not (tmp_path / "x.csv").exists()
    assert main(["report", "--config", str(config), "--since", "soon"]) == 1
    assert "expected e.g. 7d" in capsys.readouterr().err


def test_cli_export_csv(config_file: Path, tmp_path: Path, db: Path) -> None:
    with SqliteStore(db) as store:
        store.log_question(LoggedQuestion(5, 5, "private", "=HYPERLINK(1)", "fallback", None, 0))
    out = tmp_path / "log.csv"
    assert main(["export", "--config", str(config_file), "--csv", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    assert set(rows[0]) >= {"at", "text", "decision", "entry_id", "score", "helpful", "comment"}
    assert sum(r["helpful"] == "yes" for r in rows) == 4
    assert sum(r["helpful"] == "no" for r in rows) == 2
    assert any(r["text"] == EVIL for r in rows)
    assert any(r["text"] == "'=HYPERLINK(1)" for r in rows)  # no formula in a spreadsheet


def test_export_respects_store_text_false(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = SqliteStore(path, PrivacyConfig(store_text=False))
    store.log_question(LoggedQuestion(1, 1, "private", "private words", "answer", "residency", 90))
    assert [r["text"] for r in store.export_rows()] == [""]
