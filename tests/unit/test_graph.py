"""The stage DAG: edges, graph errors, target resolution, plan order, renderings.

Plan orders below were checked against `dvc repro -f ...` (DVC 3.67.1) on the same graph.
"""

from __future__ import annotations

import pytest

from xpt.errors import PipelineError
from xpt.pipeline.graph import Graph
from xpt.pipeline.model import OutSpec, ParamsSpec, Stage
from xpt.pipeline.parse import load_pipeline

# F7 of behaviors.md plus a stage D joining the chain and NP.
F7 = """\
stages:
  C:
    cmd: c
    deps: [B.out]
    outs: [C.out]
  B:
    cmd: b
    deps: [A.out]
    outs: [B.out]
  A:
    cmd: a
    deps: [a.txt]
    outs: [A.out]
  P:
    cmd: p
    deps: [a.txt]
    outs: [{P.out: {persist: true}}]
  NP:
    cmd: np
    deps: [a.txt]
    outs: [NP.out]
  D:
    cmd: d
    deps: [C.out, NP.out]
"""


def graph_of(*files: tuple[str, str]) -> Graph:
    repo = {path: text.encode() for path, text in files}
    stages = [s for path, _ in files for s in load_pipeline(repo.get, path).stages.values()]
    return Graph(stages)


def names(stages: list[Stage]) -> list[str]:
    return [s.addressing for s in stages]


