"""xpt: reproducible pipelines and git-native ML experiments, on DVC 3's formats."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
