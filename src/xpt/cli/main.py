"""`xpt` entry point: parse, dispatch to one handler, map errors to exit codes.

Exit codes: 0 success; 1 an `XptError` (printed as `ERROR: message` plus hint);
2 usage errors (argparse); 130 Ctrl-C. Anything unexpected prints one line naming a
log file with the traceback (the traceback itself only with -v).
"""

from __future__ import annotations

import os
import sys

from xpt import fastpath
from xpt.errors import XptError

TYPE_CHECKING = False

if TYPE_CHECKING:  # argparse, traceback and importlib load lazily: start-up time matters
    import argparse
    from collections.abc import Sequence


def group_help(args: argparse.Namespace) -> int:
    """`xpt exp` without a subcommand prints the group's usage (DVC does the same)."""
    args.group_parser.print_help(sys.stderr)
    return 2


def _resolve(handler: str):  # type: ignore[no-untyped-def]
    """The function `module:name` (tests/unit/test_cli_handlers.py checks every one exists)."""
    import importlib

    module_name, func_name = handler.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def _log_unexpected(exc: BaseException) -> str:
    """Write the traceback to a log file; return its path."""
    import time
    import traceback

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    log_dir = os.path.join(base, "xpt", "logs")
    try:
        os.makedirs(log_dir, exist_ok=True)
        path = os.path.join(log_dir, f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"argv: {sys.argv!r}\n")
            traceback.print_exception(exc, file=f)
        return path
    except OSError:
        return "(could not write a log file)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one xpt command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in fastpath.FIRST_WORDS:
        code = fastpath.replay(argv)
        if code is not None:
            return code
    from xpt.cli.parser import Retry, _Parser, build_parser, command_path

    path = command_path(argv)
    try:
        _Parser.lenient = bool(path)
        parser = build_parser(path or None)
        args = parser.parse_args(argv)
    except Retry:
        _Parser.lenient = False
        parser = build_parser()
        args = parser.parse_args(argv)
    finally:
        _Parser.lenient = False
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    if argv and argv[0] in fastpath.FIRST_WORDS:
        args.memo_key = fastpath.memo_key(argv, os.getcwd())
    verbose = getattr(args, "verbose", 0) or 0
    quiet = getattr(args, "quiet", 0) or 0
    args.verbose, args.quiet = verbose, quiet
    saved_stdout = sys.stdout
    try:
        if args.cd:
            os.chdir(args.cd)
        if quiet:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - restored in finally
        return int(_resolve(args.handler)(args) or 0)
    except XptError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"ERROR: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted by the user", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # noqa: BLE001 - the one top-level handler
        log_file = _log_unexpected(exc)
        if verbose:
            import traceback

            traceback.print_exc()
        print(
            f"ERROR: unexpected error: {type(exc).__name__}: {exc} (traceback in {log_file}; "
            "rerun with -v to see it)",
            file=sys.stderr,
        )
        return 1
    finally:
        if sys.stdout is not saved_stdout:
            sys.stdout.close()
            sys.stdout = saved_stdout


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
