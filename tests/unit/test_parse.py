"""dvc.yaml parsing: schema, outputs, params forms, wdir, errors with file:line:col."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from xpt.errors import ParamsError, PipelineError
from xpt.pipeline.model import OutSpec, ParamsSpec, Pipeline, Stage
from xpt.pipeline.parse import find_dvcfiles, load_pipeline, load_pipelines, workspace_reader


def parse(dvc_yaml: str, dvcfile: str = "dvc.yaml", **extra: str) -> Pipeline:
    repo = {dvcfile: dvc_yaml.encode(), **{k: v.encode() for k, v in extra.items()}}
    return load_pipeline(repo.get, dvcfile)


def error_of(dvc_yaml: str, dvcfile: str = "dvc.yaml", **extra: str) -> str:
    with pytest.raises(PipelineError) as info:
        parse(dvc_yaml, dvcfile, **extra)
    message = str(info.value)
    assert "\n" not in message
    return message


FULL = """\
stages:
  prep:
    cmd: python prep.py
    deps:
      - data/raw
      - prep.py
    outs:
      - data/clean
  train:
    desc: Train the model
    cmd:
      - python train.py
      - echo done
    deps: [train.py, data/clean]
    params:
      - lr
      - train.epochs
      - cfg/model.toml: [depth]
      - extra.json:
    outs:
      - model.bin
      - ckpt:
          persist: true
          checkpoint: true
          remote: store
          push: false
    metrics:
      - metrics.json:
          cache: false
    plots:
      - loss.csv:
          x: step
          y: loss
          cache: false
    frozen: true
    always_changed: true
    meta: {owner: me}
params: [extra.yaml]
metrics: [summary.json]
plots:
  - loss.csv
  - confusion:
      x: actual
