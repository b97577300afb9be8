"""Matcher benchmark: index build time, per-question latency and peak memory, plus CLI start-up.

Run with `make bench` (or `.venv/bin/python benchmarks/bench_matcher.py`). Two cases, each in
its own subprocess so that its peak RSS is its own:

* shipped:   the knowledge in knowledge/ with the questions of tests/data/eval.yaml,
             repeated to at least 2000 queries;
* synthetic: 10,000 entries x 5 phrasings of deterministic pseudo-English, built directly
             from Entry objects, queried with perturbed phrasings (dropped, shuffled, extra
             and misspelt words).

Then `faqbot ask "residency"` start-up is timed as a subprocess (median of 5).
Targets (reported, not asserted): p99 <= 1 ms shipped; p50 <= 10 ms synthetic; start-up
< 0.5 s.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20240501
SHIPPED_MIN_QUERIES = 2000
STOP_AND_FILLER = "how do i what is the a to for my can should when about please hey".split()
TEMPLATES = (
    "{}",
    "how do i {}",
    "what is {}",
    "should i {}",
    "tips for {}",
    "when to {}",
    "{} advice please",
    "is it worth {}",
)


# ----------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (ru_maxrss is KB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def time_queries(match: Any, queries: list[str]) -> dict[str, float]:
    """Per-question wall time of `match(q)` in milliseconds."""
    gc.collect()
    times = []
    clock = time.perf_counter
    for query in queries:
        start = clock()
        match(query)
        times.append((clock() - start) * 1000)
    times.sort()
    return {
        "queries": len(times),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "max_ms": times[-1],
        "mean_ms": statistics.fmean(times),
    }


# ----------------------------------------------------------------- case: shipped knowledge


def run_shipped() -> dict[str, Any]:
    import yaml

    from bot.config import bundled_knowledge_dir
    from bot.knowledge import load_knowledge
    from bot.matching import Matcher

    start = time.perf_counter()
    kb = load_knowledge(bundled_knowledge_dir())
    load_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - start) * 1000

    cases = yaml.safe_load((ROOT / "tests/data/eval.yaml").read_text(encoding="utf-8"))
    questions = [str(case["q"]) for case in cases]
    # the first pass sees every question cold (no typo-correction cache yet)
    cold = time_queries(matcher.match, questions)
    repeats = -(-SHIPPED_MIN_QUERIES // len(questions))
    result = time_queries(matcher.match, questions * repeats)
    return {
        "case": "shipped",
        "entries": len(kb.entries),
        "phrasings": kb.phrasing_count,
        "load_ms": load_ms,
        "build_ms": build_ms,
        **result,
        "cold_p99_ms": cold["p99_ms"],
        "peak_rss_mb": peak_rss_mb(),
    }


# ----------------------------------------------------------------- case: synthetic knowledge


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    """`size` distinct pronounceable words, most frequent first (Zipf-like use below)."""
    onsets = "b br c ch cl d dr f fl g gr h j k l m n p pl pr qu r s sh sl st t th tr v w z".split()
    vowels = "a e i o u ai ea ee oo ou ie".split()
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng", "rt"]
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = rng.choice((1, 2, 2, 2, 3, 3))
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        word += rng.choice(codas)
        if 3 <= len(word) <= 12:
            words[word] = None
    return list(words)


def make_synthetic(entries: int, phrasings: int, vocabulary: int) -> tuple[Any, list[list[str]]]:
    """A KnowledgeBase of `entries` x `phrasings` and each entry's topic words."""
    from bot.knowledge import Entry, KnowledgeBase

    rng = random.Random(SEED)
    vocab = make_vocabulary(rng, vocabulary)
    zipf = [1 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    cumulative = []
    total = 0.0
    for weight in zipf:
        total += weight
        cumulative.append(total)
    out: list[Entry] = []
    topics: list[list[str]] = []
    for i in range(entries):
        topic = rng.sample(vocab, rng.choice((2, 3, 3, 4)))  # uniform: mostly rare words
        topics.append(topic)
        questions: dict[str, None] = {}
        while len(questions) < phrasings:
            words = rng.sample(topic, rng.randint(1, len(topic)))
            words += rng.choices(vocab, cum_weights=cumulative, k=rng.randint(0, 3))
            rng.shuffle(words)
            questions[rng.choice(TEMPLATES).format(" ".join(words))] = None
        out.append(
            Entry(
                id=f"e{i:05d}",
                kind="faq",
                title=" ".join(topic)[:40],
                answer=f"All about {' '.join(topic)}.",
                questions=tuple(questions),
                source=f"synthetic:{i}",
            )
        )
    # a jargon table of the same shape as the real one: 300 groups of 3 variants
    extra = make_vocabulary(random.Random(SEED + 1), vocabulary + 900)[vocabulary:]
    synonyms = {vocab[k * 7]: tuple(extra[3 * k : 3 * k + 3]) for k in range(300)}
    return KnowledgeBase(tuple(out), synonyms), topics


def perturb(rng: random.Random, phrasing: str) -> str:
    """A user's version of a phrasing: a word dropped, words shuffled, filler, a typo."""
    from bot.evaluate import typo_variants

    words = phrasing.split()
    if len(words) > 2 and rng.random() < 0.4:
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:
        rng.shuffle(words)
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), rng.choice(STOP_AND_FILLER))
    text = " ".join(words)
    if rng.random() < 0.5:
        variants = typo_variants(text, 1)
        text = variants[0] if variants else text
    return text


