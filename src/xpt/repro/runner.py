"""Running one stage's command lines with DVC's environment contract."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from xpt.errors import StageFailed
from xpt.pipeline.model import Stage
from xpt.utils.proc import run_shell


def _stdout_fd() -> int | None:
    """Where command output goes: our stdout (devnull under -q), or inherited."""
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def stage_env(root: Path, stage: Stage, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a stage command: ours plus DVC_ROOT, DVC_STAGE and `extra`."""
    env = dict(os.environ)
    env["DVC_ROOT"] = str(root)
    env["DVC_STAGE"] = stage.addressing
    env.update(extra)
    return env


def run_stage_commands(root: Path, stage: Stage, extra_env: Mapping[str, str]) -> None:
    """Run the stage's command lines in order; the first failure raises StageFailed."""
    cwd = str(root / stage.wdir) if stage.wdir else str(root)
    env = stage_env(root, stage, extra_env)
    fd = _stdout_fd()
    for line in stage.commands():
        print(f"> {line}", flush=True)
        sys.stderr.flush()
        rc = run_shell(line, cwd=cwd, env=env, stdout=fd)
        if rc != 0:
            raise StageFailed(stage.addressing, rc)
