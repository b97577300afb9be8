"""Operator tools: /stats, /unanswered (learn a phrasing, or ignore), /reload.

`setup(conversation, config)` registers them into `Conversation.admin_commands` and
`admin_buttons`, which the conversation consults only for `Event.is_admin` (ids in `admins`),
so for everyone else these commands do not exist. It returns the `KnowledgeReloader`, which a
front end also calls on SIGHUP (`reload()`) or from a periodic file watch
(`reload_if_changed()`).

Learned phrasings go to `knowledge/learned.yaml` (`learned: {entry-id: [phrasing, ...]}`); each
addition is validated by loading the whole knowledge folder, and a failing one puts the file
back exactly as it was.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from bot.config import Config, MatchingConfig
from bot.conversation import Button, Conversation, Event, Reply, Response
from bot.errors import KnowledgeError, Problem
from bot.knowledge import (
    LEARNED_FILE,
    KnowledgeBase,
    display_path,
    load_knowledge,
    phrasing_key,
)
from bot.matching import Matcher

log = logging.getLogger(__name__)

UNANSWERED_SHOWN = 8
PROBLEMS_SHOWN = 15
LEARNED_HEADER = (
    "# Phrasings added by operators with /unanswered in the bot. Safe to edit by hand:\n"
    "# learned: {entry-id: [phrasing, ...]}. Validated with the rest of the knowledge.\n"
)


@runtime_checkable
class OperatorStore(Protocol):
    """The queries the operator commands need (`bot.storage.SqliteStore` has them)."""

    def stats(self, now: float | None = None) -> Any: ...

    def unanswered(self, limit: int | None = 10, since: float | None = None) -> list[Any]: ...

    def unanswered_group(self, group_id: int) -> Any: ...

    def close_group(self, group_id: int, status: str, entry_id: str | None = None) -> bool: ...


class KnowledgeReloader:
    """Owns "load the knowledge folder -> new Matcher -> conversation.reload".

    Every method returns the problems (`path:line: message`); with problems the conversation
    keeps its last good knowledge. Call it from the thread that runs the conversation core
    (the Telegram adapter's single worker) so no event sees half a swap; a lock also keeps a
    reload and a learned-phrasing edit from interleaving.
    """

    def __init__(
        self,
        conversation: Conversation,
        directory: Path,
        matching: MatchingConfig | None = None,
        on_reload: Callable[[KnowledgeBase], None] | None = None,
    ) -> None:
        self.conversation = conversation
        self.directory = directory
        self.matching = matching or MatchingConfig()
        self.on_reload = on_reload
        self._lock = threading.RLock()
        self._seen = self._fingerprint()

    @property
    def learned_path(self) -> Path:
        return self.directory / LEARNED_FILE

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        try:
            files = sorted(self.directory.iterdir())
        except OSError:
            return ()
        out = []
        for path in files:
            if path.suffix in (".yaml", ".yml") and path.is_file():
                st = path.stat()
                out.append((path.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def _swap(self, kb: KnowledgeBase) -> None:
        self.conversation.reload(kb, Matcher(kb, self.matching))
        if self.on_reload is not None:
            self.on_reload(kb)
        log.info("knowledge reloaded: %d entries, %d phrasings", len(kb.entries), kb.phrasing_count)

    def reload(self) -> list[Problem]:
        """Reload from disk now (e.g. on SIGHUP or /reload)."""
        with self._lock:
            self._seen = self._fingerprint()
            try:
                kb = load_knowledge(self.directory)
            except KnowledgeError as exc:
                for problem in exc.problems:
                    log.warning("knowledge not reloaded: %s", problem)
                return list(exc.problems)
            self._swap(kb)
            return []

    def reload_if_changed(self) -> list[Problem] | None:
        """A polling file watch: reload when a knowledge file changed since the last look.

        None when nothing changed; else the problems of the reload ([] when it worked). A
        broken edit is reported once, not on every poll.
        """
        with self._lock:
            if self._fingerprint() == self._seen:
                return None
            return self.reload()

    def add_phrasing(self, entry_id: str, phrasing: str) -> list[Problem]:
        """Append a phrasing to learned.yaml, validate everything, reload; or undo and report."""
        phrasing = " ".join(phrasing.split())
        path = self.learned_path
        shown = display_path(path)
        kb = self.conversation.kb
        if kb.get(entry_id) is None:
            return [Problem(shown, 0, f"unknown entry '{entry_id}'")]
        key = phrasing_key(phrasing)
        for entry in kb.entries:
            if any(phrasing_key(q) == key for q in entry.questions):
                return [Problem(shown, 0, f"'{phrasing}' is already a phrasing of '{entry.id}'")]
        with self._lock:
            old = path.read_bytes() if path.exists() else None
            try:
                data = yaml.safe_load(old) if old else None
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 1 if mark is not None else 0
                return [Problem(shown, line, f"cannot read the file to add to it: {exc}")]
            if data is None:
                data = {}
            if not isinstance(data, dict) or not isinstance(data.get("learned", {}), dict):
                return [Problem(shown, 1, "expected 'learned: {entry-id: [phrasing, ...]}'")]
            learned = data.setdefault("learned", {})
            if not isinstance(learned.get(entry_id, []), list):
                return [Problem(shown, 1, f"learned '{entry_id}' must be a list")]
            learned.setdefault(entry_id, []).append(phrasing)
            text = LEARNED_HEADER + yaml.safe_dump(
                data, allow_unicode=True, sort_keys=True, width=100, default_flow_style=False
            )
            _atomic_write(path, text.encode())
            try:
                kb = load_knowledge(self.directory)
            except KnowledgeError as exc:
                if old is None:
                    path.unlink()
                else:
                    _atomic_write(path, old)
                self._seen = self._fingerprint()
                return list(exc.problems)
            self._seen = self._fingerprint()
            self._swap(kb)
            return []


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class AdminTools:
    """The operator commands and buttons, bound to one conversation."""

    def __init__(
        self,
        conversation: Conversation,
        reloader: KnowledgeReloader,
        store: OperatorStore | None,
    ) -> None:
        self.conversation = conversation
        self.reloader = reloader
        self.store = store

    def install(self) -> None:
        """Register into the conversation (consulted only for admins)."""
        self.conversation.admin_commands.update(
            stats=self.cmd_stats, unanswered=self.cmd_unanswered, reload=self.cmd_reload
        )
        self.conversation.admin_buttons.update(
            ua=self.btn_choose_entry, ul=self.btn_learn, ui=self.btn_ignore
        )

    @property
    def kb(self) -> KnowledgeBase:
        return self.conversation.kb

    def _title(self, entry_id: str) -> str:
        entry = self.kb.get(entry_id)
        return entry.title if entry else entry_id

    def _no_store(self) -> Response:
        return Response((Reply("This needs the SQLite storage (the Telegram bot has it)."),))

    # ------------------------------------------------------------- /stats

    def cmd_stats(self, event: Event) -> Response:
        """/stats: questions today / 7 days / all, decisions, top entries, 👍, busy hours."""
        if self.store is None:
            return self._no_store()
        s = self.store.stats()
        if not s.total:
            return Response((Reply("No questions logged yet.", heading="📊 Stats"),))
        total = s.total
        names = {"answer": "answered", "clarify": "did-you-mean", "fallback": "fell back"}
        mix = " · ".join(f"{names[d]} {_pct(s.decisions.get(d, 0), total)}" for d in names)
        lines = [
            f"Questions: today {s.today} · last 7 days {s.week} · all time {total}",
            f"Decisions: {mix}",
        ]
        if s.votes:
            lines.append(f"👍 share: {_pct(s.helpful, s.votes)} of {s.votes} votes")
        else:
            lines.append("👍 share: no votes yet")
        if s.top_entries:
            lines.append("Top answers:")
            lines += [f"  {i}. {self._title(e)} ({n})" for i, (e, n) in enumerate(s.top_entries, 1)]
        if s.busiest_hours:
            hours = " · ".join(f"{h:02d}:00 ({n})" for h, n in s.busiest_hours)
            lines.append(f"Busiest hours (UTC): {hours}")
        buttons = ((Button("❔ unanswered questions", "ua:list"),),)
        return Response((Reply("\n".join(lines), heading="📊 Stats", buttons=buttons),))

    # ------------------------------------------------------------- /unanswered

    def cmd_unanswered(self, event: Event) -> Response:
        """/unanswered: the most frequent fallback / did-you-mean questions, grouped."""
        if self.store is None:
            return self._no_store()
        groups = self.store.unanswered(limit=UNANSWERED_SHOWN)
        if not groups:
            text = "Nothing unanswered right now. 🎉"
            if not self.conversation.store.keeps_text:
                text += " (Question text is not stored, privacy.store_text: false.)"
            return Response((Reply(text, heading="❔ Unanswered"),))
        head = Reply(
            "Questions that fell back or needed a “did you mean”, most frequent first. Similar "
            "wordings are grouped. Add one as a phrasing of an entry, or ignore it.",
            heading="❔ Unanswered",
        )
        replies = [head]
        for i, group in enumerate(groups, start=1):
            replies.append(self._group_reply(i, group))
        return Response(tuple(replies))

    def _group_reply(self, number: int, group: Any) -> Reply:
        lines = [f"{number}. “{group.sample}” ×{group.count}"]
        others = [f"“{t}”" for t in group.texts[1:4]]
        if others:
            lines.append("Also: " + ", ".join(others))
        decisions = " · ".join(f"{d} {n}" for d, n in sorted(group.decisions.items()))
        lines.append(decisions)
        rows: list[tuple[Button, ...]] = []
        best = next((e for e in group.candidates if self._learnable(e)), None)
        if best is not None:
            lines.append(f"Best guess: {self._title(best)}")
            rows.append((Button(f"➕ phrasing of {self._title(best)}", f"ul:{group.id}:{best}"),))
        rows.append(
            (Button("➕ phrasing of…", f"ua:{group.id}"), Button("🙈 ignore", f"ui:{group.id}"))
        )
        return Reply("\n".join(lines), buttons=tuple(rows))

    def _learnable(self, entry_id: str) -> bool:
        entry = self.kb.get(entry_id)
        return entry is not None and entry.kind != "smalltalk"

    def btn_choose_entry(self, event: Event, arg: str) -> Response:
        """`ua:<group>`: pick the entry the group's question should answer."""
        if arg == "list":
            return self.cmd_unanswered(event)
        if self.store is None:
            return self._no_store()
        group = self.store.unanswered_group(int(arg)) if arg.isdigit() else None
        if group is None:
            return Response(toast="That group is gone (purged, ignored or already added).")
        first = [e for e in group.candidates if self._learnable(e)][:3]
        rest = [e.id for e in self.kb.entries if e.kind != "smalltalk" and e.id not in first]
        buttons = [Button(f"★ {self._title(e)}", f"ul:{group.id}:{e}") for e in first]
        buttons += [Button(self._title(e), f"ul:{group.id}:{e}") for e in rest]
        rows = [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
        text = f"Add “{group.sample}” as a phrasing of which entry? (★ the matcher's guesses)"
        return Response((Reply(text, buttons=tuple(rows)),))

    def btn_learn(self, event: Event, arg: str) -> Response:
        """`ul:<group>:<entry>`: write the phrasing to learned.yaml and reload at once."""
        if self.store is None:
            return self._no_store()
        group_no, _, entry_id = arg.partition(":")
        group = self.store.unanswered_group(int(group_no)) if group_no.isdigit() else None
        if group is None:
            return Response(toast="That group is gone (purged, ignored or already added).")
        if not self._learnable(entry_id):
            return Response(toast="That entry no longer exists.")
        problems = self.reloader.add_phrasing(entry_id, group.sample)
        if problems:
            shown = display_path(self.reloader.learned_path)
            text = f"Not added: the knowledge would not load, so {shown} is unchanged.\n\n"
            text += _problem_lines(problems)
            return Response((Reply(text),), toast="Not added.")
        self.store.close_group(group.id, "added", entry_id)
        match = self.conversation.matcher.match(group.sample)
        if match.decision == "answer" and match.entry is not None and match.entry.id == entry_id:
            check = "It answers that now."
        else:
            check = f"Note: the matcher now says {match.decision} for it."
        text = (
            f"Added “{group.sample}” as a phrasing of {self._title(entry_id)} "
            f"({display_path(self.reloader.learned_path)}) and reloaded. {check}"
        )
        return Response((Reply(text),), toast="Added.")

    def btn_ignore(self, event: Event, arg: str) -> Response:
        """`ui:<group>`: never show this group again."""
        if self.store is None:
            return self._no_store()
        group = self.store.unanswered_group(int(arg)) if arg.isdigit() else None
        if group is None:
            return Response(toast="That group is gone already.")
        self.store.close_group(group.id, "ignored")
        return Response(toast="Ignored.", edit=Reply(f"🙈 Ignored “{group.sample}”."))

    # ------------------------------------------------------------- /reload

    def cmd_reload(self, event: Event) -> Response:
        """/reload: reload the knowledge from disk; on problems keep the last good one."""
        problems = self.reloader.reload()
        if problems:
            text = (
                "The knowledge on disk has problems, so I keep serving the last good version:\n\n"
            )
            return Response((Reply(text + _problem_lines(problems), heading="Reload failed"),))
        kb = self.conversation.kb
        text = f"Reloaded: {len(kb.entries)} entries, {kb.phrasing_count} phrasings."
        return Response((Reply(text),))


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


def _problem_lines(problems: list[Problem]) -> str:
    lines = [str(p) for p in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(f"…and {len(problems) - PROBLEMS_SHOWN} more")
    return "\n".join(lines)


def setup(conversation: Conversation, config: Config) -> KnowledgeReloader:
    """Wire operator tools and "talk to a person" into a conversation; return the reloader."""
    reloader = KnowledgeReloader(conversation, config.knowledge_dir, config.matching)
    store = conversation.store if isinstance(conversation.store, OperatorStore) else None
    AdminTools(conversation, reloader, store).install()
    conversation.support_chat_id = config.support_chat_id
    return reloader