"""


def test_full_stage_definition() -> None:
    pipe = parse(FULL)
    assert list(pipe.stages) == ["prep", "train"]
    prep = pipe.stages["prep"]
    assert prep == Stage(
        name="prep",
        dvcfile="dvc.yaml",
        wdir="",
        cmd="python prep.py",
        deps=("data/raw", "prep.py"),
        outs=(OutSpec("data/clean"),),
    )
    train = pipe.stages["train"]
    assert train.cmd == ["python train.py", "echo done"]
    assert train.deps == ("train.py", "data/clean")
    assert train.params == (
        ParamsSpec("params.yaml", ("lr", "train.epochs")),
        ParamsSpec("cfg/model.toml", ("depth",)),
        ParamsSpec("extra.json", None),
    )
    assert train.outs == (
        OutSpec("model.bin"),
        OutSpec("ckpt", persist=True, checkpoint=True, remote="store", push=False),
        OutSpec("metrics.json", kind="metric", cache=False),
        OutSpec("loss.csv", kind="plot", cache=False),
    )
    assert train.frozen and train.always_changed
    assert train.desc == "Train the model"
    assert train.meta == {"owner": "me"}
    assert train.is_checkpoint
    assert pipe.params_files == ("extra.yaml",)
    assert pipe.metrics_files == ("summary.json",)
    assert pipe.plots == ("loss.csv", {"confusion": {"x": "actual"}})


def test_defaults_and_empty_file() -> None:
    assert parse("").stages == {}
    assert parse("stages:\n").stages == {}
    stage = parse("stages:\n  a:\n    cmd: echo\n    deps:\n    outs:\n").stages["a"]
    assert (stage.deps, stage.outs, stage.params, stage.frozen, stage.desc) == (
        (),
        (),
        (),
        False,
        None,
    )


def test_same_output_twice_merges_flags() -> None:
    stage = parse(
        "stages:\n  a:\n    cmd: x\n    outs:\n      - o.json\n      - o.json: {cache: false}\n"
        "    metrics:\n      - ./o.json: {persist: true}\n"
    ).stages["a"]
    assert stage.outs == (OutSpec("o.json", kind="metric", cache=False, persist=True),)


def test_params_whole_file_wins_over_keys() -> None:
    stage = parse(
        "stages:\n  a:\n    cmd: x\n    params:\n      - lr\n      - params.yaml:\n"
        "      - epochs\n      - other.yaml: [a]\n      - other.yaml: []\n      - b.yaml: [x, y, x]\n"
    ).stages["a"]
    assert stage.params == (
        ParamsSpec("params.yaml", None),
        ParamsSpec("other.yaml", None),
        ParamsSpec("b.yaml", ("x", "y")),
    )


def test_wdir_and_subdirectory_dvcfile() -> None:
    pipe = parse(
        "stages:\n  a:\n    cmd: x\n    wdir: ../lib\n    outs: [../out.txt]\n"
        "  b:\n    cmd: y\n  c:\n    cmd: z\n    wdir: .\n"
        "params: [p.yaml]\nmetrics: [../m.json]\nplots: [p.csv]\n",
        dvcfile="sub/dvc.yaml",
    )
    a, b, c = pipe.stages.values()
    assert (a.wdir, b.wdir, c.wdir) == ("lib", "sub", "sub")
    assert a.repo_path(a.outs[0].path) == "out.txt"
    assert a.addressing == "sub/dvc.yaml:a"
    assert a.lockfile == "sub/dvc.lock"
    assert pipe.params_files == ("sub/p.yaml",)
    assert pipe.metrics_files == ("m.json",)
    assert pipe.plots == ("sub/p.csv",)
    root = parse("stages:\n  a:\n    cmd: x\n    wdir: sub/..\n").stages["a"]
    assert root.wdir == ""


def test_templated_fields() -> None:
    stage = parse(
        "stages:\n  a:\n    cmd: python t.py --lr ${lr}\n    wdir: ${dir}\n"
        "    deps:\n      - ${data}/x\n    params:\n      - ${pfile}:\n          - lr\n"
        "    outs:\n      - ${out}:\n          cache: false\n    frozen: ${flag}\n",
        **{"params.yaml": "lr: 0.1\ndir: src\ndata: d\npfile: p.yaml\nout: o.bin\nflag: true\n"},
    ).stages["a"]
    assert stage.cmd == "python t.py --lr 0.1"
    assert stage.wdir == "src"
    assert stage.deps == ("d/x",)
    assert stage.params == (ParamsSpec("p.yaml", ("lr",)),)
    assert stage.outs == (OutSpec("o.bin", cache=False),)
    assert stage.frozen is True


def test_untemplated_file_does_not_read_params() -> None:
    read_paths: list[str] = []
    repo = {"dvc.yaml": b"stages:\n  a:\n    cmd: echo hi\n", "params.yaml": b": bad: ["}

    def read(path: str) -> bytes | None:
        read_paths.append(path)
        return repo.get(path)

    assert load_pipeline(read).stages["a"].cmd == "echo hi"
    assert read_paths == ["dvc.yaml"]


# --- errors --------------------------------------------------------------------------------


def test_missing_file() -> None:
    with pytest.raises(PipelineError, match="'sub/dvc.yaml' does not exist"):
        load_pipeline({}.get, "sub/dvc.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stages:\n  a:\n    cmd: [x\n", "dvc.yaml:4:1: expected ',' or ']'"),
        ("stages:\n  a:\n    cmd: x\n  a:\n    cmd: y\n", "dvc.yaml:4:3: found duplicate key"),
        ("stages:\n  a:\n   cmd: x\n  deps: []\n", "dvc.yaml:4:3:"),
    ],
)
def test_yaml_syntax_errors_have_line_and_column(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stages:\n  train:\n    cmd: x\n    outz: [a]\n",
            "dvc.yaml:4:5: stages.train.outz: unknown key 'outz' (allowed: cmd, wdir, deps,",
        ),
        (
            "stages:\n  train:\n    deps: [a]\n",
            "dvc.yaml:2:3: stages.train: missing required key 'cmd'",
        ),
        (
            "stages:\n  train:\n    cmd: {a: 1}\n",
            "dvc.yaml:3:5: stages.train.cmd: 'cmd' must be a string or a list of strings, got a mapping",
        ),
        (
            "stages:\n  train:\n    cmd: [x, 3]\n",
            "dvc.yaml:3:14: stages.train.cmd[1]: each command must be a string, got int",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    deps: a.txt\n",
            "dvc.yaml:4:5: stages.train.deps: 'deps' must be a list of paths, got str",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    frozen: yes\n",
            "dvc.yaml:4:5: stages.train.frozen: 'frozen' must be true or false, got str",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - a\n      - b:\n          cash: false\n",
            "dvc.yaml:7:11: stages.train.outs[1].b.cash: unknown flag 'cash' (allowed: cache,",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - b:\n          cache: 'no'\n",
            "dvc.yaml:6:11: stages.train.outs[0].b.cache: 'cache' must be true or false, got str",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - [a]\n",
            "dvc.yaml:5:9: stages.train.outs[0]: expected a path or a {path: flags} mapping, got a list",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    metrics:\n      - m.json:\n          x: step\n",
            "dvc.yaml:6:11: stages.train.metrics[0].m.json.x: unknown flag 'x'",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - ../../escape.txt\n",
            "dvc.yaml:5:9: stages.train.outs[0]: output '../../escape.txt' of stage 'train' "
            "is outside the repository",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - /abs/out.txt\n",
            "dvc.yaml:5:9: stages.train.outs[0]: output '/abs/out.txt' of stage 'train' "
            "is outside the repository",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    outs:\n      - sub/dvc.yaml\n",
            "dvc.yaml:5:9: stages.train.outs[0]: DVC file 'sub/dvc.yaml' cannot be an output",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    wdir: ../..\n",
            "dvc.yaml:4:5: stages.train.wdir: wdir '../..' of stage 'train' is outside",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    params:\n      - p.yaml: lr\n",
            "dvc.yaml:5:9: stages.train.params[0].p.yaml: keys of 'p.yaml' must be a list",
        ),
        (
            "stages:\n  train:\n    cmd: x\n    params:\n      - 3\n",
            "dvc.yaml:5:9: stages.train.params[0]: expected a key or a {file: [keys]} mapping",
        ),
        ("stagez:\n  a: {}\n", "dvc.yaml:1:1: stagez: unknown key 'stagez' (allowed: stages,"),
        ("- a\n- b\n", "dvc.yaml: the top level must be a mapping"),
        ("stages: [a]\n", "dvc.yaml:1:1: stages: must be a mapping of stage name"),
        ("stages:\n  a: echo\n", "dvc.yaml:2:3: stages.a: a stage definition must be a mapping"),
        ("stages:\n  a@b:\n    cmd: x\n", "dvc.yaml:2:3: stages.a@b: '@' is reserved"),
        ("params: p.yaml\n", "dvc.yaml:1:1: params: must be a list of file paths"),
    ],
)
def test_schema_errors_point_at_file_line_and_key(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_errors_in_subdirectory_file_name_it() -> None:
    message = error_of("stages:\n  a:\n    cmd: x\n    outs: [../../x]\n", dvcfile="sub/dvc.yaml")
    assert message.startswith("sub/dvc.yaml:4:12: stages.a.outs[0]: output '../../x'")


def test_template_errors_point_at_the_value() -> None:
    message = error_of(
        "stages:\n  a:\n    cmd: x\n    deps:\n      - ok\n      - ${missing}/y\n",
        **{"params.yaml": "lr: 1\n"},
    )
    assert message == "dvc.yaml:6:9: stages.a.deps[1]: could not find 'missing'"
    message = error_of("vars:\n  - nothere.yaml\nstages: {}\n")
    assert message == "dvc.yaml:2:5: vars[0]: vars file 'nothere.yaml' does not exist"


def test_errors_in_generated_stages_point_into_do() -> None:
    text = (
        "stages:\n  g:\n    foreach: [a, b]\n    do:\n      cmd: x ${item}\n"
        "      outs:\n        - o-${item}: {cache: 1}\n"
    )
    assert error_of(text) == (
        "dvc.yaml:7:23: stages.g@a.outs[0].o-a.cache: 'cache' must be true or false, got int"
    )
    text = "stages:\n  g:\n    foreach: [a]\n    do:\n      cmd: ${nope}\n"
    assert error_of(text) == "dvc.yaml:5:7: stages.g@a.cmd: could not find 'nope'"
    text = "stages:\n  g:\n    foreach: [a]\n    cmd: x\n"
    assert error_of(text).startswith(
        "dvc.yaml:4:5: stages.g.cmd: unknown key 'cmd' next to 'foreach'"
    )
    assert "needs a 'do'" in error_of("stages:\n  g:\n    foreach: [a]\n")
    text = "stages:\n  m:\n    matrix:\n      a: [1]\n      b: x\n    cmd: ${item.a}\n"
    assert error_of(text) == "dvc.yaml:5:7: stages.m.matrix.b: must be a list, not str"
    text = "stages:\n  m:\n    matrix:\n      a: [1]\n    cmd: x\n    bogus: 1\n"
    assert error_of(text).startswith("dvc.yaml:6:5: stages.m@1.bogus: unknown key 'bogus'")


def test_params_file_errors_in_vars_propagate() -> None:
    with pytest.raises(ParamsError, match="params file 'v.yaml'"):
        parse("vars: [v.yaml]\nstages: {}\n", **{"v.yaml": "a: [\n"})


# --- files on disk -------------------------------------------------------------------------


def test_workspace_reader(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_bytes(b"hi")
    read = workspace_reader(tmp_path)
    assert read("d/f.txt") == b"hi"
    assert read("d/missing") is None
    assert read("d") is None
    assert read("d/f.txt/x") is None


def test_find_dvcfiles_order_and_skips(tmp_path: Path) -> None:
    layout = {
        "dvc.yaml": "",
        "b/dvc.yaml": "",
        "a/dvc.yaml": "",
        "a/deep/er/dvc.yaml": "",
        "a/other.yaml": "",
        ".git/dvc.yaml": "",
        ".dvc/dvc.yaml": "",
        "subrepo/.dvc/config": "",
        "subrepo/dvc.yaml": "",
        "subrepo/inner/dvc.yaml": "",
        "notdir/dvc.yaml/x": "",
    }
    for name, content in layout.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert find_dvcfiles(tmp_path) == ["dvc.yaml", "a/deep/er/dvc.yaml", "a/dvc.yaml", "b/dvc.yaml"]


def test_find_dvcfiles_is_cheap_in_big_data_folders(tmp_path: Path) -> None:
    # tmpfs when available: creating 20,000 files on a journaling disk takes seconds.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm or tmp_path) as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        for i in range(20_000):
            os.close(os.open(data / f"f{i}", os.O_CREAT | os.O_WRONLY))
        (root / "dvc.yaml").write_text("")
        start = time.perf_counter()
        assert find_dvcfiles(root) == ["dvc.yaml"]
        assert time.perf_counter() - start < 0.5


def test_load_pipelines_from_workspace(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo ${x}\n")
    (tmp_path / "params.yaml").write_text("x: root\n")
    (tmp_path / "sub" / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo ${x}\n")
    (tmp_path / "sub" / "params.yaml").write_text("x: sub\n")
    read = workspace_reader(tmp_path)
    pipes = load_pipelines(read, find_dvcfiles(tmp_path))
    stages: list[Any] = [s for p in pipes for s in p.stages.values()]
    assert [(s.addressing, s.cmd, s.wdir) for s in stages] == [
        ("a", "echo root", ""),
        ("sub/dvc.yaml:a", "echo sub", "sub"),
    ]


def test_workspace_reader_stays_inside_the_work_tree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    from xpt.pipeline.parse import workspace_reader

    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("inside")
    (tmp_path / "secret.txt").write_text("outside")
    obj = tmp_path / "cache" / "files" / "md5" / "ab"
    obj.mkdir(parents=True)
    (obj / ("c" * 30)).write_text("cached object")
    os.symlink(root / "sub" / "a.txt", root / "link-in.txt")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "dir-out")
    os.symlink(obj / ("c" * 30), root / "output.txt")  # cache.type = symlink
    read = workspace_reader(root)
    assert read("sub/a.txt") == b"inside"
    assert read("link-in.txt") == b"inside"
    assert read("output.txt") == b"cached object"
    for escape in (
        "link-out.txt",
        "dir-out/secret.txt",
        "../secret.txt",
        str(tmp_path / "secret.txt"),
    ):
        assert read(escape) is None, escape
    assert read("missing.txt") is None and read("sub") is None
