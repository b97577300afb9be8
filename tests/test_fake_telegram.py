"""The fake Bot API server, driven by the real python-telegram-bot client.

These tests pin down that the fake answers the way Telegram does for the requests PTB really
sends, so that end-to-end tests of faqbot built on it can be trusted.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginUser,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fake_telegram import FakeTelegram, parse_html

TOKEN = "123456789:TEST-token_for-fake-server"
CHAT = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, username="faqbot_test_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=fake.base_url)
    await client.initialize()
    yield client
    await client.shutdown()


def keyboard(*callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in callback_data])


async def test_get_me_describes_the_bot(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "faqbot_test_bot" and me.id == 123456789
    assert me.can_join_groups and me.supports_inline_queries
    assert fake.calls[0].method == "getMe"  # initialize() already asked once


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    intruder = Bot("999:wrong", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await intruder.initialize()
    assert fake.calls == []  # a rejected token never reaches the method handlers


async def test_token_appears_only_in_the_path_prefix(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CHAT, "hello")
    assert fake.requests_log
    for path in fake.requests_log:
        assert path.startswith(f"/bot{TOKEN}/")
        assert TOKEN not in path.removeprefix(f"/bot{TOKEN}/")


async def test_send_message_returns_a_full_message(bot: Bot, fake: FakeTelegram) -> None:
    first = await bot.send_message(CHAT, "<b>Hi</b> there", parse_mode=ParseMode.HTML)
    second = await bot.send_message(CHAT, "again", reply_markup=keyboard("a", "b"))
    assert first.text == "Hi there" and first.entities[0].type == "bold"
    assert second.message_id == first.message_id + 1
    assert second.from_user is not None and second.from_user.id == 123456789
    assert second.chat.id == CHAT
    assert second.reply_markup == keyboard("a", "b")
    params = await fake.wait_for_call("sendMessage", lambda p: p["text"] == "again")
    # Form values were decoded: ints are ints, the keyboard is a dict again.
    assert params["chat_id"] == CHAT
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"


async def test_too_long_and_empty_text_are_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(CHAT, "😀" * 2049)  # 4098 UTF-16 code units
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode=ParseMode.HTML)
    # Length counts the visible text, so markup does not push it over the limit.
    msg = await bot.send_message(CHAT, f"<b>{'x' * 4096}</b>", parse_mode=ParseMode.HTML)
    assert msg.text is not None and len(msg.text) == 4096


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>bold", "Can't find end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("1 < 2", "unclosed start tag"),
        ("a <3 b>", 'unsupported start tag "3"'),
        ("fish & chips", 'Character "&"'),
        ('<span class="x">s</span>', "tg-spoiler"),
        ("<a>link</a>", "href"),
        ("</b>", "Unexpected end tag"),
    ],
)
async def test_bad_html_is_rejected(bot: Bot, text: str, reason: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities") as err:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    # PTB capitalizes Telegram's description ("Can't parse entities: unsupported ...").
    assert reason.lower() in str(err.value).lower()


def test_html_parser_accepts_the_whole_subset() -> None:
    text, entities = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><del>d</del>"
        '<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><a href="https://x.org">a</a>'
        '<code>c</code><pre><code class="language-py">py</code></pre><blockquote expandable>'
        'bq</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;&amp;&gt;'
        "&quot;&#65;&#x42;"
    )
    assert text == 'bsieunsdpqacpybq👍 <&>"AB'
    assert {"type": "pre", "offset": 12, "length": 2, "language": "py"} in entities
    assert {
        "type": "custom_emoji",
        "offset": 16,
        "length": 2,
        "custom_emoji_id": "5368324170671202286",
    } in entities
    assert len(entities) == 15


async def test_oversized_callback_data_is_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard("é" * 33))  # 66 bytes
    await bot.send_message(CHAT, "pick", reply_markup=keyboard("x" * 64))


async def test_too_many_buttons_are_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard(*[str(i) for i in range(101)]))


async def test_identical_edit_is_not_modified(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "<i>v1</i>", parse_mode="HTML", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "<i>v1</i>", CHAT, sent.message_id, parse_mode="HTML", reply_markup=keyboard("a")
        )
    edited = await bot.edit_message_text("v2", CHAT, sent.message_id, reply_markup=keyboard("a"))
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date is not None
    dropped = await bot.edit_message_reply_markup(CHAT, sent.message_id)
    assert isinstance(dropped, Message) and dropped.reply_markup is None
    assert fake.messages[CHAT][sent.message_id]["text"] == "v2"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v3", CHAT, 999)


async def test_long_poll_returns_an_update_pushed_during_the_wait(
    bot: Bot, fake: FakeTelegram
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_call("getUpdates")
    await asyncio.sleep(0.05)
    assert not poll.done()  # nothing queued: the server is holding the request open
    pushed = fake.message("/start hi @someone")
    (update,) = await asyncio.wait_for(poll, 3)
    assert update.update_id == pushed["update_id"]
    assert update.message is not None and update.message.text == "/start hi @someone"
    assert [e.type for e in update.message.entities] == ["bot_command", "mention"]
    # Still queued until confirmed by offset...
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update.update_id]
    # ...and an offset past it drops it for good.
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert await bot.get_updates(timeout=0) == ()


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    start = asyncio.get_running_loop().time()
    assert await bot.get_updates(timeout=1) == ()
    assert asyncio.get_running_loop().time() - start >= 0.9


async def test_update_ids_stay_monotonic(fake: FakeTelegram) -> None:
    ids = [
        fake.message("a")["update_id"],
        fake.sticker()["update_id"],
        fake.photo("c")["update_id"],
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    with pytest.raises(ValueError):
        fake.push_update({"update_id": ids[0], "message": {}})


async def test_rate_limit_injection_raises_retry_after(bot: Bot, fake: FakeTelegram) -> None:
    fake.rate_limit_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates the int form of retry_after
        await bot.send_message(CHAT, "hi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retry_after = err.value.retry_after
    assert retry_after in (7, dtm.timedelta(seconds=7))
    await bot.send_message(CHAT, "hi")  # only the next call was limited


async def test_server_errors_and_dropped_connections(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(CHAT, "hi")
    fake.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "hi")
    assert (await bot.send_message(CHAT, "hi")).text == "hi"


async def test_blocked_chat_is_forbidden(bot: Bot, fake: FakeTelegram) -> None:
    fake.my_chat_member(user_id=CHAT, new_status="kicked")
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    fake.unblock_chat(CHAT)
    await bot.send_message(CHAT, "hi")


async def test_callback_query_can_be_answered_once(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CHAT, "pick", reply_markup=keyboard("yes"))
    query = fake.callback("yes", message=fake.last_bot_message(CHAT))["callback_query"]
    (update,) = await bot.get_updates()
    query_obj = update.callback_query
    assert query_obj is not None and query_obj.data == "yes"
    assert isinstance(query_obj.message, Message)
    assert query_obj.message.reply_markup == keyboard("yes")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query["id"], text="x" * 201)
    assert await bot.answer_callback_query(query["id"], text="ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("123")
    assert query["id"] in fake.answered_callbacks


async def test_inline_query_results_are_validated(bot: Bot, fake: FakeTelegram) -> None:
    from telegram import InlineQueryResultArticle, InputTextMessageContent

    def article(result_id: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, "t", InputTextMessageContent("x"))

    query_id = fake.inline_query("visa")["inline_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query_id, [article("1"), article("1")])
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, [article(str(i)) for i in range(51)])
    assert await bot.answer_inline_query(query_id, [article("1"), article("2")])
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query(query_id, [article("1")])


async def test_set_my_commands_stores_commands(bot: Bot, fake: FakeTelegram) -> None:
    commands = [BotCommand("start", "Start the bot"), BotCommand("help", "How to use it")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    assert fake.commands[('{"type": "default"}', "")][0] == {
        "command": "start",
        "description": "Start the bot",
    }
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_DESCRIPTION_INVALID"):
        await bot.set_my_commands([BotCommand("ok", "x" * 257)])
    assert await bot.get_my_commands() == tuple(commands)  # rejected calls changed nothing
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_other_methods_are_shaped_right(bot: Bot, fake: FakeTelegram) -> None:
    user_msg = fake.message("question", user_id=CHAT)["message"]
    reply = await bot.send_message(CHAT, "answer", reply_to_message_id=user_msg["message_id"])
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "question"
    assert await bot.send_chat_action(CHAT, "typing")
    forwarded = await bot.forward_message(2002, CHAT, user_msg["message_id"])
    assert forwarded.text == "question"
    assert isinstance(forwarded.forward_origin, MessageOriginUser)
    assert forwarded.forward_origin.sender_user.id == CHAT
    copied = await bot.copy_message(2002, CHAT, reply.message_id)
    assert fake.messages[2002][copied.message_id]["text"] == "answer"
    assert await bot.delete_message(CHAT, reply.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, reply.message_id)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_wait_for_calls_claims_calls_in_order(bot: Bot, fake: FakeTelegram) -> None:
    async def bot_replies_later() -> None:
        await asyncio.sleep(0.05)
        for text in ("one", "two", "three"):
            await bot.send_message(CHAT, text)

    task = asyncio.create_task(bot_replies_later())
    texts = [p["text"] for p in await fake.wait_for_calls(2, "sendMessage", timeout=5)]
    assert texts == ["one", "two"]
    assert (await fake.wait_for_call("sendMessage", timeout=5))["text"] == "three"
    await task
    with pytest.raises(AssertionError, match=r"(?i)wanted 1 sendMessage"):
        await fake.wait_for_call("sendMessage", timeout=0.1)


async def test_raw_json_get_and_multipart_requests_are_decoded(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{TOKEN}"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        # JSON body whose nested value arrives as a JSON string, as some clients send it.
        body = {"chat_id": CHAT, "text": "json", "reply_markup": json.dumps(markup)}
        async with http.post(f"{url}/sendMessage", json=body) as resp:
            assert (await resp.json())["result"]["reply_markup"] == markup
        # Query string: free text stays a string even when it looks like a number.
        async with http.get(f"{url}/sendMessage", params={"chat_id": str(CHAT), "text": "42"}):
            assert fake.calls[-1].params == {"chat_id": CHAT, "text": "42"}
        form = aiohttp.FormData({"chat_id": str(CHAT), "text": "multipart"})
        form.add_field("document", b"abc", filename="a.txt")
        async with http.post(f"{url}/sendMessage", data=form) as resp:
            assert resp.status == 200
            assert fake.calls[-1].params["document"] == {"file_name": "a.txt", "size": 3}
        async with http.get(f"{fake.base_url}1:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{url}/noSuchMethod") as resp:
            assert resp.status == 404 and (await resp.json())["ok"] is False


async def test_a_real_application_polls_and_replies(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Welcome, {context.args}!")

    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        await app.start()
        fake.message("/start faq")
        params = await fake.wait_for_call("sendMessage")
        assert params["text"] == "Welcome, ['faq']!" and params["chat_id"] == CHAT
        await app.updater.stop()
        await app.stop()
    assert fake.errors == []  # the abandoned long poll's 409 reached nobody


async def test_stop_releases_a_pending_long_poll() -> None:
    server = FakeTelegram(TOKEN)
    client = Bot(TOKEN, base_url=await server.start())
    await client.initialize()
    poll = asyncio.create_task(client.get_updates(timeout=30, read_timeout=40))
    await server.wait_for_call("getUpdates")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.stop()
    assert await poll == ()
    assert loop.time() - started < 2
    await client.shutdown()
