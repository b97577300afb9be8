"""What the conversation remembers, behind a small protocol.

The conversation core talks to a `Store`; `MemoryStore` serves the terminal shell and tests,
`bot.storage.SqliteStore` the Telegram bot. Keeping the protocol here keeps `sqlite3` out of the
conversation core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatState:
    """Per-chat context: what was last answered, and whether a 👎 awaits its explanation.

    `awaiting_comment_for` is the id of the feedback row the next text message explains.
    """

    last_entry: str | None = None
    awaiting_comment_for: int | None = None


@dataclass(frozen=True)
class LoggedQuestion:
    """One question and the decision taken on it."""

    user_id: int
    chat_id: int
    chat_type: str
    text: str
    decision: str
    entry_id: str | None
    score: float
    candidates: tuple[tuple[str, float], ...] = ()
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StoredQuestion:
    """A logged question read back: `text` is None when privacy keeps no text."""

    id: int
    text: str | None
    decision: str
    entry_id: str | None
    score: float
    mine: bool  # asked by the user the store was asked about
    forwarded: bool = False


@dataclass(frozen=True)
class Vote:
    """A recorded 👍/👎: its feedback row, and the user's earlier vote on the same thing."""

    feedback_id: int
    entry_id: str | None
    previous: bool | None  # None: first vote


class Store(Protocol):
    """Everything the conversation core reads and writes."""

    @property
    def keeps_text(self) -> bool:
        """False when privacy forbids storing question text and feedback comments."""
        ...

    def chat_state(self, chat_id: int) -> ChatState: ...

    def save_chat_state(self, chat_id: int, state: ChatState) -> None: ...

    def stage(self, user_id: int) -> str | None: ...

    def set_stage(self, user_id: int, stage: str | None) -> None: ...

    def log_question(self, question: LoggedQuestion) -> int:
        """Record a question; return its id (carried by the feedback buttons)."""
        ...

    def question(self, log_id: int, user_id: int) -> StoredQuestion | None:
        """A logged question by id (`mine` tells whether `user_id` asked it)."""
        ...

    def mark_forwarded(self, log_id: int) -> bool:
        """Note that a question went to a person; False when it already had."""
        ...

    def add_feedback(
        self,
        user_id: int,
        helpful: bool,
        *,
        question_id: int | None = None,
        entry_id: str | None = None,
    ) -> Vote | None:
        """Record 👍/👎 on a logged question or on an entry opened from a button.

        One vote per user and question (or entry): voting again replaces it. None when the
        question id is unknown (purged or forgotten).
        """
        ...

    def add_feedback_comment(self, feedback_id: int, user_id: int, text: str) -> bool:
        """Attach the user's "what were you looking for"; False when not their feedback."""
        ...

    def user_data(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one user, for /mydata."""
        ...

    def forget_user(self, user_id: int) -> int:
        """Delete everything about one user; return how many rows went."""
        ...


class MemoryStore:
    """A `Store` in dicts: for the terminal shell and tests. Nothing survives the process."""

    def __init__(self, *, store_text: bool = True) -> None:
        self._store_text = store_text
        self._chats: dict[int, ChatState] = {}
        self._stages: dict[int, str] = {}
        self._questions: dict[int, tuple[LoggedQuestion, bool]] = {}
        self._feedback: dict[int, dict[str, Any]] = {}
        self._next_question = 1
        self._next_feedback = 1

    @property
    def keeps_text(self) -> bool:
        return self._store_text

    def chat_state(self, chat_id: int) -> ChatState:
        return self._chats.get(chat_id, ChatState())

    def save_chat_state(self, chat_id: int, state: ChatState) -> None:
        self._chats[chat_id] = state

    def stage(self, user_id: int) -> str | None:
        return self._stages.get(user_id)

    def set_stage(self, user_id: int, stage: str | None) -> None:
        if stage is None:
            self._stages.pop(user_id, None)
        else:
            self._stages[user_id] = stage

    def log_question(self, question: LoggedQuestion) -> int:
        log_id = self._next_question
        self._next_question += 1
        if not self._store_text:
            question = LoggedQuestion(
                question.user_id,
                question.chat_id,
                question.chat_type,
                "",
                question.decision,
                question.entry_id,
                question.score,
                question.candidates,
                question.at,
            )
        self._questions[log_id] = (question, False)
        return log_id

    def question(self, log_id: int, user_id: int) -> StoredQuestion | None:
        found = self._questions.get(log_id)
        if found is None:
            return None
        q, forwarded = found
        text = q.text if self._store_text else None
        return StoredQuestion(
            log_id, text, q.decision, q.entry_id, q.score, q.user_id == user_id, forwarded
        )

    def mark_forwarded(self, log_id: int) -> bool:
        found = self._questions.get(log_id)
        if found is None or found[1]:
            return False
        self._questions[log_id] = (found[0], True)
        return True

    def add_feedback(
        self,
        user_id: int,
        helpful: bool,
        *,
        question_id: int | None = None,
        entry_id: str | None = None,
    ) -> Vote | None:
        if question_id is not None:
            found = self._questions.get(question_id)
            if found is None:
                return None
            entry_id = found[0].entry_id
        for fid, row in self._feedback.items():
            same = row["question_id"] == question_id and (
                question_id is not None or row["entry_id"] == entry_id
            )
            if row["user_id"] == user_id and same:
                previous = bool(row["helpful"])
                row.update(helpful=helpful, at=time.time())
                return Vote(fid, entry_id, previous)
        fid = self._next_feedback
        self._next_feedback += 1
        self._feedback[fid] = {
            "question_id": question_id,
            "user_id": user_id,
            "entry_id": entry_id,
            "helpful": helpful,
            "comment": None,
            "at": time.time(),
        }
        return Vote(fid, entry_id, None)

    def add_feedback_comment(self, feedback_id: int, user_id: int, text: str) -> bool:
        row = self._feedback.get(feedback_id)
        if row is None or row["user_id"] != user_id:
            return False
        row["comment"] = text if self._store_text else None
        return True

    def user_data(self, user_id: int) -> dict[str, Any]:
        questions = [
            {
                "id": i,
                "at": q.at,
                "chat_type": q.chat_type,
                "text": q.text if self._store_text else None,
                "decision": q.decision,
                "entry_id": q.entry_id,
                "score": q.score,
            }
            for i, (q, _) in self._questions.items()
            if q.user_id == user_id
        ]
        feedback = [
            {k: v for k, v in row.items() if k != "user_id"}
            for row in self._feedback.values()
            if row["user_id"] == user_id
        ]
        state = self._chats.get(user_id)
        return {
            "user_key": f"memory:{user_id}",
            "stage": self._stages.get(user_id),
            "chat_state": None if state is None else vars(state).copy(),
            "questions": questions,
            "feedback": feedback,
        }

    def forget_user(self, user_id: int) -> int:
        gone = [i for i, (q, _) in self._questions.items() if q.user_id == user_id]
        for i in gone:
            del self._questions[i]
        votes = [
            i
            for i, row in self._feedback.items()
            if row["user_id"] == user_id or row["question_id"] in gone
        ]
        for i in votes:
            del self._feedback[i]
        count = len(gone) + len(votes)
        count += self._stages.pop(user_id, None) is not None
        count += self._chats.pop(user_id, None) is not None
        return count
