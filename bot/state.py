"""What the conversation remembers, behind a small protocol.

The conversation core talks to a `Store`; `MemoryStore` serves the terminal shell and tests,
`bot.storage.SqliteStore` the Telegram bot. Keeping the protocol here keeps `sqlite3` out of the
conversation core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatState:
    """Per-chat context: what was last answered, and whether a 👎 awaits its explanation."""

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


class Store(Protocol):
    """Everything the conversation core reads and writes."""

    def chat_state(self, chat_id: int) -> ChatState: ...

    def save_chat_state(self, chat_id: int, state: ChatState) -> None: ...

    def stage(self, user_id: int) -> str | None: ...

    def set_stage(self, user_id: int, stage: str | None) -> None: ...

    def log_question(self, question: LoggedQuestion) -> int:
        """Record a question; return its id (carried by the feedback buttons)."""
        ...

    def add_feedback(self, log_id: int, user_id: int, helpful: bool) -> bool:
        """Record 👍/👎 on a logged question; False when the id is unknown."""
        ...

    def add_feedback_comment(self, log_id: int, user_id: int, text: str) -> None: ...

    def user_data(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one user, for /mydata."""
        ...

    def forget_user(self, user_id: int) -> int:
        """Delete everything about one user; return how many rows went."""
        ...


class MemoryStore:
    """A `Store` in a dict: for the terminal shell and tests. Nothing survives the process."""

    def __init__(self) -> None:
        self._chats: dict[int, ChatState] = {}
        self._stages: dict[int, str] = {}
        self._log: list[LoggedQuestion] = []
        self._feedback: dict[int, dict[str, Any]] = {}

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
        self._log.append(question)
        return len(self._log)

    def add_feedback(self, log_id: int, user_id: int, helpful: bool) -> bool:
        if not 1 <= log_id <= len(self._log) or self._log[log_id - 1].user_id != user_id:
            return False
        self._feedback[log_id] = {"helpful": helpful, "comment": None}
        return True

    def add_feedback_comment(self, log_id: int, user_id: int, text: str) -> None:
        if log_id in self._feedback:
            self._feedback[log_id]["comment"] = text

    def user_data(self, user_id: int) -> dict[str, Any]:
        questions = [q for q in self._log if q.user_id == user_id]
        return {"stage": self._stages.get(user_id), "questions": [q.text for q in questions]}

    def forget_user(self, user_id: int) -> int:
        gone = sum(1 for q in self._log if q.user_id == user_id)
        self._log = [
            replace(q, text="", user_id=0) if q.user_id == user_id else q for q in self._log
        ]
        self._stages.pop(user_id, None)
        self._chats.pop(user_id, None)
        return gone
