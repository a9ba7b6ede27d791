"""Plain-text and Markdown tables laid out like DVC's (tabulate "plain" and "github").

DVC prints `metrics show/diff`, `params diff`, `exp diff`, `queue status` and every `--md`
table through tabulate with numbers left as text; these few lines reproduce that layout
byte for byte so scripts reading either tool's output see the same thing.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

FILL = "-"
"""What an empty cell shows."""

DEFAULT_PRECISION = 5

_MIN_PADDING = 2


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [len(h) + _MIN_PADDING for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    return widths


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to width, two spaces apart, trailing blanks stripped; no final newline."""
    widths = _widths(headers, rows)
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


_ANSI = {"bold": "1", "dim": "2", "yellow": "33", "blue": "34", "magenta": "35"}


def _sgr(style: str | None) -> str:
    codes = [_ANSI[word] for word in (style or "").split() if word in _ANSI]
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def _cell_width(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # wide characters (CJK names) count double

    return cell_len(text)


def ruled_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool],
    header_styles: Sequence[str] | None = None,
    row_styles: Sequence[str | None] | None = None,
) -> str | None:
    """rich's `box.HORIZONTALS` table at unbounded width (what `exp show` prints), fast.

    Same characters as rich for plain output; with styles, ANSI bold/colours per header
    and row. None when a cell holds a control character (then rich must lay it out).
    """
    texts = [list(headers), *(list(r) for r in rows)]
    widths = [0] * len(headers)
    for line in texts:
        for i, text in enumerate(line):
            if not text.isprintable():
                return None
            widths[i] = max(widths[i], _cell_width(text))

    def pad(text: str, i: int) -> str:
        gap = " " * (widths[i] - _cell_width(text))
        return gap + text if right[i] else text + gap

    rule = " " + "─" * (sum(widths) + 3 * len(widths) - 1)
    if header_styles is None:
        head = " " + " ".join(f" {pad(h, i)} " for i, h in enumerate(headers))
    else:
        head = " " + " ".join(
            f" {_sgr(header_styles[i])}{pad(h, i)}\x1b[0m " for i, h in enumerate(headers)
        )
    out = [rule, head.rstrip(), rule]
    for k, row in enumerate(rows):
        body = (" " + " ".join(f" {pad(text, i)} " for i, text in enumerate(row))).rstrip()
        style = _sgr(row_styles[k]) if row_styles is not None else ""
        out.append(f"{style}{body}\x1b[0m" if style else body)
    out.append(rule)
    return "\n".join(out) + "\n"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table followed by one newline (DVC prints a blank line)."""
    widths = _widths(headers, rows)

    def line(cells: Sequence[str]) -> str:
        padded = [f" {cell.ljust(width)} " for cell, width in zip(cells, widths, strict=True)]
        return "|" + "|".join(padded) + "|"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)]) + "\n"


def cell(value: Any, fill: str = FILL) -> str:
    """Text of a raw value: None is `fill`, everything else its Python `str()`."""
    return fill if value is None else str(value)


def significant(value: Any, precision: int | None = None, fill: str = FILL) -> str:
    """`exp show`/`exp diff` style: floats with `precision` significant digits (`:.5g`)."""
    if isinstance(value, float):
        digits = DEFAULT_PRECISION if precision is None else precision
        return f"{value:.{digits}g}"
    return cell(value, fill)


def rounded(value: Any, precision: int | None = None, fill: str = FILL) -> str:
    """`metrics show/diff` style: floats rounded to `precision` decimal places."""
    if isinstance(value, float):
        return str(round(value, DEFAULT_PRECISION if precision is None else precision))
    return cell(value, fill)


def human_time(timestamp: str | None, today: _dt.date | None = None, fill: str = FILL) -> str:
    """`Created` as DVC shows it: the time for today's commits, else the date."""
    if not timestamp:
        return fill
    try:
        when = _dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if when.date() == (today or _dt.date.today()):
        return when.strftime("%I:%M %p")
    return when.strftime("%b %d, %Y")


def change_lines(changes: Sequence[tuple[str, str]]) -> list[str]:
    """`checkout`/`pull`'s list: (shown path, added|modified|deleted) as `M       path`,
    modified first, then added, then deleted; folders (ending in "/") before files."""
    lines = []
    for kind in ("modified", "added", "deleted"):
        paths = sorted((p for p, k in changes if k == kind), key=lambda p: (not p.endswith("/"), p))
        lines += [f"{kind[0].upper():<8}{p}" for p in paths]
    return lines


def change_summary(counts: Sequence[tuple[str, int]]) -> str:
    """DVC's "1 file modified and 2 files added" (empty when nothing changed)."""
    words = [f"{n} file{'s' if n > 1 else ''} {kind}" for kind, n in counts if n]
    if len(words) > 1:
        return f"{', '.join(words[:-1])} and {words[-1]}"
    return words[0] if words else ""
