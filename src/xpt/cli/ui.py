"""Tiny output helpers for command handlers (stdout for results, stderr for notes)."""

from __future__ import annotations

import sys


def out(text: str = "") -> None:
    """A result line (suppressed by -q, which swaps sys.stdout)."""
    print(text, file=sys.stdout, flush=True)


def note(text: str) -> None:
    """A progress/warning line on stderr."""
    print(text, file=sys.stderr, flush=True)


def warn(text: str) -> None:
    """A warning on stderr."""
    print(f"WARNING: {text}", file=sys.stderr, flush=True)
