"""`faqbot run` as a real process against the fake Bot API: what users see in Telegram.

One bot process serves most tests (module scope; each test uses its own chat so they do not
see each other's messages); tests about start-up and shutdown start their own. The bot's
knowledge is a copy of the bundled one in which the "Retirement" answer is made longer than a
Telegram message and full of characters that HTML needs escaped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from bot.conversation import Button, Reply
from bot.knowledge import load_knowledge
from bot.matching import Matcher
from bot.telegram_app import ALLOWED_UPDATES, render, split_text, utf16_len
from tests.fake_telegram import FakeTelegram, parse_html

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:FAKE-token-for-e2e-tests-only-00"
BOT = "faqbot_test_bot"
ADMIN = 42
GROUP = -4001
LONG_PARAGRAPH = (
    "Retirement & pensions 📋 <checklist>: review your plan once a year, compare employer "
    "matches, and write down what a good week looks like after full-time practice. "
) * 3
LAST_WORD = "P.S. Enjoy it & rest <well>."

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

JSON = dict[str, Any]


# --------------------------------------------------------------------------- the bot process


class BotProcess:
    """A running `faqbot run` with its output collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process, knowledge: Path) -> None:
        self.proc = proc
        self.knowledge = knowledge
        self.chunks: list[bytes] = []
        self._readers = [
            asyncio.ensure_future(self._read(stream)) for stream in (proc.stdout, proc.stderr)
        ]

    async def _read(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while chunk := await stream.read(4096):
            self.chunks.append(chunk)

    @property
    def output(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    async def wait(self, timeout: float = 20) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def stop(self, timeout: float = 20) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.proc.kill()
            raise


def write_config(directory: Path, base_url: str, knowledge: Path, log_level: str) -> Path:
    path = directory / "config.yaml"
    config = {
        "knowledge": str(knowledge),
        "storage": str(directory / "faqbot.sqlite3"),
        "log_level": log_level,
        "admins": [ADMIN],
        "telegram": {"base_url": base_url},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def start_bot(
    directory: Path,
    fake: FakeTelegram,
    *,
    token: str | None = TOKEN,
    knowledge: Path = ROOT / "knowledge",
    log_level: str = "INFO",
    ready: bool = True,
) -> BotProcess:
    """Start `faqbot run`; with `ready`, wait until it polls for updates."""
    config = write_config(directory, fake.base_url, knowledge, log_level)
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot.cli", "run", "--config", str(config)),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(proc, knowledge)
    if ready:
        try:
            await fake.wait_for_call("getUpdates", timeout=20)
        except AssertionError:
            if proc.returncode is None:
                proc.kill()
            await bot.wait()
            raise AssertionError(f"the bot did not start polling:\n{bot.output}") from None
    return bot


def long_knowledge(directory: Path) -> Path:
    """A copy of the bundled knowledge whose Retirement answer needs two messages."""
    target = directory / "knowledge"
    target.mkdir()
    for source in (ROOT / "knowledge").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "milestones.yaml":
            data = yaml.safe_load(text)
            for entry in data["entries"]:
                if entry["id"] == "retirement":
                    # Just within the knowledge limit of 4096 characters, so with its heading,
                    # its milestone note and its emoji (2 UTF-16 units each) it is not.
                    answer = entry["answer"].strip()
                    while len(answer) + len(LONG_PARAGRAPH) + 200 < 4096:
                        answer += "\n\n" + LONG_PARAGRAPH.strip()
                    padding = "." * (4096 - len(answer) - len(LAST_WORD) - 2)
                    entry["answer"] = f"{answer}\n\n{LAST_WORD}{padding}"
            text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
        (target / source.name).write_text(text, encoding="utf-8")
    return target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, username=BOT) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    directory = tmp_path_factory.mktemp("bot")
    # DEBUG logs the most (every update, every request): the strictest test of redaction.
    process = await start_bot(
        directory, fake, knowledge=long_knowledge(directory), log_level="DEBUG"
    )
    yield process
    await process.stop()


# --------------------------------------------------------------------------- helpers


def to_chat(chat_id: int) -> Callable[[JSON], bool]:
    return lambda params: params.get("chat_id") == chat_id


async def next_message(fake: FakeTelegram, chat_id: int, timeout: float = 10) -> JSON:
    """The next sendMessage to this chat, not yet seen by this test."""
    return await fake.wait_for_call("sendMessage", to_chat(chat_id), timeout=timeout)


async def ask(fake: FakeTelegram, text: str, user: int, **kw: Any) -> JSON:
    fake.message(text, user_id=user, **kw)
    return await next_message(fake, kw.get("chat_id", user))


def visible(params: JSON) -> str:
    assert params.get("parse_mode") == "HTML"
    return parse_html(params["text"])[0]


def buttons(params: JSON) -> list[JSON]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


def labels(params: JSON) -> list[str]:
    return [b["text"] for b in buttons(params)]


def bot_messages(fake: FakeTelegram, chat_id: int) -> list[JSON]:
    """Every message the bot managed to send to this chat."""
    stored = fake.messages.get(chat_id, {}).values()
    return [m for m in stored if m.get("from", {}).get("id") == fake.bot_user["id"]]


async def press(fake: FakeTelegram, data: str, chat_id: int, user: int | None = None) -> str:
    """Press a button with this callback_data on the bot's last message; return the query id."""
    update = fake.callback(data, message=fake.last_bot_message(chat_id), user_id=user or chat_id)
    query_id: str = update["callback_query"]["id"]
    await fake.wait_for_call(
        "answerCallbackQuery", lambda p: p.get("callback_query_id") == query_id
    )
    return query_id


# --------------------------------------------------------------------------- start-up


async def test_registers_commands_and_asks_for_updates_explicitly(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    commands = next(iter(fake.commands.values()))
    assert [c["command"] for c in commands] == [
        "start",
        "help",
        "topics",
        "milestones",
        "faq",
        "stage",
        "mydata",
        "forget",
    ]
    polls = fake.calls_to("getUpdates")
    assert polls and all(p.get("allowed_updates") == ALLOWED_UPDATES for p in polls)
    assert ALLOWED_UPDATES == ["message", "callback_query", "inline_query", "my_chat_member"]


async def test_start_welcomes_with_the_topic_keyboard(bot: BotProcess, fake: FakeTelegram) -> None:
    reply = await ask(fake, "/start", user=2001)
    assert visible(reply).startswith("Your post-USMLE career guide")
    assert parse_html(reply["text"])[1][0]["type"] == "bold"
    assert {"callback_data": "map", "text": "🗺 career map"} in buttons(reply)


async def test_deep_link_opens_the_entry(bot: BotProcess, fake: FakeTelegram) -> None:
    reply = await ask(fake, "/start fellowship", user=2002)
    assert visible(reply).startswith("Fellowship training\n\nA fellowship is")


# --------------------------------------------------------------------------- conversation


async def test_question_then_follow_up_button(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 2003
    answer = await ask(fake, "how long is residency?", user=user)
    assert visible(answer).startswith("Residency\n\nResidency is where your specialty")
    actions = {b["text"]: b.get("callback_data") for b in buttons(answer)}
    assert actions["next ▶"] == "e:fellowship"
    share = [b for b in buttons(answer) if "switch_inline_query" in b]
    assert share == [{"text": "↗ share", "switch_inline_query": "Residency"}]
    kb = load_knowledge(bot.knowledge)
    follow_ups = [kb.by_id[f] for f in kb.by_id["residency"].follow_ups]
    for entry in follow_ups:  # titles on the buttons, ids in the callback data
        assert actions[entry.title] == f"e:{entry.id}"

    last = follow_ups[-1]
    await press(fake, f"e:{last.id}", user)
    follow = await next_message(fake, user)
    assert visible(follow).startswith(f"{last.title}\n\n")
    assert "Milestone" in visible(follow) and "↗ share" in labels(follow)


def ambiguous_question(knowledge: Path) -> str:
    """A question the matcher answers with "did you mean" (its scores move as it is tuned)."""
    kb = load_knowledge(knowledge)
    matcher = Matcher(kb)
    words = {w for e in kb.entries for q in e.questions for w in q.lower().split() if w.isalpha()}
    for question in ["job", "exam", *sorted(words)]:
        if matcher.match(question).decision == "clarify":
            return question
    raise AssertionError("no word of the knowledge gets a 'did you mean'")


async def test_did_you_mean_and_none_of_these(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 2004
    question = ambiguous_question(bot.knowledge)
    clarify = await ask(fake, question, user=user)
    assert "Did you mean" in visible(clarify)
    assert labels(clarify)[-1] == "None of these"
    assert all(not b["callback_data"].startswith("e:redirect") for b in buttons(clarify))

    await press(fake, "none", user)
    menu = await next_message(fake, user)
    assert "Pick a topic" in visible(menu)
    assert "Residency" in labels(menu)

    clarify = await ask(fake, question, user=user)
    first = buttons(clarify)[0]
    entry = load_knowledge(bot.knowledge).by_id[first["callback_data"].removeprefix("e:")]
    assert first["text"] == entry.title
    await press(fake, first["callback_data"], user)
    answer = visible(await next_message(fake, user))
    assert entry.answer.split("\n", 1)[0] in answer


async def test_out_of_scope_question_falls_back(bot: BotProcess, fake: FakeTelegram) -> None:
    reply = await ask(fake, "what's the weather in paris?", user=2005)
    assert "doesn't cover that" in visible(reply)
    assert "📚 all topics" in labels(reply)


async def test_unknown_command_goes_to_the_core(bot: BotProcess, fake: FakeTelegram) -> None:
    reply = await ask(fake, "/frobnicate", user=2006)
    assert "don't know that command" in visible(reply)


async def test_long_answer_is_split_with_buttons_on_the_last_part(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 2007
    fake.message("/start retirement", user_id=user)
    first, second = await fake.wait_for_calls(2, "sendMessage", to_chat(user))
    texts = [visible(first), visible(second)]
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert texts[0].startswith("Retirement\n\nIt may feel far away")
    assert utf16_len(texts[0]) + utf16_len(texts[1]) > 4096
    assert "&" in texts[0] and "<checklist>" in texts[0] and LAST_WORD in texts[1]
    assert "reply_markup" not in first and "next ▶" in labels(second)
    assert "Milestone 12 of 13" in texts[1]


# --------------------------------------------------------------------------- inline mode


async def test_inline_query_returns_articles(bot: BotProcess, fake: FakeTelegram) -> None:
    query = fake.inline_query("residency", user_id=2008)["inline_query"]["id"]
    params = await fake.wait_for_call("answerInlineQuery", lambda p: p["inline_query_id"] == query)
    results = params["results"]
    assert 1 <= len(results) <= 10 and "button" not in params
    top = results[0]
    assert top["type"] == "article" and top["title"] == "Residency"
    assert top["description"].startswith("Residency is where")
    content = top["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert f"t.me/{BOT}?start=residency" in parse_html(content["message_text"])[0]


async def test_inline_gibberish_offers_to_open_the_bot(bot: BotProcess, fake: FakeTelegram) -> None:
    query = fake.inline_query("qzxv plorkt", user_id=2008)["inline_query"]["id"]
    params = await fake.wait_for_call("answerInlineQuery", lambda p: p["inline_query_id"] == query)
    assert params["results"] == []
    assert params["button"] == {"text": "Open the bot", "start_parameter": "inline"}


async def test_empty_inline_query_shows_the_milestones(bot: BotProcess, fake: FakeTelegram) -> None:
    query = fake.inline_query("", user_id=2008)["inline_query"]["id"]
    params = await fake.wait_for_call("answerInlineQuery", lambda p: p["inline_query_id"] == query)
    titles = [r["title"] for r in params["results"]]
    assert titles[:3] == ["Why the USMLE matters", "Choosing a specialty", "Residency"]


# --------------------------------------------------------------------------- groups


async def test_group_etiquette(bot: BotProcess, fake: FakeTelegram) -> None:
    kw: JSON = {"chat_id": GROUP, "chat_type": "group"}
    fake.message("how long is residency?", user_id=3001, **kw)  # not for the bot: ignored
    fake.message("/help@SomeOtherBot", user_id=3001, **kw)  # another bot's command: ignored
    mention = fake.message(f"@{BOT} how long is residency?", user_id=3001, **kw)
    answer = await next_message(fake, GROUP)
    assert visible(answer).startswith("Residency")
    assert answer["reply_parameters"]["message_id"] == mention["message"]["message_id"]

    help_ = await ask(fake, f"/help@{BOT}", user=3002, **kw)
    assert visible(help_).startswith("How to use this bot")

    own = fake.last_bot_message(GROUP)
    reply = await ask(fake, "and what about fellowship?", user=3003, reply_to_message=own, **kw)
    assert visible(reply).startswith("Fellowship training")

    fake.sticker(chat_id=GROUP, chat_type="group")  # ignored in groups
    probe = await ask(fake, "/topics", user=3001, **kw)
    assert visible(probe).startswith("Topics")
    assert len(bot_messages(fake, GROUP)) == 4


# --------------------------------------------------------------------------- odd input


async def test_sticker_and_photo_in_private_get_a_hint(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 2009
    fake.sticker(user_id=user)
    assert "Type your question" in visible(await next_message(fake, user))
    fake.photo(user_id=user)
    assert "Type your question" in visible(await next_message(fake, user))


async def test_updates_it_did_not_ask_for_do_not_break_it(
    bot: BotProcess, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the server ignored allowed_updates: every kind of update reaches the bot.
    monkeypatch.setattr(fake, "_allowed", lambda update: True)
    user = 2010
    original = fake.message("residency", user_id=user)
    await next_message(fake, user)
    fake.edited_message(original, "fellowship")
    fake.channel_post("hello channel")
    fake.my_chat_member(chat_id=-4002, chat_type="group", old_status="left", new_status="member")
    fake.my_chat_member(user_id=2011, new_status="kicked")
    fake.push_update({"message_reaction": {"chat": fake.chat(user), "message_id": 1}})
    reply = await ask(fake, "how do I avoid burnout?", user=user)
    assert visible(reply).startswith("Work-life balance")
    assert len(bot_messages(fake, user)) == 2
    assert not bot_messages(fake, -4002) and not bot_messages(fake, -1009876543210)


async def test_stale_or_forged_buttons_are_answered(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 2012
    await ask(fake, "/start", user=user)
    for data in ("e:no-such-entry", "x" * 64, "🙂"):
        query_id = await press(fake, data, user)
        assert query_id in fake.answered_callbacks
        answer = fake.calls_to("answerCallbackQuery")[-1]
        assert answer["text"] == "That button has expired."
        stale = await next_message(fake, user)
        assert "older version of this chat" in visible(stale)
    query_id = await press(fake, "fb:+:99999", user)  # feedback on an answer never given
    assert query_id in fake.answered_callbacks


# --------------------------------------------------------------------------- faults


async def test_rate_limited_reply_goes_out_once(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 2013
    fake.rate_limit_next("sendMessage", retry_after=1)
    fake.message("residency", user_id=user)
    attempts = await fake.wait_for_calls(2, "sendMessage", to_chat(user), timeout=15)
    assert attempts[0]["text"] == attempts[1]["text"]
    await ask(fake, "/help", user=user)  # later updates are handled after the retry
    sent = bot_messages(fake, user)
    assert len(sent) == 2 and sent[0]["text"].startswith("Residency")


async def test_polling_errors_lose_and_duplicate_nothing(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 2014
    fake.fail_next("getUpdates", status=502)
    fake.drop_next("getUpdates")
    fake.fail_next("getUpdates", status=500)
    fake.message("residency", user_id=user)
    await next_message(fake, user)  # delivered by the poll already waiting
    for text in ("fellowship", "board certification", "how do I avoid burnout?"):
        fake.message(text, user_id=user)  # arrive while polling fails and retries
    await fake.wait_for_calls(3, "sendMessage", to_chat(user), timeout=30)
    await ask(fake, "/help", user=user)
    headings = [m["text"].split("\n", 1)[0] for m in bot_messages(fake, user)]
    assert headings == [
        "Residency",
        "Fellowship training",
        "Board certification",
        "Work-life balance",
        "How to use this bot",
    ]


async def test_a_user_who_blocked_the_bot_is_no_error_storm(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    blocked, other = 2015, 2016
    fake.block_chat(blocked)
    for text in ("residency", "fellowship", "/help"):
        fake.message(text, user_id=blocked)
    await fake.wait_for_calls(3, "sendMessage", to_chat(blocked))
    reply = await ask(fake, "residency", user=other)
    assert visible(reply).startswith("Residency")
    lines = [line for line in bot.output.splitlines() if f"chat {blocked} blocked" in line]
    assert len(lines) == 1 and " INFO " in lines[0]


async def test_token_never_appears_in_the_output(bot: BotProcess, fake: FakeTelegram) -> None:
    await ask(fake, "/start", user=2017)
    output = bot.output
    assert "getUpdates" in output  # DEBUG logging really ran
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


# --------------------------------------------------------------------------- own processes


async def test_sigterm_answers_every_fetched_update(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, username=BOT) as fake:
        bot = await start_bot(tmp_path, fake)
        users = range(5001, 5041)  # more than the rate limiter lets out in one second
        for user in users:
            fake.message("residency", user_id=user)
        await fake.wait_for_call("sendMessage")
        bot.proc.send_signal(signal.SIGTERM)
        assert len(fake.calls_to("sendMessage")) < len(users)  # most are still in flight
        assert await bot.wait() == 0
        for user in users:
            assert len(bot_messages(fake, user)) == 1, (user, bot.output)
        assert fake._updates == []  # the last poll confirmed them all: none comes back
        assert TOKEN not in bot.output and "Traceback" not in bot.output


async def test_missing_token_explains_how_to_set_one(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, username=BOT) as fake:
        bot = await start_bot(tmp_path, fake, token=None, ready=False)
        assert await bot.wait() != 0
        assert "TELEGRAM_BOT_TOKEN" in bot.output and "@BotFather" in bot.output
        assert fake.calls == []


async def test_wrong_token_gives_one_clear_line(tmp_path: Path) -> None:
    wrong = "987654321:FAKE-wrong-token-for-e2e-tests-0"
    async with FakeTelegram(TOKEN, username=BOT) as fake:
        bot = await start_bot(tmp_path, fake, token=wrong, ready=False)
        assert await bot.wait() == 1
        lines = [line for line in bot.output.splitlines() if line.strip()]
        assert len(lines) == 1, bot.output
        assert "rejected the bot token" in lines[0]
        assert "Traceback" not in bot.output and wrong not in bot.output


# --------------------------------------------------------------------------- rendering


async def test_render_escapes_and_splits() -> None:  # async: the module's marks are async
    reply = Reply(
        "a < b & c\n\n" + "\n\n".join(["word " * 300] * 6),
        heading="<Heading>",
        note="Milestone 1 of 2",
        buttons=((Button("ok", "menu"), Button("too long", "e:" + "x" * 63)),),
    )
    parts = render(reply)
    assert len(parts) > 1
    for text, _ in parts:
        shown, _ = parse_html(text)  # valid HTML for Telegram
        assert utf16_len(shown) <= 4096
    assert parts[0][0].startswith("<b>&lt;Heading&gt;</b>\n\na &lt; b &amp; c")
    assert parts[-1][0].endswith("<i>Milestone 1 of 2</i>")
    assert all(markup is None for _, markup in parts[:-1])
    last = parts[-1][1]
    assert last is not None
    assert [[b.text for b in row] for row in last.inline_keyboard] == [["ok"]]


async def test_split_text_prefers_paragraphs_then_lines_then_anything() -> None:
    assert split_text("aaa\n\nbbb", 7) == ["aaa", "bbb"]
    assert split_text("aa\nbb\n\ncc", 5) == ["aa\nbb", "cc"]
    assert split_text("abcdefgh", 3) == ["abc", "def", "gh"]
    assert split_text("😀😀😀", 4) == ["😀😀", "😀"]  # counted in UTF-16, never cut in half
