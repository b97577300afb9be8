"""The operator's loop through the real `faqbot run` process and the fake Bot API.

Feedback, career stage, admin commands, /unanswered, reloads (command, file watch, SIGHUP),
privacy (/mydata, /forget, privacy.store_text), restarts and "talk to a person", checked in
what the bot sent to Telegram and in the SQLite file it wrote. One bot process (module scope)
serves most tests, on its own copy of the knowledge so edits are safe; each test uses its own
users. Restart and privacy tests start their own processes; the daily purge (a day is too
long to wait for) is checked in process.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from bot import telegram_app
from bot.admin import setup
from bot.config import Config, PrivacyConfig
from bot.conversation import RELAY_PREFIX, Conversation
from bot.knowledge import load_knowledge
from bot.matching import Matcher
from bot.state import LoggedQuestion
from bot.storage import SqliteStore, make_store
from bot.telegram_app import RELAYED, WATCH_INTERVAL
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_e2e import (
    BOT,
    TOKEN,
    BotProcess,
    ask,
    bot_messages,
    buttons,
    labels,
    next_message,
    press,
    to_chat,
    visible,
)

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 42
SUPPORT = -1001555000111  # the support group
SUPPORTER = 8001  # a team member in it
UNKNOWN = "Sorry, I don't know that command. Try /help."

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

JSON = dict[str, Any]


# --------------------------------------------------------------------------- the bot process


def copy_knowledge(directory: Path) -> Path:
    target = directory / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


async def start(directory: Path, fake: FakeTelegram, **settings: Any) -> BotProcess:
    """`faqbot run` on a config in `directory` (knowledge: its own copy, made once)."""
    knowledge = directory / "knowledge"
    if not knowledge.exists():
        copy_knowledge(directory)
    config = {
        "knowledge": str(knowledge),
        "storage": str(directory / "faqbot.sqlite3"),
        "log_level": "INFO",
        "admins": [ADMIN],
        "telegram": {"base_url": fake.base_url},
        **settings,
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(PYTHONUNBUFFERED="1", TELEGRAM_BOT_TOKEN=TOKEN)
    polls = len(fake.calls_to("getUpdates"))
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot.cli", "run", "--config", str(path)),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(proc, knowledge)
    for _ in range(200):  # until this process polls (after post_init: SIGHUP is handled)
        if len(fake.calls_to("getUpdates")) > polls or proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    if proc.returncode is not None or len(fake.calls_to("getUpdates")) == polls:
        await bot.stop()
        raise AssertionError(f"the bot did not start polling:\n{bot.output}")
    return bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, username=BOT) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    # DEBUG logs every request: the strictest test that the token stays out of the logs.
    directory = tmp_path_factory.mktemp("operator")
    process = await start(directory, fake, support_chat_id=SUPPORT, log_level="DEBUG")
    yield process
    assert await process.stop() == 0
    assert TOKEN not in process.output and TOKEN.split(":")[1] not in process.output


# --------------------------------------------------------------------------- helpers


@contextmanager
def db(bot: BotProcess) -> Iterator[sqlite3.Connection]:
    """The bot's database, opened the way any SQLite client would."""
    connection = sqlite3.connect(bot.knowledge.parent / "faqbot.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def rows(bot: BotProcess, sql: str, *params: Any) -> list[sqlite3.Row]:
    with db(bot) as connection:
        return list(connection.execute(sql, params))


def user_key(bot: BotProcess, user_id: int) -> str:
    with SqliteStore(bot.knowledge.parent / "faqbot.sqlite3") as store:
        return store.user_key(user_id)


def action(params: JSON, prefix: str) -> str:
    """The callback_data of the one button whose data starts with `prefix`."""
    found = [
        b["callback_data"] for b in buttons(params) if b.get("callback_data", "").startswith(prefix)
    ]
    assert len(found) == 1, (prefix, buttons(params))
    return found[0]


async def replies_to(fake: FakeTelegram, text: str, user: int) -> list[JSON]:
    """Every message the bot sends for `text`: a /help probe sent after it marks the end
    (updates are handled in order)."""
    fake.message(text, user_id=user)
    fake.message("/help", user_id=user)
    sent: list[JSON] = []
    while not (sent and visible(sent[-1]).startswith("How to use this bot")):
        sent.append(await next_message(fake, user))
    return sent[:-1]


async def edit_of(fake: FakeTelegram, chat_id: int) -> JSON:
    return await fake.wait_for_call("editMessageText", to_chat(chat_id))


async def log_line(bot: BotProcess, pattern: str, count: int = 1, timeout: float = 10) -> str:
    """Wait until the bot's output has `count` lines matching `pattern`; return that one."""
    regex = re.compile(pattern)
    for _ in range(int(timeout / 0.1)):
        found = [line for line in bot.output.splitlines() if regex.search(line)]
        if len(found) >= count:
            return found[count - 1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {count}x {pattern!r} in the output:\n{bot.output[-3000:]}")


def count_lines(bot: BotProcess, pattern: str) -> int:
    return sum(1 for line in bot.output.splitlines() if re.search(pattern, line))


def write_atomic(path: Path, text: str) -> None:
    """Save like an editor that renames into place: the bot's watch never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def add_phrasing(knowledge: Path, entry_id: str, phrasing: str) -> None:
    """An operator's edit: one more phrasing for an entry in milestones.yaml."""
    path = knowledge / "milestones.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {entry_id}\n")
    at = text.index("    questions:\n", start) + len("    questions:\n")
    write_atomic(path, f"{text[:at]}      - {phrasing}\n{text[at:]}")


def break_yaml(path: Path) -> str:
    """An operator's broken edit (invalid YAML, and a title change that must not show)."""
    original = path.read_text(encoding="utf-8")
    broken = original.replace("title: What to do after passing", "title: BROKEN TITLE", 1)
    write_atomic(path, broken + "\n  - id: [unclosed\n")
    return original


# --------------------------------------------------------------------------- command menus


async def test_command_menus_public_and_for_admins(bot: BotProcess, fake: FakeTelegram) -> None:
    menus = {json_scope: cmds for (json_scope, _), cmds in fake.commands.items()}
    public = [c["command"] for c in menus['{"type": "default"}']]
    assert public == [
        "start", "help", "topics", "milestones", "faq", "stage", "mydata", "forget"
    ]  # fmt: skip
    admin = [c["command"] for c in menus[f'{{"chat_id": {ADMIN}, "type": "chat"}}']]
    assert admin == [*public, "stats", "unanswered", "reload"]


# --------------------------------------------------------------------------- feedback


async def test_thumbs_up_is_stored_and_the_answer_says_thanks(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 6101
    answer = await ask(fake, "how long is residency?", user=user)
    up = action(answer, "fb:+:")
    question_id = int(up.rsplit(":", 1)[1])
    await press(fake, up, user)
    edited = await edit_of(fake, user)
    assert visible(edited).startswith("Residency\n\nResidency is where")
    assert "✓ thanks" in labels(edited) and "👍" not in labels(edited)
    assert fake.calls_to("answerCallbackQuery")[-1]["text"] == "Thanks, glad it helped!"
    sql = "SELECT question_id, entry_id, helpful, comment FROM feedback WHERE question_id = ?"
    stored = rows(bot, sql, question_id)
    assert [tuple(r) for r in stored] == [(question_id, "residency", 1, None)]


async def test_thumbs_down_asks_what_they_wanted_and_stores_the_comment(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 6102
    answer = await ask(fake, "fellowship", user=user)
    down = action(answer, "fb:-:")
    question_id = int(down.rsplit(":", 1)[1])
    await press(fake, down, user)
    assert "✓ thanks" in labels(await edit_of(fake, user))
    ask_why = await next_message(fake, user)
    assert "What were you looking for?" in visible(ask_why)
    comment = "Numbers on how many IMGs match <cardiology> & when"
    thanks = await ask(fake, comment, user=user)
    assert visible(thanks).startswith("Thank you, that helps us improve the guide.")
    stored = rows(bot, "SELECT helpful, comment FROM feedback WHERE question_id = ?", question_id)
    assert [tuple(r) for r in stored] == [(0, comment)]
    # Only the next message was the comment: the one after is a question again.
    assert visible(await ask(fake, "how long is residency?", user=user)).startswith("Residency")


# --------------------------------------------------------------------------- career stage


async def test_stage_command_and_saying_it_mark_you_are_here(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 6201
    menu = await ask(fake, "/stage", user=user)
    assert visible(menu).startswith("Your career stage\n\nI don't know where you are")
    assert "Fellow" in labels(menu)
    await press(fake, "st:fellow", user)
    assert visible(await next_message(fake, user)).startswith("Got it, you're a fellow")

    said = await ask(fake, "I'm a PGY-2", user=user)
    assert visible(said).startswith("Got it, you're a resident")
    stage = rows(bot, "SELECT stage FROM users WHERE user_key = ?", user_key(bot, user))
    assert [tuple(r) for r in stage] == [("resident",)]
    milestone = await ask(fake, "/start residency", user=user)
    assert "Milestone 3 of 13 · 📍 you are here" in visible(milestone)
    career_map = await ask(fake, "/milestones", user=user)
    assert "📍 marks where you are (a resident)" in visible(career_map)
    assert "📍 3. Residency" in labels(career_map)
    shown = await ask(fake, "/stage", user=user)
    assert visible(shown).startswith("Your career stage\n\nYou're a resident")


# --------------------------------------------------------------------------- admin commands


async def test_admin_stats_has_numbers(bot: BotProcess, fake: FakeTelegram) -> None:
    await ask(fake, "how long is residency?", user=6301)  # at least one logged question
    stats = visible(await ask(fake, "/stats", user=ADMIN))
    assert stats.startswith("📊 Stats")
    counts = re.search(r"Questions: today (\d+) · last 7 days (\d+) · all time (\d+)", stats)
    assert counts is not None and int(counts[1]) >= 1 and int(counts[3]) >= int(counts[1])
    assert re.search(r"Decisions: answered \d+%", stats)


async def test_non_admin_gets_the_unknown_command_reply(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 6302
    unknown = await ask(fake, "/frobnicate", user=user)
    assert visible(unknown) == UNKNOWN
    for command in ("/stats", "/unanswered", "/reload"):
        reply = await ask(fake, command, user=user)
        assert (reply["text"], reply.get("reply_markup")) == (
            unknown["text"],
            unknown.get("reply_markup"),
        )
    await press(fake, "ua:list", user)  # an operator button, forged: the stale-button reply
    assert "older version of this chat" in visible(await next_message(fake, user))


async def test_unanswered_question_learned_as_a_phrasing(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    question = "xylograph quokka"
    assert Matcher(load_knowledge(bot.knowledge)).match(question).decision == "fallback"
    fallback = await ask(fake, question, user=6401)
    assert "doesn't cover that" in visible(fallback)

    listing = await replies_to(fake, "/unanswered", ADMIN)
    assert visible(listing[0]).startswith("❔ Unanswered")
    group = next(m for m in listing if f"“{question}” ×1" in visible(m))
    choose = action(group, "ua:")
    await press(fake, choose, ADMIN)
    chooser = await next_message(fake, ADMIN)
    assert f"Add “{question}” as a phrasing of which entry?" in visible(chooser)
    learn = next(b for b in buttons(chooser) if b["callback_data"].endswith(":residency"))
    assert learn["text"] in ("Residency", "★ Residency")
    await press(fake, learn["callback_data"], ADMIN)
    added = visible(await next_message(fake, ADMIN))
    assert f"Added “{question}” as a phrasing of Residency" in added
    assert "It answers that now." in added

    learned = yaml.safe_load((bot.knowledge / "learned.yaml").read_text(encoding="utf-8"))
    assert learned == {"learned": {"residency": [question]}}
    answer = await ask(fake, question, user=6402)
    assert visible(answer).startswith("Residency\n\nResidency is where")
    listing = await replies_to(fake, "/unanswered", ADMIN)
    assert not any(f"“{question}”" in visible(m) for m in listing)


# --------------------------------------------------------------------------- reloads


async def test_broken_edit_is_reported_and_the_old_knowledge_kept(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    faq = bot.knowledge / "faq.yaml"
    original = break_yaml(faq)
    try:
        report = visible(await ask(fake, "/reload", user=ADMIN))
        assert report.startswith("Reload failed\n\nThe knowledge on disk has problems")
        assert re.search(rf"{re.escape(str(faq))}:\d+: ", report), report
        answer = await ask(fake, "what to do after usmle", user=6501)
        assert visible(answer).startswith("What to do after passing\n\n")
    finally:
        write_atomic(faq, original)
    reloaded = visible(await ask(fake, "/reload", user=ADMIN))
    assert re.fullmatch(r"Reloaded: \d+ entries, \d+ phrasings\.", reloaded)


async def test_file_watch_picks_up_an_edit_without_restart(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    question = "zorblat frimmel gnash"
    assert "Sorry" in visible(await ask(fake, question, user=6601))
    before = count_lines(bot, r"knowledge reloaded \(a knowledge file changed\)")
    add_phrasing(bot.knowledge, "residency", question)
    await log_line(bot, r"knowledge reloaded \(a knowledge file changed\)", before + 1)
    answer = await ask(fake, question, user=6601)
    assert visible(answer).startswith("Residency\n\n")
    assert bot.proc.returncode is None


async def test_file_watch_reports_a_broken_edit_once_and_sighup_reloads(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    faq = bot.knowledge / "faq.yaml"
    watch = r"WARNING .*knowledge not reloaded \(a knowledge file changed\): \d+ problem"
    problem = rf"WARNING .*{re.escape(str(faq))}:\d+: "
    before, problems_before = count_lines(bot, watch), count_lines(bot, problem)
    original = break_yaml(faq)
    try:
        await log_line(bot, watch, before + 1)
        reported = count_lines(bot, problem)
        assert reported > problems_before  # each problem as path:line: message
        await asyncio.sleep(2 * WATCH_INTERVAL + 0.5)  # more looks: reported once only
        assert count_lines(bot, watch) == before + 1
        assert count_lines(bot, problem) == reported
        bot.proc.send_signal(signal.SIGHUP)
        await log_line(bot, r"WARNING .*knowledge not reloaded \(SIGHUP\)")
        answer = await ask(fake, "what to do after usmle", user=6701)
        assert visible(answer).startswith("What to do after passing\n\n")
    finally:
        write_atomic(faq, original)
    question = "walrus kumquat"
    add_phrasing(bot.knowledge, "fellowship", question)
    sighups = count_lines(bot, r"knowledge reloaded \(SIGHUP\)")
    bot.proc.send_signal(signal.SIGHUP)
    await log_line(bot, r"INFO .*knowledge reloaded \(SIGHUP\)", sighups + 1)
    assert visible(await ask(fake, question, user=6701)).startswith("Fellowship training")
    assert bot.proc.returncode is None


# --------------------------------------------------------------------------- privacy


async def test_mydata_then_forget_leaves_nothing(bot: BotProcess, fake: FakeTelegram) -> None:
    user = 6801
    answer = await ask(fake, "how long is residency?", user=user)
    await press(fake, action(answer, "fb:+:"), user)
    await edit_of(fake, user)
    await ask(fake, "I'm a PGY-2", user=user)

    mydata = visible(await ask(fake, "/mydata", user=user))
    key = user_key(bot, user)
    assert mydata.startswith("Your data\n\nHere is everything I keep about you.")
    assert key in mydata and str(user) not in mydata.replace(key, "")
    assert "Career stage: Resident" in mydata and "Last topic in our chat: Residency" in mydata
    assert (
        "Questions logged: 1" in mydata and "“how long is residency?” → answer: Residency" in mydata
    )
    assert "Feedback given: 1" in mydata and "👍 Residency" in mydata

    def mine() -> list[tuple[str, tuple[Any, ...]]]:
        """Every row, in every table, holding the user's key or chat id."""
        found = []
        with db(bot) as connection:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
            tables = [r[0] for r in connection.execute(sql)]
            for table in tables:
                for row in connection.execute(f"SELECT * FROM {table}"):
                    cells = dict(zip(row.keys(), tuple(row), strict=True))
                    if key in map(str, cells.values()) or user in (
                        cells.get("chat_id"),
                        cells.get("user_chat_id"),
                    ):
                        found.append((table, tuple(row)))
        return found

    assert {table for table, _ in mine()} == {"questions", "feedback", "users", "chats"}
    confirm = await ask(fake, "/forget", user=user)
    assert visible(confirm).startswith("Delete your data?")
    await press(fake, "forget:yes", user)
    assert visible(await edit_of(fake, user)) == "🗑 Your data was deleted."
    done = visible(await next_message(fake, user))
    assert done.startswith("Done: I deleted everything I kept about you (")
    assert mine() == []
    after = visible(await ask(fake, "/mydata", user=user))
    assert "Career stage: not set" in after and "Questions logged: 0" in after


# --------------------------------------------------------------------------- talk to a person


async def test_talk_to_a_person_and_the_reply_is_relayed(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    user = 6901
    question = "Can my ferret & <iguana> join me?"
    assert Matcher(load_knowledge(bot.knowledge)).match(question).decision == "fallback"
    fallback = await ask(fake, question, user=user)
    assert "doesn't cover that" in visible(fallback)
    human = action(fallback, "human:")
    await press(fake, human, user)
    assert fake.calls_to("answerCallbackQuery")[-1]["text"] == "Sent to the team."
    assert visible(await next_message(fake, user)).startswith("I've passed your question")
    forwarded = await next_message(fake, SUPPORT)
    assert question in visible(forwarded)  # escaped for HTML, shown as typed
    assert "Reply to this message to answer them" in visible(forwarded)
    question_id = int(human.split(":")[1])
    sql = "SELECT forwarded_at IS NOT NULL FROM questions WHERE id = ?"
    assert rows(bot, sql, question_id)[0][0] == 1

    forwarded_message = fake.last_bot_message(SUPPORT)
    group = {"chat_id": SUPPORT, "chat_type": "supergroup"}
    answer = "Sure & <iguanas> are welcome, see the visa FAQ."
    reply = fake.message(answer, user_id=SUPPORTER, reply_to_message=forwarded_message, **group)
    relayed = await next_message(fake, user)
    assert visible(relayed) == RELAY_PREFIX + answer
    confirmation = await next_message(fake, SUPPORT)
    assert visible(confirmation) == RELAYED
    assert confirmation["reply_parameters"]["message_id"] == reply["message"]["message_id"]

    # Anything else in the support chat is not for the bot.
    fake.message("thanks all, going for lunch", user_id=SUPPORTER, **group)
    own = fake.last_bot_message(SUPPORT)
    fake.message("nice one", user_id=SUPPORTER, reply_to_message=own, **group)
    fake.message(f"@{BOT} how long is residency?", user_id=SUPPORTER, **group)
    await ask(fake, "/help", user=user)  # handled after them: they are done
    assert len(bot_messages(fake, SUPPORT)) == 2
    assert len(bot_messages(fake, user)) == 4


# --------------------------------------------------------------------------- own processes


async def test_restart_keeps_conversation_state(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, username=BOT) as fake:
        user = 7001
        first = await start(tmp_path, fake)
        try:
            answer = await ask(fake, "how long is residency?", user=user)
            assert visible(answer).startswith("Residency")
        finally:
            assert await first.stop() == 0
        second = await start(tmp_path, fake)
        try:
            follow_on = await ask(fake, "what's next?", user=user)
            assert visible(follow_on).startswith("Fellowship training")
            assert "Milestone 4 of 13" in visible(follow_on)
        finally:
            assert await second.stop() == 0
        for process in (first, second):
            assert TOKEN not in process.output and "Traceback" not in process.output


async def test_store_text_false_keeps_no_question_text(tmp_path: Path) -> None:
    question, odd = "how long is residency?", "qwxz blorp vintage"
    async with FakeTelegram(TOKEN, username=BOT) as fake:
        user = 7101
        bot = await start(tmp_path, fake, privacy={"store_text": False})
        try:
            answer = await ask(fake, question, user=user)
            await press(fake, action(answer, "fb:-:"), user)
            await edit_of(fake, user)  # no "what were you looking for": it would be text
            fallback = await ask(fake, odd, user=user)
            assert "doesn't cover that" in visible(fallback)
            assert "💬 Talk to a person" not in labels(fallback)  # no support_chat_id
            mydata = visible(await ask(fake, "/mydata", user=user))
            assert "Questions logged: 2" in mydata and "(text not kept)" in mydata
            assert question not in mydata
        finally:
            assert await bot.stop() == 0
        logged = rows(bot, "SELECT decision, text FROM questions ORDER BY id")
        assert [tuple(r) for r in logged] == [("answer", None), ("fallback", None)]
        assert [tuple(r) for r in rows(bot, "SELECT helpful, comment FROM feedback")] == [(0, None)]
        for path in tmp_path.glob("faqbot.sqlite3*"):
            data = path.read_bytes()
            assert question.encode() not in data and odd.encode() not in data, path
        assert TOKEN not in bot.output


async def test_daily_purge_applies_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, with a day shortened to a moment: the purge job runs on the core's thread."""
    config = Config(
        knowledge_dir=copy_knowledge(tmp_path),
        storage_path=tmp_path / "faqbot.sqlite3",
        privacy=PrivacyConfig(retention_days=1),
    )
    kb = load_knowledge(config.knowledge_dir)
    store = make_store(config)
    conversation = Conversation(kb, Matcher(kb), store)
    front = telegram_app.TelegramBot(config, conversation, setup(conversation, config))
    old = LoggedQuestion(1, 1, "private", "residency", "answer", "residency", 90.0, at=1.0)
    store.log_question(old)
    monkeypatch.setattr(telegram_app, "PURGE_INTERVAL", 0.05)
    job = asyncio.ensure_future(front.purge_daily())
    try:
        for _ in range(100):
            if store.question_count() == 0:
                break
            await asyncio.sleep(0.02)
        assert store.question_count() == 0
    finally:
        job.cancel()
        front.executor.shutdown(wait=True)
        store.close()
