"""The stage DAG: who depends on whom, graph errors, and the order stages run in.

Stage A depends on stage B when a path A reads (a dep or a params file) equals, lies
inside or contains a path B writes. Everything here is pure and deterministic: ties
are broken by the order stages appear in their dvc.yaml files.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Iterable

from xpt.errors import PipelineError
from xpt.pipeline.model import Stage
from xpt.utils.dvcnames import DVCFILE

_HINT = "see `xpt dag`"


class Graph:
    """The dependency graph of a set of stages (keyed by `stage.addressing`)."""

    def __init__(self, stages: Iterable[Stage]) -> None:
        self._stages: dict[str, Stage] = {}
        for stage in stages:
            if stage.addressing in self._stages:
                raise PipelineError(f"stage '{stage.addressing}' is defined twice")
            self._stages[stage.addressing] = stage
        self._rank = {addr: i for i, addr in enumerate(self._stages)}
        self._outs = self._index_outputs()
        self._sorted_outs = sorted(self._outs)
        self._up: dict[str, list[str]] = {
            a: self._find_upstream(s) for a, s in self._stages.items()
        }
        self._down: dict[str, list[str]] = {a: [] for a in self._stages}
        for addr, ups in self._up.items():
            for up in ups:
                self._down[up].append(addr)
        self._check_acyclic()

    # construction

    def _index_outputs(self) -> dict[str, str]:
        """Repo-relative output path -> addressing; duplicates and nesting are errors."""
        outs: dict[str, str] = {}
        for addr, stage in self._stages.items():
            for out in stage.outs:
                path = stage.repo_path(out.path)
                if path in outs:
                    owners = f"'{outs[path]}' and '{addr}'"
                    if outs[path] == addr:
                        owners = f"'{addr}' (twice)"
                    raise PipelineError(
                        f"output '{path}' is produced by {owners}",
                        hint="keep one of them, or give one of the outputs another path",
                    )
                outs[path] = addr
        for path, addr in outs.items():
            for parent in _parents(path):
                if parent in outs:
                    raise PipelineError(
                        f"output '{path}' of stage '{addr}' is inside output "
                        f"'{parent}' of stage '{outs[parent]}'",
                        hint="outputs may not overlap; track the directory or the file, not both",
                    )
        return outs

    def _find_upstream(self, stage: Stage) -> list[str]:
        """Addressings of the stages `stage` depends on, in dvc.yaml order."""
        found: set[str] = set()
        paths = [stage.repo_path(d) for d in stage.deps if _is_local(d)]
        paths += [stage.repo_path(p.path) for p in stage.params]
        for dep in paths:
            for producer in self._producers(dep):
                if producer == stage.addressing:
                    raise PipelineError(
                        f"stage '{producer}': '{dep}' is both a dependency and an output",
                        hint="a stage may not read what it writes; split it into two stages",
                    )
                found.add(producer)
        if stage.frozen:
            return []  # a frozen stage does not pull its upstream into a run
        return sorted(found, key=self._rank.__getitem__)

    def _producers(self, dep: str) -> set[str]:
        """Stages writing `dep`, a folder holding it, or something inside it."""
        producers = {self._outs[p] for p in (dep, *_parents(dep)) if p in self._outs}
        prefix = "" if dep == "." else dep + "/"
        start = bisect.bisect_left(self._sorted_outs, prefix)
        for path in self._sorted_outs[start:]:
            if not path.startswith(prefix):
                break
            producers.add(self._outs[path])
        return producers

    def _check_acyclic(self) -> None:
        state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
        for root in self._stages:
            if state.get(root):
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = [root]
            state[root] = 1
            while stack:
                node, index = stack[-1]
                ups = self._up[node]
                if index == len(ups):
                    stack.pop()
                    path.pop()
                    state[node] = 2
                    continue
                stack[-1] = (node, index + 1)
                nxt = ups[index]
                if state.get(nxt) == 1:
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise PipelineError(
                        f"pipeline has a cycle: {' -> '.join(cycle)}",
                        hint="remove one of these dependencies",
                    )
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)

    # queries

    def stages(self) -> list[Stage]:
        """All stages in dvc.yaml order."""
        return list(self._stages.values())

    def stage(self, addressing: str) -> Stage:
        try:
            return self._stages[addressing]
        except KeyError:
            raise PipelineError(f"unknown stage '{addressing}'", hint=_HINT) from None

    def upstream(self, stage: Stage) -> list[Stage]:
        """Stages `stage` directly depends on (none for a frozen stage)."""
        return [self._stages[a] for a in self._up[stage.addressing]]

    def downstream(self, stage: Stage) -> list[Stage]:
        """Stages that directly depend on `stage`."""
        return [self._stages[a] for a in self._down[stage.addressing]]

    def edges(self) -> list[tuple[Stage, Stage]]:
        """(upstream, downstream) pairs in dvc.yaml order."""
        return [
            (self._stages[up], self._stages[addr]) for addr, ups in self._up.items() for up in ups
        ]

    def resolve_target(self, target: str) -> list[Stage]:
        """Stages named by a CLI target: `name`, `group`, `path/dvc.yaml`, `path/dvc.yaml:name`."""
        if target in self._stages:
            return [self._stages[target]]
        path, sep, name = target.partition(":")
        if sep and _is_yaml(path):
            found = self._named(posixpath.normpath(path), name)
        elif _is_yaml(target):
            dvcfile = posixpath.normpath(target)
            found = [s for s in self._stages.values() if s.dvcfile == dvcfile]
        else:
            found = self._named(DVCFILE, target)
        owner = self._outs.get(posixpath.normpath(target))
        if not found and owner is not None and self._stages[owner].is_dvcfile_stage:
            found = [self._stages[owner]]  # data tracked by a .dvc file, named by its path
        if not found:
            raise PipelineError(f"unknown stage '{target}'", hint=_HINT)
        return found

    def _named(self, dvcfile: str, name: str) -> list[Stage]:
        """Stage `name` of `dvcfile`, or all stages generated from group `name`."""
        in_file = [s for s in self._stages.values() if s.dvcfile == dvcfile]
        exact = [s for s in in_file if s.name == name]
        return exact or [s for s in in_file if s.name.startswith(name + "@")]

    def plan(
        self,
        targets: list[str] | None,
        *,
        single_item: bool = False,
        downstream: bool = False,
        pipeline: bool = False,
        all_pipelines: bool = False,
    ) -> list[Stage]:
        """Stages to consider, dependencies first.

        No targets means every stage of the graph. (`dvc repro` without targets takes the
        `dvc.yaml` of the cwd: to mimic it pass `["dvc.yaml"]` or `["sub/dvc.yaml"]`.)
        By default the targets' upstream stages are included; `single_item` takes the targets alone,
        `downstream` the targets and everything depending on them, `pipeline` the whole
        connected pipelines of the targets and `all_pipelines` every stage.
        """
        if all_pipelines or not targets:
            return self._ordered(set(self._stages))
        roots = self._roots(targets)
        if single_item:
            selected = set(roots)
        elif pipeline:
            selected = self._reach(roots, self._up, self._down)
        elif downstream:
            selected = self._reach(roots, self._down)
        else:
            selected = self._reach(roots, self._up)
        return self._ordered(selected)

    def _roots(self, targets: list[str]) -> list[str]:
        roots: list[str] = []
        for target in targets:
            roots += [s.addressing for s in self.resolve_target(target)]
        return roots

    @staticmethod
    def _reach(roots: list[str], *links: dict[str, list[str]]) -> set[str]:
        seen = set(roots)
        todo = list(roots)
        while todo:
            node = todo.pop()
            for link in links:
                for nxt in link[node]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
        return seen

    def _ordered(self, selected: set[str]) -> list[Stage]:
        """DFS post-order over upstream edges within `selected`, visiting in dvc.yaml order."""
        order: list[Stage] = []
        done: set[str] = set()
        for root in sorted(selected, key=self._rank.__getitem__):
            if root in done:
                continue
            done.add(root)
            stack = [(root, iter(self._up[root]))]
            while stack:
                node, ups = stack[-1]
                nxt = next((u for u in ups if u in selected and u not in done), None)
                if nxt is None:
                    stack.pop()
                    order.append(self._stages[node])
                else:
                    done.add(nxt)
                    stack.append((nxt, iter(self._up[nxt])))
        return order

    # renderings for `xpt dag`

    def _subset(self, targets: list[str] | None, full: bool) -> list[Stage]:
        """The targets and their ancestors; with `full` (`dag --full`) their whole pipelines."""
        return self.plan(targets, pipeline=full)

    def _subset_edges(self, stages: list[Stage]) -> list[tuple[Stage, Stage]]:
        names = {s.addressing for s in stages}
        return [
            (up, down)
            for up, down in self.edges()
            if up.addressing in names and down.addressing in names
        ]

    def ascii(self, targets: list[str] | None = None, full: bool = False) -> str:
        """One line per stage (dependencies first) with the stages it depends on."""
        stages = self._subset(targets, full)
        names = {s.addressing for s in stages}
        width = max((len(s.addressing) for s in stages), default=0)
        lines = []
        for stage in stages:
            ups = [u.addressing for u in self.upstream(stage) if u.addressing in names]
            line = stage.addressing.ljust(width) + (f"  <- {', '.join(ups)}" if ups else "")
            lines.append(line.rstrip())
        return "\n".join(lines) + ("\n" if lines else "")

    def dot(self, targets: list[str] | None = None, full: bool = False) -> str:
        """Graphviz source; edges point from a stage to the stages that use its outputs."""
        stages = self._subset(targets, full)
        lines = ["strict digraph {"]
        lines += [f"{_dot_id(s.addressing)};" for s in stages]
        lines += [
            f"{_dot_id(up.addressing)} -> {_dot_id(down.addressing)};"
            for up, down in self._subset_edges(stages)
        ]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def mermaid(self, targets: list[str] | None = None, full: bool = False) -> str:
        """Mermaid flowchart source, same edges as `dot`, laid out as DVC does: one
        pipeline (connected stages) after the other, each with its nodes sorted by name,
        then its edges sorted by the names they join."""
        stages = self._subset(targets, full)
        edges = [(u.addressing, d.addressing) for u, d in self._subset_edges(stages)]
        group = {s.addressing: s.addressing for s in stages}  # union-find: name -> parent

        def root(name: str) -> str:
            while group[name] != name:
                name = group[name]
            return name

        for up, down in edges:
            group[root(up)] = root(down)
        pipelines: dict[str, list[str]] = {}
        for stage in stages:
            pipelines.setdefault(root(stage.addressing), []).append(stage.addressing)
        lines = ["flowchart TD"]
        ids: dict[str, str] = {}
        for names in pipelines.values():
            for name in sorted(names):
                ids[name] = f"node{len(ids) + 1}"
                lines.append(f'\t{ids[name]}["{_mermaid_label(name)}"]')
            members = set(names)
            lines += [f"\t{ids[u]}-->{ids[d]}" for u, d in sorted(edges) if u in members]
        return "\n".join(lines) + "\n"


def _parents(path: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`]."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _is_local(dep: str) -> bool:
    return "://" not in dep and not posixpath.isabs(dep)


def _is_yaml(path: str) -> bool:
    return path.endswith((".yaml", ".yml"))


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_label(name: str) -> str:
    return name.replace('"', "#quot;")
