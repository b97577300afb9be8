"""The terminal chat, driven through the real `faqbot shell` process's stdin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def chat(*lines: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Type `lines` into a fresh shell, then end the input (Ctrl-D)."""
    args = [sys.executable, "-m", "bot.cli", "shell"]
    if config is not None:
        args += ["--config", str(config)]
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    return subprocess.run(
        args,
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def replies(output: str) -> list[str]:
    """The bot's messages, in order."""
    return [part.strip() for part in output.split("bot> ")[1:]]


def numbered(reply: str) -> dict[str, int]:
    """Button label -> the number that presses it."""
    return {label: int(n) for n, label in re.findall(r"^\s*\[(\d+)\] (.+)$", reply, re.M)}


def test_welcome_then_question_answers_with_numbered_follow_ups() -> None:
    done = chat("choosing a specialty")
    assert done.returncode == 0, done.stderr
    welcome, answer = replies(done.stdout)
    assert "career" in welcome.lower()
    assert answer.startswith("CHOOSING A SPECIALTY")
    assert "(Milestone 2 of 13)" in answer
    buttons = numbered(answer)
    assert {"◀ previous", "next ▶", "🗺 career map"} <= set(buttons)
    assert "Traceback" not in done.stderr


def test_typing_a_number_presses_that_button() -> None:
    first = replies(chat("residency").stdout)[1]
    next_number = numbered(first)["next ▶"]
    done = chat("residency", str(next_number))
    pressed = replies(done.stdout)[2]
    assert pressed.startswith("FELLOWSHIP")
    assert "(Milestone 4 of 13)" in pressed


def test_whats_next_follows_on_from_the_last_answer() -> None:
    done = chat("board certification", "what's next?")
    *_, follow_on = replies(done.stdout)
    assert follow_on.startswith("CONTINUOUS LEARNING")


def test_commands_work_and_unknown_command_is_explained() -> None:
    done = chat("/milestones", "/help", "/nonsense")
    milestones, help_text, unknown = replies(done.stdout)[1:]
    assert next(iter(numbered(milestones))) == "1. Why the USMLE matters"
    assert len(numbered(milestones)) == 13
    assert "/topics" in help_text
    assert "don't know that command" in unknown


def test_out_of_scope_question_falls_back_honestly() -> None:
    done = chat("what is the capital of france")
    answer = replies(done.stdout)[1]
    assert "doesn't cover" in answer
    assert "career map" in answer


def test_did_you_mean_none_of_these_leads_to_the_menu(tmp_path: Path) -> None:
    # Only a perfect score answers, so any inexact question asks "did you mean".
    config = tmp_path / "config.yaml"
    config.write_text(
        f"knowledge: {ROOT / 'knowledge'}\n"
        "matching: {answer_threshold: 100, clarify_threshold: 1, margin: 0}\n",
        encoding="utf-8",
    )
    question = "residency qwzx"  # the unknown word keeps it below a perfect score
    ask = replies(chat(question, config=config).stdout)[1]
    assert ask.startswith("I'm not quite sure what you mean. Did you mean")
    buttons = numbered(ask)
    assert "Residency" in buttons
    again = replies(chat(question, str(buttons["None of these"]), config=config).stdout)
    assert again[2].startswith("TOPICS")
    assert "Did you mean" not in again[2]


def test_ctrl_c_exits_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "shell"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait for the welcome before interrupting
        if "[3]" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Bye" in out
    assert "Traceback" not in err


def test_make_run_path_opens_the_shell_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--shell-without-token"],
        input="hi\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in done.stdout
    assert len(replies(done.stdout)) == 2
