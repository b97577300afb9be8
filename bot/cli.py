"""The `faqbot` command: `main(argv) -> int`, one small function per subcommand.

Exit codes: 0 fine, 1 a problem the user can fix (printed as one line each), 2 bad usage,
130 interrupted. No subcommand needs a Telegram token except `run`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from bot.config import Config, load_config
from bot.errors import FaqbotError, Problem
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Match, Matcher

if TYPE_CHECKING:
    from bot.storage import SqliteStore as SqliteStoreType


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _load(args: argparse.Namespace) -> tuple[Config, KnowledgeBase]:
    config = load_config(args.config, knowledge_dir=args.knowledge)
    return config, load_knowledge(config.knowledge_dir)


def _match_json(match: Match) -> dict[str, object]:
    entry = match.entry
    return {
        "query": match.query,
        "decision": match.decision,
        "id": entry.id if entry else None,
        "kind": entry.kind if entry else None,
        "title": entry.title if entry else None,
        "score": match.score,
        "candidates": [{"id": c.entry_id, "score": c.score} for c in match.candidates],
    }


def _match_text(match: Match, kb: KnowledgeBase) -> str:
    entry = match.entry
    head = f"[{match.decision}, score {match.score:.1f}]"
    if match.decision == "answer" and entry is not None:
        body = f"{entry.title}  {head}\n\n{entry.answer}"
    elif match.decision == "clarify":
        titles = [kb.by_id[c.entry_id].title for c in match.candidates]
        body = f"Did you mean: {' / '.join(titles)}?  {head}"
    elif entry is not None:
        body = f"Not covered by the guide ({entry.title})  {head}\n\n{entry.answer}"
    else:
        body = f"Not covered by the guide.  {head}"
    ranked = ", ".join(f"{c.entry_id} {c.score:.1f}" for c in match.candidates) or "none"
    return f"{body}\n\ncandidates: {ranked}"


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    """Answer one question (or one per stdin line with `-`)."""
    config, kb = _load(args)
    matcher = Matcher(kb, config.matching)
    if args.question == "-":
        for line in sys.stdin:
            question = line.rstrip("\n")
            if args.json:
                out.write(json.dumps(_match_json(matcher.match(question)), ensure_ascii=False))
                out.write("\n")
            else:
                out.write(_match_text(matcher.match(question), kb) + "\n\n")
            out.flush()
        return 0
    match = matcher.match(args.question)
    if args.json:
        out.write(json.dumps(_match_json(match), ensure_ascii=False) + "\n")
    else:
        out.write(_match_text(match, kb) + "\n")
    return 0


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Score the matcher on a labelled question file."""
    from bot.evaluate import evaluate, format_report, load_cases, with_typos

    config, kb = _load(args)
    matcher = Matcher(kb, config.matching)
    cases = load_cases(args.file, kb)
    report = evaluate(cases, matcher.match, kb)
    typo_report = evaluate(with_typos(cases, args.typos), matcher.match, kb) if args.typos else None
    if args.json:
        data = {"file": str(args.file), "questions": len(cases), **report.as_dict()}
        if typo_report is not None:
            data["typos"] = {"per_question": args.typos, **typo_report.as_dict()}
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(format_report(report, f"{args.file}: {len(cases)} questions") + "\n")
    if typo_report is not None:
        title = f"typo variants: {typo_report.overall.total} ({args.typos} per question)"
        out.write("\n" + format_report(typo_report, title) + "\n")
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Validate config and knowledge; print a summary line."""
    config, kb = _load(args)
    kinds = {k: len(kb.of_kind(k)) for k in ("milestone", "faq", "smalltalk", "redirect")}
    detail = ", ".join(f"{n} {k}" for k, n in kinds.items())
    out.write(
        f"ok: {len(kb.entries)} entries ({detail}), {kb.phrasing_count} phrasings, "
        f"{len(kb.synonyms)} synonym groups in {config.knowledge_dir}\n"
    )
    return 0


def cmd_shell(args: argparse.Namespace, out: TextIO) -> int:
    """Chat with the bot in the terminal."""
    from bot.shell import run_shell

    config, kb = _load(args)
    return int(run_shell(config, kb, sys.stdin, out))


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the Telegram bot (or the terminal shell when `--shell-without-token`)."""
    from bot.telegram_app import run_bot

    config, kb = _load(args)
    if not config.telegram.token:
        if args.shell_without_token:
            from bot.shell import run_shell

            out.write(
                "No Telegram token configured: starting the terminal chat. To connect "
                "Telegram, set TELEGRAM_BOT_TOKEN (see README).\n"
            )
            return int(run_shell(config, kb, sys.stdin, out))
        sys.stderr.write(
            "faqbot: no Telegram token. Create a bot with @BotFather, then set "
            "TELEGRAM_BOT_TOKEN=<token> or telegram.token in config.yaml "
            "(see config.example.yaml). 'faqbot shell' chats without Telegram.\n"
        )
        return 1
    return int(run_bot(config, kb))