def stage(name: str, deps: tuple[str, ...] = (), outs: tuple[str, ...] = (), **kw: object) -> Stage:
    return Stage(
        name=name,
        dvcfile="dvc.yaml",
        wdir="",
        cmd="x",
        deps=deps,
        outs=tuple(OutSpec(o) for o in outs),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def f7() -> Graph:
    return graph_of(("dvc.yaml", F7))


@pytest.mark.parametrize(
    ("targets", "options", "expected"),
    [
        (None, {}, ["A", "B", "C", "P", "NP", "D"]),
        (["A"], {"downstream": True}, ["A", "B", "C", "D"]),
        (["B"], {"single_item": True}, ["B"]),
        (["C", "P"], {}, ["A", "B", "C", "P"]),
        (["A"], {"pipeline": True}, ["A", "B", "C", "NP", "D"]),
        (["D"], {}, ["A", "B", "C", "NP", "D"]),
        (["NP", "C"], {}, ["A", "B", "C", "NP"]),
        (None, {"all_pipelines": True}, ["A", "B", "C", "P", "NP", "D"]),
        (["D", "B"], {"single_item": True}, ["B", "D"]),
    ],
)
def test_plan_matches_dvc_order(
    f7: Graph, targets: list[str] | None, options: dict[str, bool], expected: list[str]
) -> None:
    assert names(f7.plan(targets, **options)) == expected


def test_upstream_downstream_and_edges(f7: Graph) -> None:
    assert names(f7.upstream(f7.stage("D"))) == ["C", "NP"]
    assert names(f7.downstream(f7.stage("A"))) == ["B"]
    assert names(f7.downstream(f7.stage("NP"))) == ["D"]
    assert [(u.name, d.name) for u, d in f7.edges()] == [
        ("B", "C"),
        ("A", "B"),
        ("C", "D"),
        ("NP", "D"),
    ]


def test_diamond_runs_both_branches_before_the_join() -> None:
    g = Graph(
        [
            stage("E", deps=("d",)),
            stage("D", deps=("b", "c"), outs=("d",)),
            stage("C", deps=("a",), outs=("c",)),
            stage("B", deps=("a",), outs=("b",)),
            stage("A", outs=("a",)),
        ]
    )
    assert names(g.plan(None)) == ["A", "C", "B", "D", "E"]


def test_directory_overlap_creates_edges() -> None:
    g = Graph(
        [
            stage("inside", deps=("data/raw/file.csv",)),
            stage("whole", deps=("data",)),
            stage("exact", deps=("data/raw",)),
            stage("unrelated", deps=("data/rawish",)),
            stage("make", outs=("data/raw",)),
        ]
    )
    for name in ("inside", "whole", "exact"):
        assert names(g.upstream(g.stage(name))) == ["make"]
    assert g.upstream(g.stage("unrelated")) == []


def test_paths_are_compared_repo_relative_including_params_files() -> None:
    g = graph_of(
        ("dvc.yaml", "stages:\n  gen:\n    cmd: g\n    outs: [sub/params.yaml, data/x]\n"),
        (
            "sub/dvc.yaml",
            "stages:\n  use:\n    cmd: u\n    params: [lr]\n"
            "  wd:\n    cmd: w\n    wdir: ../data\n    deps: [x]\n",
        ),
    )
    assert names(g.upstream(g.stage("sub/dvc.yaml:use"))) == ["gen"]
    assert names(g.upstream(g.stage("sub/dvc.yaml:wd"))) == ["gen"]
    assert names(g.plan(["sub/dvc.yaml"])) == ["gen", "sub/dvc.yaml:use", "sub/dvc.yaml:wd"]
    assert names(g.plan(None)) == ["gen", "sub/dvc.yaml:use", "sub/dvc.yaml:wd"]
    assert names(g.plan(["dvc.yaml"])) == ["gen"]
    assert [s.addressing for s in g.stages()] == ["gen", "sub/dvc.yaml:use", "sub/dvc.yaml:wd"]


def test_frozen_stage_drops_upstream_edges() -> None:
    g = Graph([stage("up", outs=("a",)), stage("fz", deps=("a",), frozen=True)])
    assert g.upstream(g.stage("fz")) == []
    assert names(g.plan(["fz"])) == ["fz"]
    assert names(g.plan(["up"], downstream=True)) == ["up"]


def test_external_deps_are_ignored() -> None:
    g = Graph([stage("a", deps=("s3://bucket/x", "/abs/x"), outs=("o",))])
    assert g.upstream(g.stage("a")) == []


# --- errors -----------------------------------------------------------------------------------


def test_duplicate_output() -> None:
    with pytest.raises(PipelineError) as info:
        Graph([stage("a", outs=("d",)), stage("b", outs=("./d",))])
    assert str(info.value) == "output 'd' is produced by 'a' and 'b'"


def test_output_inside_another_output() -> None:
    with pytest.raises(PipelineError) as info:
        Graph([stage("a", outs=("d",)), stage("b", outs=("d/x",))])
    assert str(info.value) == "output 'd/x' of stage 'b' is inside output 'd' of stage 'a'"
    with pytest.raises(PipelineError, match="output 'd/x' of stage 'a' is inside output 'd'"):
        Graph([stage("a", outs=("d", "d/x"))])


def test_cycle_is_named() -> None:
    with pytest.raises(PipelineError) as info:
        Graph(
            [
                stage("a", deps=("z",), outs=("x",)),
                stage("b", deps=("x",), outs=("y",)),
                stage("c", deps=("y",), outs=("z",)),
            ]
        )
    assert str(info.value) == "pipeline has a cycle: a -> c -> b -> a"


def test_dependency_on_own_output() -> None:
    with pytest.raises(PipelineError, match="stage 'a': 'd/x' is both a dependency and an output"):
        Graph([stage("a", deps=("d/x",), outs=("d",))])
    with pytest.raises(PipelineError, match="'p.yaml' is both"):
        Graph(
            [
                Stage(
                    "a",
                    "dvc.yaml",
                    "",
                    "x",
                    params=(ParamsSpec("p.yaml", None),),
                    outs=(OutSpec("p.yaml"),),
                )
            ]
        )


def test_same_stage_twice() -> None:
    with pytest.raises(PipelineError, match="stage 'a' is defined twice"):
        Graph([stage("a"), stage("a")])


# --- targets ----------------------------------------------------------------------------------


@pytest.fixture
def multi() -> Graph:
    return graph_of(
        (
            "dvc.yaml",
            "stages:\n  train:\n    foreach: [s, m]\n    do:\n      cmd: t ${item}\n"
            "  train_all:\n    cmd: x\n  prep:\n    cmd: p\n",
        ),
        (
            "sub/dvc.yaml",
            "stages:\n  prep:\n    cmd: p\n  g:\n    matrix: {a: [1, 2]}\n    cmd: g ${item.a}\n",
        ),
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("prep", ["prep"]),
        ("train", ["train@s", "train@m"]),
        ("train@m", ["train@m"]),
        ("train_all", ["train_all"]),
        ("dvc.yaml:prep", ["prep"]),
        ("dvc.yaml", ["train@s", "train@m", "train_all", "prep"]),
        ("sub/dvc.yaml:prep", ["sub/dvc.yaml:prep"]),
        ("./sub/dvc.yaml:g", ["sub/dvc.yaml:g@1", "sub/dvc.yaml:g@2"]),
        ("sub/dvc.yaml", ["sub/dvc.yaml:prep", "sub/dvc.yaml:g@1", "sub/dvc.yaml:g@2"]),
    ],
)
def test_resolve_target(multi: Graph, target: str, expected: list[str]) -> None:
    assert names(multi.resolve_target(target)) == expected


@pytest.mark.parametrize("target", ["nope", "sub/dvc.yaml:nope", "other/dvc.yaml", "trai", "g"])
def test_unknown_target(multi: Graph, target: str) -> None:
    with pytest.raises(PipelineError) as info:
        multi.resolve_target(target)
    assert info.value.message == f"unknown stage '{target}'"
    assert info.value.hint == "see `xpt dag`"


def test_unknown_stage_lookup(multi: Graph) -> None:
    with pytest.raises(PipelineError, match="unknown stage 'x'"):
        multi.stage("x")


# --- renderings -------------------------------------------------------------------------------


def test_renderings() -> None:
    g = Graph([stage("train", deps=("d",)), stage("prep", outs=("d",)), stage('we"ird')])
    assert g.ascii() == 'prep\ntrain   <- prep\nwe"ird\n'
    assert g.ascii(["train"]) == "prep\ntrain  <- prep\n"
    assert g.dot() == ('strict digraph {\n"prep";\n"train";\n"we\\"ird";\n"prep" -> "train";\n}\n')
    assert g.mermaid() == (
        'flowchart TD\n\tnode1["prep"]\n\tnode2["train"]\n\tnode1-->node2\n\tnode3["we#quot;ird"]\n'
    )
    assert Graph([]).ascii() == ""
