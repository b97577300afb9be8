"""Error types of faqbot.

Every problem a user can fix is a `Problem` that prints as `path:line: message`, the form
editors and CI logs link to. Loaders collect all problems before raising, so one run shows
everything that is wrong:

    FaqbotError
    ├── ConfigError      the config file is unreadable or invalid
    └── KnowledgeError   the knowledge files are unreadable or invalid
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, at one line when known."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line > 0:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"


class FaqbotError(Exception):
    """Base of every error faqbot reports to a user."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(FaqbotError):
    """The config file cannot be used."""


class KnowledgeError(FaqbotError):
    """The knowledge files cannot be used; the previous knowledge stays in force."""
