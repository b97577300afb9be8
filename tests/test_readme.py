"""The README is the user's manual: every subcommand, config key and chat command is in it."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from bot.cli import build_parser
from bot.conversation import HELP_TEXT

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands() -> list[str]:
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(subs.choices)


def _keys(data: dict[str, object], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += _keys(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_every_subcommand_is_documented() -> None:
    names = _subcommands()
    assert {"ask", "eval", "check", "shell", "run", "report", "export"} <= set(names)
    missing = [n for n in names if f"faqbot {n}" not in README]
    assert not missing, f"README lacks: {missing}"


def test_every_config_key_is_documented_in_readme_and_example() -> None:
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    keys = _keys(example)
    assert "telegram.token" in keys and "privacy.retention_days" in keys
    missing = [k for k in keys if f"`{k}`" not in README]
    assert not missing, f"README lacks: {missing}"


def test_every_chat_command_in_help_is_documented() -> None:
    commands = [word for word in HELP_TEXT.split() if word.startswith("/")]
    assert "/start" in README and len(commands) >= 5
    missing = [c for c in commands if f"`{c}" not in README]
    assert not missing, f"README lacks: {missing}"


def test_set_up_leads_with_make_run_and_make_test() -> None:
    first_code_block = README.split("```")[1]
    assert "make run" in first_code_block and "make test" in first_code_block
