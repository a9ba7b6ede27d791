"""`make bench`: time xpt against real DVC on the same work, print one table.

    .venv/bin/python bench/run.py [FIGURE ...]      # e.g. `bench/run.py 1 3`
    .venv/bin/python bench/run.py --large [10]      # also the rows at 10× scale (fig 10)

Environment: BENCH_QUICK=1 scales sizes down, BENCH_REPEAT=N rounds per case (default 5),
BENCH_BUDGET=S seconds after which a case stops repeating (default 90), BENCH_XPT_ONLY=1
times xpt alone, BENCH_OUT=PATH where the Markdown goes (default bench/results.md). Exits 1 if any row is an error
(a command that is not built yet is not an error).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.oracle import DEFAULT_VERSION, ensure_dvc  # noqa: E402

from bench import (  # noqa: E402
    fig_add,
    fig_checkpoints,
    fig_data,
    fig_data_status,
    fig_exp_run,
    fig_exp_show_many,
    fig_noop_repro,
    fig_plots,
    fig_queue,
    fig_scale,
    fig_startup,
    fig_transfer,
)
from bench.common import QUICK, REPEAT, Harness, Row, machine_summary  # noqa: E402

# The registry: figure number -> function adding its rows. Later issues append here.
FIGURES: list[tuple[str, Callable[[Harness], None]]] = [
    ("1", fig_startup.figure),
    ("2", fig_exp_run.figure),
    ("3", fig_noop_repro.figure),
    ("4", fig_exp_show_many.figure),
    ("4c", fig_exp_show_many.figure_cached),
    ("5", fig_queue.figure),
    ("6", fig_data.figure),
    ("7", fig_checkpoints.figure_latency),
    ("8", fig_checkpoints.figure_show),
    ("9", fig_transfer.figure),
    ("12", fig_plots.figure),
    ("14", fig_add.figure),
    ("14b", fig_data_status.figure),
]
# Only with `--large`: minutes each, and tens of GB of inodes churn.
LARGE_FIGURES: list[tuple[str, Callable[[Harness], None]]] = [
    ("10", fig_scale.figure),
]


def fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    return f"{t * 1000:.0f} ms" if t < 1 else f"{t:.2f} s"


def fmt_ratio(row: Row) -> str:
    r = row.ratio
    return f"{r:.1f}×" if r is not None else "-"


def _cell(t: float | None, note: str) -> str:
    if note.startswith("error"):
        return "error"
    return "n/a" if note else fmt_time(t)


def table_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for row in rows:
        verdict = "error (below)" if row.verdict.startswith("error") else row.verdict
        cells = [row.figure, row.label, _cell(row.xpt, row.xpt_note), _cell(row.dvc, row.dvc_note)]
        out.append(cells + [fmt_ratio(row), row.goal, verdict, str(row.rounds)])
    return out


HEADER = ["fig", "scenario", "xpt", f"DVC {DEFAULT_VERSION}", "ratio", "goal", "result", "n"]


def print_table(rows: list[Row]) -> None:
    body = table_rows(rows)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    for r in [HEADER, ["-" * w for w in widths], *body]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def notes(rows: list[Row]) -> list[str]:
    """Full texts of errors, which the table cuts short."""
    out = []
    for row in rows:
        for who, note in (("xpt", row.xpt_note), ("dvc", row.dvc_note)):
            if note.startswith("error"):
                out.append(f"fig {row.figure} {row.label}, {who}: {note}")
        if row.verdict.startswith("error") and not (row.xpt_note or row.dvc_note):
            out.append(f"fig {row.figure} {row.label}: {row.verdict}")
    return out


def xpt_revision() -> str:
    def git(*args: str) -> str:
        res = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return res.stdout.strip() if res.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def markdown(rows: list[Row], elapsed: float) -> str:
    m = machine_summary()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick (BENCH_QUICK=1)" if QUICK else "full size"
    lines = [
        "# xpt vs DVC benchmarks",
        "",
        f"- date: {now}; xpt {xpt_revision()}; DVC {DEFAULT_VERSION}",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, "
        f"Python {m['python']}, {platform.system()} {platform.release()}",
        f"- mode: {mode}; medians of up to {REPEAT} alternating runs (n = runs kept); "
        f"whole run {elapsed:.0f} s",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table_rows(rows)]
    extra = notes(rows)
    if extra:
        lines += ["", "Errors:", ""] + [f"- {n}" for n in extra]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="xpt vs DVC benchmarks")
    parser.add_argument("figures", nargs="*", help="figure numbers to run (default: all)")
    parser.add_argument("--large", action="store_true", help="add the 10×-scale rows (fig 10)")
    args = parser.parse_args(argv)
    known = FIGURES + (LARGE_FIGURES if args.large else [])
    selected = [(n, f) for n, f in known if not args.figures or n in args.figures]
    xpt = Path(sys.executable).parent / "xpt"
    if not xpt.exists():
        print(f"ERROR: {xpt} not found: run `make bench` (it installs xpt)", file=sys.stderr)
        return 1
    dvc = ensure_dvc(DEFAULT_VERSION)
    start = time.monotonic()
    mode = "quick" if QUICK else "full"
    print(f"xpt vs DVC {DEFAULT_VERSION}: {mode} sizes, up to {REPEAT} rounds per case")
    h = Harness(xpt, dvc, DEFAULT_VERSION)
    try:
        for number, figure in selected:
            try:
                figure(h)
            except Exception as exc:  # a broken scenario must not hide the other figures
                h.record_error(number, f"figure {number}", exc)
    finally:
        h.close()
    elapsed = time.monotonic() - start
    print()
    print_table(h.rows)
    for line in notes(h.rows):
        print(f"  {line}")
    out = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "results.md")
    out.write_text(markdown(h.rows, elapsed))
    print(f"\nwrote {out} ({elapsed:.0f} s)")
    return 1 if any(r.error for r in h.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
