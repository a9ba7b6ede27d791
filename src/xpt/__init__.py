"""xpt: reproducible pipelines and git-native ML experiments, on DVC 3's formats."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "api"]


def __getattr__(name: str) -> object:
    if name == "api":
        import importlib

        return importlib.import_module("xpt.api")
    raise AttributeError(name)
