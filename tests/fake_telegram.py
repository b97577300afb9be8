"""A fake Telegram Bot API server for faqbot's end-to-end tests.

The real python-telegram-bot client talks to it over HTTP exactly as it talks to
api.telegram.org, so the tests exercise PTB's request encoding, error mapping and polling
loop instead of a mock of them. The fake is strict where Telegram is strict (HTML entities,
message length, keyboards, callback answers) because those are the rejections that only show
up in production otherwise. Everything else is deliberately minimal.

PTB v22 (``HTTPXRequest.do_request``) POSTs every call as a form: no files gives
``application/x-www-form-urlencoded``, files give ``multipart/form-data``. Each value is a
string: ``str`` values raw, everything else ``json.dumps``-ed (``RequestParameter.json_value``),
so ``chat_id=42`` arrives as ``"42"`` and ``reply_markup`` as a JSON string. We decode both.

Known simplifications: Markdown/MarkdownV2 are not parsed (the raw text counts as visible
text); any integer chat id is accepted (no "chat not found" for unknown chats); callback and
inline queries never expire by time; by default every update type is delivered.
Stricter than Telegram on purpose: setMyCommands needs 1..100 commands (use deleteMyCommands,
not an empty list) and, in HTML, a bare "&" is rejected (TDLib would tolerate it).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from aiohttp import web

JSON = dict[str, Any]

DEFAULT_USER_ID = 1001
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# Form values that are free text and must never be JSON-decoded ("123" stays a string).
_TEXT_PARAMS = frozenset(
    "text caption query data callback_query_id inline_query_id inline_message_id parse_mode "
    "url description language_code next_offset switch_pm_text switch_pm_parameter action emoji "
    "secret_token business_connection_id message_effect_id title".split()
)
# Nested values that a client may send as JSON strings even inside a JSON body.
_NESTED_PARAMS = frozenset(
    "reply_markup results commands allowed_updates entities caption_entities scope "
    "reply_parameters link_preview_options button".split()
)
_BUTTON_ACTIONS = (
    "callback_data url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat web_app login_url callback_game pay copy_text".split()
)
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<mention>(?<![\w@/])@[A-Za-z0-9_]{5,32})"
)


class ApiError(Exception):
    """A Telegram error answer; raised inside method handlers, turned into JSON by the router."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


class Call(NamedTuple):
    """One decoded API call; unpacks as ``(method, params)``."""

    method: str
    params: JSON


@dataclass
class _Fault:
    kind: Literal["fail", "rate_limit", "drop"]
    status: int = 500
    retry_after: int = 0
    description: str = ""


def utf16_len(text: str) -> int:
    """Telegram measures lengths and offsets in UTF-16 code units (emoji count as 2)."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- HTML parse_mode

_HTML_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_TAG_RE = re.compile(
    r"""<(/?)([A-Za-z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>"""
)
_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_CHAR_REF_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML subset into (visible text, entities) or raise ApiError(400).

    Error wording follows TDLib ("Unsupported start tag "x" at byte offset N", ...), so bot
    code that matches on it behaves as in production. Stricter than TDLib in one way, on
    purpose: a bare "&" that is not a valid character reference is rejected, as the Bot API
    documentation demands, so unescaped user input is caught in tests.
    """

    def fail(reason: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def byte_offset(index: int) -> int:
        return len(text[:index].encode())

    out: list[str] = []
    pos16 = 0  # UTF-16 offset of the next visible character
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSON] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            ref = _CHAR_REF_RE.match(text, i)
            code = None if ref is None or ref[1] else int(ref[2] or ref[3], 10 if ref[2] else 16)
            if ref is None or (code is not None and not (0 < code <= 0x10FFFF)):
                raise fail(
                    f'Character "&" must be escaped as "&amp;" at byte offset {byte_offset(i)}'
                )
            decoded = _NAMED_REFS[ref[1]] if ref[1] else chr(code or 0)
            out.append(decoded)
            pos16 += utf16_len(decoded)
            i = ref.end()
            continue
        if char != "<":
            out.append(char)
            pos16 += utf16_len(char)
            i += 1
            continue
        tag = _TAG_RE.match(text, i)
        if tag is None:
            if ">" not in text[i:]:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(i)}")
            name = re.match(r"</?([^\s>]*)", text[i:])[1]  # type: ignore[index]
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(i)}')
        name = tag[2].lower()
        if tag[1]:  # closing tag
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(i)}")
            open_name, attrs, start = stack.pop()
            if name != open_name:
                raise fail(
                    f'Unmatched end tag at byte offset {byte_offset(i)}, expected "</{open_name}>",'
                    f' found "</{name}>"'
                )
            if pos16 > start:
                entities.append(_html_entity(open_name, attrs, start, pos16 - start, entities))
        else:
            if name not in _HTML_ENTITY_TYPES:
                raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset(i)}')
            attrs = {
                a[1].lower(): html.unescape(a[2] or a[3] or a[4] or "")
                for a in _ATTR_RE.finditer(tag[3])
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise fail(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(i)}'
                )
            if name == "a" and not attrs.get("href"):
                raise fail(f'Tag "a" must have attribute "href" at byte offset {byte_offset(i)}')
            if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
                raise fail("Invalid custom emoji identifier specified")
            stack.append((name, attrs, pos16))
        i = tag.end()
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:  # a language only survives on <pre><code class="language-x">
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(
    name: str, attrs: dict[str, str], offset: int, length: int, done: list[JSON]
) -> JSON:
    """Build the MessageEntity for a closed tag; <pre><code class="language-x"> merges into pre."""
    kind = _HTML_ENTITY_TYPES[name]
    entity: JSON = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        entity["url"] = attrs["href"]
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    elif kind == "pre" and done and done[-1]["type"] == "code":
        inner = done[-1]
        if (inner["offset"], inner["length"]) == (offset, length):
            done.pop()
            if "language" in inner:
                entity["language"] = inner["language"]
    return entity


