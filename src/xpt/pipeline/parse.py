"""Reading dvc.yaml files into `Pipeline`s: templating, schema checks, file:line errors.

Parsing uses ruamel's fast safe loader; only when something is wrong is the file read
again with the round-trip loader, to turn the failing key path into `file:line:col`.
All file access goes through a `Reader`, so a dvc.yaml can be read at any git revision.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from xpt.errors import PipelineError
from xpt.pipeline.model import OutKind, OutSpec, ParamsSpec, Pipeline, Reader, Stage
from xpt.pipeline.params import DEFAULT_PARAMS_FILE, load_params
from xpt.pipeline.templating import (
    Context,
    Mode,
    PathSeg,
    TemplateError,
    TemplateOptions,
    build_context,
    contains_template,
    foreach_items,
    matrix_items,
    resolve,
)
from xpt.pipeline.yamltext import load_yaml_text, located
from xpt.utils import readlog
from xpt.utils.dvcnames import DVC_DIR, DVC_SUFFIX, DVCFILE, LOCKFILE

TOP_KEYS = ("stages", "vars", "params", "metrics", "plots", "artifacts", "datasets")
STAGE_KEYS = (
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "frozen",
    "always_changed",
    "desc",
    "meta",
    "vars",
)
_OUT_LISTS: tuple[tuple[str, OutKind], ...] = (
    ("outs", "out"),
    ("metrics", "metric"),
    ("plots", "plot"),
)
_BOOL_FLAGS = ("cache", "persist", "checkpoint", "push")
_STR_FLAGS = ("remote", "desc", "type")
_ANY_FLAGS = ("labels", "meta")
_PLOT_PROPS = ("x", "y", "x_label", "y_label", "title", "template", "header")


_OBJECT_NAME = re.compile(r"[0-9a-f]{30}(\.dir)?")
_OBJECT_DIR = re.compile(r"[0-9a-f]{2}")


def _inside(real: str, base: str) -> bool:
    """`real` is `base` or under it, or names a cache object (`cache.type = symlink`
    links outputs to objects that may live outside the work tree)."""
    if real == base or real.startswith(base + os.sep):
        return True
    parent, name = os.path.split(real)
    return bool(_OBJECT_NAME.fullmatch(name) and _OBJECT_DIR.fullmatch(os.path.basename(parent)))


def workspace_reader(root: Path) -> Reader:
    """A Reader over the working tree at `root` (missing files and directories -> None).

    A path that leaves `root` (`..`, an absolute path, a symbolic link pointing outside)
    reads as missing, and nothing outside is opened.
    """
    base = os.path.realpath(root)

    def read(path: str) -> bytes | None:
        full = root / path
        readlog.note(str(full))
        real = os.path.realpath(full)
        if not _inside(real, base):
            return None
        try:
            with open(real, "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    return read


def dvcfiles_under(root: Path, folders: list[str]) -> list[str]:
    """`-R`: each folder (a path from the cwd) replaced by the repo-relative `dvc.yaml`
    and `.dvc` files inside it; PipelineError naming a folder that holds none."""
    from xpt.utils.fsutil import is_inside

    files = find_dvcfiles(root)
    found: list[str] = []
    for folder in folders:
        rel = os.path.relpath(os.path.abspath(folder), root).replace(os.sep, "/")
        inside = [f for f in files if is_inside(f, "" if rel == "." else rel)]
        if not inside:
            raise PipelineError(f"no dvc.yaml under '{folder}'", hint="check the -R target")
        found.extend(inside)
    return found


def find_dvcfiles(root: Path, visited: list[str] | None = None) -> list[str]:
    """Repo-relative paths of every `dvc.yaml` and `.dvc` file (root dvc.yaml first),
    skipping sub-repos.

    Uses only `os.scandir` entry types (no stat per file), so big data folders are cheap.
    `visited` collects the folders searched (their mtimes tell when a pipeline appears).
    """
    found: list[str] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        subdirs, files = _scan(root, rel)
        if subdirs is None:
            continue
        if visited is not None:
            visited.append(rel)
        found.extend(f"{rel}/{name}" if rel else name for name in files)
        pending.extend(subdirs)
    return sorted(found, key=lambda p: (p != DVCFILE, p))


_NOT_WALKED = frozenset({".git", DVC_DIR})


def _scan(root: Path, rel: str) -> tuple[list[str] | None, list[str]]:
    """(subdirectories to visit, dvc.yaml and `.dvc` files) of one folder; None if it is
    a sub-repo."""
    subdirs: list[str] = []
    files: list[str] = []
    suffix, dvc_dir, not_walked = DVC_SUFFIX, DVC_DIR, _NOT_WALKED  # locals: once per entry
    folder = root / rel if rel else root
    readlog.note(str(folder))
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if (name == DVCFILE or name.endswith(suffix)) and entry.is_file():
                    if name != suffix:
                        files.append(name)
                elif entry.is_dir(follow_symlinks=False):
                    if name == dvc_dir and rel:
                        return None, []
                    if name not in not_walked:
                        subdirs.append(f"{rel}/{name}" if rel else name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None, []
    return subdirs, files


def load_pipelines(
    read: Reader, dvcfiles: list[str], *, options: TemplateOptions | None = None
) -> list[Pipeline]:
    """Parse several dvc.yaml files (see `load_pipeline`), in the given order."""
    return [load_pipeline(read, dvcfile, options=options) for dvcfile in dvcfiles]


def load_pipeline(
    read: Reader, dvcfile: str = DVCFILE, *, options: TemplateOptions | None = None
) -> Pipeline:
    """Parse one dvc.yaml (repo-relative path) into a Pipeline; problems -> PipelineError."""
    data = read(dvcfile)
    if data is None:
        raise PipelineError(
            f"'{dvcfile}' does not exist", hint="create it, or check the path of the target"
        )
    if dvcfile.endswith(DVC_SUFFIX):
        from xpt.pipeline import dvcfile as single

        stage = single.to_stage(single.parse(data, dvcfile))
        return Pipeline(dvcfile=dvcfile, stages={stage.name: stage})
    doc = load_yaml_text(data, dvcfile)
    try:
        return _FileParser(read, dvcfile, options).pipeline(doc)
    except _Invalid as exc:
        raise PipelineError(_located(data, dvcfile, exc.loc, exc.message)) from None


# --- YAML and error locations ---------------------------------------------------------


@dataclass(frozen=True)
class _Loc:
    """Where a value is: its path in the raw YAML (for line:col) and as shown to users."""

    raw: tuple[PathSeg, ...] = ()
    shown: tuple[PathSeg, ...] = ()
    node: Any = field(default=None, compare=False)
    """The raw (pre-templating) YAML value here, to map templated keys back to the file."""

    def key(self, key: Any, pos: int = -1) -> _Loc:
        """The child under map key `key` (the `pos`-th key, if the raw key was templated)."""
        raw_key = key
        if isinstance(self.node, dict) and key not in self.node and 0 <= pos < len(self.node):
            raw_key = list(self.node)[pos]
        child = self.node.get(raw_key) if isinstance(self.node, dict) else None
        return _Loc((*self.raw, raw_key), (*self.shown, key), child)

    def item(self, index: int) -> _Loc:
        node = self.node
        child = node[index] if isinstance(node, list) and index < len(node) else None
        return _Loc((*self.raw, index), (*self.shown, index), child)

    def extend(self, path: tuple[PathSeg, ...]) -> _Loc:
        return _Loc((*self.raw, *path), (*self.shown, *path))

    def fail(self, message: str) -> NoReturn:
        raise _Invalid(self, message)


class _Invalid(Exception):
    """A schema/templating problem at a location; turned into PipelineError at the top."""

    def __init__(self, loc: _Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _located(data: bytes, dvcfile: str, loc: _Loc, message: str) -> str:
    return located(data, dvcfile, loc.raw, loc.shown, message)


# --- the parser of one file -------------------------------------------------------------


class _FileParser:
    """Turns the parsed YAML of one dvc.yaml into a Pipeline (templating + validation)."""

    def __init__(self, read: Reader, dvcfile: str, options: TemplateOptions | None) -> None:
        self.read = read
        self.dvcfile = dvcfile
        self.dir = posixpath.dirname(dvcfile)
        self.options = options
        self._vars: Any = None
        self._ctx: Context | None = None
        self._files: dict[str, dict[str, Any] | None] = {}

    def pipeline(self, doc: Any) -> Pipeline:
        top = _Loc(node=doc)
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            top.fail("the top level must be a mapping (with a 'stages' key)")
        for pos, key in enumerate(doc):
            if key not in TOP_KEYS:
                top.key(key, pos).fail(f"unknown key '{key}' (allowed: {', '.join(TOP_KEYS)})")
        self._vars = doc.get("vars")
        if self._vars is not None:
            self.context()  # report vars problems even if nothing is templated
        return Pipeline(
            dvcfile=self.dvcfile,
            stages=self._stages(doc.get("stages"), top.key("stages")),
            params_files=self._file_list(doc.get("params"), top.key("params")),
            metrics_files=self._file_list(doc.get("metrics"), top.key("metrics")),
            plots=self._plots(doc.get("plots"), top.key("plots")),
        )

    def context(self) -> Context:
        """The file-level templating context, built on first use."""
        if self._ctx is None:
            try:
                self._ctx = build_context(self.dir, self._vars, self._load)
            except TemplateError as exc:
                _Loc(("vars",), ("vars",)).extend(exc.path).fail(exc.message)
        return self._ctx

    def _load(self, path: str) -> dict[str, Any] | None:
        if path not in self._files:
            data = self.read(path)
            self._files[path] = None if data is None else load_params(data, path)
        return self._files[path]

    # stages and generators

    def _stages(self, raw: Any, loc: _Loc) -> dict[str, Stage]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            loc.fail("must be a mapping of stage name -> stage definition")
        stages: dict[str, Stage] = {}
        for name, definition in raw.items():
            sloc = loc.key(name)
            if not isinstance(name, str) or not name:
                sloc.fail("stage names must be non-empty strings")
            if "@" in name:
                sloc.fail("'@' is reserved for names generated by foreach/matrix")
            for stage in self._expand(name, definition, sloc):
                if stage.name in stages:
                    sloc.fail(f"duplicate stage name '{stage.name}'")
                stages[stage.name] = stage
        return stages

    def _expand(self, name: str, definition: Any, loc: _Loc) -> Iterator[Stage]:
        if not isinstance(definition, dict):
            loc.fail("a stage definition must be a mapping (with at least 'cmd')")
        if "foreach" in definition:
            yield from self._foreach(name, definition, loc)
        elif "matrix" in definition:
            yield from self._matrix(name, definition, loc)
        else:
            yield self._stage(name, definition, loc, None)

    def _foreach(self, name: str, group: dict[str, Any], loc: _Loc) -> Iterator[Stage]:
        for pos, key in enumerate(group):
            if key not in ("foreach", "do"):
                loc.key(key, pos).fail(f"unknown key '{key}' next to 'foreach' (only 'do')")
        if "do" not in group:
            loc.fail("'foreach' needs a 'do' stage definition")
        body = group["do"]
        if not isinstance(body, dict):
            loc.key("do").fail("'do' must be a stage definition (a mapping)")
        ctx = self.context()
        try:
            items = foreach_items(resolve(group["foreach"], ctx, "generator", self.options))
        except TemplateError as exc:
            loc.key("foreach").extend(exc.path).fail(exc.message)
        do_loc = loc.key("do")
        for suffix, values in items:
            generated = f"{name}@{suffix}"
            gen_loc = _Loc(do_loc.raw, ("stages", generated), body)
            yield self._stage(generated, body, gen_loc, ctx.with_values(values))

    def _matrix(self, name: str, group: dict[str, Any], loc: _Loc) -> Iterator[Stage]:
        body = {k: v for k, v in group.items() if k != "matrix"}
        ctx = self.context()
        mloc = loc.key("matrix")
        try:
            matrix = resolve(group["matrix"], ctx, "generator", self.options)
            items = matrix_items(matrix)
        except TemplateError as exc:
            mloc.extend(exc.path).fail(exc.message)
        for suffix, values in items:
            generated = f"{name}@{suffix}"
            gen_loc = _Loc(loc.raw, ("stages", generated), group)
            yield self._stage(generated, body, gen_loc, ctx.with_values(values))

    def _stage(
        self, name: str, definition: dict[str, Any], loc: _Loc, ctx: Context | None
    ) -> Stage:
        if ctx is None and ("vars" in definition or contains_template(definition)):
            ctx = self.context()
        if ctx is not None:
            definition = self._resolve_stage(name, definition, loc, ctx)
        return _StageBuilder(self.dvcfile, self.dir, name, loc).build(definition)

    def _resolve_stage(
        self, name: str, definition: dict[str, Any], loc: _Loc, ctx: Context
    ) -> dict[str, Any]:
        key: Any = None
        try:
            if "vars" in definition:
                key = "wdir"
                wdir = resolve(definition.get("wdir"), ctx)
                base = _join(self.dir, wdir) if isinstance(wdir, str) else self.dir
                key = "vars"
                ctx = ctx.copy()
                ctx.load_vars(definition["vars"], base, self._load, f"{name.split('@')[0]}.vars")
            resolved: dict[Any, Any] = {}
            for key, value in definition.items():
                if key == "vars":
                    continue
                mode: Mode = "cmd" if key == "cmd" else "value"
                resolved[resolve(key, ctx)] = resolve(value, ctx, mode, self.options)
            return resolved
        except TemplateError as exc:
            loc.extend((key, *exc.path)).fail(exc.message)

    # top-level lists

    def _file_list(self, raw: Any, loc: _Loc) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            loc.fail("must be a list of file paths")
        paths = []
        for index, item in enumerate(raw):
            if not isinstance(item, str) or not item:
                loc.item(index).fail(f"expected a file path, got {_tname(item)}")
            paths.append(_join(self.dir, item))
        return tuple(paths)

    def _plots(self, raw: Any, loc: _Loc) -> tuple[object, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            loc.fail("must be a list of plot paths or {id: properties} mappings")
        plots: list[object] = []
        for index, item in enumerate(raw):
            if isinstance(item, str) and item:
                plots.append(_join(self.dir, item))
            elif isinstance(item, dict):
                plots.append(item)
            else:
                loc.item(index).fail(f"expected a plot path or mapping, got {_tname(item)}")
        return tuple(plots)


# --- one stage ---------------------------------------------------------------------------


class _StageBuilder:
    """Validates one resolved stage definition and builds the `Stage`."""

    def __init__(self, dvcfile: str, base_dir: str, name: str, loc: _Loc) -> None:
        self.dvcfile = dvcfile
        self.base_dir = base_dir
        self.name = name
        self.loc = loc

    def build(self, d: dict[str, Any]) -> Stage:
        keys = {key: self.loc.key(key, pos) for pos, key in enumerate(d)}
        for key, kloc in keys.items():
            if key not in STAGE_KEYS:
                kloc.fail(f"unknown key '{key}' (allowed: {', '.join(STAGE_KEYS)})")
        if "cmd" not in d:
            self.loc.fail("missing required key 'cmd'")
        wdir = self._wdir(d.get("wdir"), keys.get("wdir"))
        outs: dict[str, tuple[OutKind, dict[str, Any], str]] = {}
        for list_key, kind in _OUT_LISTS:
            if list_key in d:
                self._outs(d[list_key], kind, keys[list_key], wdir, outs)
        return Stage(
            name=self.name,
            dvcfile=self.dvcfile,
            wdir=wdir,
            cmd=self._cmd(d["cmd"], keys["cmd"]),
            deps=self._deps(d.get("deps"), keys.get("deps")),
            params=self._params(d.get("params"), keys.get("params")),
            outs=tuple(_out_spec(path, kind, flags) for kind, flags, path in outs.values()),
            frozen=self._bool(d, "frozen", keys),
            always_changed=self._bool(d, "always_changed", keys),
            desc=self._desc(d.get("desc"), keys.get("desc")),
            meta=d.get("meta"),
        )

    def _cmd(self, cmd: Any, loc: _Loc) -> str | list[str]:
        if isinstance(cmd, str):
            return cmd
        if isinstance(cmd, list):
            for index, item in enumerate(cmd):
                if not isinstance(item, str):
                    loc.item(index).fail(f"each command must be a string, got {_tname(item)}")
            return list(cmd)
        loc.fail(f"'cmd' must be a string or a list of strings, got {_tname(cmd)}")

    def _wdir(self, wdir: Any, loc: _Loc | None) -> str:
        if wdir is None:
            return _norm(self.base_dir)
        if not isinstance(wdir, str) or not wdir:
            _need(loc).fail(f"'wdir' must be a directory path, got {_tname(wdir)}")
        joined = _join(self.base_dir, wdir)
        if posixpath.isabs(wdir) or _escapes(joined):
            _need(loc).fail(f"wdir '{wdir}' of stage '{self.name}' is outside the repository")
        return _norm(joined)

    def _deps(self, deps: Any, loc: _Loc | None) -> tuple[str, ...]:
        if deps is None:
            return ()
        if not isinstance(deps, list):
            _need(loc).fail(f"'deps' must be a list of paths, got {_tname(deps)}")
        result: list[str] = []
        for index, dep in enumerate(deps):
            if not isinstance(dep, str) or not dep:
                _need(loc).item(index).fail(f"expected a path, got {_tname(dep)}")
            if dep not in result:
                result.append(dep)
        return tuple(result)

    def _params(self, params: Any, loc: _Loc | None) -> tuple[ParamsSpec, ...]:
        if params is None:
            return ()
        if not isinstance(params, list):
            _need(loc).fail(f"'params' must be a list, got {_tname(params)}")
        files: dict[str, list[str] | None] = {}
        for index, item in enumerate(params):
            iloc = _need(loc).item(index)
            if isinstance(item, str) and item:
                _add_keys(files, DEFAULT_PARAMS_FILE, [item])
            elif isinstance(item, dict) and item:
                for pos, (path, keys) in enumerate(item.items()):
                    _add_keys(files, *self._param_file(path, keys, iloc.key(path, pos)))
            else:
                iloc.fail(f"expected a key or a {{file: [keys]}} mapping, got {_tname(item)}")
        return tuple(
            ParamsSpec(path, None if keys is None else tuple(keys)) for path, keys in files.items()
        )

    def _param_file(self, path: Any, keys: Any, loc: _Loc) -> tuple[str, list[str] | None]:
        if not isinstance(path, str) or not path:
            loc.fail(f"expected a params file path, got {_tname(path)}")
        if keys is None or keys == []:
            return posixpath.normpath(path), None
        if not isinstance(keys, list):
            loc.fail(f"keys of '{path}' must be a list (or empty for the whole file)")
        for index, key in enumerate(keys):
            if not isinstance(key, str) or not key:
                loc.item(index).fail(f"expected a params key, got {_tname(key)}")
        return posixpath.normpath(path), keys

    def _outs(
        self,
        items: Any,
        kind: OutKind,
        loc: _Loc,
        wdir: str,
        outs: dict[str, tuple[OutKind, dict[str, Any], str]],
    ) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            loc.fail(f"must be a list of paths or {{path: flags}} mappings, got {_tname(items)}")
        for index, item in enumerate(items):
            iloc = loc.item(index)
            if isinstance(item, str):
                entries: list[tuple[Any, Any, _Loc]] = [(item, None, iloc)]
            elif isinstance(item, dict) and item:
                entries = [(p, f, iloc.key(p, pos)) for pos, (p, f) in enumerate(item.items())]
            else:
                iloc.fail(f"expected a path or a {{path: flags}} mapping, got {_tname(item)}")
            for path, flags, ploc in entries:
                self._check_out_path(path, wdir, ploc)
                checked = _check_flags(flags, kind, ploc)
                key = posixpath.normpath(path)
                if key in outs:
                    old_kind, old_flags, first = outs[key]
                    merged_kind = old_kind if old_kind != "out" else kind
                    outs[key] = (merged_kind, {**old_flags, **checked}, first)
                else:
                    outs[key] = (kind, checked, path)

    def _check_out_path(self, path: Any, wdir: str, loc: _Loc) -> None:
        if not isinstance(path, str) or not path:
            loc.fail(f"expected an output path, got {_tname(path)}")
        repo_path = _join(wdir, path)
        if posixpath.isabs(path) or _escapes(repo_path):
            loc.fail(f"output '{path}' of stage '{self.name}' is outside the repository")
        base = posixpath.basename(repo_path)
        if base in (DVCFILE, LOCKFILE) or base.endswith(DVC_SUFFIX):
            loc.fail(f"DVC file '{path}' cannot be an output of stage '{self.name}'")

    def _bool(self, d: dict[str, Any], key: str, keys: dict[Any, _Loc]) -> bool:
        value = d.get(key, False)
        if not isinstance(value, bool):
            keys[key].fail(f"'{key}' must be true or false, got {_tname(value)}")
        return value

    def _desc(self, desc: Any, loc: _Loc | None) -> str | None:
        if desc is not None and not isinstance(desc, str):
            _need(loc).fail(f"'desc' must be a string, got {_tname(desc)}")
        return desc


def _check_flags(flags: Any, kind: OutKind, loc: _Loc) -> dict[str, Any]:
    if flags is None:
        return {}
    if not isinstance(flags, dict):
        loc.fail(f"flags must be a mapping, got {_tname(flags)}")
    allowed = _BOOL_FLAGS + _STR_FLAGS + _ANY_FLAGS + (_PLOT_PROPS if kind == "plot" else ())
    for pos, (key, value) in enumerate(flags.items()):
        floc = loc.key(key, pos)
        if key not in allowed:
            floc.fail(f"unknown flag '{key}' (allowed: {', '.join(allowed)})")
        if (key in _BOOL_FLAGS or key == "header") and not isinstance(value, bool):
            floc.fail(f"'{key}' must be true or false, got {_tname(value)}")
        if key in _STR_FLAGS and not isinstance(value, str):
            floc.fail(f"'{key}' must be a string, got {_tname(value)}")
    return dict(flags)


def _out_spec(path: str, kind: OutKind, flags: dict[str, Any]) -> OutSpec:
    return OutSpec(
        path=path,
        kind=kind,
        cache=flags.get("cache", True),
        persist=flags.get("persist", False),
        checkpoint=flags.get("checkpoint", False),
        remote=flags.get("remote"),
        push=flags.get("push", True),
        plot={k: v for k, v in flags.items() if k in _PLOT_PROPS} if kind == "plot" else None,
    )


def _add_keys(files: dict[str, list[str] | None], path: str, keys: list[str] | None) -> None:
    """Merge keys of one params file; tracking the whole file (None) wins."""
    if path in files and files[path] is None:
        return
    if keys is None:
        files[path] = None
        return
    current = files.setdefault(path, [])
    assert current is not None
    current.extend(k for k in keys if k not in current)


def _need(loc: _Loc | None) -> _Loc:
    assert loc is not None
    return loc


def _join(base: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)


def _norm(path: str) -> str:
    path = posixpath.normpath(path) if path else ""
    return "" if path == "." else path


def _escapes(repo_path: str) -> bool:
    return repo_path == ".." or repo_path.startswith("../") or posixpath.isabs(repo_path)


def _tname(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", type(None): "null", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)
