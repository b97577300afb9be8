"""Reports for people who would rather look than read: a terminal summary and an HTML page.

`collect()` reads the numbers from a `SqliteStore`; `format_text()` prints them; `render_html()`
makes one self-contained page (no scripts, no external files) whose charts are inline SVG drawn
by matplotlib, the optional `report` extra (`pip install 'faqbot[report]'`). Without matplotlib
the page still has every number, as tables, and says how to get the charts. Every piece of
text on the page is HTML-escaped: questions are user input.
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.storage import DAY, DECISIONS, DayCount, SqliteStore, UnansweredGroup

DECISION_NAMES = {"answer": "answered", "clarify": "did-you-mean", "fallback": "fell back"}
DECISION_COLORS = {"answer": "#2e7d32", "clarify": "#f9a825", "fallback": "#c62828"}
_SINCE = re.compile(r"^(\d+)\s*([hdwm])$")
_UNITS = {"h": 3600.0, "d": DAY, "w": 7 * DAY, "m": 30 * DAY}


def parse_since(text: str, now: float | None = None) -> float | None:
    """`7d`, `24h`, `2w`, `3m` (30-day months), a date `2024-05-01`, or `all` (None)."""
    now = time.time() if now is None else now
    value = text.strip().lower()
    if value in ("all", ""):
        return None
    m = _SINCE.match(value)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        message = f"--since: expected e.g. 7d, 24h, 2w, 2024-05-01 or all, not {text!r}"
        raise ValueError(message) from None
    return day.timestamp()


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, for one period."""

    since: float | None
    now: float
    total: int
    decisions: dict[str, int]
    days: list[DayCount]
    top_entries: list[tuple[str, int]]  # (title, answers)
    entry_feedback: list[tuple[str, int, int]]  # (title, 👍, 👎)
    votes: int
    helpful: int
    hours: list[int]
    unanswered: list[UnansweredGroup]
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def period(self) -> str:
        end = datetime.fromtimestamp(self.now, UTC).strftime("%Y-%m-%d")
        if self.since is None:
            return f"all time, up to {end} (UTC)"
        start = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d")
        return f"{start} to {end} (UTC)"

    def title(self, entry_id: str) -> str:
        return self.titles.get(entry_id, entry_id)


def collect(
    store: SqliteStore,
    since: float | None,
    now: float | None = None,
    titles: dict[str, str] | None = None,
    unanswered_limit: int = 20,
) -> ReportData:
    """Read the report's numbers from the store."""
    now = time.time() if now is None else now
    titles = titles or {}
    votes, helpful = store.feedback_totals(since)
    return ReportData(
        since=since,
        now=now,
        total=store.question_count(since),
        decisions=store.decision_counts(since),
        days=store.daily_counts(since, now),
        top_entries=[(titles.get(e, e), n) for e, n in store.top_entries(since, limit=10)],
        entry_feedback=[
            (titles.get(e, e), up, down) for e, up, down in store.entry_feedback(since)
        ],
        votes=votes,
        helpful=helpful,
        hours=store.hour_counts(since),
        unanswered=store.unanswered(limit=unanswered_limit, since=since),
        titles=titles,
    )


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


# --------------------------------------------------------------------------- text


