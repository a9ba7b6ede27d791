"""`exp show --pcp`: a parallel-coordinates page of the table's params and metrics.

One self-contained HTML file with an inline SVG: no script, no CDN, so it opens offline
and anywhere. Each experiment is a polyline across one vertical axis per column;
numbers are scaled to their column's range, other values are placed in sorted order.
Lines are coloured by the first metric (else the last column), light to dark.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from xpt.report.exp_table import ExpTable, Field

_W_AXIS = 150
_TOP, _BOTTOM, _LEFT = 60, 40, 90
_HEIGHT = 420


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )


def _scale(values: Sequence[Any]) -> tuple[list[float | None], list[tuple[float, str]]]:
    """Positions in [0, 1] (None: no value) and the axis ticks (position, label)."""
    if _numeric(values):
        nums = [float(v) for v in values if v is not None]
        lo, hi = min(nums), max(nums)
        span = (hi - lo) or 1.0
        pos = [None if v is None else (float(v) - lo) / span for v in values]
        ticks = [(0.0, f"{lo:g}"), (1.0, f"{hi:g}")] if hi != lo else [(0.0, f"{lo:g}")]
        return pos, ticks
    labels = sorted({str(v) for v in values if v is not None})
    step = 1.0 / max(len(labels) - 1, 1)
    where = {label: i * step for i, label in enumerate(labels)}
    return [None if v is None else where[str(v)] for v in values], [
        (where[label], label) for label in labels
    ]


def _color(t: float | None) -> str:
    if t is None:
        return "#999999"
    light, dark = (198, 219, 239), (8, 48, 107)
    rgb = (round(a + (b - a) * t) for a, b in zip(light, dark, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _y(pos: float) -> float:
    return _TOP + (1.0 - pos) * (_HEIGHT - _TOP - _BOTTOM)


def render_pcp(table: ExpTable, title: str = "xpt exp show") -> str:
    """The page's HTML for the params and metrics columns of `table`."""
    fields: list[Field] = [f for f in table.table_fields() if f.section in ("metrics", "params")]
    rows = list(table.rows)
    width = _LEFT * 2 + _W_AXIS * max(len(fields) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}" '
        f'font-family="sans-serif" font-size="11">'
    ]
    scaled = [_scale([f.raw(r) for r in rows]) for f in fields]
    metric = next((j for j, f in enumerate(fields) if f.section == "metrics"), len(fields) - 1)
    shade = scaled[metric][0] if scaled else [None] * len(rows)
    for i, row in enumerate(rows):
        points = [
            f"{_LEFT + j * _W_AXIS},{_y(p):.1f}"
            for j, (pos, _ticks) in enumerate(scaled)
            if (p := pos[i]) is not None
        ]
        if len(points) > 1:
            label = html.escape(row.experiment)
            parts.append(
                f'<polyline class="exp" points="{" ".join(points)}" fill="none" '
                f'stroke="{_color(shade[i])}" stroke-width="1.5"><title>{label}</title></polyline>'
            )
    for j, (item, (_pos, ticks)) in enumerate(zip(fields, scaled, strict=True)):
        x = _LEFT + j * _W_AXIS
        parts.append(
            f'<line x1="{x}" y1="{_TOP}" x2="{x}" y2="{_HEIGHT - _BOTTOM}" stroke="#333"/>'
        )
        color = "#8a6d00" if item.section == "metrics" else "#1f4e9c"
        parts.append(
            f'<text x="{x}" y="{_TOP - 20}" text-anchor="middle" fill="{color}" '
            f'font-weight="bold">{html.escape(item.header)}</text>'
        )
        for pos, text in ticks:
            parts.append(
                f'<text x="{x + 4}" y="{_y(pos) + 4:.1f}" fill="#555">{html.escape(text)}</text>'
            )
    parts.append("</svg>")
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:sans-serif;margin:20px}"
        "polyline.exp:hover{stroke:#d62728;stroke-width:3}</style>\n"
        f"</head>\n<body>\n<h3>{html.escape(title)}</h3>\n{''.join(parts)}\n</body>\n</html>\n"
    )
