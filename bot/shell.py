"""The terminal chat: the same conversation core as Telegram, printed as plain text.

Buttons are numbered; typing a number presses one. Commands (/help, /topics, ...) work as in
Telegram. Ctrl-D or Ctrl-C ends the chat cleanly.
"""

from __future__ import annotations

from typing import TextIO

from bot.config import Config
from bot.conversation import Button, Conversation, Event, Reply, Response
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher

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

    def __init__(self, conversation: Conversation, out: TextIO) -> None:
        self.conversation = conversation
        self.out = out
        self.buttons: list[Button] = []

    def show(self, response: Response) -> None:
        if response.toast:
            self.out.write(f"· {response.toast}\n")
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
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            event = Event("button", SHELL_USER, SHELL_USER, self.buttons[int(text) - 1].action)
        elif text.startswith("/"):
            event = Event("command", SHELL_USER, SHELL_USER, text)
        else:
            event = Event("text", SHELL_USER, SHELL_USER, text)
        self.show(self.conversation.handle(event))


def run_shell(config: Config, kb: KnowledgeBase, stdin: TextIO, out: TextIO) -> int:
    """Chat until end of input; returns the exit code."""
    shell = Shell(Conversation(kb, Matcher(kb, config.matching)), out)
    out.write("faqbot terminal chat. Type a question, a button number, /help; Ctrl-D quits.\n")
    shell.show(shell.conversation.handle(Event("command", SHELL_USER, SHELL_USER, "/start")))
    interactive = stdin.isatty()
    try:
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
