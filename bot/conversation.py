"""The conversation: user events in, `Reply` values out. Knows nothing of Telegram or SQLite.

Buttons carry self-contained actions, all well under Telegram's 64-byte callback_data, so a
"did you mean" or an old answer's buttons need no server-side state and still work after a
restart:

    e:<entry>            open an entry              menu / map / faq / none   navigation
    fb:+:<question-id>   👍 on a logged answer       fb:-:<question-id>        👎 (asks why, once)
    fb:+:e:<entry>       👍 on an answer opened      fb:-:e:<entry>            from a button
    fb:ok / fb:skip      after a vote / skip the "what were you looking for?"
    stage / st:<stage>   show / set the career stage (st:clear forgets it)
    human:<question-id>  forward a fallback question to the support chat
    forget:yes/no        confirm /forget
    ua:… ul:… ui:…       operator buttons (bot.admin), handled only for admins

Operator commands live in `admin_commands` / `admin_buttons` and are looked up only when
`Event.is_admin`, so for everyone else they do not exist (the unknown-command reply).
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.knowledge import Entry, KnowledgeBase
from bot.matching import Match, Matcher, normalize
from bot.stages import STAGES, Stage, StageMention, asks_something, detect_stage, get_stage
from bot.state import LoggedQuestion, MemoryStore, Store

log = logging.getLogger(__name__)

EventKind = Literal["text", "button", "command"]
MAX_MENU_COLUMNS = 2
MAX_MESSAGE = 4000  # under Telegram's 4096, leaving room for markup
MYDATA_QUESTIONS = 100  # /mydata lists at most this many questions, the latest
_RECENT_TEXTS = 256  # question texts kept in memory for "talk to a person" when the log has none


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
class Forward:
    """A request to the front end: pass a user's question on to the support chat.

    Contract for the adapter: send `text` (plain text) to `chat_id`, then remember the sent
    message's id -> `user_chat_id` (`SqliteStore.save_relay(chat_id, message_id, user_chat_id,
    user_id, question_id)`). When someone in the support chat *replies* to that message, look
    it up (`SqliteStore.relay_target(chat_id, reply_to_message_id)`) and send the reply's text
    to `user_chat_id` prefixed with `RELAY_PREFIX`. Messages in the support chat that reply to
    nothing known are ignored. The user already got a confirmation in `Response.replies`.
    """

    chat_id: int
    text: str
    user_chat_id: int
    user_id: int
    question_id: int | None = None


RELAY_PREFIX = "💬 Reply from the team:\n\n"


@dataclass(frozen=True)
class Response:
    """What one event produces: new messages, a toast for a pressed button, an edit of the
    message whose button was pressed, and (rarely) a question to forward to a person."""

    replies: tuple[Reply, ...] = ()
    toast: str | None = None
    edit: Reply | None = None
    forward: Forward | None = None


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
    "/stage — tell me where you are in your career\n"
    "/mydata — what I keep about you\n"
    "/forget — delete everything I keep about you\n"
    "/help — this message"
)
ADMIN_HELP = (
    "\n\nOperator commands:\n"
    "/stats — questions, decisions, top entries, 👍 share\n"
    "/unanswered — what the bot could not answer, grouped\n"
    "/reload — reload the knowledge from disk"
)

CommandHandler = Callable[[Event], Response]
ButtonHandler = Callable[[Event, str], Response]


@dataclass
class Conversation:
    """Turns events into responses, using the matcher and a store."""

    kb: KnowledgeBase
    matcher: Matcher
    store: Store = field(default_factory=MemoryStore)
    extra_commands: dict[str, CommandHandler] = field(default_factory=dict)
    admin_commands: dict[str, CommandHandler] = field(default_factory=dict)
    admin_buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    support_chat_id: int | None = None
    _recent: OrderedDict[int, tuple[int, str]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )

    def reload(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        """Swap in new knowledge at once (only ever a fully validated one)."""
        self.kb, self.matcher = kb, matcher

    # ------------------------------------------------------------------ events

    def handle(self, event: Event) -> Response:
        """The single entry point for every front end."""
        if event.kind == "command":
            self._drop_pending_comment(event)
            return self._command(event)
        if event.kind == "button":
            if not event.text.startswith("fb:"):
                self._drop_pending_comment(event)
            return self._button(event)
        return self._text(event)

    def _drop_pending_comment(self, event: Event) -> None:
        """The user moved on: their next message is no longer a 👎 explanation."""
        state = self.store.chat_state(event.chat_id)
        if state.awaiting_comment_for is not None:
            self.store.save_chat_state(event.chat_id, replace(state, awaiting_comment_for=None))

    def _text(self, event: Event) -> Response:
        text = event.text.strip()
        if not text:
            return Response((self._hint(),))
        state = self.store.chat_state(event.chat_id)
        if state.awaiting_comment_for is not None and self.store.add_feedback_comment(
            state.awaiting_comment_for, event.user_id, text
        ):
            self.store.save_chat_state(event.chat_id, replace(state, awaiting_comment_for=None))
            return self._after_comment(event, text)
        mention = detect_stage(text)
        if mention is not None:
            return self._stage_statement(event, text, mention)
        if state.last_entry and self.kb.get(state.last_entry) and _FOLLOW_ON.match(normalize(text)):
            return Response((self._follow_on(event, state.last_entry, normalize(text)),))
        return Response((self._ask(event, text),))

    def _ask(
        self, event: Event, text: str, *, alternative: str = "", match: Match | None = None
    ) -> Reply:
        """Match, log and reply to one question (`alternative`: a second wording to try;
        `match`: the question's match when the caller already has it)."""
        match = match or self.matcher.match(text)
        if match.decision != "answer" and alternative:
            second = self.matcher.match(alternative)
            if second.decision == "answer":
                match = second
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
        if not self.store.keeps_text and self.support_chat_id is not None:
            self._remember_text(log_id, event.user_id, text)
        log.info(
            "question decision=%s entry=%s score=%.1f candidates=%s",
            match.decision,
            match.entry.id if match.entry else None,
            match.score,
            ",".join(f"{c.entry_id}:{c.score}" for c in match.candidates),
        )
        return self._for_match(event, match, log_id)

    def _remember_text(self, log_id: int, user_id: int, text: str) -> None:
        self._recent[log_id] = (user_id, text)
        while len(self._recent) > _RECENT_TEXTS:
            self._recent.popitem(last=False)

    def _for_match(self, event: Event, match: Match, log_id: int) -> Reply:
        if match.decision == "answer" and match.entry is not None:
            return self.answer(event, match.entry, log_id=log_id)
        if match.decision == "clarify":
            options = self.matcher.clarify_options(match)
            if options:
                return self._clarify(options)
        redirect = match.entry if match.entry and match.entry.is_fallback else None
        return self._fallback(event, redirect, log_id)

    def _button(self, event: Event) -> Response:
        action = event.text
        kind, _, arg = action.partition(":")
        if kind == "e" and self.kb.get(arg) is not None:
            return Response((self.answer(event, self.kb.by_id[arg]),))
        if kind == "menu":
            return Response((self._menu(event, "Here is everything I can help with:"),))
        if kind == "none":
            text = "No problem. Pick a topic, or ask again in other words:"
            return Response((self._menu(event, text),))
        if kind == "map":
            return Response((self._career_map(event),))
        if kind == "faq":
            return Response((self._faq_list(),))
        if kind == "fb":
            return self._feedback(event, arg)
        if kind == "stage":
            return Response((self._stage_menu(event),))
        if kind == "st":
            return self._set_stage(event, arg)
        if kind == "human" and arg.isdigit() and self.support_chat_id is not None:
            return self._to_human(event, int(arg))
        if kind == "forget" and arg in ("yes", "no"):
            return self._forget(event, arg == "yes")
        handler = self.admin_buttons.get(kind) if event.is_admin else None
        if handler is not None:
            return handler(event, arg)
        return self._stale(action)

    def _stale(self, action: str) -> Response:
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
            text = HELP_TEXT + (ADMIN_HELP if event.is_admin and self.admin_commands else "")
            return Response((Reply(text, heading="How to use this bot"),))
        if name == "topics":
            return Response((self._menu(event, "Here is everything I can help with:"),))
        if name == "milestones":
            return Response((self._career_map(event),))
        if name == "faq":
            return Response((self._faq_list(),))
        if name == "stage":
            return self._stage_command(event, arg)
        if name == "mydata":
            return Response(_mydata_replies(self.store.user_data(event.user_id), self.kb))
        if name == "forget":
            return Response((self._forget_confirm(),))
        handler = self.extra_commands.get(name)
        if handler is None and event.is_admin:
            handler = self.admin_commands.get(name)
        if handler is not None:
            return handler(event)
        return Response((Reply("Sorry, I don't know that command. Try /help."),))

    # ----------------------------------------------------------------- answers

    def answer(self, event: Event, entry: Entry, *, log_id: int | None = None) -> Reply:
        """An entry's advice with its follow-ups, career-map navigation and feedback.

        Remembers the entry as the chat's last one, for "tell me more" and "what's next".
        """
        state = self.store.chat_state(event.chat_id)
        self.store.save_chat_state(event.chat_id, replace(state, last_entry=entry.id))
        return self._answer_reply(event, entry, log_id=log_id)

    def _answer_reply(
        self, event: Event, entry: Entry, *, log_id: int | None = None, voted: bool = False
    ) -> Reply:
        stage = self._stage(event)
        upcoming = self._next_milestone(stage)
        rows: list[tuple[Button, ...]] = []
        follow = [self.kb.by_id[f] for f in entry.follow_ups if f in self.kb.by_id]
        buttons = [Button(f.title, f"e:{f.id}") for f in follow]
        if upcoming is not None and entry.kind != "smalltalk" and upcoming.id != entry.id:
            buttons = [Button(f"📍 Next for you: {upcoming.title}", f"e:{upcoming.id}")] + [
                b for b in buttons if b.action != f"e:{upcoming.id}"
            ]
            rows.append((buttons[0],))
            buttons = buttons[1:]
        rows += _rows(buttons, MAX_MENU_COLUMNS)
        note = ""
        if entry.kind == "milestone":
            position = self.kb.milestone_position(entry.id) or 0
            total = len(self.kb.milestones)
            note = f"Milestone {position} of {total}"
            if stage is not None and stage.milestone == entry.id:
                note += " · 📍 you are here"
            elif upcoming is not None and upcoming.id == entry.id:
                note += " · 📍 your next step"
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
            share = Button("↗ share", share_query=entry.title)
            if voted:
                rows.append((Button("✓ thanks", "fb:ok"), share))
            else:
                target = str(log_id) if log_id is not None else f"e:{entry.id}"
                rows.append((Button("👍", f"fb:+:{target}"), Button("👎", f"fb:-:{target}"), share))
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
        return self._menu(
            event, "That was the last milestone on the map. Anything else on your mind?"
        )

    def _clarify(self, options: list[Entry]) -> Reply:
        rows = [(Button(e.title, f"e:{e.id}"),) for e in options[:3]]
        rows.append((Button("None of these", "none"),))
        return Reply("I'm not quite sure what you mean. Did you mean…", buttons=tuple(rows))

    def _fallback(self, event: Event, redirect: Entry | None, log_id: int | None = None) -> Reply:
        lead = "Sorry, the career guide I'm built on doesn't cover that."
        text = f"{lead}\n\n{redirect.answer}" if redirect else lead
        text += (
            "\n\nI can help with career steps after the USMLE: choosing a specialty, residency, "
            "fellowship, boards, CME, burnout, networking, retirement… Try one topic at a time, "
            "e.g. “how do I pick a specialty?”, or choose below."
        )
        buttons = self._topic_buttons()
        if self.support_chat_id is not None and log_id is not None:
            buttons = ((Button("💬 Talk to a person", f"human:{log_id}"),), *buttons)
        return Reply(text, buttons=buttons, entry_id=redirect.id if redirect else None)

    # ----------------------------------------------------------------- menus

    def _welcome(self) -> Reply:
        text = (
            "👋 Hi! I help doctors plan their career after the USMLE, from choosing a specialty "
            "and residency to fellowship, boards, lifelong learning, work-life balance and "
            "retirement.\n\nAsk me anything in your own words, or pick a topic below. "
            "Tell me where you are (“I'm a PGY-2”, or /stage) and I'll point you to your next "
            "step. /help shows how."
        )
        return Reply(text, heading="Your post-USMLE career guide", buttons=self._topic_buttons())

    def _hint(self) -> Reply:
        return Reply(
            "I can only read text messages. Type your question, e.g. “how do I choose a "
            "specialty?”, or pick a topic:",
            buttons=self._topic_buttons(),
        )

    def _menu(self, event: Event, text: str) -> Reply:
        rows: list[tuple[Button, ...]] = []
        upcoming = self._next_milestone(self._stage(event))
        if upcoming is not None:
            rows.append((Button(f"📍 Next for you: {upcoming.title}", f"e:{upcoming.id}"),))
        buttons = [Button(e.title, f"e:{e.id}") for e in self.kb.milestones]
        rows += _rows(buttons, MAX_MENU_COLUMNS)
        rows.append((Button("🗺 career map", "map"), Button("❓ FAQ", "faq")))
        return Reply(text, heading="Topics", buttons=tuple(rows))

    def _topic_buttons(self) -> tuple[tuple[Button, ...], ...]:
        return (
            (Button("🗺 career map", "map"), Button("❓ FAQ", "faq")),
            (Button("📚 all topics", "menu"),),
        )

    def _milestone_rows(self, event: Event) -> list[tuple[Button, ...]]:
        stage = self._stage(event)
        here = stage.milestone if stage else None
        return [
            (Button(f"{'📍 ' if e.id == here else ''}{i}. {e.title}", f"e:{e.id}"),)
            for i, e in enumerate(self.kb.milestones, start=1)
        ]

    def _career_map(self, event: Event) -> Reply:
        text = "Your career after the USMLE, step by step. Tap a milestone to read about it."
        stage = self._stage(event)
        here = self.kb.get(stage.milestone) if stage else None
        if stage is not None and here is not None:
            text += f"\n\n📍 marks where you are ({stage.you_are}). /stage changes it."
        else:
            text += "\n\nTell me where you are (/stage) and I'll mark it on the map."
        return Reply(text, heading="🗺 Career map", buttons=tuple(self._milestone_rows(event)))

    def _faq_list(self) -> Reply:
        rows = [(Button(e.title, f"e:{e.id}"),) for e in self.kb.of_kind("faq")]
        rows.append((Button("📚 all topics", "menu"),))
        return Reply("Frequently asked questions:", heading="❓ FAQ", buttons=tuple(rows))

    # ----------------------------------------------------------------- feedback

    def _feedback(self, event: Event, arg: str) -> Response:
        if arg == "ok":
            return Response(toast="Thanks, already noted.")
        if arg == "skip":
            self._drop_pending_comment(event)
            return Response(toast="No problem.", edit=Reply("No problem. Ask me anything else."))
        sign, _, target = arg.partition(":")
        if sign not in ("+", "-"):
            return self._stale(f"fb:{arg}")
        helpful = sign == "+"
        question_id: int | None = None
        if target.startswith("e:") and target[2:]:
            vote = self.store.add_feedback(event.user_id, helpful, entry_id=target[2:])
        elif target.isdigit():
            question_id = int(target)
            vote = self.store.add_feedback(event.user_id, helpful, question_id=question_id)
        else:
            return self._stale(f"fb:{arg}")
        if vote is None:
            return Response(toast="Thanks! (That answer is no longer on record.)")
        entry = self.kb.get(vote.entry_id) if vote.entry_id else None
        edit = None
        if entry is not None and event.chat_type == "private":
            edit = self._answer_reply(event, entry, voted=True)  # same message, "✓ thanks"
        if helpful:
            return Response(toast="Thanks, glad it helped!", edit=edit)
        if vote.previous is False or not self.store.keeps_text:
            return Response(toast="Thanks for telling us.", edit=edit)
        state = self.store.chat_state(event.chat_id)
        self.store.save_chat_state(
            event.chat_id, replace(state, awaiting_comment_for=vote.feedback_id)
        )
        buttons: list[tuple[Button, ...]] = [(Button("Skip", "fb:skip"),)]
        if self.support_chat_id is not None and question_id is not None:
            buttons.insert(0, (Button("💬 Talk to a person", f"human:{question_id}"),))
        ask = Reply(
            "Sorry that missed. What were you looking for? Your next message goes to the team "
            "who improve this guide.",
            buttons=tuple(buttons),
        )
        return Response((ask,), toast="Thanks for telling us.", edit=edit)

    def _after_comment(self, event: Event, text: str) -> Response:
        thanks = "Thank you, that helps us improve the guide."
        match = self.matcher.match(text)
        if match.decision == "answer" and match.entry is not None:
            helps = Reply(f"{thanks} Maybe this helps:")
            return Response((helps, self.answer(event, match.entry)))
        meanwhile = Reply(
            f"{thanks} Here is where you can look meanwhile:", buttons=self._topic_buttons()
        )
        return Response((meanwhile,))

    def _to_human(self, event: Event, question_id: int) -> Response:
        assert self.support_chat_id is not None
        question = self.store.question(question_id, event.user_id)
        if question is None:
            return Response(toast="That question is no longer on record.")
        if not question.mine:
            return Response(toast="Only the person who asked can pass this on.")
        if not self.store.mark_forwarded(question_id):
            return Response(toast="Already passed on: a reply will appear here.")
        text = question.text
        if text is None:
            remembered = self._recent.get(question_id)
            text = remembered[1] if remembered and remembered[0] == event.user_id else None
        body = text if text else "(the question text is not kept: privacy.store_text is off)"
        forward = Forward(
            chat_id=self.support_chat_id,
            text=(
                f"❓ A user asked (question #{question_id}, {question.decision}):\n\n{body}\n\n"
                "Reply to this message to answer them: the bot relays your reply."
            ),
            user_chat_id=event.chat_id,
            user_id=event.user_id,
            question_id=question_id,
        )
        done = Reply(
            "I've passed your question to a person on the team. Their reply will appear here."
        )
        return Response((done,), toast="Sent to the team.", forward=forward)

    # ----------------------------------------------------------------- career stage

    def _stage(self, event: Event) -> Stage | None:
        return get_stage(self.store.stage(event.user_id))

    def _next_milestone(self, stage: Stage | None) -> Entry | None:
        if stage is None:
            return None
        position = self.kb.milestone_position(stage.milestone)
        if position is None or position >= len(self.kb.milestones):
            return None
        return self.kb.milestones[position]

    def _stage_statement(self, event: Event, text: str, mention: StageMention) -> Response:
        stage = mention.stage
        self.store.set_stage(event.user_id, stage.id)
        if asks_something(text, mention):
            confirm = Reply(f"Got it, you're {stage.you_are} — I'll keep that in mind.")
            upcoming = self._next_milestone(stage)
            # "I passed Step 2, what now?" has its own answer; "I'm a PGY-2, what now?" only
            # names where they are, so it gets the next milestone.
            full = self.matcher.match(text)
            vague = full.decision != "answer" or (full.entry and full.entry.id == stage.milestone)
            if vague and upcoming is not None and _FOLLOW_ON.match(mention.rest):
                return Response((confirm, self.answer(event, upcoming)))
            reply = self._ask(event, text, alternative=mention.rest, match=full)
            return Response((confirm, reply))
        return Response((self._stage_confirm(event, stage),))

    def _stage_confirm(self, event: Event, stage: Stage) -> Reply:
        text = f"Got it, you're {stage.you_are} — I'll keep that in mind."
        upcoming = self._next_milestone(stage)
        rows: list[tuple[Button, ...]] = []
        if upcoming is not None:
            text += f"\n\nYour next milestone on the career map: {upcoming.title}."
            rows.append((Button(f"📍 Next for you: {upcoming.title}", f"e:{upcoming.id}"),))
        rows.append((Button("🗺 career map", "map"), Button("change", "stage")))
        return Reply(text, buttons=tuple(rows))

    def _stage_command(self, event: Event, arg: str) -> Response:
        if arg:
            wanted = normalize(arg).replace(" ", "-")
            if wanted in ("clear", "none", "forget", "reset"):
                return self._set_stage(event, "clear")
            for stage in STAGES:
                if wanted in (stage.id, normalize(stage.label).replace(" ", "-")):
                    return self._set_stage(event, stage.id)
            mention = detect_stage(f"i am {arg}") or detect_stage(arg)
            if mention is not None:
                return self._set_stage(event, mention.stage.id)
        return Response((self._stage_menu(event),))

    def _stage_menu(self, event: Event) -> Reply:
        stage = self._stage(event)
        if stage is None:
            text = (
                "I don't know where you are in your career yet. Pick your stage, or just tell "
                "me (e.g. “I'm a PGY-2” or “I just passed Step 2”)."
            )
        else:
            here = self.kb.get(stage.milestone)
            where = f" (📍 {here.title} on the career map)" if here else ""
            text = f"You're {stage.you_are}{where}. Change it below, or clear it."
        buttons = [
            Button(f"✓ {s.label}" if stage and s.id == stage.id else s.label, f"st:{s.id}")
            for s in STAGES
        ]
        rows = _rows(buttons, MAX_MENU_COLUMNS)
        if stage is not None:
            rows.append((Button("Clear my stage", "st:clear"),))
        return Reply(text, heading="Your career stage", buttons=tuple(rows))

    def _set_stage(self, event: Event, arg: str) -> Response:
        if arg == "clear":
            self.store.set_stage(event.user_id, None)
            return Response(
                (Reply("Done, I've forgotten your career stage. /stage sets it again."),),
                toast="Stage cleared.",
            )
        stage = get_stage(arg)
        if stage is None:
            return self._stale(f"st:{arg}")
        self.store.set_stage(event.user_id, stage.id)
        return Response((self._stage_confirm(event, stage),), toast="Saved.")

    # ----------------------------------------------------------------- privacy

    def _forget_confirm(self) -> Reply:
        return Reply(
            "This deletes everything I keep about you: your questions and feedback, your "
            "career stage and this chat's state. It cannot be undone. Go ahead?",
            heading="Delete your data?",
            buttons=((Button("Yes, delete it", "forget:yes"), Button("No, keep it", "forget:no")),),
        )

    def _forget(self, event: Event, confirmed: bool) -> Response:
        if not confirmed:
            return Response(toast="Nothing deleted.", edit=Reply("OK, nothing was deleted."))
        gone = self.store.forget_user(event.user_id)
        for question_id in [q for q, (user, _) in self._recent.items() if user == event.user_id]:
            del self._recent[question_id]
        done = Reply(
            f"Done: I deleted everything I kept about you ({gone} "
            f"record{'' if gone == 1 else 's'}). If you ask again, I start from scratch."
        )
        return Response((done,), toast="Deleted.", edit=Reply("🗑 Your data was deleted."))


def _rows(buttons: list[Button], columns: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]


def _when(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts)))
    except (TypeError, ValueError):
        return "?"


def _mydata_replies(data: dict[str, Any], kb: KnowledgeBase) -> tuple[Reply, ...]:
    """/mydata: what is stored, in plain words, split to fit Telegram messages."""

    def title(entry_id: Any) -> str:
        entry = kb.get(str(entry_id)) if entry_id else None
        return entry.title if entry else str(entry_id or "none")

    stage = get_stage(data.get("stage"))
    lines = [
        "Here is everything I keep about you. You are stored under a pseudonymous key "
        f"({data.get('user_key', '?')}), never your Telegram id.",
        "",
        f"Career stage: {stage.label if stage else 'not set'}",
    ]
    chat = data.get("chat_state")
    if chat and chat.get("last_entry"):
        lines.append(f"Last topic in our chat: {title(chat['last_entry'])}")
    questions = data.get("questions", [])
    lines += ["", f"Questions logged: {len(questions)}"]
    if len(questions) > MYDATA_QUESTIONS:
        lines.append(f"(showing the latest {MYDATA_QUESTIONS})")
        questions = questions[-MYDATA_QUESTIONS:]
    for q in questions:
        said = q.get("text")
        shown = f"“{said}”" if said else "(text not kept)"
        what = q.get("decision", "?")
        if q.get("entry_id"):
            what += f": {title(q['entry_id'])}"
        lines.append(f"• {_when(q.get('at'))} {shown} → {what}")
    feedback = data.get("feedback", [])
    lines += ["", f"Feedback given: {len(feedback)}"]
    for f in feedback:
        vote = "👍" if f.get("helpful") else "👎"
        comment = f" “{f['comment']}”" if f.get("comment") else ""
        lines.append(f"• {_when(f.get('at'))} {vote} {title(f.get('entry_id'))}{comment}")
    if data.get("forwarded_replies"):
        lines.append(f"\nQuestions passed to a person: {data['forwarded_replies']}")
    lines += ["", "/forget deletes all of it."]
    chunks: list[str] = []
    current = ""
    for line in lines:
        if len(current) + len(line) + 1 > MAX_MESSAGE and current:
            chunks.append(current)
            current = ""
        current += (line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…") + "\n"
    chunks.append(current)
    replies = [Reply(c.rstrip()) for c in chunks]
    replies[0] = replace(replies[0], heading="Your data")
    return tuple(replies)
