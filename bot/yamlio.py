"""Safe YAML loading that remembers where each value came from.

Mappings become `LineDict` and strings `LineStr`, both carrying the 1-based line they start
on, so validation can say `knowledge/faq.yaml:42: ...`. Duplicate keys are rejected: PyYAML
would silently keep the last one, and a silently lost entry is worse than an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.errors import Problem


class LineDict(dict[str, Any]):
    """A mapping with the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence with the line of each item."""

    line: int = 0
    item_lines: list[int]


class LineStr(str):
    """A string with the line it starts on."""

    line: int = 0


# libyaml's parser when PyYAML was built with it: the knowledge loads about 4x faster, which
# is most of `faqbot ask`'s start-up time.
if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """SafeLoader that records lines and refuses duplicate keys."""

    duplicate_problems: list[tuple[int, str]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            key_text = str(key)
            line = key_node.start_mark.line + 1
            if key_text in result:
                self.duplicate_problems.append((line, f"duplicate key '{key_text}'"))
                continue
            result[key_text] = self.construct_object(value_node, deep=True)
            result.key_lines[key_text] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    def construct_yaml_str(self, node: yaml.ScalarNode) -> LineStr:
        value = LineStr(self.construct_scalar(node))
        value.line = node.start_mark.line + 1
        return value


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)


def line_of(value: object, default: int = 0) -> int:
    """The line a loaded value starts on, or `default` for plain values (numbers, null)."""
    return int(getattr(value, "line", default))


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; return its data and any problems (syntax, duplicate keys)."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(shown, 0, "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, 0, f"cannot read file: {exc}")]
    loader = _Loader(text)
    loader.duplicate_problems = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(shown, line, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return None, [Problem(shown, 0, f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    problems = [Problem(shown, line, msg) for line, msg in loader.duplicate_problems]
    return data, problems