def format_text(data: ReportData) -> str:
    """The terminal summary."""
    lines = [f"faqbot report: {data.period}", ""]
    if not data.total:
        lines.append("No questions in this period.")
    else:
        mix = " · ".join(
            f"{DECISION_NAMES[d]} {_pct(data.decisions.get(d, 0), data.total)}" for d in DECISIONS
        )
        lines.append(f"Questions: {data.total} ({mix})")
        busy = [d for d in data.days if d.total]
        if busy:
            peak = max(busy, key=lambda d: d.total)
            lines.append(
                f"Per day: {data.total / max(len(data.days), 1):.1f} on average, "
                f"busiest {peak.day} ({peak.total})"
            )
        hours = sorted(((n, h) for h, n in enumerate(data.hours) if n), reverse=True)[:3]
        if hours:
            lines.append(
                "Busiest hours (UTC): " + " · ".join(f"{h:02d}:00 ({n})" for n, h in hours)
            )
    if data.top_entries:
        lines += ["", "Top answers:"]
        lines += [f"  {n:>5}  {title}" for title, n in data.top_entries]
    lines.append("")
    if data.votes:
        lines.append(f"Helpful: {_pct(data.helpful, data.votes)} 👍 of {data.votes} votes")
        for title, up, down in data.entry_feedback[:10]:
            lines.append(f"  {_pct(up, up + down):>5}  {title} ({up} 👍 / {down} 👎)")
    else:
        lines.append("Helpful: no votes in this period.")
    lines.append("")
    if data.unanswered:
        lines.append("Unanswered (fell back or needed a did-you-mean), most frequent first:")
        for g in data.unanswered:
            also = f"  (also: {' | '.join(g.texts[1:3])})" if len(g.texts) > 1 else ""
            lines.append(f"  {g.count:>5}× {g.sample}{also}")
    else:
        lines.append("Unanswered: none.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- charts


def _label(text: str) -> str:
    """Chart text: matplotlib reads `$...$` as math, so dollars are escaped."""
    return text.replace("$", r"\$")


# No RDF block (creator, date): the page stays small and the same data gives the same page.
_NO_METADATA: dict[str, Any] = {"Creator": None, "Date": None, "Format": None, "Type": None}


def _svg(figure: Any, description: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": description}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=_NO_METADATA)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    label = html.escape(description, quote=True)
    return svg.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def _figure(height: float) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, height), dpi=100)
    return figure, figure.subplots()


