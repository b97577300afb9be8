"""The conversation: user events in, `Reply` values out. Knows nothing of Telegram.

Buttons carry self-contained actions (`e:residency`, `menu`, `fb:+:42`), all well under
Telegram's 64-byte callback_data, so a "did you mean" or an old answer's buttons need no
server-side state and still work after a restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.knowledge import Entry, KnowledgeBase
from bot.matching import Match, Matcher, normalize
from bot.state import LoggedQuestion, MemoryStore, Store

log = logging.getLogger(__name__)

EventKind = Literal["text", "button", "command"]
MAX_MENU_COLUMNS = 2


@dataclass(frozen=True)
class Button:
    """One inline button: a label and the action pressing it sends back."""

    label: str
    action: str = ""
    share_query: str | None = None  # Telegram: share via inline mode; shells may skip it


@dataclass(frozen=True)
class Reply:
    """One message to show: a bold heading, plain body text, a small note, button rows."""

    text: str
    heading: str = ""
    note: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    entry_id: str | None = None


@dataclass(frozen=True)
class Response:
    """What one event produces: new messages, a toast for a pressed button, an edit."""

    replies: tuple[Reply, ...] = ()
    toast: str | None = None
    edit: Reply | None = None


@dataclass(frozen=True)
class Event:
    """Something a user did: typed text, pressed a button, or sent a /command."""

    kind: EventKind
    user_id: int
    chat_id: int
    text: str = ""
    chat_type: str = "private"
    is_admin: bool = False

    @property
    def command(self) -> tuple[str, str]:
        """`/start@bot residency` -> ("start", "residency")."""
        head, _, rest = self.text.strip().partition(" ")
        return head.lstrip("/").split("@", 1)[0].lower(), rest.strip()


_FOLLOW_ON = re.compile(
    r"^(ok |okay |so |and |great |thanks |cool )*"
    r"(tell me more|more|more please|go on|continue|keep going|next|next step|next one|"
    r"next milestone|whats next|what is next|what next|what comes next|what comes after|"
    r"and then|then what|after that|what after that|what about after that|what now|"
    r"and after that|whats after that|what is after that|what should i do next)( please)?$"
)
_MORE = re.compile(r"\b(more|go on|continue|keep going)\b")

HELP_TEXT = (
    "Ask me a question in your own words, e.g. “how do I choose a specialty?”, "
    "“I'm a PGY-2 thinking about fellowship”, or “how do I avoid burnout?”. "
    "Typos and short keywords are fine.\n\n"
    "/topics — everything I cover\n"
    "/milestones — the career map, step by step\n"
    "/faq — frequently asked questions\n"
    "/help — this message"
)


@dataclass
class Conversation:
    """Turns events into responses, using the matcher and a store."""

    kb: KnowledgeBase
    matcher: Matcher
    store: Store = field(default_factory=MemoryStore)
    extra_commands: dict[str, Callable[[Event], Response]] = field(default_factory=dict)

    def reload(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        """Swap in new knowledge at once (only ever a fully validated one)."""
        self.kb, self.matcher = kb, matcher

    # ------------------------------------------------------------------ events

    def handle(self, event: Event) -> Response:
        """The single entry point for every front end."""
        if event.kind == "command":
            return self._command(event)
        if event.kind == "button":
            return self._button(event)
        return self._text(event)

    def _text(self, event: Event) -> Response:
        text = event.text.strip()
        if not text:
            return Response((self._hint(),))
        state = self.store.chat_state(event.chat_id)
        if state.awaiting_comment_for is not None:
            self.store.add_feedback_comment(state.awaiting_comment_for, event.user_id, text)
            self.store.save_chat_state(event.chat_id, replace(state, awaiting_comment_for=None))
            thanks = Reply(
                "Thank you, that helps us improve the guide. Here is where you can look meanwhile:",
                buttons=self._topic_buttons(),
            )
            return Response((thanks,))
        if state.last_entry and self.kb.get(state.last_entry) and _FOLLOW_ON.match(normalize(text)):
            return Response((self._follow_on(event, state.last_entry, normalize(text)),))
        match = self.matcher.match(text)
        log_id = self.store.log_question(
            LoggedQuestion(
                user_id=event.user_id,
                chat_id=event.chat_id,
                chat_type=event.chat_type,
                text=text,
                decision=match.decision,
                entry_id=match.entry.id if match.entry else None,
                score=match.score,
                candidates=tuple((c.entry_id, c.score) for c in match.candidates),
            )
        )
        log.info(
            "question decision=%s entry=%s score=%.1f candidates=%s",
            match.decision,
            match.entry.id if match.entry else None,
            match.score,
            ",".join(f"{c.entry_id}:{c.score}" for c in match.candidates),
        )
        return Response((self._for_match(event, match, log_id),))

    def _for_match(self, event: Event, match: Match, log_id: int) -> Reply:
        if match.decision == "answer" and match.entry is not None:
            return self.answer(event, match.entry, log_id=log_id)
        if match.decision == "clarify":
            options = self.matcher.clarify_options(match)
            if options:
                return self._clarify(options)
        return self._fallback(match.entry if match.entry and match.entry.is_fallback else None)

    def _button(self, event: Event) -> Response:
        action = event.text
        kind, _, arg = action.partition(":")
        if kind == "e" and self.kb.get(arg) is not None:
            return Response((self.answer(event, self.kb.by_id[arg]),))
        if kind == "menu":
            return Response((self._menu("Here is everything I can help with:"),))
        if kind == "none":
            return Response((self._menu("No problem. Pick a topic, or ask again in other words:"),))
        if kind == "map":
            return Response((self._career_map(event),))
        if kind == "faq":
            return Response((self._faq_list(),))
        if kind == "fb" and arg[:2] in ("+:", "-:") and arg[2:].isdigit():
            return self._feedback(event, arg[0] == "+", int(arg[2:]))
        log.info("stale or unknown button action %r", action[:64])
        stale = Reply(
            "That button is from an older version of this chat. Here are the current topics:",
            buttons=self._topic_buttons(),
        )
        return Response((stale,), toast="That button has expired.")

    def _command(self, event: Event) -> Response:
        name, arg = event.command
        if name == "start":
            entry = self.kb.get(arg) if arg else None
            if entry is not None and entry.kind != "redirect":
                return Response((self.answer(event, entry),))
            return Response((self._welcome(),))
        if name == "help":
            return Response((Reply(HELP_TEXT, heading="How to use this bot"),))
        if name == "topics":
            return Response((self._menu("Here is everything I can help with:"),))
        if name == "milestones":
            return Response((self._career_map(event),))
        if name == "faq":
            return Response((self._faq_list(),))
        handler = self.extra_commands.get(name)
        if handler is not None:
            return handler(event)
        return Response((Reply("Sorry, I don't know that command. Try /help."),))

    # ----------------------------------------------------------------- replies

    def answer(self, event: Event, entry: Entry, *, log_id: int | None = None) -> Reply:
        """An entry's advice with its follow-ups, career-map navigation and feedback."""
        state = self.store.chat_state(event.chat_id)
        self.store.save_chat_state(event.chat_id, replace(state, last_entry=entry.id))
        rows: list[tuple[Button, ...]] = []
        follow = [self.kb.by_id[f] for f in entry.follow_ups if f in self.kb.by_id]
        rows += _rows([Button(f.title, f"e:{f.id}") for f in follow], MAX_MENU_COLUMNS)
        note = ""
        if entry.kind == "milestone":
            position = self.kb.milestone_position(entry.id) or 0
            total = len(self.kb.milestones)
            note = f"Milestone {position} of {total}"
            nav = []
            if position > 1:
                nav.append(Button("◀ previous", f"e:{self.kb.milestones[position - 2].id}"))
            nav.append(Button("🗺 career map", "map"))
            if position < total:
                nav.append(Button("next ▶", f"e:{self.kb.milestones[position].id}"))
            rows.append(tuple(nav))
        elif entry.kind == "overview":
            rows += self._milestone_rows(event)
        if entry.kind != "smalltalk":
            extra = [Button("↗ share", share_query=entry.title)]
            if log_id is not None:
                extra = [Button("👍", f"fb:+:{log_id}"), Button("👎", f"fb:-:{log_id}"), *extra]
            rows.append(tuple(extra))
        heading = "" if entry.kind == "smalltalk" else entry.title
        return Reply(
            entry.answer, heading=heading, note=note, buttons=tuple(rows), entry_id=entry.id
        )

    def _follow_on(self, event: Event, last_id: str, said: str) -> Reply:
        last = self.kb.by_id[last_id]
        if _MORE.search(said):
            follow = [self.kb.by_id[f] for f in last.follow_ups if f in self.kb.by_id]
            if follow:
                return Reply(
                    f"More on “{last.title}”: pick what you'd like to read next.",
                    buttons=tuple(_rows([Button(f.title, f"e:{f.id}") for f in follow], 1)),
                )
        position = self.kb.milestone_position(last_id)
        if position is not None and position < len(self.kb.milestones):
            return self.answer(event, self.kb.milestones[position])
        if position is None and last.follow_ups and last.follow_ups[0] in self.kb.by_id:
            return self.answer(event, self.kb.by_id[last.follow_ups[0]])
        return self._menu("That was the last milestone on the map. Anything else on your mind?")

    def _clarify(self, options: list[Entry]) -> Reply:
        rows = [(Button(e.title, f"e:{e.id}"),) for e in options[:3]]
        rows.append((Button("None of these", "none"),))
        return Reply("I'm not quite sure what you mean. Did you mean…", buttons=tuple(rows))

    def _fallback(self, redirect: Entry | None) -> Reply:
        lead = "Sorry, the career guide I'm built on doesn't cover that."
        text = f"{lead}\n\n{redirect.answer}" if redirect else lead
        text += (
            "\n\nI can help with career steps after the USMLE: choosing a specialty, residency, "
            "fellowship, boards, CME, burnout, networking, retirement… Try one topic at a time, "
            "e.g. “how do I pick a specialty?”, or choose below."
        )
        return Reply(
            text, buttons=self._topic_buttons(), entry_id=redirect.id if redirect else None
        )

    def _welcome(self) -> Reply:
        text = (
            "👋 Hi! I help doctors plan their career after the USMLE, from choosing a specialty "
            "and residency to fellowship, boards, lifelong learning, work-life balance and "
            "retirement.\n\nAsk me anything in your own words, or pick a topic below. "
            "/help shows how."
        )
        return Reply(text, heading="Your post-USMLE career guide", buttons=self._topic_buttons())

    def _hint(self) -> Reply:
        return Reply(
            "I can only read text messages. Type your question, e.g. “how do I choose a "
            "specialty?”, or pick a topic:",
            buttons=self._topic_buttons(),
        )

    def _menu(self, text: str) -> Reply:
        buttons = [Button(e.title, f"e:{e.id}") for e in self.kb.milestones]
        rows = _rows(buttons, MAX_MENU_COLUMNS)
        rows.append((Button("🗺 career map", "map"), Button("❓ FAQ", "faq")))
        return Reply(text, heading="Topics", buttons=tuple(rows))

    def _topic_buttons(self) -> tuple[tuple[Button, ...], ...]:
        return (
            (Button("🗺 career map", "map"), Button("❓ FAQ", "faq")),
            (Button("📚 all topics", "menu"),),
        )

    def _milestone_rows(self, event: Event) -> list[tuple[Button, ...]]:
        return [
            (Button(f"{i}. {e.title}", f"e:{e.id}"),)
            for i, e in enumerate(self.kb.milestones, start=1)
        ]

    def _career_map(self, event: Event) -> Reply:
        text = "Your career after the USMLE, step by step. Tap a milestone to read about it."
        return Reply(text, heading="🗺 Career map", buttons=tuple(self._milestone_rows(event)))

    def _faq_list(self) -> Reply:
        rows = [(Button(e.title, f"e:{e.id}"),) for e in self.kb.of_kind("faq")]
        rows.append((Button("📚 all topics", "menu"),))
        return Reply("Frequently asked questions:", heading="❓ FAQ", buttons=tuple(rows))

    def _feedback(self, event: Event, helpful: bool, log_id: int) -> Response:
        if not self.store.add_feedback(log_id, event.user_id, helpful):
            return Response(toast="Thanks! (That answer is no longer on record.)")
        if helpful:
            return Response(toast="Thanks, glad it helped!")
        state = self.store.chat_state(event.chat_id)
        self.store.save_chat_state(event.chat_id, replace(state, awaiting_comment_for=log_id))
        ask = Reply(
            "Sorry that missed. What were you looking for? Your next message goes to the team."
        )
        return Response((ask,), toast="Thanks for telling us.")


def _rows(buttons: list[Button], columns: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]
