"""The Telegram front end: a python-telegram-bot `Application` around the conversation core.

The only module that imports `telegram`. It turns updates into `Event`s, runs the synchronous
core on a single worker thread (so storage I/O never blocks polling and events keep their
order), and renders each `Reply` as HTML with an inline keyboard.

Around the core it runs the operator's loop: "talk to a person" (a `Response.forward` goes to
the support chat; a reply there to the forwarded message is relayed back to the user), knowledge
reloads without a restart (SIGHUP, and a polling watch of the knowledge folder every
`WATCH_INTERVAL` seconds), the daily retention purge, and per-admin command menus.

Bot API rules followed here (https://core.telegram.org/bots/api):
- message text is 1-4096 characters after entity parsing: long replies are split;
- callback_data is 1-64 bytes: a button whose action would not fit is skipped;
- every callback query must be answered, or the user's button keeps spinning;
- `/cmd@OtherBot` in a group is addressed to another bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import signal
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.admin import KnowledgeReloader
from bot.admin import setup as setup_operator_tools
from bot.config import Config
from bot.conversation import (
    RELAY_PREFIX,
    Button,
    Conversation,
    Event,
    EventKind,
    Forward,
    Reply,
    Response,
)
from bot.errors import Problem
from bot.knowledge import Entry, KnowledgeBase
from bot.matching import Matcher
from bot.storage import SqliteStore, make_store

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TEXT = 4096  # Bot API: message text length after entity parsing (UTF-16 code units)
MAX_CALLBACK_DATA = 64  # Bot API: callback_data, in bytes
MAX_INLINE_RESULTS = 10
MAX_DESCRIPTION = 120
# The update kinds we handle; edited messages, channel posts and the rest are never requested.
ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]
COMMANDS = [
    ("start", "Welcome and the topic menu"),
    ("help", "How to ask me a question"),
    ("topics", "Everything I cover"),
    ("milestones", "The career map, step by step"),
    ("faq", "Frequently asked questions"),
    ("stage", "Tell me where you are in your career"),
    ("mydata", "What I keep about you"),
    ("forget", "Delete everything I keep about you"),
]
# Shown (with the public ones) only in the chats of the ids in `admins`.
ADMIN_COMMANDS = [
    ("stats", "Questions, decisions, top answers, 👍 share"),
    ("unanswered", "What the bot could not answer, grouped"),
    ("reload", "Reload the knowledge from disk"),
]
WATCH_INTERVAL = 2.0  # seconds between looks at the knowledge folder for edits
PURGE_INTERVAL = 24 * 60 * 60.0  # privacy.retention_days is applied this often (and at start)
RELAYED = "✓ Sent to the user."
TOKEN_SHAPE = re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_TELEGRAM_LOGGERS_TOO_CHATTY = ("httpx", "httpcore")  # httpx logs request URLs (with token)


# --------------------------------------------------------------------------- logging


def redact(text: str, token: str | None = None) -> str:
    """Replace the token, and anything shaped like a bot token, with `<token>`."""
    if token:
        text = text.replace(token, "<token>")
    return TOKEN_SHAPE.sub("<token>", text)


class RedactingFilter(logging.Filter):
    """Keeps the token out of every log line; makes each exception one line (except at DEBUG).

    While the bot is starting, an InvalidToken record is dropped: `run_bot` reports a wrong
    token itself, in one line.
    """

    def __init__(self, token: str | None, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.token = token
        self.tracebacks = tracebacks
        self.starting = True

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if self.starting and isinstance(exc, InvalidToken):
            return False
        message = record.getMessage()
        if exc is not None and not self.tracebacks:
            message = f"{message} [{type(exc).__name__}: {exc}]"
            record.exc_info, record.exc_text = None, None
        elif record.exc_info:
            formatter = logging.Formatter()
            message = f"{message}\n{formatter.formatException(record.exc_info)}"
            record.exc_info, record.exc_text = None, None
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"
            record.stack_info = None
        record.msg, record.args = redact(message, self.token), None
        return True


def setup_logging(config: Config) -> RedactingFilter:
    """Log to stderr at the configured level, through the redacting filter."""
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT, stream=sys.stderr)
    root = logging.getLogger()
    root.setLevel(config.log_level)
    redactor = RedactingFilter(config.telegram.token, tracebacks=config.log_level == "DEBUG")
    for handler in root.handlers:
        handler.addFilter(redactor)
    for name in _TELEGRAM_LOGGERS_TOO_CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    return redactor


# --------------------------------------------------------------------------- rendering


def utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units (most emoji count as 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into parts of at most `limit` UTF-16 units: at paragraph breaks, then line
    breaks, then spaces, then anywhere."""
    return [part for part in _split(text.strip(), limit, ("\n\n", "\n", " ")) if part.strip()]


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    sep, rest = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(sep):
        candidate = f"{current}{sep}{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if utf16_len(piece) <= limit:
            current = piece
        else:
            *done, current = _split(piece, limit, rest)
            parts += done
    if current:
        parts.append(current)
    return [p.strip() for p in parts]


