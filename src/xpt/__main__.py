"""`python -m xpt` entry point."""

from xpt.cli.main import entry

entry()
