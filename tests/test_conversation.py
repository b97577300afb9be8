"""The conversation core as dialogs: feedback, career stage, privacy, "talk to a person".

Each dialog is a list of (what the user says or presses, a fragment the bot's reply contains),
run through a real `Conversation` on a real `SqliteStore` in a temp dir. `[label]` presses the
newest button whose label contains `label`; `/cmd` is a command; anything else is typed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.admin import setup
from bot.config import Config, PrivacyConfig, bundled_knowledge_dir
from bot.conversation import Button, Conversation, Event, Reply, Response
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Matcher
from bot.storage import SqliteStore

USER = 4242
UNKNOWN = "Sorry, I don't know that command. Try /help."


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(bundled_knowledge_dir())


class Chat:
    """One user in one chat, remembering the buttons the bot showed."""

    def __init__(
        self,
        conversation: Conversation,
        user_id: int = USER,
        chat_id: int | None = None,
        chat_type: str = "private",
        admin: bool = False,
    ) -> None:
        self.conversation = conversation
        self.user_id = user_id
        self.chat_id = user_id if chat_id is None else chat_id
        self.chat_type = chat_type
        self.admin = admin
        self.messages: list[Reply] = []
        self.responses: list[Response] = []

    def event(self, kind: str, text: str) -> Event:
        return Event(kind, self.user_id, self.chat_id, text, self.chat_type, self.admin)  # type: ignore[arg-type]

    def send(self, step: str) -> Response:
        if step.startswith("[") and step.endswith("]"):
            return self.press(self.button(step[1:-1]).action)
        kind = "command" if step.startswith("/") else "text"
        return self._handle(self.event(kind, step))

    def press(self, action: str) -> Response:
        assert len(action.encode()) <= 64, action
        return self._handle(self.event("button", action))

    def _handle(self, event: Event) -> Response:
        response = self.conversation.handle(event)
        for reply in response.replies:
            for row in reply.buttons:
                for b in row:
                    if b.action:
                        assert len(b.action.encode()) <= 64, b.action
        self.responses.append(response)
        self.messages += response.replies
        return response

    def button(self, label: str) -> Button:
        for reply in reversed(self.messages):
            for row in reply.buttons:
                for b in row:
                    if label in b.label and b.action:
                        return b
        raise AssertionError(f"no button {label!r} shown")

    def dialog(self, steps: list[tuple[str, str]]) -> None:
        for said, expected in steps:
            text = shown(self.send(said))
            assert expected in text, f"{said!r}: expected {expected!r} in:\n{text}"


def shown(response: Response) -> str:
    """Everything a user would see of a response, as one string."""
    parts: list[str] = []
    for reply in (*response.replies, *([response.edit] if response.edit else [])):
        parts += [reply.heading, reply.text, reply.note]
        parts += [b.label for row in reply.buttons for b in row]
    if response.toast:
        parts.append(response.toast)
    return "\n".join(parts)


def actions(reply: Reply) -> list[str]:
    return [b.action for row in reply.buttons for b in row if b.action]


def make(
    kb: KnowledgeBase,
    path: Path,
    *,
    store_text: bool = True,
    support: int | None = None,
) -> Conversation:
    store = SqliteStore(path, PrivacyConfig(store_text=store_text))
    conversation = Conversation(kb, Matcher(kb), store)
    setup(conversation, Config(knowledge_dir=bundled_knowledge_dir(), support_chat_id=support))
    return conversation


@pytest.fixture
def conv(kb: KnowledgeBase, tmp_path: Path) -> Conversation:
    return make(kb, tmp_path / "bot.sqlite3")


# ------------------------------------------------------------------------ feedback


def test_every_answer_carries_feedback_and_a_thumbs_down_asks_once(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.dialog(
        [
            ("how do I choose a specialty?", "Choosing a specialty"),
            ("[👎]", "What were you looking for?"),
            ("something about part-time work", "Thank you, that helps"),
            ("how do I choose a specialty?", "Choosing a specialty"),
        ]
    )
    first_answer = chat.responses[0].replies[0]
    assert any(a.startswith("fb:+:") for a in actions(first_answer))
    assert any(a.startswith("fb:-:") for a in actions(first_answer))
    feedback = conv.store.user_data(USER)["feedback"]
    assert [(f["helpful"], f["comment"]) for f in feedback] == [
        (False, "something about part-time work")
    ]
    assert feedback[0]["entry_id"] == "faq-choosing-specialty" and feedback[0]["question_id"]
    # the next message after the comment is a question again, not another comment
    assert conv.store.chat_state(USER).awaiting_comment_for is None


def test_thumbs_down_twice_asks_only_once(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.send("what is a fellowship")
    down = chat.button("👎").action
    assert "What were you looking for?" in shown(chat.press(down))
    again = chat.press(down)
    assert not again.replies and again.toast == "Thanks for telling us."


def test_vote_edits_the_same_message_to_thanks_and_keeps_its_text(conv: Conversation) -> None:
    chat = Chat(conv)
    answer = chat.send("how do I avoid burnout").replies[0]
    up = chat.press(chat.button("👍").action)
    assert up.toast == "Thanks, glad it helped!" and not up.replies
    assert up.edit is not None
    assert up.edit.text == answer.text and up.edit.heading == answer.heading
    labels = [b.label for row in up.edit.buttons for b in row]
    assert "✓ thanks" in labels and "👍" not in labels and "👎" not in labels
    assert "already noted" in shown(chat.press("fb:ok"))


def test_a_follow_up_never_touches_the_earlier_answer(conv: Conversation) -> None:
    chat = Chat(conv)
    first = chat.send("residency").replies[0]
    follow = next(a for a in actions(first) if a.startswith("e:"))
    pressed = chat.press(follow)
    assert pressed.edit is None and len(pressed.replies) == 1  # a new message
    # the earlier message's 👍 still works after the follow-up
    old_up = next(a for a in actions(first) if a.startswith("fb:+:"))
    assert chat.press(old_up).toast == "Thanks, glad it helped!"


def test_answers_opened_from_a_button_carry_feedback_on_the_entry(conv: Conversation) -> None:
    chat = Chat(conv)
    reply = chat.press("e:retirement").replies[0]
    assert "fb:+:e:retirement" in actions(reply) and "fb:-:e:retirement" in actions(reply)
    chat.dialog([("[👎]", "What were you looking for?"), ("pension rules", "Thank you")])
    (vote,) = conv.store.user_data(USER)["feedback"]
    assert vote["question_id"] is None and vote["entry_id"] == "retirement"
    assert vote["comment"] == "pension rules" and vote["helpful"] is False
    assert conv.store.user_data(USER)["questions"] == []  # a button is not a question


def test_moving_on_drops_the_pending_comment(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.dialog([("board certification", "Board certification"), ("[👎]", "looking for")])
    chat.send("/topics")
    chat.dialog([("how do I avoid burnout", "Work-life balance")])
    (vote,) = conv.store.user_data(USER)["feedback"]
    assert vote["comment"] is None


def test_skip_drops_the_pending_comment(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.dialog([("networking", "network"), ("[👎]", "looking for"), ("[Skip]", "No problem")])
    assert conv.store.chat_state(USER).awaiting_comment_for is None


def test_in_a_group_only_the_voter_s_next_message_is_the_comment(conv: Conversation) -> None:
    alice = Chat(conv, user_id=1, chat_id=-100, chat_type="group")
    bob = Chat(conv, user_id=2, chat_id=-100, chat_type="group")
    alice.send("what about fellowship")
    alice.press(alice.button("👎").action)
    bob.dialog([("how do I avoid burnout", "Work-life balance")])
    alice.dialog([("I wanted fellowship salaries", "Thank you")])
    (vote,) = conv.store.user_data(1)["feedback"]
    assert vote["comment"] == "I wanted fellowship salaries"
    assert conv.store.user_data(2)["feedback"] == []


def test_votes_on_purged_answers_are_thanked_not_crashed(conv: Conversation) -> None:
    chat = Chat(conv)
    assert "no longer on record" in shown(chat.press("fb:+:999999"))
    assert "expired" in shown(chat.press("fb:?:1"))


# ------------------------------------------------------------------------ career stage


def test_stage_is_heard_naturally_and_marks_the_map(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.dialog(
        [
            ("I'm a PGY-2", "Got it, you're a resident — I'll keep that in mind."),
            ("/milestones", "📍 3. Residency"),
            ("[📍 3. Residency]", "📍 you are here"),
            ("/topics", "📍 Next for you: Fellowship training"),
        ]
    )
    assert conv.store.stage(USER) == "resident"
    menu = chat.responses[-1].replies[0]
    assert actions(menu)[0] == "e:fellowship"  # the menu leads with the next milestone
    answer = chat.send("how do I avoid burnout").replies[0]
    assert actions(answer)[0] == "e:fellowship"  # and so do the follow-ups
    fellowship = chat.press("e:fellowship").replies[0]
    assert "📍 your next step" in fellowship.note


@pytest.mark.parametrize(
    ("said", "stage", "confirmation"),
    [
        ("I'm an IMG who just passed Step 2", "applying", "you're applying after the USMLE"),
        ("I'm an attending", "attending", "you're an attending"),
        ("I'm a fellow in cardiology", "fellow", "you're a fellow"),
        ("I'm retiring soon", "late-career", "you're in your late career"),
    ],
)
def test_stage_statements(conv: Conversation, said: str, stage: str, confirmation: str) -> None:
    chat = Chat(conv)
    chat.dialog([(said, f"Got it, {confirmation} — I'll keep that in mind.")])
    assert conv.store.stage(USER) == stage


def test_a_stage_statement_that_also_asks_gets_an_answer(conv: Conversation) -> None:
    chat = Chat(conv)
    response = chat.send("I'm a PGY-2 thinking about fellowship")
    assert response.replies[0].text.startswith("Got it, you're a resident")
    assert response.replies[1].entry_id == "fellowship"
    response = chat.send("I just passed Step 2, what now?")
    assert conv.store.stage(USER) == "applying"
    assert response.replies[1].entry_id == "faq-after-passing"  # the question's own answer
    response = chat.send("I'm a PGY-2, what now?")
    assert conv.store.stage(USER) == "resident"
    assert response.replies[1].entry_id == "fellowship"  # only a stage: the next milestone
    response = chat.send("I'm a new attending, how do I avoid burnout?")
    assert conv.store.stage(USER) == "new-attending"
    assert response.replies[1].entry_id == "work-life-balance"


def test_questions_about_stages_do_not_set_one(conv: Conversation) -> None:
    chat = Chat(conv)
    for said in ("how do I become an attending?", "my friend passed step 2", "I'm not a resident"):
        chat.send(said)
    assert conv.store.stage(USER) is None


def test_stage_command_shows_changes_and_clears(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.dialog(
        [
            ("/stage", "I don't know where you are in your career yet"),
            ("[Fellow]", "Got it, you're a fellow"),
            ("/stage", "You're a fellow (📍 Fellowship training on the career map)"),
            ("[Clear my stage]", "forgotten your career stage"),
            ("/stage attending", "you're an attending"),
        ]
    )
    menu = chat.responses[0].replies[0]
    assert [a for a in actions(menu) if a.startswith("st:")][:3] == [
        "st:student",
        "st:applying",
        "st:resident",
    ]
    assert conv.store.stage(USER) == "attending"
    assert "expired" in shown(chat.press("st:astronaut"))


# ------------------------------------------------------------------------ restart


def test_a_restart_keeps_chat_state_and_stage(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = Chat(make(kb, path))
    first.dialog([("I'm a resident", "Got it"), ("residency", "Residency")])
    first.conversation.store.close()  # type: ignore[attr-defined]
    again = Chat(make(kb, path))
    again.dialog([("what's next?", "Fellowship training"), ("/milestones", "📍 3. Residency")])


# ------------------------------------------------------------------------ privacy


def rows_with(path: Path, needle: str) -> list[tuple[str, tuple[object, ...]]]:
    """Every row in every table with a cell containing `needle`."""
    db = sqlite3.connect(path)
    found = []
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table}"):
            if any(needle in str(cell) for cell in row):
                found.append((table, row))
    db.close()
    return found


def test_forget_asks_then_deletes_every_row_with_the_user_key(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    conv = make(kb, path)
    store = conv.store
    assert isinstance(store, SqliteStore)
    key = store.user_key(USER)
    chat = Chat(conv)
    other = Chat(conv, user_id=7)
    other.send("residency")
    chat.dialog(
        [
            ("I'm a fellow", "Got it"),
            ("how do I choose a specialty", "Choosing a specialty"),
            ("[👎]", "looking for"),
            ("radiology vs pathology", "Thank you"),
            ("/forget", "This deletes everything I keep about you"),
            ("[No, keep it]", "nothing was deleted"),
        ]
    )
    assert rows_with(path, key)
    chat.dialog([("/forget", "Go ahead?"), ("[Yes, delete it]", "Done: I deleted everything")])
    assert rows_with(path, key) == []
    assert store.chat_state(USER).last_entry is None and store.stage(USER) is None
    assert rows_with(path, store.user_key(7))  # the other user is untouched
    chat.dialog([("/mydata", "Questions logged: 0")])


def test_mydata_shows_what_is_stored(conv: Conversation) -> None:
    chat = Chat(conv)
    chat.send("I'm a student")
    chat.send("tell me about residency")
    chat.dialog(
        [
            ("/mydata", "Career stage: Student / preparing"),
            ("/mydata", "“tell me about residency” → answer: Residency"),
            ("/mydata", "/forget deletes all of it."),
        ]
    )


def test_store_text_false_keeps_no_text(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conv = make(kb, path, store_text=False)
    chat = Chat(conv)
    chat.send("how do I choose a specialty")
    down = chat.press(chat.button("👎").action)
    assert not down.replies  # no "what were you looking for": it could not be kept
    chat.send("zebra hovercraft licensing")
    assert rows_with(path, "choose") == [] and rows_with(path, "zebra") == []
    chat.dialog([("/mydata", "(text not kept)")])


def test_the_core_imports_neither_telegram_nor_sqlite() -> None:
    code = (
        "import sys, bot.conversation, bot.stages, bot.state, bot.matching\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'sqlite3', "
        "'_sqlite3'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


# ------------------------------------------------------------------------ talk to a person


def test_no_support_chat_no_person_button(conv: Conversation) -> None:
    reply = Chat(conv).send("zebra hovercraft licensing").replies[0]
    assert not any(a.startswith("human:") for a in actions(reply))


def test_talk_to_a_person_forwards_the_question(kb: KnowledgeBase, tmp_path: Path) -> None:
    conv = make(kb, tmp_path / "bot.sqlite3", support=-500)
    chat = Chat(conv)
    chat.dialog([("zebra hovercraft licensing", "doesn't cover that")])
    response = chat.send("[Talk to a person]")
    assert response.forward is not None
    assert response.forward.chat_id == -500 and response.forward.user_chat_id == USER
    assert "zebra hovercraft licensing" in response.forward.text
    assert "passed your question to a person" in shown(response)
    again = chat.send("[Talk to a person]")
    assert again.forward is None and "Already passed on" in shown(again)
    stranger = Chat(conv, user_id=99)
    assert stranger.press(chat.button("Talk to a person").action).forward is None


def test_talk_to_a_person_without_stored_text(kb: KnowledgeBase, tmp_path: Path) -> None:
    conv = make(kb, tmp_path / "bot.sqlite3", store_text=False, support=-500)
    chat = Chat(conv)
    chat.send("zebra hovercraft licensing")
    forward = chat.send("[Talk to a person]").forward
    assert forward is not None and "zebra hovercraft licensing" in forward.text  # from memory


# ------------------------------------------------------------------------ admin gate


@pytest.mark.parametrize("command", ["/stats", "/unanswered", "/reload", "/stats@faqbot"])
def test_admin_commands_do_not_exist_for_others(conv: Conversation, command: str) -> None:
    chat = Chat(conv)
    chat.send("residency")
    response = chat.send(command)
    assert response == Response((Reply(UNKNOWN),))
    assert response == chat.send("/nosuchcommand")


def test_admin_buttons_do_nothing_for_others(conv: Conversation) -> None:
    chat = Chat(conv)
    for action in ("ua:list", "ua:1", "ul:1:residency", "ui:1"):
        assert "expired" in shown(chat.press(action))


def test_help_mentions_operator_commands_only_to_admins(conv: Conversation) -> None:
    assert "/stats" not in shown(Chat(conv).send("/help"))
    assert "/stats" in shown(Chat(conv, admin=True).send("/help"))


def test_memory_store_still_works(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, Matcher(kb))
    chat = Chat(conv)
    chat.dialog(
        [
            ("I'm a PGY-2", "Got it, you're a resident"),
            ("residency", "📍 you are here"),
            ("[👎]", "looking for"),
            ("more on contracts", "Thank you"),
            ("/mydata", "“residency” → answer: Residency"),
            ("/forget", "Go ahead?"),
            ("[Yes, delete it]", "Done"),
            ("/mydata", "Questions logged: 0"),
        ]
    )
    assert replace(conv.store.chat_state(USER)) == conv.store.chat_state(USER)
