"""The Telegram front end: a python-telegram-bot `Application` around the conversation core.

The only module that imports `telegram`. It turns updates into `Event`s, runs the synchronous
core on a single worker thread (so storage I/O never blocks polling and events keep their
order), and renders each `Reply` as HTML with an inline keyboard.

Bot API rules followed here (https://core.telegram.org/bots/api):
- message text is 1-4096 characters after entity parsing: long replies are split;
- callback_data is 1-64 bytes: a button whose action would not fit is skipped;
- every callback query must be answered, or the user's button keeps spinning;
- `/cmd@OtherBot` in a group is addressed to another bot.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telegram import (
    BotCommand,
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

from bot.config import Config
from bot.conversation import Button, Conversation, Event, EventKind, Reply, Response
from bot.knowledge import Entry, KnowledgeBase
from bot.matching import Matcher
from bot.state import MemoryStore, Store

log = logging.getLogger(__name__)

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
]
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


def make_store(config: Config) -> Store:
    """The store behind the bot's conversation (a seam for persistent storage)."""
    return MemoryStore()


class TelegramBot:
    """Handlers that translate between Telegram updates and the conversation core."""

    def __init__(self, config: Config, conversation: Conversation) -> None:
        self.config = config
        self.conversation = conversation
        self.admins = frozenset(config.admins)
        # One worker thread: the core and its storage run off the event loop, in update order.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqbot-core")
        self.blocked: set[int] = set()
        self.redactor: RedactingFilter | None = None

    # ------------------------------------------------------------ plumbing

    async def _core(self, event: Event) -> Response:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.conversation.handle, event)

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
        in_group = event.chat_type in ("group", "supergroup")
        await self._send(
            context, event.chat_id, response.replies, message if in_group and message else None
        )

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
        """A typed question; in groups only when it mentions the bot or replies to it."""
        message = update.effective_message
        if message is None or message.text is None:
            return
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
        replies = response.replies
        if response.edit is not None and not await self._edit(query.message, response.edit):
            replies = (response.edit, *replies)
        await self._send(context, event.chat_id, replies)

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`@bot residency` in any chat: matching entries as articles to share."""
        query = update.inline_query
        if query is None:
            return
        loop = asyncio.get_running_loop()
        entries = await loop.run_in_executor(self.executor, self.inline_entries, query.query)
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
        scores = matcher.score(text)
        floor = matcher.config.clarify_threshold
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        picked = [kb.entries[i] for i, score in ranked if score >= floor and i < len(kb.entries)]
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

    async def post_init(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register the command menu once connected."""
        try:
            await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
        except TelegramError as exc:
            if isinstance(exc, InvalidToken):
                raise
            log.warning("could not register the command menu: %s", exc)
        log.info("connected as @%s", app.bot.username)
        if self.redactor is not None:
            self.redactor.starting = False

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
    conversation = Conversation(kb, Matcher(kb, config.matching), make_store(config))
    front = TelegramBot(config, conversation)
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
    log.info("stopped")
    return 0