# --------------------------------------------------------------------------- validation


def check_reply_markup(markup: Any) -> None:
    """Validate an inline keyboard the way Telegram does; other keyboard kinds pass through."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    if len(buttons) > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in buttons:
        prefix = "Bad Request: can't parse inline keyboard button: "
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, prefix + 'Field "text" must be of type String')
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise ApiError(400, prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise ApiError(400, prefix + f"only one of {actions} can be specified")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


def _inline_markup(markup: Any) -> JSON | None:
    """Telegram echoes only inline keyboards back in the sent Message."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _auto_entities(text: str) -> list[JSON]:
    """bot_command/mention entities as Telegram attaches them to incoming messages."""
    return [
        {"type": m.lastgroup, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _AUTO_ENTITY_RE.finditer(text)
    ]


def _decode_form_value(key: str, raw: str) -> Any:
    if key in _TEXT_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _unwrap(obj: JSON) -> JSON:
    """Accept either a message dict or the update dict a helper returned."""
    if "update_id" in obj:
        return next(v for k, v in obj.items() if k != "update_id")
    return obj


# --------------------------------------------------------------------------- the server


class FakeTelegram:
    """In-process Bot API server. Use ``async with FakeTelegram(TOKEN) as fake:`` or start/stop."""

    def __init__(
        self, token: str, *, username: str = "faqbot_test_bot", first_name: str = "FAQ Bot"
    ):
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 123456, "is_bot": True,
            "first_name": first_name, "username": username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": True,
        }  # fmt: skip
        self.calls: list[Call] = []  # every authorised call, decoded, in arrival order
        self.errors: list[tuple[str, JSON, str]] = []  # (method, params, description) rejected
        self.requests_log: list[str] = []  # raw path + query of every HTTP request
        self.messages: dict[int, dict[int, JSON]] = {}  # chat_id -> message_id -> Message
        self.chats: dict[int, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope json, lang) -> commands
        self.answered_callbacks: set[str] = set()
        self.answered_inline_queries: set[str] = set()
        self.blocked_chats: set[int] = set()
        self._updates: list[JSON] = []
        self._last_update_id = 100_000
        self._allowed_updates: set[str] | None = None
        self._callback_ids: set[str] = set()
        self._inline_ids: set[str] = set()
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._message_ids: defaultdict[int, int] = defaultdict(int)
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._claimed: set[int] = set()
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._methods: dict[str, tuple[str, Callable[[JSON], Any]]] = {
            name.lower(): (name, getattr(self, "_" + name))
            for name in (
                "getMe deleteWebhook getWebhookInfo setMyCommands getMyCommands deleteMyCommands "
                "getUpdates sendMessage editMessageText editMessageReplyMarkup "
                "answerCallbackQuery answerInlineQuery sendChatAction deleteMessage "
                "forwardMessage copyMessage"
            ).split()
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Listen on 127.0.0.1 with an OS-chosen port; return the base_url to hand to PTB."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/bot"
        return self.base_url

    async def stop(self) -> None:
        """Release pending long polls first so shutdown does not wait out their timeouts."""
        self._closing = True
        self._notify_updates()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests_log.append(request.raw_path)
        if request.match_info["token"] != self.token:
            return _reply(ApiError(401, "Unauthorized"))
        try:
            params = await _read_params(request)
        except ApiError as err:
            return _reply(err)
        name, handler = self._methods.get(request.match_info["method"].lower(), (None, None))
        self._record(name or request.match_info["method"], params)
        if name is None or handler is None:
            return _reply(ApiError(404, "Not Found"))
        fault = self._take_fault(name)
        if fault is not None and fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()  # the client sees the connection die with no answer
            return web.Response()
        if fault is not None:
            extra = {"retry_after": fault.retry_after} if fault.kind == "rate_limit" else None
            return _reply(ApiError(fault.status, fault.description, extra))
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as err:
            if request.transport is not None:  # else the client gave up (e.g. an old long poll)
                self.errors.append((name, params, err.description))
            return _reply(err)
        return web.json_response({"ok": True, "result": result})

    def _record(self, method: str, params: JSON) -> None:
        self.calls.append(Call(method, params))
        self._call_event.set()
        self._call_event = asyncio.Event()

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            if self._faults[key]:
                return self._faults[key].popleft()
        return None

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self, method: str, status: int = 502, times: int = 1, description: str = ""
    ) -> None:
        """Answer the next `times` calls of `method` ("*" = any) with a 5xx error."""
        text = description or {500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "")
        self._faults[method].extend(_Fault("fail", status, 0, text) for _ in range(times))

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer with 429 + parameters.retry_after, i.e. Telegram's flood control."""
        text = f"Too Many Requests: retry after {retry_after}"
        self._faults[method].extend(
            _Fault("rate_limit", 429, retry_after, text) for _ in range(times)
        )

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without any HTTP answer (PTB raises NetworkError)."""
        self._faults[method].extend(_Fault("drop") for _ in range(times))

    def block_chat(self, chat_id: int) -> None:
        """Sends to this chat now fail with 403, as after the user blocked the bot."""
        self.blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self.blocked_chats.discard(chat_id)

    # ---------------------------------------------------------------- waiting for the bot

    async def wait_for_call(
        self, method: str, predicate: Callable[[JSON], bool] | None = None, timeout: float = 10
    ) -> JSON:
        """Return the params of the first matching call not yet returned by a previous wait.

        Calls made before the wait count too, so there is no race with a fast bot.
        """
        return (await self.wait_for_calls(1, method, predicate, timeout))[0]

    async def wait_for_calls(
        self,
        n: int,
        method: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10,
    ) -> list[JSON]:
        """Wait for `n` unclaimed matching calls (method None = anything but getUpdates)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [
                i
                for i, (name, params) in enumerate(self.calls)
                if i not in self._claimed
                and (name == method if method else name != "getUpdates")
                and (predicate is None or predicate(params))
            ][:n]
            if len(found) == n:
                self._claimed.update(found)
                return [self.calls[i].params for i in found]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [c.method for c in self.calls if c.method != "getUpdates"]
                raise AssertionError(
                    f"wanted {n} {method or 'API'} call(s) within {timeout}s, got {len(found)}; "
                    f"calls so far: {seen}; errors: {self.errors}"
                )
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def calls_to(self, method: str) -> list[JSON]:
        """Params of every call to `method` so far (claimed or not)."""
        return [params for name, params in self.calls if name == method]

    def last_bot_message(self, chat_id: int | None = None) -> JSON:
        """Latest stored message the bot sent (optionally in one chat), e.g. to click its button."""
        mine = [
            m
            for cid, store in self.messages.items()
            if chat_id is None or cid == chat_id
            for m in store.values()
            if m.get("from", {}).get("id") == self.bot_user["id"]
        ]
        if not mine:
            raise LookupError(f"the bot has sent no message to {chat_id or 'any chat'}")
        return max(mine, key=lambda m: (m["date"], m["message_id"]))

    # ---------------------------------------------------------------- building updates

    def push_update(self, update: JSON) -> JSON:
        """Queue any update; update_id is assigned unless given (and then must be increasing)."""
        given = update.get("update_id")
        if given is not None and given <= self._last_update_id:
            raise ValueError(f"update_id {given} is not above {self._last_update_id}")
        self._last_update_id = given if given is not None else self._last_update_id + 1
        update = {"update_id": self._last_update_id, **update}
        self._updates.append(update)
        self._notify_updates()
        return update

    def user(self, user_id: int = DEFAULT_USER_ID, username: str | None = None) -> JSON:
        """A human User object; helpers use it for ``from``."""
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                "username": username or f"user{user_id}", "language_code": "en"}  # fmt: skip

    def chat(self, chat_id: int, chat_type: str = "private", title: str | None = None) -> JSON:
        """Register (or fetch) a chat so bot replies to it echo the same Chat object."""
        if chat_id not in self.chats:
            private = {"first_name": f"User{chat_id}", "username": f"user{chat_id}"}
            named = private if chat_type == "private" else {"title": title or f"Test {chat_type}"}
            self.chats[chat_id] = {"id": chat_id, "type": chat_type, **named}
        return self.chats[chat_id]

    def message(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message: JSON | None = None,
        username: str | None = None,
    ) -> JSON:
        """Queue a user's text message; /commands and @mentions get their entities."""
        content: JSON = {"text": text}
        if entities := _auto_entities(text):
            content["entities"] = entities
        return self._user_message(content, user_id, chat_id, chat_type, reply_to_message, username)

    def sticker(self, emoji: str = "👍", *, user_id: int = DEFAULT_USER_ID, **kw: Any) -> JSON:
        """Queue a sticker message (kw: chat_id, chat_type, reply_to_message, username)."""
        file_id = f"CAACAgIAAxkBAAI{next(self._query_ids)}"
        sticker = {
            "file_id": file_id, "file_unique_id": file_id[-8:], "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
        }  # fmt: skip
        return self._user_message({"sticker": sticker}, user_id, **kw)

    def photo(
        self, caption: str | None = None, *, user_id: int = DEFAULT_USER_ID, **kw: Any
    ) -> JSON:
        """Queue a photo message (two sizes) with an optional caption; kw as for sticker()."""
        sizes = [
            {"file_id": f"AgACAgIAAxk{w}", "file_unique_id": f"AQAD{w}", "width": w,
             "height": w * 3 // 4, "file_size": w * 40}
            for w in (90, 1280)
        ]  # fmt: skip
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
            if entities := _auto_entities(caption):
                content["caption_entities"] = entities
        return self._user_message(content, user_id, **kw)

    def edited_message(self, message: JSON, text: str) -> JSON:
        """Queue an edited_message for a message (or the update) made earlier by message()."""
        old = _unwrap(message)
        new = {k: v for k, v in old.items() if k != "entities"}
        new.update(text=text, edit_date=int(time.time()))
        if entities := _auto_entities(text):
            new["entities"] = entities
        self._store(new)
        return self.push_update({"edited_message": new})

    def channel_post(
        self, text: str, *, chat_id: int = -1009876543210, title: str = "Channel"
    ) -> JSON:
        """Queue a post in a channel the bot administers (no ``from``, has ``sender_chat``)."""
        chat = self.chat(chat_id, "channel", title)
        post = {"message_id": self._next_id(chat_id), "sender_chat": chat, "chat": chat,
                "date": int(time.time()), "text": text}  # fmt: skip
        self._store(post)
        return self.push_update({"channel_post": post})

    def my_chat_member(
        self,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        old_status: str = "member",
        new_status: str = "kicked",
    ) -> JSON:
        """The bot's own membership changed. "kicked" in a private chat also blocks the chat,
        and "member" unblocks it, because that is what those updates mean on Telegram."""
        chat = self.chat(chat_id if chat_id is not None else user_id, chat_type)
        if chat_type == "private" and new_status in ("kicked", "member"):
            (self.block_chat if new_status == "kicked" else self.unblock_chat)(chat["id"])
        change = {
            "chat": chat, "from": self.user(user_id), "date": int(time.time()),
            "old_chat_member": self._member(old_status), "new_chat_member": self._member(new_status),
        }  # fmt: skip
        return self.push_update({"my_chat_member": change})

    def callback(self, data: str, *, message: JSON, user_id: int = DEFAULT_USER_ID) -> JSON:
        """Queue a button press on `message` (a bot message dict, e.g. last_bot_message())."""
        msg = _unwrap(message)
        msg = self.messages.get(msg["chat"]["id"], {}).get(msg["message_id"], msg)  # newest edit
        query_id = str(next(self._query_ids))
        self._callback_ids.add(query_id)
        query = {"id": query_id, "from": self.user(user_id), "message": msg,
                 "chat_instance": str(-abs(hash(msg["chat"]["id"]))), "data": data}  # fmt: skip
        return self.push_update({"callback_query": query})

    def inline_query(self, query: str, *, user_id: int = DEFAULT_USER_ID, offset: str = "") -> JSON:
        """Queue an inline query; answerInlineQuery accepts its id exactly once."""
        query_id = str(next(self._query_ids))
        self._inline_ids.add(query_id)
        inline = {"id": query_id, "from": self.user(user_id), "query": query, "offset": offset,
                  "chat_type": "sender"}  # fmt: skip
        return self.push_update({"inline_query": inline})

    def _user_message(
        self,
        content: JSON,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message: JSON | None = None,
        username: str | None = None,
    ) -> JSON:
        if chat_id is None:
            chat_id = {"private": user_id, "group": -4001, "supergroup": -1001234567890}[chat_type]
        chat = self.chat(chat_id, chat_type)
        msg = {"message_id": self._next_id(chat_id), "from": self.user(user_id, username),
               "chat": chat, "date": int(time.time()), **content}  # fmt: skip
        if reply_to_message is not None:  # Telegram nests replies only one level deep
            target = _unwrap(reply_to_message)
            msg["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        self._store(msg)
        return self.push_update({"message": msg})

    def _member(self, status: str) -> JSON:
        if status not in ("member", "left", "kicked"):
            raise ValueError(f"unsupported chat member status {status!r}")
        return {"user": self.bot_user, "status": status} | (
            {"until_date": 0} if status == "kicked" else {}
        )

    # ---------------------------------------------------------------- state helpers

    def _notify_updates(self) -> None:
        self._update_event.set()
        self._update_event = asyncio.Event()

    def _next_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def _store(self, msg: JSON) -> None:
        self.messages.setdefault(msg["chat"]["id"], {})[msg["message_id"]] = msg

    def _chat_id(self, params: JSON, key: str = "chat_id") -> int:
        value = params.get(key)
        if value in (None, ""):
            raise ApiError(400, f"Bad Request: {key} is empty")
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, "Bad Request: chat not found")
        return value

    def _sendable_chat(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.chats:
            return self.chats[chat_id]
        return self.chat(chat_id, "private" if chat_id > 0 else "supergroup")

    def _find(self, params: JSON, missing: str, chat_key: str = "chat_id") -> JSON:
        msg = self.messages.get(self._chat_id(params, chat_key), {}).get(
            int(params.get("message_id") or 0)
        )
        if msg is None:
            raise ApiError(400, f"Bad Request: {missing}")
        return msg

    def _text(self, params: JSON) -> tuple[str, list[JSON]]:
        """Visible text + entities after parse_mode, with Telegram's empty/length checks."""
        raw = params.get("text")
        raw = "" if raw is None else str(raw)
        if str(params.get("parse_mode", "")).upper() == "HTML":
            text, entities = parse_html(raw)
        else:
            text, entities = raw, list(params.get("entities") or [])
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    def _new_bot_message(self, chat: JSON, content: JSON, params: JSON) -> JSON:
        """Store and return a Message from the bot; resolves reply_parameters like Telegram."""
        reply: JSON = params.get("reply_parameters") or {
            "message_id": params.get("reply_to_message_id")
        }
        target = None
        if reply["message_id"] is not None:
            in_chat = self.messages.get(int(reply.get("chat_id") or chat["id"]), {})
            target = in_chat.get(reply["message_id"])
            if target is None and not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        msg: JSON = {"message_id": self._next_id(chat["id"]), "from": self.bot_user,
                     "chat": chat, "date": int(time.time())}  # fmt: skip
        if target is not None:
            msg["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        msg.update((k, v) for k, v in content.items() if v)
        if markup := _inline_markup(params.get("reply_markup")):
            msg["reply_markup"] = markup
        self._store(msg)
        return msg

    # ---------------------------------------------------------------- Bot API methods

    def _getMe(self, params: JSON) -> JSON:
        return self.bot_user

    def _deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _getWebhookInfo(self, params: JSON) -> JSON:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:  # a project rule, see module doc
            raise ApiError(400, "Bad Request: commands must be a non-empty list (fake-only rule)")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_RE.fullmatch(str(cmd.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _getMyCommands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    def _deleteMyCommands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _getUpdates(self, params: JSON) -> list[JSON]:
        """Long poll: confirm by offset, answer at once if something is queued, else wait."""
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self._allowed_updates = set(params["allowed_updates"] or []) or None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()  # an older poll still waiting must now end with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Types outside allowed_updates are never delivered, as if Telegram never made them.
            self._updates = [u for u in self._updates if self._allowed(u)]
            ready = self._updates[:limit]
            if ready or self._closing or loop.time() >= deadline:
                return ready
            event = self._update_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), deadline - loop.time())
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                               "that only one bot instance is running")  # fmt: skip

    def _allowed(self, update: JSON) -> bool:
        kind = next(k for k in update if k != "update_id")
        return self._allowed_updates is None or kind in self._allowed_updates

    def _sendMessage(self, params: JSON) -> JSON:
        chat = self._sendable_chat(params)
        text, entities = self._text(params)
        check_reply_markup(params.get("reply_markup"))
        return self._new_bot_message(chat, {"text": text, "entities": entities}, params)

    def _editable(self, params: JSON) -> JSON | None:
        if params.get("inline_message_id"):
            return None  # inline messages are not stored; accept the edit blindly
        msg = self._find(params, "message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    def _apply_edit(self, msg: JSON, changes: JSON, markup: Any) -> JSON:
        markup = _inline_markup(markup)
        if all(msg.get(k) == v for k, v in changes.items()) and msg.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        new = {k: v for k, v in msg.items() if k not in ("reply_markup", *changes)}
        new.update((k, v) for k, v in changes.items() if v)
        new["edit_date"] = int(time.time())
        if markup:
            new["reply_markup"] = markup
        self._store(new)
        return new

    def _editMessageText(self, params: JSON) -> JSON | bool:
        msg = self._editable(params)
        text, entities = self._text(params)
        check_reply_markup(params.get("reply_markup"))
        if msg is None:
            return True
        return self._apply_edit(
            msg, {"text": text, "entities": entities or None}, params.get("reply_markup")
        )

    def _editMessageReplyMarkup(self, params: JSON) -> JSON | bool:
        msg = self._editable(params)
        check_reply_markup(params.get("reply_markup"))
        return True if msg is None else self._apply_edit(msg, {}, params.get("reply_markup"))

    def _answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_ids or query_id in self.answered_callbacks:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered_callbacks.add(query_id)
        return True

    def _answerInlineQuery(self, params: JSON) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._inline_ids or query_id in self.answered_inline_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, 'Bad Request: field "results" must be an Array')
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [r.get("id") if isinstance(r, dict) else None for r in results]
        if not all(isinstance(i, str) and 1 <= len(i.encode()) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            check_reply_markup(result.get("reply_markup"))
        self.answered_inline_queries.add(query_id)
        return True

    def _sendChatAction(self, params: JSON) -> bool:
        self._sendable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _deleteMessage(self, params: JSON) -> bool:
        msg = self._find(params, "message to delete not found")
        del self.messages[msg["chat"]["id"]][msg["message_id"]]
        return True

    def _forward_or_copy(self, params: JSON, forward: bool) -> JSON:
        chat = self._sendable_chat(params)
        verb = "forward" if forward else "copy"
        source = self._find(params, f"message to {verb} not found", chat_key="from_chat_id")
        skip = {"message_id", "from", "chat", "date", "edit_date", "reply_to_message",
                "reply_markup", "forward_origin", "sender_chat"}  # fmt: skip
        content = {k: v for k, v in source.items() if k not in skip}
        if forward:
            origin = (
                {"type": "user", "sender_user": source["from"]} if "from" in source
                else {"type": "channel", "chat": source["chat"], "message_id": source["message_id"]}
            )  # fmt: skip
            content["forward_origin"] = {**origin, "date": source["date"]}
            return self._new_bot_message(chat, content, {})
        check_reply_markup(params.get("reply_markup"))
        if params.get("caption") is not None:
            content["caption"] = params["caption"]
        return {"message_id": self._new_bot_message(chat, content, params)["message_id"]}

    def _forwardMessage(self, params: JSON) -> JSON:
        return self._forward_or_copy(params, forward=True)

    def _copyMessage(self, params: JSON) -> JSON:
        return self._forward_or_copy(params, forward=False)


def _reply(err: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": err.status, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    return web.json_response(body, status=err.status)


async def _read_params(request: web.Request) -> JSON:
    """Merge query string and body (JSON, urlencoded or multipart) into decoded params."""
    params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: request body must be a JSON object")
        for key, value in body.items():
            nested = key in _NESTED_PARAMS and isinstance(value, str)
            params[key] = _decode_form_value(key, value) if nested else value
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                size = len(value.file.read())
                params[key] = {"file_name": value.filename, "size": size}
            else:
                params[key] = _decode_form_value(key, str(value))
    return params
