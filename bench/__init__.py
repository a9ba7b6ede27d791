"""Benchmarks: xpt against real DVC on the same work (`make bench`, see run.py)."""
