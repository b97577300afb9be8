"""SQLite storage: chat state, career stages, the question log, feedback, operator queries.

One file (`storage:` in the config), created on first run. The schema is versioned with
`PRAGMA user_version` and migrated forward when the store opens; each migration runs in one
transaction, so a crash leaves the previous version intact. WAL journaling and short
transactions mean a crash (or a kill) mid-write loses at most that write, never the file.

Privacy, by construction:

- users are stored under a *user key*, an HMAC-SHA256 of the Telegram user id with a random
  secret made once per database (table `meta`), so the log never holds raw user ids. The one
  place a raw id remains is the per-chat state of a private chat (whose chat id is the user id),
  which the bot needs to continue a conversation; `/forget` deletes it with the rest;
- `privacy.store_text: false` stores neither question text nor feedback comments;
- `purge_expired()` deletes log rows older than `privacy.retention_days` (call it daily);
- `forget_user()` deletes every row under the user's key, `user_data()` shows them all.

The store is used from one worker thread (the Telegram adapter runs the conversation core in a
single-thread executor so the event loop never waits on disk), but every call takes a lock, so a
second thread (a scheduled purge, the CLI) is safe too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Config, PrivacyConfig
from bot.errors import FaqbotError, Problem
from bot.matching import FILLER_WORDS, STOP_WORDS, normalize, stem
from bot.state import ChatState, LoggedQuestion, StoredQuestion, Vote

DAY = 86400.0
DECISIONS = ("answer", "clarify", "fallback")

# Forward migrations: MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    # 1: the core tables
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE chats (
        chat_id INTEGER PRIMARY KEY,
        last_entry TEXT,
        awaiting_comment_for INTEGER,
        updated_at REAL NOT NULL
    );
    CREATE TABLE users (
        user_key TEXT PRIMARY KEY,
        stage TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        chat_type TEXT NOT NULL,
        user_key TEXT NOT NULL,
        chat_id INTEGER,
        text TEXT,
        decision TEXT NOT NULL,
        entry_id TEXT,
        score REAL NOT NULL,
        candidates TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX questions_at ON questions(at);
    CREATE INDEX questions_user ON questions(user_key);
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        question_id INTEGER REFERENCES questions(id) ON DELETE CASCADE,
        user_key TEXT NOT NULL,
        entry_id TEXT,
        helpful INTEGER NOT NULL,
        comment TEXT,
        at REAL NOT NULL
    );
    CREATE INDEX feedback_question ON feedback(question_id);
    CREATE INDEX feedback_user ON feedback(user_key);
    """,
    # 2: the operator's loop: "talk to a person" and /unanswered decisions
    """
    ALTER TABLE questions ADD COLUMN forwarded_at REAL;
    CREATE TABLE unanswered_groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL DEFAULT 'open',
        entry_id TEXT,
        closed_at REAL
    );
    CREATE TABLE relays (
        support_chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        user_chat_id INTEGER NOT NULL,
        user_key TEXT NOT NULL,
        question_id INTEGER,
        at REAL NOT NULL,
        PRIMARY KEY (support_chat_id, message_id)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(FaqbotError):
    """The database cannot be used (missing where it must exist, or from a newer faqbot)."""


def group_key(text: str) -> str:
    """How /unanswered groups similar questions: the set of content-word stems, sorted.

    "How do I get a visa?", "how to get visas" and "visa, how to get one" share the key
    "get visa": word order, punctuation, case, plurals, filler and stop words do not split a
    group, while any different content word does. Deterministic and explainable, and it needs
    no fuzzy matcher (rapidfuzz stays inside bot.matching).
    """
    words = normalize(text).split()
    content = {stem(w) for w in words if w not in STOP_WORDS and w not in FILLER_WORDS}
    return " ".join(sorted(content)) if content else " ".join(words)


@dataclass(frozen=True)
class Stats:
    """What /stats shows."""

    today: int
    week: int
    total: int
    decisions: dict[str, int]
    top_entries: list[tuple[str, int]]
    votes: int
    helpful: int
    busiest_hours: list[tuple[int, int]]  # (hour of day UTC, questions), busiest first


@dataclass(frozen=True)
class UnansweredGroup:
    """Similar questions that fell back or needed a "did you mean"."""

    id: int
    key: str
    count: int
    texts: tuple[str, ...]  # distinct wordings, most frequent first
    decisions: dict[str, int]
    candidates: tuple[str, ...]  # entry ids the matcher considered, most often first
    last_at: float

    @property
    def sample(self) -> str:
        return self.texts[0]


@dataclass(frozen=True)
class DayCount:
    """Questions on one UTC day, by decision."""

    day: str  # YYYY-MM-DD
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def iso(ts: float) -> str:
    """A timestamp as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SqliteStore:
    """The bot's `Store` on SQLite, plus the operator queries."""

    def __init__(self, path: Path | str, privacy: PrivacyConfig | None = None) -> None:
        self.path = Path(path)
        self.privacy = privacy or PrivacyConfig()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable enough, never corrupt
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self._secret = self._user_key_secret()

    @classmethod
    def open_existing(cls, path: Path, privacy: PrivacyConfig | None = None) -> SqliteStore:
        """Open a database that must exist already (reports, exports)."""
        if not path.is_file():
            raise StorageError(
                [Problem(str(path), 0, "no database here (the bot creates it on its first run)")]
            )
        return cls(path, privacy)

    # ------------------------------------------------------------- plumbing

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short transaction; rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StorageError(
                [
                    Problem(
                        str(self.path),
                        0,
                        f"database schema {version} is newer than this faqbot ({SCHEMA_VERSION})",
                    )
                ]
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._write() as db:
                for statement in _statements(MIGRATIONS[target - 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    def _user_key_secret(self) -> bytes:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('user_key_secret', ?)",
                (secrets.token_hex(32),),
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'user_key_secret'").fetchone()
        return bytes.fromhex(row[0])

    def user_key(self, user_id: int) -> str:
        """The pseudonymous key a user's rows are stored under."""
        digest = hmac.new(self._secret, f"user:{user_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    # ------------------------------------------------------------- the Store

    @property
    def keeps_text(self) -> bool:
        return self.privacy.store_text

    def chat_state(self, chat_id: int) -> ChatState:
        rows = self._read(
            "SELECT last_entry, awaiting_comment_for FROM chats WHERE chat_id = ?", (chat_id,)
        )
        if not rows:
            return ChatState()
        return ChatState(rows[0]["last_entry"], rows[0]["awaiting_comment_for"])

    def save_chat_state(self, chat_id: int, state: ChatState) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO chats (chat_id, last_entry, awaiting_comment_for, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET "
                "last_entry = excluded.last_entry, "
                "awaiting_comment_for = excluded.awaiting_comment_for, "
                "updated_at = excluded.updated_at",
                (chat_id, state.last_entry, state.awaiting_comment_for, time.time()),
            )

    def stage(self, user_id: int) -> str | None:
        rows = self._read("SELECT stage FROM users WHERE user_key = ?", (self.user_key(user_id),))
        return rows[0]["stage"] if rows else None

    def set_stage(self, user_id: int, stage: str | None) -> None:
        key = self.user_key(user_id)
        with self._write() as db:
            if stage is None:
                db.execute("DELETE FROM users WHERE user_key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO users (user_key, stage, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_key) DO UPDATE SET stage = excluded.stage, "
                    "updated_at = excluded.updated_at",
                    (key, stage, time.time()),
                )

    def log_question(self, question: LoggedQuestion) -> int:
        # A private chat's id is the user's id: keep it out of the log.
        chat_id = None if question.chat_type == "private" else question.chat_id
        text = question.text if self.privacy.store_text else None
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO questions (at, chat_type, user_key, chat_id, text, decision, "
                "entry_id, score, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    question.at,
                    question.chat_type,
                    self.user_key(question.user_id),
                    chat_id,
                    text,
                    question.decision,
                    question.entry_id,
                    float(question.score),
                    json.dumps([[e, s] for e, s in question.candidates]),
                ),
            )
            return int(cursor.lastrowid or 0)

    def question(self, log_id: int, user_id: int) -> StoredQuestion | None:
        rows = self._read(
            "SELECT id, text, decision, entry_id, score, user_key, forwarded_at "
            "FROM questions WHERE id = ?",
            (log_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return StoredQuestion(
            r["id"],
            r["text"],
            r["decision"],
            r["entry_id"],
            r["score"],
            r["user_key"] == self.user_key(user_id),
            r["forwarded_at"] is not None,
        )

    def mark_forwarded(self, log_id: int) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE questions SET forwarded_at = ? WHERE id = ? AND forwarded_at IS NULL",
                (time.time(), log_id),
            )
            return cursor.rowcount > 0

    def add_feedback(
        self,
        user_id: int,
        helpful: bool,
        *,
        question_id: int | None = None,
        entry_id: str | None = None,
    ) -> Vote | None:
        key = self.user_key(user_id)
        now = time.time()
        with self._write() as db:
            if question_id is not None:
                row = db.execute(
                    "SELECT entry_id FROM questions WHERE id = ?", (question_id,)
                ).fetchone()
                if row is None:
                    return None
                entry_id = row["entry_id"]
                existing = db.execute(
                    "SELECT id, helpful FROM feedback WHERE question_id = ? AND user_key = ?",
                    (question_id, key),
                ).fetchone()
            else:
                existing = db.execute(
                    "SELECT id, helpful FROM feedback "
                    "WHERE question_id IS NULL AND entry_id IS ? AND user_key = ?",
                    (entry_id, key),
                ).fetchone()
            if existing is not None:
                db.execute(
                    "UPDATE feedback SET helpful = ?, at = ? WHERE id = ?",
                    (int(helpful), now, existing["id"]),
                )
                return Vote(existing["id"], entry_id, bool(existing["helpful"]))
            cursor = db.execute(
                "INSERT INTO feedback (question_id, user_key, entry_id, helpful, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (question_id, key, entry_id, int(helpful), now),
            )
            return Vote(int(cursor.lastrowid or 0), entry_id, None)

    def add_feedback_comment(self, feedback_id: int, user_id: int, text: str) -> bool:
        comment = text if self.privacy.store_text else None
        with self._write() as db:
            cursor = db.execute(
                "UPDATE feedback SET comment = ? WHERE id = ? AND user_key = ?",
                (comment, feedback_id, self.user_key(user_id)),
            )
            return cursor.rowcount > 0

    def user_data(self, user_id: int) -> dict[str, Any]:
        key = self.user_key(user_id)
        stage = self.stage(user_id)
        chat = self._read(
            "SELECT last_entry, awaiting_comment_for FROM chats WHERE chat_id = ?", (user_id,)
        )
        questions = self._read(
            "SELECT id, at, chat_type, text, decision, entry_id, score, forwarded_at "
            "FROM questions WHERE user_key = ? ORDER BY at",
            (key,),
        )
        feedback = self._read(
            "SELECT id, question_id, entry_id, helpful, comment, at FROM feedback "
            "WHERE user_key = ? ORDER BY at",
            (key,),
        )
        relays = self._read("SELECT COUNT(*) FROM relays WHERE user_key = ?", (key,))
        return {
            "user_key": key,
            "stage": stage,
            "chat_state": dict(chat[0]) if chat else None,
            "questions": [dict(r) for r in questions],
            "feedback": [{**dict(r), "helpful": bool(r["helpful"])} for r in feedback],
            "forwarded_replies": int(relays[0][0]),
        }

    def forget_user(self, user_id: int) -> int:
        key = self.user_key(user_id)
        with self._write() as db:
            gone = 0
            gone += db.execute(
                "DELETE FROM feedback WHERE user_key = ? OR question_id IN "
                "(SELECT id FROM questions WHERE user_key = ?)",
                (key, key),
            ).rowcount
            gone += db.execute("DELETE FROM questions WHERE user_key = ?", (key,)).rowcount
            gone += db.execute("DELETE FROM users WHERE user_key = ?", (key,)).rowcount
            gone += db.execute("DELETE FROM chats WHERE chat_id = ?", (user_id,)).rowcount
            gone += db.execute(
                "DELETE FROM relays WHERE user_key = ? OR user_chat_id = ?", (key, user_id)
            ).rowcount
        return gone

    # ------------------------------------------------------------- retention

    def purge_older_than(self, days: float, now: float | None = None) -> int:
        """Delete log rows (questions, feedback, relays, idle chat state) older than `days`."""
        cutoff = (time.time() if now is None else now) - days * DAY
        with self._write() as db:
            gone = db.execute(
                "DELETE FROM feedback WHERE at < ? OR question_id IN "
                "(SELECT id FROM questions WHERE at < ?)",
                (cutoff, cutoff),
            ).rowcount
            gone += db.execute("DELETE FROM questions WHERE at < ?", (cutoff,)).rowcount
            gone += db.execute("DELETE FROM relays WHERE at < ?", (cutoff,)).rowcount
            gone += db.execute("DELETE FROM chats WHERE updated_at < ?", (cutoff,)).rowcount
        return gone

    def purge_expired(self, now: float | None = None) -> int:
        """Apply `privacy.retention_days` (nothing when it is null); return rows deleted."""
        days = self.privacy.retention_days
        return 0 if days is None else self.purge_older_than(days, now)

    # ------------------------------------------------------------- relays

    def save_relay(
        self,
        support_chat_id: int,
        message_id: int,
        user_chat_id: int,
        user_id: int,
        question_id: int | None = None,
    ) -> None:
        """Remember which user chat a message forwarded to the support chat came from."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO relays (support_chat_id, message_id, user_chat_id, "
                "user_key, question_id, at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    support_chat_id,
                    message_id,
                    user_chat_id,
                    self.user_key(user_id),
                    question_id,
                    time.time(),
                ),
            )

    def relay_target(self, support_chat_id: int, message_id: int) -> int | None:
        """The user chat to relay a support-chat reply to (None: not a forwarded message)."""
        rows = self._read(
            "SELECT user_chat_id FROM relays WHERE support_chat_id = ? AND message_id = ?",
            (support_chat_id, message_id),
        )
        return int(rows[0][0]) if rows else None

    # ------------------------------------------------------------- operator queries

    def question_count(self, since: float | None = None) -> int:
        return int(self._read("SELECT COUNT(*) FROM questions WHERE at >= ?", (since or 0,))[0][0])

    def decision_counts(self, since: float | None = None) -> dict[str, int]:
        rows = self._read(
            "SELECT decision, COUNT(*) AS n FROM questions WHERE at >= ? GROUP BY decision",
            (since or 0,),
        )
        counts = dict.fromkeys(DECISIONS, 0)
        counts.update({r["decision"]: r["n"] for r in rows})
        return counts

    def top_entries(self, since: float | None = None, limit: int = 5) -> list[tuple[str, int]]:
        """Entries answered most often."""
        rows = self._read(
            "SELECT entry_id, COUNT(*) AS n FROM questions "
            "WHERE at >= ? AND decision = 'answer' AND entry_id IS NOT NULL "
            "GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT ?",
            (since or 0, limit),
        )
        return [(r["entry_id"], r["n"]) for r in rows]

    def feedback_totals(self, since: float | None = None) -> tuple[int, int]:
        """(votes, 👍 votes)."""
        row = self._read(
            "SELECT COUNT(*), COALESCE(SUM(helpful), 0) FROM feedback WHERE at >= ?",
            (since or 0,),
        )[0]
        return int(row[0]), int(row[1])

    def entry_feedback(self, since: float | None = None) -> list[tuple[str, int, int]]:
        """(entry, 👍, 👎) per entry that got votes, most votes first."""
        rows = self._read(
            "SELECT entry_id, SUM(helpful) AS up, SUM(1 - helpful) AS down FROM feedback "
            "WHERE at >= ? AND entry_id IS NOT NULL GROUP BY entry_id "
            "ORDER BY up + down DESC, entry_id",
            (since or 0,),
        )
        return [(r["entry_id"], int(r["up"]), int(r["down"])) for r in rows]

    def hour_counts(self, since: float | None = None) -> list[int]:
        """Questions per hour of the day (UTC), index 0-23."""
        rows = self._read(
            "SELECT CAST(strftime('%H', at, 'unixepoch') AS INTEGER) AS h, COUNT(*) AS n "
            "FROM questions WHERE at >= ? GROUP BY h",
            (since or 0,),
        )
        hours = [0] * 24
        for r in rows:
            hours[r["h"]] = r["n"]
        return hours

    def daily_counts(self, since: float | None = None, now: float | None = None) -> list[DayCount]:
        """Questions per UTC day by decision, every day from `since` (or the first) to `now`."""
        rows = self._read(
            "SELECT date(at, 'unixepoch') AS day, decision, COUNT(*) AS n FROM questions "
            "WHERE at >= ? GROUP BY day, decision ORDER BY day",
            (since or 0,),
        )
        by_day: dict[str, dict[str, int]] = {}
        for r in rows:
            by_day.setdefault(r["day"], dict.fromkeys(DECISIONS, 0))[r["decision"]] = r["n"]
        if since is not None:
            start = since
        elif by_day:
            start = datetime.fromisoformat(min(by_day)).replace(tzinfo=UTC).timestamp()
        else:
            return []
        end = time.time() if now is None else now
        days: list[DayCount] = []
        cursor = datetime.fromtimestamp(start, UTC).date()
        last = datetime.fromtimestamp(end, UTC).date()
        while cursor <= last:
            day = cursor.isoformat()
            days.append(DayCount(day, by_day.get(day, dict.fromkeys(DECISIONS, 0))))
            cursor = cursor.fromordinal(cursor.toordinal() + 1)
        return days

    def stats(self, now: float | None = None) -> Stats:
        """Counts for today (UTC) / 7 days / all time, decision mix, top entries, 👍 share."""
        now = time.time() if now is None else now
        midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0)
        hours = self.hour_counts()
        busiest = sorted(((h, n) for h, n in enumerate(hours) if n), key=lambda hn: (-hn[1], hn[0]))
        votes, helpful = self.feedback_totals()
        return Stats(
            today=self.question_count(midnight.replace(microsecond=0).timestamp()),
            week=self.question_count(now - 7 * DAY),
            total=self.question_count(),
            decisions=self.decision_counts(),
            top_entries=self.top_entries(limit=5),
            votes=votes,
            helpful=helpful,
            busiest_hours=busiest[:3],
        )

    def unanswered(
        self, limit: int | None = 10, since: float | None = None
    ) -> list[UnansweredGroup]:
        """The most frequent questions that fell back or needed a "did you mean", grouped.

        Redirect fallbacks (the guide knowingly points elsewhere) are not unanswered. Groups an
        operator ignored never show again; after "add as a phrasing" only newer questions do.
        Each shown group gets a stable id in `unanswered_groups`, so buttons still work after
        a restart.
        """
        rows = self._read(
            "SELECT at, text, decision, candidates FROM questions WHERE text IS NOT NULL "
            "AND at >= ? AND (decision = 'clarify' OR (decision = 'fallback' AND entry_id IS NULL))",
            (since or 0,),
        )
        closed = {
            r["key"]: (r["status"], r["closed_at"] or 0.0)
            for r in self._read("SELECT key, status, closed_at FROM unanswered_groups")
        }
        groups: dict[str, list[sqlite3.Row]] = {}
        for r in rows:
            key = group_key(r["text"])
            status, closed_at = closed.get(key, ("open", 0.0))
            if status == "ignored" or (status == "added" and r["at"] <= closed_at):
                continue
            groups.setdefault(key, []).append(r)
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), -max(r["at"] for r in kv[1])))
        if limit is not None:
            ranked = ranked[:limit]
        ids = self._group_ids([key for key, _ in ranked])
        return [_group(ids[key], key, members) for key, members in ranked]

    def _group_ids(self, keys: list[str]) -> dict[str, int]:
        if not keys:
            return {}
        with self._write() as db:
            for key in keys:
                db.execute("INSERT OR IGNORE INTO unanswered_groups (key) VALUES (?)", (key,))
            marks = ",".join("?" * len(keys))
            rows = db.execute(
                f"SELECT id, key FROM unanswered_groups WHERE key IN ({marks})", keys
            ).fetchall()
        return {r["key"]: int(r["id"]) for r in rows}

    def unanswered_group(self, group_id: int) -> UnansweredGroup | None:
        """One group by id, recomputed from the log (None when closed or purged)."""
        rows = self._read("SELECT key, status FROM unanswered_groups WHERE id = ?", (group_id,))
        if not rows or rows[0]["status"] == "ignored":
            return None
        key = rows[0]["key"]
        for group in self.unanswered(limit=None):
            if group.key == key:
                return group
        return None

    def close_group(self, group_id: int, status: str, entry_id: str | None = None) -> bool:
        """Mark a group 'ignored' (never shown again) or 'added' (its phrasing was learned)."""
        if status not in ("ignored", "added"):
            raise ValueError(f"unknown group status {status!r}")
        with self._write() as db:
            cursor = db.execute(
                "UPDATE unanswered_groups SET status = ?, entry_id = ?, closed_at = ? WHERE id = ?",
                (status, entry_id, time.time(), group_id),
            )
            return cursor.rowcount > 0

    def export_rows(self, since: float | None = None) -> list[dict[str, Any]]:
        """The question log joined with its feedback, one row per question and vote."""
        rows = self._read(
            "SELECT q.id, q.at, q.chat_type, q.user_key, q.text, q.decision, q.entry_id, "
            "q.score, q.candidates, q.forwarded_at, f.helpful, f.comment "
            "FROM questions q LEFT JOIN feedback f ON f.question_id = q.id "
            "WHERE q.at >= ? ORDER BY q.at, q.id, f.id",
            (since or 0,),
        )
        out = []
        for r in rows:
            candidates = json.loads(r["candidates"] or "[]")
            out.append(
                {
                    "question_id": r["id"],
                    "at": iso(r["at"]),
                    "chat_type": r["chat_type"],
                    "user_key": r["user_key"],
                    "text": r["text"] if r["text"] is not None else "",
                    "decision": r["decision"],
                    "entry_id": r["entry_id"] or "",
                    "score": r["score"],
                    "candidates": " ".join(f"{e}:{s}" for e, s in candidates),
                    "forwarded": "yes" if r["forwarded_at"] is not None else "",
                    "helpful": "" if r["helpful"] is None else ("yes" if r["helpful"] else "no"),
                    "comment": r["comment"] or "",
                }
            )
        return out


EXPORT_COLUMNS = (
    "question_id",
    "at",
    "chat_type",
    "user_key",
    "text",
    "decision",
    "entry_id",
    "score",
    "candidates",
    "forwarded",
    "helpful",
    "comment",
)


def _group(group_id: int, key: str, members: list[sqlite3.Row]) -> UnansweredGroup:
    wordings = Counter(" ".join(str(m["text"]).split()) for m in members)
    decisions = Counter(str(m["decision"]) for m in members)
    candidates: Counter[str] = Counter()
    for m in members:
        for rank, (entry_id, _score) in enumerate(json.loads(m["candidates"] or "[]")):
            candidates[entry_id] += 3 - min(rank, 2)  # the top candidate counts most
    return UnansweredGroup(
        id=group_id,
        key=key,
        count=len(members),
        texts=tuple(t for t, _ in wordings.most_common()),
        decisions=dict(decisions),
        candidates=tuple(e for e, _ in candidates.most_common()),
        last_at=max(float(m["at"]) for m in members),
    )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside them)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def make_store(config: Config) -> SqliteStore:
    """Open (or create) the configured database and apply retention once at start."""
    store = SqliteStore(config.storage_path, config.privacy)
    store.purge_expired()
    return store
