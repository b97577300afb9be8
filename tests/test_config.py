"""The config file: defaults, the token's precedence and secrecy, and exact problem lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import Config, MatchingConfig, bundled_knowledge_dir, load_config
from bot.errors import ConfigError

SECRET = "123456789:AAHsecret-token_value"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so no ./config.yaml is picked up by accident."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return tmp_path


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    return [str(p) for p in info.value.problems]


def test_defaults_without_a_file() -> None:
    config = load_config(environ={})
    assert config.source is None
    assert config.knowledge_dir == bundled_knowledge_dir()
    assert (config.knowledge_dir / "milestones.yaml").is_file()
    assert config.telegram.token is None
    assert config.matching == MatchingConfig()
    assert 0 < config.matching.clarify_threshold <= config.matching.answer_threshold <= 100
    assert config.log_level == "INFO"
    assert config.admins == ()


def test_config_yaml_in_the_working_folder_is_read_by_default() -> None:
    write("config.yaml", "log_level: debug\n")
    config = load_config(environ={})
    assert config.log_level == "DEBUG"
    assert config.source == "config.yaml"


def test_an_empty_file_means_defaults() -> None:
    config = load_config(write("c.yaml", "# nothing yet\n"), environ={})
    assert config.matching == MatchingConfig()
    assert config.telegram.token is None


def test_values_are_read_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = write(
        "sub/c.yaml",
        """
        knowledge: kb
        storage: data/bot.sqlite3
        admins: [42, 7]
        telegram:
          token: "SECRET"
        matching:
          answer_threshold: 60
          clarify_threshold: 50.5
          margin: 3
        privacy:
          store_text: false
          retention_days: null
        """.replace("SECRET", SECRET),
    )
    config = load_config(path, environ={})
    base = (tmp_path / "sub").resolve()
    assert config.knowledge_dir == base / "kb"
    assert config.storage_path == base / "data/bot.sqlite3"
    assert config.admins == (42, 7)
    assert config.telegram.token == SECRET
    assert config.matching == MatchingConfig(60.0, 50.5, 3.0)
    assert config.privacy.store_text is False
    assert config.privacy.retention_days is None


def test_knowledge_dir_argument_overrides_the_file(tmp_path: Path) -> None:
    path = write("c.yaml", "knowledge: kb\n")
    config = load_config(path, knowledge_dir=Path("other"), environ={})
    assert config.knowledge_dir == Path("other")


def test_env_token_wins_over_the_file() -> None:
    path = write("c.yaml", f'telegram:\n  token: "{SECRET}"\n')
    assert load_config(path, environ={}).telegram.token == SECRET
    env = {"TELEGRAM_BOT_TOKEN": "999:from-env"}
    assert load_config(path, environ=env).telegram.token == "999:from-env"
    # a blank variable does not erase the file's token
    assert load_config(path, environ={"TELEGRAM_BOT_TOKEN": "  "}).telegram.token == SECRET
    # and the env alone is enough
    assert load_config(environ=env).telegram.token == "999:from-env"


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "555:process-env")
    assert load_config().telegram.token == "555:process-env"


def test_unknown_keys_are_reported_with_their_line() -> None:
    path = write(
        "c.yaml",
        """
        log_level: INFO
        knowlege: kb
        telegram:
          tokn: abc
        matching:
          answer_treshold: 50
        """,
    )
    known_top = (
        "admins, knowledge, log_level, matching, privacy, storage, support_chat_id, telegram"
    )
    known_match = "answer_threshold, clarify_threshold, margin"
    assert problems(path) == [
        f"c.yaml:2: unknown key 'knowlege' (known: {known_top})",
        "c.yaml:4: unknown key 'telegram.tokn' (known: base_url, token)",
        f"c.yaml:6: unknown key 'matching.answer_treshold' (known: {known_match})",
    ]


def test_wrong_types_are_reported_with_their_line() -> None:
    path = write(
        "c.yaml",
        """
        knowledge: 5
        admins: [1, bob]
        log_level: loud
        matching:
          answer_threshold: high
          margin: true
        privacy:
          store_text: 1
        """,
    )
    assert problems(path) == [
        "c.yaml:1: 'knowledge' must be text",
        "c.yaml:2: 'admins' must list Telegram user ids (numbers)",
        "c.yaml:3: 'log_level' must be DEBUG, INFO, WARNING or ERROR",
        "c.yaml:5: 'matching.answer_threshold' must be a number",
        "c.yaml:6: 'matching.margin' must be a number",
        "c.yaml:8: 'privacy.store_text' must be true or false",
    ]


def test_a_section_that_is_not_a_mapping_says_what_it_must_be() -> None:
    path = write("c.yaml", "telegram: abc\nmatching: 5\n")
    found = problems(path)
    assert [line.split(": ", 1)[0] for line in found] == ["c.yaml:1", "c.yaml:2"]
    for line in found:
        # e.g. "'telegram' must be a mapping": never a sentence that stops at "must be"
        assert not line.rstrip().endswith("must be"), line


def test_value_out_of_range_points_at_its_own_line() -> None:
    path = write("c.yaml", "log_level: INFO\nprivacy:\n  store_text: true\n  retention_days: 0\n")
    assert problems(path) == ["c.yaml:4: 'privacy.retention_days' must be 1 or more (or null)"]


def test_clarify_above_answer_threshold_is_refused() -> None:
    path = write("c.yaml", "matching:\n  answer_threshold: 40\n  clarify_threshold: 50\n")
    found = problems(path)
    assert len(found) == 1
    assert "clarify_threshold" in found[0]
    assert found[0].startswith("c.yaml:")


def test_missing_file() -> None:
    assert problems(Path("nope.yaml")) == ["nope.yaml: file not found"]


def test_bad_yaml_names_its_line() -> None:
    path = write("c.yaml", "log_level: INFO\nmatching:\n  margin: 3\n bad: [\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith("c.yaml:4: YAML syntax error")


def test_duplicate_key() -> None:
    path = write("c.yaml", "log_level: INFO\nlog_level: DEBUG\n")
    assert problems(path) == ["c.yaml:2: duplicate key 'log_level'"]


def test_a_list_is_not_a_config() -> None:
    assert problems(write("c.yaml", "- a\n- b\n")) == [
        "c.yaml:1: the config must be a mapping of keys"
    ]


def test_repr_never_shows_the_token() -> None:
    path = write("c.yaml", f'telegram:\n  token: "{SECRET}"\n')
    for config in (
        load_config(path, environ={}),
        load_config(environ={"TELEGRAM_BOT_TOKEN": SECRET}),
    ):
        assert config.telegram.token == SECRET
        for shown in (repr(config), str(config), repr(config.telegram), f"{config}"):
            assert SECRET not in shown
            assert "AAHsecret" not in shown
        assert "token=<set>" in repr(config)
    assert "token=<unset>" in repr(Config())


def test_problems_never_echo_the_token() -> None:
    path = write("c.yaml", f'telegram:\n  token: "{SECRET}"\n  tokenn: "{SECRET}"\n')
    found = problems(path)
    assert found
    assert all(SECRET not in line for line in found)
