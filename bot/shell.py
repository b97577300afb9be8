"""The terminal chat: the same conversation core as Telegram, printed as plain text.

Buttons are numbered; typing a number presses one. Commands (/help, /topics, ...) work as in
Telegram. Ctrl-D or Ctrl-C ends the chat cleanly.
"""

from __future__ import annotations

from typing import TextIO

from bot.admin import setup as setup_operator_tools
from bot.config import Config
from bot.conversation import Button, Conversation, Event, EventKind, Reply, Response
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from bot.state import MemoryStore, Store

SHELL_USER = 1
PROMPT = "you> "


def render(reply: Reply, first_number: int = 1) -> tuple[str, list[Button]]:
    """A reply as text with numbered buttons; returns the buttons in number order."""
    lines: list[str] = []
    if reply.heading:
        lines += [reply.heading.upper(), ""]
    lines.append(reply.text)
    if reply.note:
        lines += ["", f"({reply.note})"]
    pressable = [b for row in reply.buttons for b in row if b.action]
    if pressable:
        lines.append("")
        lines += [f"  [{first_number + i}] {b.label}" for i, b in enumerate(pressable)]
    return "\n".join(lines), pressable


class Shell:
    """Reads lines, feeds the conversation, prints responses."""

    def __init__(self, conversation: Conversation, out: TextIO, *, admin: bool = False) -> None:
        self.conversation = conversation
        self.out = out
        self.admin = admin
        self.buttons: list[Button] = []

    def show(self, response: Response) -> None:
        if response.toast:
            self.out.write(f"· {response.toast}\n")
        if response.edit is not None:  # the pressed message changes; in a terminal, say so
            self.out.write(f"· (message updated: {response.edit.text.splitlines()[0]})\n")
        if response.forward is not None:
            self.out.write(f"· (forwarded to chat {response.forward.chat_id})\n")
        buttons: list[Button] = []
        for reply in response.replies:
            text, pressable = render(reply, len(buttons) + 1)
            buttons += pressable
            self.out.write(f"\nbot> {text}\n\n")
        if response.replies:
            self.buttons = buttons
        self.out.flush()

    def feed(self, line: str) -> None:
        """Handle one typed line: a button number, a /command or a question."""
        text = line.strip()
        kind: EventKind = "text"
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            kind, text = "button", self.buttons[int(text) - 1].action
        elif text.startswith("/"):
            kind = "command"
        event = Event(kind, SHELL_USER, SHELL_USER, text, is_admin=self.admin)
        self.show(self.conversation.handle(event))


def run_shell(
    config: Config,
    kb: KnowledgeBase,
    stdin: TextIO,
    out: TextIO,
    store: Store | None = None,
    *,
    admin: bool = False,
) -> int:
    """Chat until end of input; returns the exit code.

    The store defaults to a `MemoryStore` (nothing is kept); `admin` makes the terminal user an
    operator (/reload works on any store; /stats and /unanswered need a `SqliteStore`).
    """
    conversation = Conversation(kb, Matcher(kb, config.matching), store or MemoryStore())
    setup_operator_tools(conversation, config)
    shell = Shell(conversation, out, admin=admin)
    interactive = stdin.isatty()
    try:
        out.write("faqbot terminal chat. Type a question, a button number, /help; Ctrl-D quits.\n")
        shell.show(shell.conversation.handle(Event("command", SHELL_USER, SHELL_USER, "/start")))
        while True:
            if interactive:
                out.write(PROMPT)
                out.flush()
            line = stdin.readline()
            if not line:
                break
            if line.strip():
                shell.feed(line)
    except KeyboardInterrupt:
        pass
    out.write("\nBye! Good luck on your path.\n")
    return 0