def charts(data: ReportData) -> dict[str, str] | None:
    """Inline SVG charts by section id, or None when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    out: dict[str, str] = {}
    if data.days:
        fig, ax = _figure(3.2)
        xs = range(len(data.days))
        bottom = [0] * len(data.days)
        for d in DECISIONS:
            values = [day.counts.get(d, 0) for day in data.days]
            ax.bar(xs, values, bottom=bottom, color=DECISION_COLORS[d], label=DECISION_NAMES[d])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        step = -(-len(data.days) // 8)  # at most 8 date labels
        ax.set_xticks(list(xs)[::step], [day.day[5:] for day in data.days][::step])
        ax.set_ylabel("questions")
        ax.legend(loc="upper left", frameon=False, ncols=3)
        ax.spines[["top", "right"]].set_visible(False)
        out["per-day"] = _svg(fig, "Questions per day, by decision")
    if data.total:
        fig, ax = _figure(1.6)
        left = 0.0
        for d in DECISIONS:
            share = 100 * data.decisions.get(d, 0) / data.total
            ax.barh([0], [share], left=left, color=DECISION_COLORS[d], label=DECISION_NAMES[d])
            if share >= 6:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", color="w")
            left += share
        ax.set_xlim(0, 100)
        ax.set_yticks([])
        ax.set_xlabel("% of questions")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncols=3)
        ax.spines[["top", "right", "left"]].set_visible(False)
        out["decisions"] = _svg(fig, "Decision mix")
    if data.top_entries:
        out["top-entries"] = _hbars(
            [t for t, _ in data.top_entries],
            [float(n) for _, n in data.top_entries],
            [str(n) for _, n in data.top_entries],
            "answers",
            "Top answered entries",
        )
    if data.entry_feedback:
        rows = data.entry_feedback[:15]
        out["helpful"] = _hbars(
            [t for t, _, _ in rows],
            [100 * up / (up + down) for _, up, down in rows],
            [f"{round(100 * up / (up + down))}% of {up + down}" for _, up, down in rows],
            "% helpful",
            "Helpful share per entry",
            xlim=100,
        )
    return out


def _hbars(
    labels: Sequence[str],
    values: Sequence[float],
    notes: Sequence[str],
    xlabel: str,
    description: str,
    xlim: float | None = None,
) -> str:
    fig, ax = _figure(0.4 * len(labels) + 0.9)
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, values, color="#1565c0")
    ax.set_yticks(ys, [_label(t) for t in labels])
    for y, v, note in zip(ys, values, notes, strict=True):
        ax.text(v, y, f" {_label(note)}", va="center", fontsize=9)
    ax.set_xlabel(_label(xlabel))
    if xlim is not None:
        ax.set_xlim(0, xlim * 1.15)
    else:
        ax.set_xlim(0, max(values, default=1) * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, description)


# --------------------------------------------------------------------------- HTML

_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #eee;vertical-align:top}td.n,th.n{text-align:right}
.muted{color:#666}.chart svg{max-width:100%;height:auto}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;
padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.5rem}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        cls = ' class="n"' if i in numeric else ""
        return f"<{tag}{cls}>{_e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData, svgs: dict[str, str] | None = None) -> str:
    """One self-contained page: summary cards, charts and tables, the unanswered list."""
    if svgs is None:
        svgs = charts(data)
    note = ""
    if svgs is None:
        note = (
            '<p class="muted" id="no-charts">Charts need matplotlib: '
            "<code>pip install 'faqbot[report]'</code>. The numbers are all below.</p>"
        )
        svgs = {}

    def chart(key: str) -> str:
        return f'<div class="chart">{svgs[key]}</div>' if key in svgs else ""

    mix = {d: data.decisions.get(d, 0) for d in DECISIONS}
    cards = [
        ("questions", str(data.total)),
        *((DECISION_NAMES[d], _pct(n, data.total)) for d, n in mix.items()),
        ("helpful (of votes)", f"{_pct(data.helpful, data.votes)} of {data.votes}"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>faqbot report: {_e(data.period)}</title><style>{_STYLE}</style></head><body>",
        f'<h1>faqbot report</h1><p class="muted">{_e(data.period)}; generated '
        f"{_e(datetime.fromtimestamp(data.now, UTC).strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        note,
        '<section id="summary"><div class="cards">',
        *(f'<div class="card"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in cards),
        "</div></section>",
        '<section id="per-day"><h2>Questions per day</h2>',
        chart("per-day"),
        _table(
            ["day", "answered", "did-you-mean", "fell back", "total"],
            [
                [d.day, *(d.counts.get(k, 0) for k in DECISIONS), d.total]
                for d in data.days
                if d.total
            ],
            {1, 2, 3, 4},
        ),
        "</section>",
        '<section id="decisions"><h2>Decision mix</h2>',
        chart("decisions"),
        _table(
            ["decision", "questions", "share"],
            [[DECISION_NAMES[d], n, _pct(n, data.total)] for d, n in mix.items()],
            {1, 2},
        ),
        "</section>",
        '<section id="top-entries"><h2>Top entries</h2>',
        chart("top-entries"),
        _table(["entry", "answers"], data.top_entries, {1}),
        "</section>",
        '<section id="helpful"><h2>Helpful share per entry</h2>',
        chart("helpful"),
        _table(
            ["entry", "helpful votes", "unhelpful votes", "helpful share"],
            [[t, up, down, _pct(up, up + down)] for t, up, down in data.entry_feedback],
            {1, 2, 3},
        ),
        "</section>",
        '<section id="hours"><h2>Questions by hour (UTC)</h2>',
        _table(
            ["hour", "questions"], [[f"{h:02d}:00", n] for h, n in enumerate(data.hours) if n], {1}
        ),
        "</section>",
        '<section id="unanswered"><h2>Unanswered questions</h2>',
        '<p class="muted">Fell back or needed a “did you mean”, similar wordings grouped; '
        "add them as phrasings with /unanswered in the bot.</p>",
        _table(
            ["count", "question", "other wordings", "decisions", "best guess"],
            [
                [
                    g.count,
                    g.sample,
                    " | ".join(g.texts[1:4]),
                    ", ".join(f"{d} {n}" for d, n in sorted(g.decisions.items())),
                    data.title(g.candidates[0]) if g.candidates else "",
                ]
                for g in data.unanswered
            ],
            {0},
        ),
        "</section></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