def _open_store(args: argparse.Namespace) -> tuple[Config, SqliteStoreType]:
    """The configured database, which must exist (reports never create an empty one)."""
    from bot.storage import SqliteStore

    config = load_config(args.config, knowledge_dir=args.knowledge)
    return config, SqliteStore.open_existing(config.storage_path, config.privacy)


def _titles(config: Config) -> dict[str, str]:
    """Entry titles for reports; ids stand in when the knowledge does not load."""
    try:
        kb = load_knowledge(config.knowledge_dir)
    except FaqbotError as exc:
        sys.stderr.write(f"faqbot: showing entry ids: {exc.problems[0]}\n")
        return {}
    return {e.id: e.title for e in kb.entries}


def _since(args: argparse.Namespace) -> float | None:
    from bot.report import parse_since

    try:
        return parse_since(args.since)
    except ValueError as exc:
        raise FaqbotError([Problem("faqbot", 0, str(exc))]) from None


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Summarise the question log; `--html FILE` also writes a page with charts."""
    from bot.report import collect, format_text, render_html

    since = _since(args)
    config, store = _open_store(args)
    with store:
        data = collect(store, since, titles=_titles(config))
    out.write(format_text(data))
    if args.html is not None:
        args.html.write_text(render_html(data), encoding="utf-8")
        out.write(f"\nwrote {args.html}\n")
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """Write the question log, with decisions and feedback, as CSV."""
    from bot.storage import EXPORT_COLUMNS

    since = _since(args)
    _config, store = _open_store(args)
    with store:
        rows = store.export_rows(since)
    if str(args.csv) == "-":
        _write_csv(out, rows, EXPORT_COLUMNS)
        return 0
    with open(args.csv, "w", newline="", encoding="utf-8") as handle:
        _write_csv(handle, rows, EXPORT_COLUMNS)
    out.write(f"wrote {len(rows)} rows to {args.csv}\n")
    return 0


def _write_csv(handle: TextIO, rows: list[dict[str, object]], columns: Sequence[str]) -> None:
    writer = csv.DictWriter(handle, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas in user text (=, +, -, @ at the start of a cell)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (default: ./config.yaml)")
    common.add_argument("--knowledge", type=Path, metavar="DIR", help="knowledge folder")
    parser = _Parser(prog="faqbot", description="Career-guide FAQ bot for doctors after USMLE.")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ask = subs.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question", help="the question, or - to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(func=cmd_ask)
    ev = subs.add_parser("eval", parents=[common], help="score the matcher on labelled questions")
    ev.add_argument("file", type=Path, help="YAML list of {q, accept, style}")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--typos", type=int, default=0, metavar="N", help="N typo variants each")
    ev.set_defaults(func=cmd_eval)
    check = subs.add_parser("check", parents=[common], help="validate config and knowledge")
    check.set_defaults(func=cmd_check)
    shell = subs.add_parser("shell", parents=[common], help="chat in the terminal")
    shell.set_defaults(func=cmd_shell)
    run = subs.add_parser("run", parents=[common], help="run the Telegram bot")
    run.add_argument(
        "--shell-without-token",
        action="store_true",
        help="open the terminal chat when no token is configured (used by make run)",
    )
    run.set_defaults(func=cmd_run)
    report = subs.add_parser("report", parents=[common], help="summarise the question log")
    report.add_argument(
        "--since", default="7d", help="period: 7d, 24h, 2w, 2024-05-01 or all (default: 7d)"
    )
    report.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML page")
    report.set_defaults(func=cmd_report)
    export = subs.add_parser("export", parents=[common], help="the question log as CSV")
    export.add_argument("--csv", type=Path, metavar="FILE", required=True, help="- for stdout")
    export.add_argument("--since", default="all", help="period (default: all)")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `faqbot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "typos", 0) < 0:
        parser.error("--typos must be 0 or more")
    try:
        code: int = args.func(args, sys.stdout)
        return code
    except FaqbotError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
