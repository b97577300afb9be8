"""Operator tools end to end through the conversation: /stats, /unanswered, /reload.

Each test works on its own copy of the knowledge folder and a real SQLite file in tmp_path.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.admin import KnowledgeReloader, setup
from bot.config import Config, bundled_knowledge_dir
from bot.conversation import Conversation, Reply, Response
from bot.knowledge import load_knowledge
from bot.matching import Matcher
from bot.state import MemoryStore
from bot.storage import SqliteStore, make_store
from tests.test_conversation import UNKNOWN, Chat, actions, shown

ADMIN = 1
USER = 2
ODD = ("xylograph quokka", "Xylograph quokkas?", "quokka xylograph")  # nothing the guide knows


@dataclass
class Bot:
    config: Config
    conversation: Conversation
    reloader: KnowledgeReloader

    @property
    def store(self) -> SqliteStore:
        assert isinstance(self.conversation.store, SqliteStore)
        return self.conversation.store

    @property
    def learned(self) -> Path:
        return self.config.knowledge_dir / "learned.yaml"

    def admin(self) -> Chat:
        return Chat(self.conversation, user_id=ADMIN, admin=True)

    def user(self) -> Chat:
        return Chat(self.conversation, user_id=USER)


def start(config: Config) -> Bot:
    kb = load_knowledge(config.knowledge_dir)
    conversation = Conversation(kb, Matcher(kb, config.matching), make_store(config))
    return Bot(config, conversation, setup(conversation, config))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(bundled_knowledge_dir(), knowledge)
    return Config(knowledge_dir=knowledge, storage_path=tmp_path / "bot.sqlite3", admins=(ADMIN,))


@pytest.fixture
def bot(config: Config) -> Bot:
    return start(config)


def break_faq(config: Config) -> Path:
    """An operator's bad edit: an entry with an unknown kind."""
    faq = config.knowledge_dir / "faq.yaml"
    text = faq.read_text()
    faq.write_text(text.replace("kind: faq", "kind: faqq", 1))
    return faq


# ------------------------------------------------------------------------ /stats


def test_stats(bot: Bot) -> None:
    user = bot.user()
    user.send("how do I avoid burnout")
    user.send("[👍]")
    user.send("residency")
    user.send(ODD[0])
    text = shown(bot.admin().send("/stats"))
    assert "Questions: today 3 · last 7 days 3 · all time 3" in text
    assert "fell back 33%" in text and "👍 share: 100% of 1 votes" in text
    assert "1. " in text and "Busiest hours (UTC)" in text


def test_stats_reveal_nothing_to_others(bot: Bot) -> None:
    user = bot.user()
    user.send("residency")
    for command in ("/stats", "/unanswered", "/reload"):
        assert user.send(command) == Response((Reply(UNKNOWN),))


def test_stats_on_an_empty_log_and_without_sqlite(bot: Bot) -> None:
    assert "No questions logged yet." in shown(bot.admin().send("/stats"))
    kb = bot.conversation.kb
    conversation = Conversation(kb, Matcher(kb), MemoryStore())
    setup(conversation, bot.config)
    admin = Chat(conversation, user_id=ADMIN, admin=True)
    assert "needs the SQLite storage" in shown(admin.send("/stats"))


# ------------------------------------------------------------------------ /unanswered


def test_unanswered_add_as_phrasing_answers_at_once(bot: Bot) -> None:
    user = bot.user()
    for text in (*ODD, ODD[0]):
        user.dialog([(text, "doesn't cover that")])
    user.send("residency")
    admin = bot.admin()
    listing = admin.send("/unanswered")
    assert len(listing.replies) == 2  # the header and one group
    group = listing.replies[1]
    assert f"“{ODD[0]}” ×4" in group.text
    assert any(a.startswith("ui:") for a in actions(group))
    admin.dialog(
        [
            ("[phrasing of…]", f"Add “{ODD[0]}” as a phrasing of which entry?"),
            ("[Residency]", f"Added “{ODD[0]}” as a phrasing of Residency"),
        ]
    )
    assert "It answers that now." in shown(admin.responses[-1])
    assert yaml.safe_load(bot.learned.read_text()) == {"learned": {"residency": [ODD[0]]}}
    assert user.send(ODD[0]).replies[0].entry_id == "residency"  # no restart needed
    assert load_knowledge(bot.config.knowledge_dir).by_id["residency"].questions[-1] == ODD[0]
    assert "Nothing unanswered right now" in shown(admin.send("/unanswered"))


