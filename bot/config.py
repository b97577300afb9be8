"""The bot's configuration: frozen dataclasses read from one YAML file.

Everything has a default, so the bot runs with no config file at all (terminal shell on the
bundled knowledge). The environment variable TELEGRAM_BOT_TOKEN wins over `telegram.token`
so the secret can stay out of files. Unknown keys are problems: a typo in a key would
otherwise silently fall back to a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, Problem
from bot.yamlio import LineDict, line_of, load_yaml

DEFAULT_CONFIG = Path("config.yaml")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


def bundled_knowledge_dir() -> Path:
    """The `knowledge/` folder shipped next to the package (the repo's top level)."""
    return Path(__file__).resolve().parent.parent / "knowledge"


@dataclass(frozen=True)
class TelegramConfig:
    """How to reach Telegram."""

    token: str | None = None
    base_url: str = DEFAULT_BASE_URL

    def __repr__(self) -> str:  # the token must never reach a log line
        shown = "set" if self.token else "unset"
        return f"TelegramConfig(token=<{shown}>, base_url={self.base_url!r})"


@dataclass(frozen=True)
class MatchingConfig:
    """When the matcher answers, asks "did you mean", or falls back (scores are 0-100)."""

    answer_threshold: float = 24.0
    clarify_threshold: float = 22.0
    margin: float = 1.0


@dataclass(frozen=True)
class PrivacyConfig:
    """What the question log keeps and for how long."""

    store_text: bool = True
    retention_days: int | None = 90


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    knowledge_dir: Path = field(default_factory=bundled_knowledge_dir)
    storage_path: Path = Path("faqbot.sqlite3")
    log_level: str = "INFO"
    admins: tuple[int, ...] = ()
    support_chat_id: int | None = None
    telegram: TelegramConfig = TelegramConfig()
    matching: MatchingConfig = MatchingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    source: str | None = None


_SECTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    "telegram": {"token": (str, type(None)), "base_url": (str,)},
    "matching": {
        "answer_threshold": (int, float),
        "clarify_threshold": (int, float),
        "margin": (int, float),
    },
    "privacy": {"store_text": (bool,), "retention_days": (int, type(None))},
}
_TOP: dict[str, tuple[type, ...]] = {
    "knowledge": (str,),
    "storage": (str,),
    "log_level": (str,),
    "admins": (list,),
    "support_chat_id": (int, type(None)),
}


def _type_name(types: tuple[type, ...]) -> str:
    names = {
        int: "a number",
        float: "a number",
        str: "text",
        bool: "true or false",
        dict: "a mapping",
    }
    words = [names.get(t, "a list" if t is list else "") for t in types if t is not type(None)]
    return " or ".join(dict.fromkeys(w for w in words if w))


def _check(
    data: LineDict, allowed: dict[str, tuple[type, ...]], where: str, path: str
) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        line = data.key_lines.get(key, data.line)
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            problems.append(Problem(path, line, f"unknown key '{where}{key}' (known: {known})"))
            continue
        types = allowed[key]
        bad_bool = isinstance(value, bool) and bool not in types
        if not isinstance(value, types) or bad_bool:
            problems.append(Problem(path, line, f"'{where}{key}' must be {_type_name(types)}"))
            continue
        values[key] = value
    return values, problems


def load_config(
    path: Path | None = None,
    *,
    knowledge_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read the config (`path`, else ./config.yaml when present, else defaults)."""
    env = os.environ if environ is None else environ
    config = Config()
    problems: list[Problem] = []
    chosen = path if path is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    if chosen is not None:
        config, problems = _read(chosen)
    if problems:
        raise ConfigError(problems)
    token = env.get(TOKEN_ENV, "").strip() or config.telegram.token
    config = replace(config, telegram=replace(config.telegram, token=token or None))
    if knowledge_dir is not None:
        config = replace(config, knowledge_dir=knowledge_dir)
    return config


def _read(path: Path) -> tuple[Config, list[Problem]]:
    shown = str(path)
    data, problems = load_yaml(path, shown)
    if problems:
        return Config(), problems
    if data is None:
        data = LineDict()
        data.line, data.key_lines = 1, {}
    if not isinstance(data, LineDict):
        return Config(), [Problem(shown, line_of(data, 1), "the config must be a mapping of keys")]
    base = path.resolve().parent
    allowed = {**_TOP, **{name: (dict,) for name in _SECTIONS}}
    top, problems = _check(data, allowed, "", shown)
    sections: dict[str, dict[str, Any]] = {}
    for name, keys in _SECTIONS.items():
        section = top.get(name)
        if isinstance(section, LineDict):
            sections[name], more = _check(section, keys, f"{name}.", shown)
            problems += more
        else:
            sections[name] = {}
    admins: list[int] = []
    for i, item in enumerate(top.get("admins", [])):
        if isinstance(item, int) and not isinstance(item, bool):
            admins.append(item)
        else:
            lines = getattr(top["admins"], "item_lines", [])
            line = lines[i] if i < len(lines) else data.key_lines.get("admins", 0)
            problems.append(Problem(shown, line, "'admins' must list Telegram user ids (numbers)"))
    level = str(top.get("log_level", "INFO")).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        line = data.key_lines.get("log_level", 0)
        problems.append(Problem(shown, line, "'log_level' must be DEBUG, INFO, WARNING or ERROR"))
    matching = MatchingConfig(**{k: float(v) for k, v in sections["matching"].items()})
    if matching.clarify_threshold > matching.answer_threshold:
        line = data.key_lines.get("matching", 0)
        problems.append(
            Problem(shown, line, "'matching.clarify_threshold' is above answer_threshold")
        )
    retention = sections["privacy"].get("retention_days", 90)
    if isinstance(retention, int) and retention < 1:
        privacy = top.get("privacy")
        line = privacy.key_lines.get("retention_days", 0) if isinstance(privacy, LineDict) else 0
        problems.append(
            Problem(shown, line, "'privacy.retention_days' must be 1 or more (or null)")
        )
    config = Config(
        knowledge_dir=base / top["knowledge"] if "knowledge" in top else bundled_knowledge_dir(),
        storage_path=base / top.get("storage", "faqbot.sqlite3"),
        log_level=level,
        admins=tuple(admins),
        support_chat_id=top.get("support_chat_id"),
        telegram=TelegramConfig(**sections["telegram"]),
        matching=matching,
        privacy=PrivacyConfig(**sections["privacy"]),
        source=shown,
    )
    return config, problems
