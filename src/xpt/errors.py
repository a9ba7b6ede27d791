"""The one exception tree of xpt.

Every error a user can cause is an `XptError`: the top-level CLI handler prints
`ERROR: <message>` (plus the hint) and exits 1. Foreign exceptions (pygit2, YAML,
sqlite3, OSError) are translated into these in the one module that calls the library.
"""

from __future__ import annotations


class XptError(Exception):
    """Root of all expected errors; `hint` names the command that fixes it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotAProject(XptError):
    """No `.dvc/` directory (or no git repository) where one is needed."""


class ConfigError(XptError):
    """`.dvc/config` cannot be read or holds a bad value."""


class PipelineError(XptError):
    """`dvc.yaml` is invalid (syntax, schema, graph)."""


class ParamsError(XptError):
    """A params file is missing or unreadable, a key is missing, or an override is bad."""


class StageFailed(XptError):
    """A stage command exited non-zero."""

    def __init__(self, stage: str, returncode: int, hint: str | None = None) -> None:
        super().__init__(
            f"failed to reproduce '{stage}': command exited with code {returncode}", hint
        )
        self.stage = stage
        self.returncode = returncode


class ReproError(XptError):
    """Reproduction cannot proceed (missing dependency, missing output, ...)."""


class CacheError(XptError):
    """The object cache is missing an object or cannot be written."""


class UnsavedChanges(CacheError):
    """A checkout would delete or overwrite workspace files whose content is not cached.

    Exits 255 with DVC's message and the files, one per line, as DVC 3 does non-interactively.
    """

    exit_code = 255

    def __init__(self, paths: list[str]) -> None:
        super().__init__(
            "Can't remove the following unsaved files without confirmation. "
            "Use `--force` to force.\n" + "\n".join(paths)
        )
        self.paths = paths


class CorruptObject(CacheError):
    """A cache object's bytes do not hash to its name (changed in place)."""


class ScmError(XptError):
    """A git operation failed."""


class ExperimentError(XptError):
    """An experiment operation failed."""


class ExperimentExists(ExperimentError):
    """An experiment of that name already exists for the baseline."""


class UnknownExperiment(ExperimentError):
    """A name does not resolve to any experiment."""


class AmbiguousName(ExperimentError):
    """A name resolves to several experiments."""


class InvalidName(ExperimentError):
    """An experiment name breaks git ref rules or shadows a branch/tag."""


class QueueError(XptError):
    """The experiment queue cannot do what was asked."""


class RemoteError(XptError):
    """A data remote is missing, misconfigured or unreachable."""


class LockBusy(XptError):
    """Another xpt (or DVC) process holds a lock we need."""


class UnsafePath(XptError):
    """A path would lead outside the repository (a symlink, `..`, a crafted tree entry)."""