def test_group_buttons_work_after_a_restart(bot: Bot, config: Config) -> None:
    bot.user().send(ODD[0])
    group = bot.admin().send("/unanswered").replies[1]
    choose = next(a for a in actions(group) if a.startswith("ua:"))
    bot.store.close()
    again = start(config)
    admin = again.admin()
    listing = admin.press(choose)
    assert f"“{ODD[0]}”" in shown(listing)
    learn = next(a for a in actions(listing.replies[0]) if a.endswith(":fellowship"))
    assert "Added" in shown(admin.press(learn))
    assert again.user().send(ODD[0]).replies[0].entry_id == "fellowship"


def test_ignore_hides_a_group_for_good(bot: Bot) -> None:
    user = bot.user()
    user.send(ODD[0])
    admin = bot.admin()
    admin.send("/unanswered")
    ignored = admin.send("[ignore]")
    assert ignored.toast == "Ignored." and ignored.edit is not None
    user.send(ODD[1])
    assert "Nothing unanswered" in shown(admin.send("/unanswered"))
    assert not bot.learned.exists()


def test_others_cannot_press_the_admin_buttons(bot: Bot) -> None:
    bot.user().send(ODD[0])
    group = bot.admin().send("/unanswered").replies[1]
    gid = next(a for a in actions(group) if a.startswith("ui:")).split(":")[1]
    user = bot.user()
    for action in (f"ua:{gid}", f"ul:{gid}:residency", f"ui:{gid}"):
        assert "expired" in shown(user.press(action))
    assert not bot.learned.exists()
    assert len(bot.store.unanswered()) == 1


def test_a_failing_validation_leaves_learned_yaml_as_it_was(bot: Bot, config: Config) -> None:
    bot.learned.write_text("learned:\n  retirement: [pension planning for doctors]\n")
    before = bot.learned.read_bytes()
    bot.user().send(ODD[0])
    admin = bot.admin()
    admin.send("/unanswered")
    break_faq(config)
    text = shown(admin.send("[phrasing of…]"))
    assert "which entry" in text
    failed = shown(admin.send("[Residency]"))
    assert "Not added" in failed and re.search(r"faq\.yaml:\d+: ", failed), failed
    assert bot.learned.read_bytes() == before
    assert len(bot.store.unanswered()) == 1  # still listed, to add once the file is fixed


def test_add_phrasing_reports_a_duplicate_and_undoes(bot: Bot) -> None:
    existing = bot.conversation.kb.by_id["usmle-landscape"].questions[0]
    problems = bot.reloader.add_phrasing("residency", existing.upper())
    assert [str(p) for p in problems] == [
        f"{bot.learned}: '{existing.upper()}' is already a phrasing of 'usmle-landscape'"
    ]
    assert not bot.learned.exists()
    assert "unknown entry" in str(bot.reloader.add_phrasing("no-such-entry", "abc")[0])
    assert not bot.learned.exists()
    assert bot.reloader.add_phrasing("residency", "  xylograph   quokka ") == []
    assert yaml.safe_load(bot.learned.read_text())["learned"]["residency"] == ["xylograph quokka"]


# ------------------------------------------------------------------------ /reload


def test_reload_on_a_broken_file_reports_path_line_and_keeps_answering(
    bot: Bot, config: Config
) -> None:
    user, admin = bot.user(), bot.admin()
    assert user.send("which specialty fits me").replies[0].entry_id == "faq-choosing-specialty"
    faq = break_faq(config)
    reply = shown(admin.send("/reload"))
    assert "Reload failed" in reply and "keep serving the last good version" in reply
    assert re.search(rf"{re.escape(str(faq))}:\d+: ", reply), reply
    assert user.send("which specialty fits me").replies[0].entry_id == "faq-choosing-specialty"
    faq.write_text(faq.read_text().replace("kind: faqq", "kind: faq", 1))
    bot.learned.write_text(f"learned:\n  retirement: [{ODD[0]}]\n")
    assert "Reloaded: " in shown(admin.send("/reload"))
    assert user.send(ODD[0]).replies[0].entry_id == "retirement"


def test_reload_if_changed_is_a_file_watch(bot: Bot, config: Config) -> None:
    assert bot.reloader.reload_if_changed() is None
    bot.learned.write_text(f"learned:\n  fellowship: [{ODD[0]}]\n")
    assert bot.reloader.reload_if_changed() == []
    assert bot.user().send(ODD[0]).replies[0].entry_id == "fellowship"
    assert bot.reloader.reload_if_changed() is None
    break_faq(config)
    problems = bot.reloader.reload_if_changed()
    assert problems and any("faq.yaml:" in str(p) for p in problems)
    assert bot.reloader.reload_if_changed() is None  # reported once, not on every poll
    assert bot.user().send(ODD[0]).replies[0].entry_id == "fellowship"
