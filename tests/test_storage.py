"""SqliteStore on real SQLite files in a temp dir: schema, privacy, retention, operator queries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.config import Config, PrivacyConfig
from bot.state import ChatState, LoggedQuestion
from bot.storage import (
    DAY,
    MIGRATIONS,
    SCHEMA_VERSION,
    SqliteStore,
    StorageError,
    group_key,
    make_store,
)

USER = 123456789
NOW = 1_717_243_200.0  # 2024-06-01 12:00:00 UTC


def q(
    text: str,
    decision: str = "answer",
    entry: str | None = "residency",
    *,
    user: int = USER,
    at: float = NOW,
    chat_type: str = "private",
    candidates: tuple[tuple[str, float], ...] = (),
) -> LoggedQuestion:
    chat = user if chat_type == "private" else -1001
    score = 80.0 if decision == "answer" else 30.0
    return LoggedQuestion(user, chat, chat_type, text, decision, entry, score, candidates, at)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
def store(path: Path) -> SqliteStore:
    return SqliteStore(path)


def all_cells(path: Path) -> list[tuple[str, object]]:
    db = sqlite3.connect(path)
    cells = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in db.execute(f"SELECT * FROM {table}"):
            cells += [(table, cell) for cell in row]
    db.close()
    return cells


# ------------------------------------------------------------------------ schema


def test_created_on_first_run_in_wal_mode_with_the_current_schema(
    store: SqliteStore, path: Path
) -> None:
    assert path.is_file()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "chats", "users", "questions", "feedback", "unanswered_groups"} <= tables
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_old_database_is_migrated_forward_keeping_its_rows(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO meta VALUES ('user_key_secret', ?)", ("ab" * 32,))
    db.execute(
        "INSERT INTO questions (at, chat_type, user_key, text, decision, entry_id, score) "
        "VALUES (?, 'private', 'k', 'old question', 'fallback', NULL, 10)",
        (NOW,),
    )
    db.commit()
    db.close()
    store = SqliteStore(path)
    assert store.schema_version == SCHEMA_VERSION
    (row,) = store.export_rows()
    assert row["text"] == "old question" and row["forwarded"] == ""
    assert store.unanswered()[0].sample == "old question"  # a table from migration 2


def test_a_database_from_a_newer_faqbot_is_refused(path: Path) -> None:
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StorageError, match="newer than this faqbot"):
        SqliteStore(path)


def test_open_existing_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no database here"):
        SqliteStore.open_existing(tmp_path / "nope.sqlite3")
    assert not (tmp_path / "nope.sqlite3").exists()


def test_a_killed_writer_never_corrupts_the_file(path: Path) -> None:
    """Kill -9 a process in the middle of writing in a loop; the file stays consistent."""
    SqliteStore(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from bot.state import LoggedQuestion
        from bot.storage import SqliteStore
        store = SqliteStore({str(path)!r})
        print("ready", flush=True)
        i = 0
        while True:
            i += 1
            store.log_question(LoggedQuestion(i, i, "private", "q" * 500, "answer", "x", 1.0))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    store = SqliteStore(path)
    assert store._read("PRAGMA integrity_check")[0][0] == "ok"
    assert store.question_count() > 0


def test_usable_from_another_thread(store: SqliteStore) -> None:
    with ThreadPoolExecutor(max_workers=1) as worker:
        log_id = worker.submit(store.log_question, q("residency")).result()
        assert worker.submit(store.question, log_id, USER).result() is not None
    assert store.question_count() == 1


# ------------------------------------------------------------------------ state


def test_chat_state_and_stage_survive_a_restart(path: Path) -> None:
    store = SqliteStore(path)
    store.save_chat_state(USER, ChatState(last_entry="fellowship", awaiting_comment_for=3))
    store.set_stage(USER, "fellow")
    key = store.user_key(USER)
    store.close()
    again = SqliteStore(path)
    assert again.chat_state(USER) == ChatState("fellowship", 3)
    assert again.stage(USER) == "fellow"
    assert again.user_key(USER) == key  # the secret is kept in the database
    again.set_stage(USER, None)
    assert again.stage(USER) is None


def test_the_log_never_holds_raw_user_ids(store: SqliteStore, path: Path) -> None:
    store.log_question(q("residency"))
    store.log_question(q("fellowship", chat_type="group"))
    qid = store.log_question(q("boards"))
    store.add_feedback(USER, False, question_id=qid)
    store.set_stage(USER, "resident")
    key = store.user_key(USER)
    assert len(key) == 32 and str(USER) not in key
    for table, cell in all_cells(path):
        if table != "chats":  # per-chat state is keyed by chat id; /forget removes it
            assert str(USER) not in str(cell), (table, cell)
    other = SqliteStore(path.with_name("other.sqlite3"))
    assert other.user_key(USER) != key  # a random secret per database


def test_store_text_false_writes_no_text(path: Path) -> None:
    store = SqliteStore(path, PrivacyConfig(store_text=False))
    qid = store.log_question(q("my hushhush career worry"))
    vote = store.add_feedback(USER, False, question_id=qid)
    assert vote is not None
    assert store.add_feedback_comment(vote.feedback_id, USER, "another hushhush detail")
    assert not any("hushhush" in str(cell) for _, cell in all_cells(path))
    (row,) = store.export_rows()
    assert row["decision"] == "answer" and row["score"] == 80.0 and row["text"] == ""
    assert store.question(qid, USER).text is None  # type: ignore[union-attr]


def test_feedback_one_vote_per_user_and_question(store: SqliteStore) -> None:
    qid = store.log_question(q("residency"))
    first = store.add_feedback(USER, True, question_id=qid)
    second = store.add_feedback(USER, False, question_id=qid)
    assert first is not None and second is not None
    assert first.previous is None and second.previous is True
    assert first.feedback_id == second.feedback_id and second.entry_id == "residency"
    assert store.feedback_totals() == (1, 0)
    assert store.add_feedback(USER, True, question_id=999) is None
    assert not store.add_feedback_comment(first.feedback_id, USER + 1, "not mine")
    entry_vote = store.add_feedback(USER, True, entry_id="retirement")
    assert entry_vote is not None and entry_vote.previous is None
    assert store.entry_feedback() == [("residency", 0, 1), ("retirement", 1, 0)]


def test_forget_user_deletes_every_row_under_the_key(store: SqliteStore, path: Path) -> None:
    mine = store.log_question(q("residency"))
    theirs = store.log_question(q("fellowship", user=77))
    store.add_feedback(USER, False, question_id=mine)
    store.add_feedback(77, True, question_id=mine)  # someone else's vote on my question
    store.add_feedback(USER, True, question_id=theirs)
    store.add_feedback(USER, True, entry_id="retirement")
    store.set_stage(USER, "resident")
    store.save_chat_state(USER, ChatState("residency"))
    store.save_relay(-500, 10, USER, USER, mine)
    key = store.user_key(USER)
    data = store.user_data(USER)
    assert len(data["questions"]) == 1 and len(data["feedback"]) == 3
    assert data["stage"] == "resident" and data["chat_state"]["last_entry"] == "residency"
    assert data["forwarded_replies"] == 1
    gone = store.forget_user(USER)
    assert gone == 8  # 4 feedback rows, 1 question, stage, chat state, relay
    assert not any(key in str(cell) for _, cell in all_cells(path))
    assert store.relay_target(-500, 10) is None
    assert store.question_count() == 1 and store.feedback_totals() == (0, 0)
    assert store.user_data(USER)["questions"] == [] and store.forget_user(USER) == 0


def test_retention_purges_old_rows(path: Path) -> None:
    store = SqliteStore(path, PrivacyConfig(retention_days=30))
    old = store.log_question(q("old one", at=time.time() - 40 * DAY))
    store.log_question(q("new one", at=time.time()))
    store.add_feedback(USER, True, question_id=old)
    store.set_stage(USER, "resident")
    assert store.purge_expired() == 2
    assert [r["text"] for r in store.export_rows()] == ["new one"]
    assert store.stage(USER) == "resident"  # a setting, not a log row; /forget removes it
    forever = SqliteStore(path, PrivacyConfig(retention_days=None))
    assert forever.purge_expired() == 0


def test_make_store_purges_at_start(tmp_path: Path) -> None:
    config = Config(storage_path=tmp_path / "bot.sqlite3", privacy=PrivacyConfig(retention_days=1))
    first = make_store(config)
    first.log_question(q("ancient", at=time.time() - 3 * DAY))
    first.close()
    assert make_store(config).question_count() == 0


def test_relays_for_talk_to_a_person(store: SqliteStore) -> None:
    qid = store.log_question(q("zebra", "fallback", None))
    assert store.mark_forwarded(qid) and not store.mark_forwarded(qid)
    store.save_relay(-500, 42, USER, USER, qid)
    assert store.relay_target(-500, 42) == USER and store.relay_target(-500, 43) is None


# ------------------------------------------------------------------------ operator queries


def test_stats(store: SqliteStore) -> None:
    store.log_question(q("a", at=NOW - 3600))  # 11:00 today
    store.log_question(q("b", "clarify", "fellowship", at=NOW - 3 * DAY))
    store.log_question(q("c", "fallback", None, at=NOW - 30 * DAY))
    qid = store.log_question(q("d", at=NOW - 1))
    store.add_feedback(USER, True, question_id=qid)
    store.add_feedback(USER + 1, False, question_id=qid)
    s = store.stats(NOW)
    assert (s.today, s.week, s.total) == (2, 3, 4)
    assert s.decisions == {"answer": 2, "clarify": 1, "fallback": 1}
    assert s.top_entries == [("residency", 2)]
    assert (s.votes, s.helpful) == (2, 1)
    assert s.busiest_hours == [(11, 2), (12, 2)]


def test_daily_counts_fill_empty_days(store: SqliteStore) -> None:
    store.log_question(q("a", at=NOW - 2 * DAY))
    store.log_question(q("b", "fallback", None, at=NOW))
    days = store.daily_counts(NOW - 3 * DAY, NOW)
    assert [d.day for d in days] == ["2024-05-29", "2024-05-30", "2024-05-31", "2024-06-01"]
    assert [d.total for d in days] == [0, 1, 0, 1]
    assert days[-1].counts["fallback"] == 1
    assert len(store.daily_counts(None, NOW)) == 3


def test_group_key_groups_wordings_not_topics() -> None:
    assert group_key("How do I get a visa?") == group_key("how to get visas")
    assert group_key("visa, how to get one") == group_key("How do I get a visa")
    assert group_key("how do I get a visa") != group_key("how do I get a green card")
    assert group_key("what?") == "what"


def test_unanswered_groups_similar_questions_with_stable_ids(path: Path) -> None:
    store = SqliteStore(path)
    cands = (("residency", 40.0), ("fellowship", 35.0))
    for text in ("Observership tips?", "observership tips", "tips for observership"):
        store.log_question(q(text, "fallback", None, candidates=cands))
    store.log_question(q("zebra hovercraft", "clarify", "fellowship", candidates=cands[::-1]))
    store.log_question(q("how do I get a visa", "fallback", "redirect-visa"))  # a redirect
    store.log_question(q("residency", "answer"))
    groups = store.unanswered()
    tips, zebra = group_key("observership tips"), group_key("zebra hovercraft")
    assert [(g.count, g.key) for g in groups] == [(3, tips), (1, zebra)]
    top = groups[0]
    assert top.texts[0] in ("Observership tips?", "observership tips", "tips for observership")
    assert top.decisions == {"fallback": 3} and top.candidates[0] == "residency"
    store.close()
    again = SqliteStore(path)  # ids survive a restart
    assert [g.id for g in again.unanswered()] == [g.id for g in groups]
    assert again.unanswered_group(top.id) == top
    assert again.close_group(groups[1].id, "ignored")
    assert [g.key for g in again.unanswered()] == [tips]
    assert again.unanswered_group(groups[1].id) is None
    again.log_question(q("zebra hovercraft?", "fallback", None))
    assert [g.key for g in again.unanswered()] == [tips]  # ignored for good
    again.close_group(top.id, "added", "residency")
    assert again.unanswered() == []
    later = time.time() + 5
    again.log_question(q("observership tips", "fallback", None, at=later))
    assert [(g.key, g.count) for g in again.unanswered()] == [(tips, 1)]


def test_unanswered_needs_text(path: Path) -> None:
    store = SqliteStore(path, PrivacyConfig(store_text=False))
    store.log_question(q("zebra", "fallback", None))
    assert store.unanswered() == []


def test_export_rows_join_feedback(store: SqliteStore) -> None:
    a = store.log_question(q("residency?", candidates=(("residency", 80.0),)))
    store.log_question(q("zebra", "fallback", None, at=NOW + 1))
    vote = store.add_feedback(USER, False, question_id=a)
    assert vote is not None
    store.add_feedback_comment(vote.feedback_id, USER, "wanted pay")
    rows = store.export_rows()
    assert [(r["text"], r["helpful"], r["comment"]) for r in rows] == [
        ("residency?", "no", "wanted pay"),
        ("zebra", "", ""),
    ]
    assert rows[0]["candidates"] == "residency:80.0" and rows[0]["at"] == "2024-06-01T12:00:00Z"
    assert rows[0]["user_key"] == store.user_key(USER)
    assert store.export_rows(since=NOW + 0.5)[0]["text"] == "zebra"
