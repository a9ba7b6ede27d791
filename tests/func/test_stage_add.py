"""`xpt stage add` / `stage list`: dvc.yaml written as DVC writes it, refusals write nothing."""

from __future__ import annotations

import os

import pytest

from tests.helpers import TmpRepo

ALL_FLAGS = [
    "-n", "train", "-d", "a.txt", "-d", "args.txt", "-o", "model.pkl", "-O", "nc.txt",
    "-m", "m.json", "-M", "mnc.json", "-p", "lr,seed", "-p", "custom.yaml:a",
    "--plots", "p.csv", "--plots-no-cache", "pnc.csv", "-w", "sub", "--desc", "hello",
    "--always-changed", "--outs-persist", "op", "--outs-persist-no-cache", "opnc",
    "python train.py",
]  # fmt: skip

EXPECTED_TRAIN = """\
  train:
    desc: hello
    cmd: python train.py
    wdir: sub
    deps:
    - a.txt
    - args.txt
    params:
    - lr
    - seed
    - custom.yaml:
      - a
    outs:
    - model.pkl
    - nc.txt:
        cache: false
    - op:
        persist: true
    - opnc:
        cache: false
        persist: true
    metrics:
    - m.json
    - mnc.json:
        cache: false
    plots:
    - p.csv
    - pnc.csv:
        cache: false
    always_changed: true
"""

COMMENTED = (
    "# top comment\nstages:\n  first:  # c1\n    cmd: echo a > a.txt\n    outs:\n    - a.txt\n"
)


@pytest.fixture
def proj(project: TmpRepo) -> TmpRepo:
    project.gen({"dvc.yaml": COMMENTED, "params.yaml": "lr: 1\nseed: 2\n", "sub": {"x": ""}})
    return project


def test_all_flags_written_in_dvc_order_and_comments_kept(proj: TmpRepo, xpt) -> None:
    res = xpt("stage", "add", *ALL_FLAGS)
    assert "Added stage 'train' in 'dvc.yaml'" in res.out
    assert "git add dvc.yaml sub/.gitignore" in res.out
    assert (proj / "dvc.yaml").read_text() == COMMENTED + EXPECTED_TRAIN
    ignored = set((proj / "sub/.gitignore").read_text().split())
    assert ignored == {"/model.pkl", "/op", "/m.json", "/p.csv"}


def test_command_words_params_files_and_sorting(proj: TmpRepo, xpt) -> None:
    xpt("stage", "add", "-n", "t", "-m", "mm.json", "-o", "o1", "-o", "o0", "-p", "c.yaml:",
        "-p", "params.yaml:", "-d", "z", "-d", "b", "python", "my script.py", "--lr", "1 2", "it's")  # fmt: skip
    text = (proj / "dvc.yaml").read_text()
    assert text.endswith(
        '  t:\n    cmd: python "my script.py" --lr "1 2" it\'s\n    deps:\n    - b\n    - z\n'
        "    params:\n    - c.yaml:\n    - params.yaml:\n    outs:\n    - o0\n    - o1\n"
        "    metrics:\n    - mm.json\n"
    )


def test_run_executes_the_stage(proj: TmpRepo, xpt) -> None:
    res = xpt("stage", "add", "-n", "gen", "-o", "out.txt", "--run", "echo hi > out.txt")
    assert "git add .gitignore dvc.lock dvc.yaml" in res.out
    assert (proj / "out.txt").read_text() == "hi\n"
    assert "gen:" in (proj / "dvc.lock").read_text()


def test_force_replaces_in_place(proj: TmpRepo, xpt) -> None:
    xpt("stage", "add", "-n", "first", "-f", "-o", "b.txt", "echo b > b.txt")
    text = (proj / "dvc.yaml").read_text()
    assert text.startswith("# top comment\nstages:\n  first:")
    assert "echo b > b.txt" in text and "a.txt" not in text


def test_autostage_adds_to_git_index(proj: TmpRepo, xpt) -> None:
    xpt("config", "core.autostage", "true")
    res = xpt("stage", "add", "-n", "s", "-o", "o", "echo > o")
    assert "git add" not in res.out
    staged = proj.git("diff", "--cached", "--name-only").split()
    assert {"dvc.yaml", ".gitignore"} <= set(staged)


