"""The names of DVC's project files: `dvc.yaml`, its lock file, `.dvc` files and the
`.dvc/` folder.

Names only. They sit in `utils` (like `oids.py`) so that `pipeline`, `cache` and `scm`
ask one owner; the formats belong to `pipeline/parse.py` (dvc.yaml),
`pipeline/lockfile.py` (dvc.lock) and `pipeline/dvcfile.py` (`.dvc` files), and the
folder's contents to `project.py`.
"""

from __future__ import annotations

import posixpath

DVCFILE = "dvc.yaml"
"""The pipeline file of a folder."""
LOCKFILE = "dvc.lock"
"""The lock file beside `dvc.yaml`."""
DVC_SUFFIX = ".dvc"
"""Single-stage files (`dvc add`, `dvc import`) end with it."""
DVC_DIR = ".dvc"
"""The project's folder (config, cache, tmp); the same name as the suffix."""
DVC_DIR_PREFIX = DVC_DIR + "/"


def lockfile_for(dvcfile: str) -> str:
    """The lock file of a pipeline file: `X.yaml` -> `X.lock`."""
    base, _ext = posixpath.splitext(dvcfile)
    return base + ".lock"


def is_dvcfile(path: str) -> bool:
    """True for a `.dvc` file name (not the `.dvc/` folder itself)."""
    name = posixpath.basename(path)
    return name.endswith(DVC_SUFFIX) and name != DVC_SUFFIX


def is_pipeline_file(name: str) -> bool:
    """`dvc.yaml` or a single-stage `.dvc` file (a name, not a path)."""
    return name == DVCFILE or (name.endswith(DVC_SUFFIX) and name != DVC_SUFFIX)


def is_dvcyaml(path: str) -> bool:
    """True for a `dvc.yaml` at any depth (repo-relative, `/`-separated)."""
    return path == DVCFILE or path.endswith("/" + DVCFILE)