def run_synthetic(entries: int, phrasings: int, vocabulary: int, queries: int) -> dict[str, Any]:
    from bot.matching import Matcher

    start = time.perf_counter()
    kb, _ = make_synthetic(entries, phrasings, vocabulary)
    generate_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - start) * 1000

    rng = random.Random(SEED + 2)
    picks = [rng.randrange(len(kb.entries)) for _ in range(queries)]
    asked = [perturb(rng, rng.choice(kb.entries[i].questions)) for i in picks]
    result = time_queries(matcher.match, asked)
    # sanity: the perturbed questions still mostly find their entry (not a target)
    top1 = sum(
        1
        for i, q in zip(picks, asked, strict=True)
        if (m := matcher.match(q)).candidates and m.candidates[0].entry_id == kb.entries[i].id
    )
    return {
        "case": f"synthetic {entries}x{phrasings}",
        "entries": len(kb.entries),
        "phrasings": kb.phrasing_count,
        "load_ms": generate_ms,
        "build_ms": build_ms,
        **result,
        "top1_rate": 100.0 * top1 / max(queries, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


# ----------------------------------------------------------------- start-up


def time_startup(runs: int = 5) -> dict[str, Any]:
    """Wall time of `faqbot ask "residency"` as a user starts it."""
    script = Path(sys.executable).parent / "faqbot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    command += ["ask", "residency"]
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    times = []
    with tempfile.TemporaryDirectory() as empty:  # no ./config.yaml to pick up
        subprocess.run(command, cwd=empty, env=env, capture_output=True, check=True)  # warm
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=empty, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
    return {
        "command": " ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command)),
        "runs": runs,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
    }


# ----------------------------------------------------------------- driver


def run_case(args: argparse.Namespace, case: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", case]
    command += ["--entries", str(args.entries), "--phrasings", str(args.phrasings)]
    command += ["--vocabulary", str(args.vocabulary), "--queries", str(args.queries)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench: the {case} case failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def print_table(rows: list[dict[str, Any]], startup: dict[str, Any]) -> None:
    header = (
        f"{'case':<20} {'entries':>7} {'phrasings':>9} {'build ms':>9} {'queries':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:<20} {r['entries']:>7} {r['phrasings']:>9} {r['build_ms']:>9.1f} "
            f"{r['queries']:>7} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} {r['max_ms']:>7.2f} "
            f"{r['peak_rss_mb']:>11.1f}"
        )
    shipped = next(r for r in rows if r["case"] == "shipped")
    synthetic = next(r for r in rows if r["case"] != "shipped")
    print()
    print(
        f"shipped: knowledge load {shipped['load_ms']:.1f} ms; first pass over the eval "
        f"questions p99 {shipped['cold_p99_ms']:.3f} ms"
    )
    print(
        f"synthetic: generated in {synthetic['load_ms']:.0f} ms; perturbed question finds its "
        f"entry first {synthetic['top1_rate']:.1f}% of the time"
    )
    print(
        f"start-up: `{startup['command']}` median {startup['median_s']:.3f} s over "
        f"{startup['runs']} runs (min {startup['min_s']:.3f}, max {startup['max_s']:.3f})"
    )
    print()

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(
        "targets: "
        f"shipped p99 <= 1 ms: {verdict(shipped['p99_ms'] <= 1.0)}; "
        f"synthetic p50 <= 10 ms: {verdict(synthetic['p50_ms'] <= 10.0)}; "
        f"ask start-up < 0.5 s: {verdict(startup['median_s'] < 0.5)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("shipped", "synthetic"), help=argparse.SUPPRESS)
    parser.add_argument("--entries", type=int, default=10_000, help="synthetic entries")
    parser.add_argument("--phrasings", type=int, default=5, help="phrasings per entry")
    parser.add_argument("--vocabulary", type=int, default=4_000, help="synthetic word count")
    parser.add_argument("--queries", type=int, default=1_000, help="synthetic questions")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.worker == "shipped":
        print(json.dumps(run_shipped()))
        return 0
    if args.worker == "synthetic":
        result = run_synthetic(args.entries, args.phrasings, args.vocabulary, args.queries)
        print(json.dumps(result))
        return 0
    rows = [run_case(args, "shipped"), run_case(args, "synthetic")]
    startup = time_startup()
    if args.json:
        print(json.dumps({"cases": rows, "startup": startup}, indent=2))
    else:
        print_table(rows, startup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