def test_nested_dir_writes_its_own_dvc_yaml(proj: TmpRepo, xpt, monkeypatch) -> None:
    monkeypatch.chdir(proj / "sub")
    res = xpt("stage", "add", "-n", "n1", "-o", "z", "echo z > z")
    assert "in 'dvc.yaml'" in res.out
    assert (
        proj / "sub/dvc.yaml"
    ).read_text() == "stages:\n  n1:\n    cmd: echo z > z\n    outs:\n    - z\n"
    monkeypatch.chdir(proj)
    assert xpt("stage", "list", "--all").out.splitlines()[-1] == "sub/dvc.yaml:n1  Outputs z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "first", "echo"], "Stage 'first' already exists in 'dvc.yaml'. Use '--force'"),
        (["-n", "bad.name", "echo"], "Stage name cannot contain punctuation characters."),
        (
            ["-n", "t", "-o", "a.txt", "echo"],
            "output 'a.txt' is already specified in stage: 'first'",
        ),
        (["-n", "t", "-o", "a.txt/b", "echo"], "is inside output 'a.txt'"),
        (["-n", "t", "-o", "dvc.yaml", "echo"], "DVC file 'dvc.yaml' cannot be an output."),
        (["-n", "t", "-o", "/tmp/elsewhere", "echo"], "outside of DVC project"),
        (["-n", "t", "-o", "../up", "echo"], "outside of DVC project"),
        (["-n", "t"], "command is not specified"),
        (
            ["-n", "t", "-d", "x", "-o", "x", "echo"],
            "is specified as an output and as a dependency",
        ),
        (["-n", "t", "-w", "nowhere", "echo"], "stage working dir"),
        (["-n", "t", "-d", "a.txt", "-o", "params.yaml2", "-d", "c", "echo"], None),
    ],
)
def test_refusals_write_nothing(proj: TmpRepo, xpt, args: list[str], message: str | None) -> None:
    before = (proj / "dvc.yaml").read_bytes()
    if message is None:
        xpt("stage", "add", *args)
        return
    res = xpt("stage", "add", *args, ok=False)
    assert message in res.err
    assert "Traceback" not in res.err
    assert (proj / "dvc.yaml").read_bytes() == before
    assert not (proj / ".gitignore").exists()


def test_cycle_refused(proj: TmpRepo, xpt) -> None:
    xpt("stage", "add", "-n", "b", "-d", "a.txt", "-o", "b.txt", "cp a.txt b.txt")
    before = (proj / "dvc.yaml").read_bytes()
    res = xpt("stage", "add", "-n", "first", "-f", "-d", "b.txt", "-o", "a.txt", "echo", ok=False)
    assert "cycle" in res.err
    assert (proj / "dvc.yaml").read_bytes() == before


def test_output_tracked_by_git_refused(proj: TmpRepo, xpt) -> None:
    proj.gen({"tracked.txt": "x"})
    proj.commit("tracked")
    res = xpt("stage", "add", "-n", "t", "-o", "tracked.txt", "echo", ok=False)
    assert "already tracked by SCM" in res.err
    assert "  t:" not in (proj / "dvc.yaml").read_text()


def test_stage_list(proj: TmpRepo, xpt) -> None:
    xpt("stage", "add", "-n", "dep-only", "-d", "x", "-p", "lr", "echo")
    xpt("stage", "add", "-n", "rep", "-o", "o1", "-m", "m.json", "--plots", "p.csv", "echo")
    xpt("stage", "add", "-n", "nothing", "echo")
    xpt("stage", "add", "-n", "described", "--desc", "line one\nline two", "echo")
    assert xpt("stage", "list").out.splitlines() == [
        "first      Outputs a.txt",
        "dep-only   Depends on x, params.yaml",
        "rep        Outputs o1; Reports m.json, p.csv",
        "nothing    No outputs or dependencies",
        "described  line one",
    ]
    assert xpt("stage", "list", "--name-only").out.split() == [
        "first", "dep-only", "rep", "nothing", "described",
    ]  # fmt: skip
    assert xpt("stage", "list", "rep").out.strip() == "rep  Outputs o1; Reports m.json, p.csv"
    res = xpt("stage", "list", "nope", ok=False)
    assert "Stage 'nope' not found inside 'dvc.yaml' file" in res.err


def test_stage_list_recursive_and_missing(proj: TmpRepo, xpt) -> None:
    proj.gen({"a/b/dvc.yaml": "stages:\n  deep:\n    cmd: echo\n"})
    assert (
        xpt("stage", "list", "-R", "a").out.strip()
        == "a/b/dvc.yaml:deep  No outputs or dependencies"
    )
    assert "does not exist" in xpt("stage", "list", "a", ok=False).err
    os.remove(proj / "dvc.yaml")
    assert "does not exist" in xpt("stage", "list", ok=False).err