def _hard_cut(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:  # by code point, so a surrogate pair is never cut in half
        width = utf16_len(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard for a reply's buttons; a button that Telegram would reject is
    skipped with a warning."""
    keys: list[list[InlineKeyboardButton]] = []
    for row in rows:
        keys_row: list[InlineKeyboardButton] = []
        for button in row:
            if button.share_query is not None:
                query = button.share_query[:256]
                keys_row.append(InlineKeyboardButton(button.label, switch_inline_query=query))
            elif button.action and len(button.action.encode()) <= MAX_CALLBACK_DATA:
                keys_row.append(InlineKeyboardButton(button.label, callback_data=button.action))
            else:
                log.warning("skipped button %r: callback_data must be 1-64 bytes", button.label)
        if keys_row:
            keys.append(keys_row)
    return InlineKeyboardMarkup(keys) if keys else None


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """A reply as one or more HTML messages (each within 4096 characters); the keyboard goes
    on the last one."""
    heading, note = reply.heading.strip()[:256], reply.note.strip()[:256]
    reserved = (utf16_len(heading) + 2 if heading else 0) + (utf16_len(note) + 2 if note else 0)
    bodies = split_text(reply.text, MAX_TEXT - reserved) or [""]
    messages: list[tuple[str, InlineKeyboardMarkup | None]] = []
    for i, body in enumerate(bodies):
        pieces = []
        if heading and i == 0:
            pieces.append(f"<b>{html.escape(heading, quote=False)}</b>")
        if body:
            pieces.append(html.escape(body, quote=False))
        if note and i == len(bodies) - 1:
            pieces.append(f"<i>{html.escape(note, quote=False)}</i>")
        last = i == len(bodies) - 1
        messages.append(("\n\n".join(pieces) or "…", keyboard(reply.buttons) if last else None))
    return messages


def deep_link(username: str, entry_id: str) -> str:
    """`t.me/<bot>?start=<entry-id>`: opens the bot on that entry."""
    return f"t.me/{username}?start={entry_id}"


def inline_article(entry: Entry, username: str) -> InlineQueryResultArticle:
    """An entry as an inline-mode result: its answer, shareable into any chat."""
    link = deep_link(username, entry.id)
    budget = MAX_TEXT - utf16_len(entry.title) - utf16_len(link) - 8
    answer = split_text(entry.answer, budget)[0] if entry.answer.strip() else ""
    if answer != entry.answer.strip():
        answer += " …"
    text = (
        f"<b>{html.escape(entry.title, quote=False)}</b>\n\n{html.escape(answer, quote=False)}"
        f"\n\n👉 {html.escape(link, quote=False)}"
    )
    first_line = entry.answer.strip().split("\n", 1)[0]
    if len(first_line) > MAX_DESCRIPTION:
        first_line = first_line[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return InlineQueryResultArticle(
        id=entry.id[:64],
        title=entry.title,
        description=first_line,
        input_message_content=InputTextMessageContent(
            text, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
        ),
    )


# --------------------------------------------------------------------------- the front end


class TelegramBot:
    """Handlers that translate between Telegram updates and the conversation core."""

    def __init__(
        self, config: Config, conversation: Conversation, reloader: KnowledgeReloader
    ) -> None:
        self.config = config
        self.conversation = conversation
        self.reloader = reloader
        store = conversation.store
        self.store = store if isinstance(store, SqliteStore) else None  # relays, retention
        self.admins = frozenset(config.admins)
        self.support_chat_id = config.support_chat_id
        # One worker thread: the core and its storage run off the event loop, in update order.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqbot-core")
        self.blocked: set[int] = set()
        self.redactor: RedactingFilter | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ plumbing

    async def _core(self, event: Event) -> Response:
        return await self._on_core_thread(partial(self.conversation.handle, event))

    async def _on_core_thread(self, job: Callable[[], T]) -> T:
        """Run a job on the core's worker, in order with the events (storage, reloads)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, job)

    def _event(self, kind: EventKind, update: Update, text: str) -> Event:
        user = update.effective_user
        chat = update.effective_chat
        user_id = user.id if user else 0
        return Event(
            kind=kind,
            user_id=user_id,
            chat_id=chat.id if chat else user_id,
            text=text,
            chat_type=chat.type if chat else "private",
            is_admin=user_id in self.admins,
        )

    async def _send(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        replies: Sequence[Reply],
        reply_to: Message | None = None,
    ) -> None:
        for reply in replies:
            for text, markup in render(reply):
                await context.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=_NO_PREVIEW,
                    reply_parameters=(
                        ReplyParameters(reply_to.message_id, allow_sending_without_reply=True)
                        if reply_to is not None
                        else None
                    ),
                )
                reply_to = None  # only the first part quotes the question

    async def _respond(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event
    ) -> None:
        message = update.effective_message
        response = await self._core(event)
        replies = await self._forward(context, response)
        in_group = event.chat_type in ("group", "supergroup")
        await self._send(context, event.chat_id, replies, message if in_group and message else None)

    async def _forward(
        self, context: ContextTypes.DEFAULT_TYPE, response: Response
    ) -> tuple[Reply, ...]:
        """Pass `response.forward` on to the support chat; the replies the user should see."""
        forward = response.forward
        if forward is None:
            return response.replies
        try:
            sent = [
                await context.bot.send_message(
                    forward.chat_id,
                    html.escape(part, quote=False),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=_NO_PREVIEW,
                )
                for part in split_text(forward.text)
            ]
        except TelegramError as exc:
            log.warning(
                "could not forward question %s to support chat %s: %s",
                forward.question_id,
                forward.chat_id,
                exc,
            )
            sorry = "Sorry, I could not reach the team just now. Please try again later."
            return (Reply(sorry),)
        for message in sent:
            await self._on_core_thread(partial(self._save_relay, forward, message.message_id))
        log.info("forwarded question %s to support chat %s", forward.question_id, forward.chat_id)
        return response.replies

    def _save_relay(self, forward: Forward, message_id: int) -> None:
        if self.store is not None:
            self.store.save_relay(
                forward.chat_id,
                message_id,
                forward.user_chat_id,
                forward.user_id,
                forward.question_id,
            )

    async def _relay(self, message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """A reply in the support chat to a forwarded question goes to the user; False when
        the message replies to nothing forwarded."""
        replied = message.reply_to_message
        if replied is None or message.text is None or self.store is None:
            return False
        lookup = partial(self.store.relay_target, message.chat.id, replied.message_id)
        target = await self._on_core_thread(lookup)
        if target is None:
            return False
        try:
            await self._send(context, target, (Reply(RELAY_PREFIX + message.text),))
        except TelegramError as exc:
            log.info("could not relay a support reply to chat %s: %s", target, exc)
            done = f"✗ Not delivered: {exc.message}"
        else:
            log.info("relayed a support reply to chat %s", target)
            done = RELAYED
        await self._send(context, message.chat.id, (Reply(done),), reply_to=message)
        return True

    async def _edit(self, pressed: object, reply: Reply) -> bool:
        """Replace the pressed message with a reply; False when it has to be sent instead."""
        parts = render(reply)
        if not isinstance(pressed, Message) or len(parts) != 1:
            return False
        text, markup = parts[0]
        try:
            await pressed.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
            )
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return True  # the user pressed the same button twice: nothing to change
            log.info("could not edit message %s: %s", pressed.message_id, exc.message)
            return False
        return True

    def _addressed_to_other_bot(self, text: str, username: str) -> bool:
        head = text.split(maxsplit=1)[0] if text.strip() else ""
        _, at, target = head.partition("@")
        return bool(at) and target.lower() != username.lower()

    def _mention(self, username: str) -> re.Pattern[str]:
        return re.compile(rf"(?<![\w@])@{re.escape(username)}\b", re.IGNORECASE)

    # ------------------------------------------------------------ handlers

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any /command, known or not, including `/start <entry-id>` deep links."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        if self._addressed_to_other_bot(message.text, context.bot.username):
            return
        await self._respond(update, context, self._event("command", update, message.text))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed question; in groups only when it mentions the bot or replies to it; in the
        support chat only a reply to a forwarded question, which is relayed to the user."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        if message.chat.id == self.support_chat_id:
            relayed = await self._relay(message, context)
            if relayed or message.chat.type != "private":
                return  # the support chat talks to users through the bot, not to it
        text = message.text
        if message.chat.type != "private":
            mention = self._mention(context.bot.username)
            replied = message.reply_to_message
            author = replied.from_user if replied is not None else None
            to_bot = author is not None and author.id == context.bot.id
            if mention.search(text):
                text = " ".join(mention.sub(" ", text).split())
                if not text:  # just "@bot": show how to use it
                    await self._respond(update, context, self._event("command", update, "/help"))
                    return
            elif not to_bot:
                return
        await self._respond(update, context, self._event("text", update, text))

    async def on_other_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, photo, voice... in a private chat: a hint to type (a caption is read)."""
        message = update.effective_message
        caption = (message.caption or "") if message else ""
        await self._respond(update, context, self._event("text", update, caption))

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: always answered, even for stale or forged data."""
        query = update.callback_query
        if query is None:
            return
        event = self._event("button", update, query.data or "")
        response: Response | None = None
        try:
            response = await self._core(event)
        finally:
            toast = response.toast[:200] if response is not None and response.toast else None
            try:
                await query.answer(text=toast)
            except BadRequest as exc:  # too old (Telegram allows about 15 s), or answered already
                log.info("could not answer callback query: %s", exc.message)
        assert response is not None  # the core returned, or its exception has propagated
        replies = await self._forward(context, response)
        if response.edit is not None and not await self._edit(query.message, response.edit):
            replies = (response.edit, *replies)
        await self._send(context, event.chat_id, replies)

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`@bot residency` in any chat: matching entries as articles to share."""
        query = update.inline_query
        if query is None:
            return
        entries = await self._on_core_thread(partial(self.inline_entries, query.query))
        username = context.bot.username
        results = [inline_article(entry, username) for entry in entries]
        button = None
        if not results:
            button = InlineQueryResultsButton(text="Open the bot", start_parameter="inline")
        await query.answer(results, cache_time=30, button=button)

    def inline_entries(self, text: str) -> list[Entry]:
        """Entries for an inline query: the best matches, or the career map for an empty one."""
        kb, matcher = self.conversation.kb, self.conversation.matcher
        if not text.strip():
            return list(kb.milestones)
        floor = matcher.config.clarify_threshold
        picked = [e for e, score in matcher.rank(text) if score >= floor]
        return [e for e in picked if e.kind != "smalltalk"][:MAX_INLINE_RESULTS]

    async def on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was blocked, unblocked, added to or removed from a chat: note it."""
        change = update.my_chat_member
        if change is None:
            return
        status = change.new_chat_member.status
        chat_id = change.chat.id
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            self.blocked.add(chat_id)
        else:
            self.blocked.discard(chat_id)
        log.info("chat %s (%s): bot is now %s", chat_id, change.chat.type, status)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log one line per error and carry on."""
        error = context.error
        if isinstance(error, Forbidden):
            chat = update.effective_chat if isinstance(update, Update) else None
            chat_id = chat.id if chat else 0
            if chat_id not in self.blocked:
                self.blocked.add(chat_id)
                log.info("chat %s blocked the bot or removed it: %s", chat_id, error.message)
            return
        if update is None:  # raised while polling; PTB retries with the same offset
            log.warning("polling: %s: %s (retrying)", type(error).__name__, error)
            return
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s: %s", update_id, type(error).__name__, error)
        log.debug("details", exc_info=error)

    # ------------------------------------------------------------ knowledge and retention

    async def reload_knowledge(self, why: str) -> None:
        """Reload the knowledge from disk on the core's thread and log the outcome."""
        try:
            problems = await self._on_core_thread(self.reloader.reload)
        except Exception as exc:  # a bug must not kill the signal handler's task silently
            log.error("knowledge reload (%s) failed: %s: %s", why, type(exc).__name__, exc)
            return
        self._log_reload(why, problems)

    async def watch_knowledge(self) -> None:
        """Every WATCH_INTERVAL seconds, reload if a knowledge file changed (a broken edit is
        reported once, not on every look)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                problems = await self._on_core_thread(self.reloader.reload_if_changed)
            except Exception as exc:
                log.error("knowledge watch: %s: %s", type(exc).__name__, exc)
                continue
            if problems is not None:
                self._log_reload("a knowledge file changed", problems)

    def _log_reload(self, why: str, problems: list[Problem]) -> None:
        # The reloader has logged each problem as `path:line: message` at WARNING already.
        if problems:
            log.warning(
                "knowledge not reloaded (%s): %d problem(s); still serving the last good version",
                why,
                len(problems),
            )
        else:
            log.info("knowledge reloaded (%s)", why)

    async def purge_daily(self) -> None:
        """Apply `privacy.retention_days` every PURGE_INTERVAL seconds (make_store did at start)."""
        assert self.store is not None
        store = self.store
        while True:
            await asyncio.sleep(PURGE_INTERVAL)
            try:
                gone = await self._on_core_thread(store.purge_expired)
            except Exception as exc:
                log.error("retention purge: %s: %s", type(exc).__name__, exc)
                continue
            log.info("retention: purged %d expired row(s)", gone)

    def on_sighup(self) -> None:
        """SIGHUP: reload the knowledge (the operator edited it)."""
        self._spawn(self.reload_knowledge("SIGHUP"))

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ lifecycle

    async def _set_commands(
        self, bot: Bot, commands: Sequence[tuple[str, str]], admin: int | None = None
    ) -> None:
        scope = BotCommandScopeChat(admin) if admin is not None else None
        try:
            await bot.set_my_commands([BotCommand(n, d) for n, d in commands], scope=scope)
        except TelegramError as exc:
            if isinstance(exc, InvalidToken):
                raise
            whose = f" of admin {admin}" if admin is not None else ""
            log.warning("could not register the command menu%s: %s", whose, exc)

    async def post_init(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register the command menus once connected; start the knowledge watch, the SIGHUP
        reload and the daily purge."""
        await self._set_commands(app.bot, COMMANDS)
        operator = [c for c in ADMIN_COMMANDS if c[0] in self.conversation.admin_commands]
        if operator:
            for admin in sorted(self.admins):
                await self._set_commands(app.bot, COMMANDS + operator, admin)
        log.info("connected as @%s", app.bot.username)
        if self.redactor is not None:
            self.redactor.starting = False
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(sighup, self.on_sighup)
        self._spawn(self.watch_knowledge())
        if self.store is not None:
            self._spawn(self.purge_daily())

    async def post_shutdown(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Stop the background jobs before the core's worker shuts down."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().remove_signal_handler(sighup)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ wiring

    def build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        """The PTB Application with every handler registered."""
        token = self.config.telegram.token or ""
        base_url = self.config.telegram.base_url
        app = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(file_url(base_url))
            .rate_limiter(AIORateLimiter(max_retries=2))
            .concurrent_updates(False)
            .post_init(self.post_init)
            .post_shutdown(self.post_shutdown)
            .build()
        )
        new_message = filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(new_message & filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(new_message & filters.TEXT, self.on_text))
        app.add_handler(
            MessageHandler(
                new_message & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL,
                self.on_other_message,
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(InlineQueryHandler(self.on_inline_query))
        app.add_handler(ChatMemberHandler(self.on_my_chat_member))
        app.add_error_handler(self.on_error)
        return app


def file_url(base_url: str) -> str:
    """`https://api.telegram.org/bot` -> `https://api.telegram.org/file/bot`."""
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url


def run_bot(config: Config, kb: KnowledgeBase) -> int:
    """Poll Telegram until SIGINT/SIGTERM; return the exit code."""
    redactor = setup_logging(config)
    token = config.telegram.token
    try:
        store = make_store(config)
    except (sqlite3.Error, OSError) as exc:
        sys.stderr.write(f"faqbot: cannot open the database {config.storage_path}: {exc}\n")
        return 1
    conversation = Conversation(kb, Matcher(kb, config.matching), store)
    reloader = setup_operator_tools(conversation, config)
    front = TelegramBot(config, conversation, reloader)
    front.redactor = redactor
    app = front.build()
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        app.run_polling(
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            stop_signals=(signal.SIGINT, signal.SIGTERM),
        )
    except InvalidToken:
        sys.stderr.write(
            "faqbot: Telegram rejected the bot token. Check TELEGRAM_BOT_TOKEN (or "
            "telegram.token) against the token @BotFather gave you.\n"
        )
        return 1
    except TelegramError as exc:
        message = redact(str(exc), token)
        sys.stderr.write(
            f"faqbot: could not connect to Telegram at {redact(config.telegram.base_url)}: "
            f"{type(exc).__name__}: {message}\n"
        )
        return 1
    finally:
        front.executor.shutdown(wait=True)
        store.close()
    log.info("stopped")
    return 0
