"""Templating: vars context, `${...}` interpolation, cmd flags, foreach/matrix names.

Expected strings were checked against real DVC 3.67.1 (`dvc repro --dry`, `dvc stage list`).
"""

from __future__ import annotations

from typing import Any

import pytest

from xpt.errors import PipelineError
from xpt.pipeline.params import load_params
from xpt.pipeline.parse import load_pipeline
from xpt.pipeline.templating import (
    Context,
    TemplateError,
    TemplateOptions,
    build_context,
    foreach_items,
    interpolate,
    matrix_items,
    render_flags,
    resolve,
)

PARAMS = {
    "flag": True,
    "off": False,
    "lr": 0.001,
    "n": 1,
    "name": "a b",
    "nothing": None,
    "opts": {
        "lr": 0.1,
        "use_gpu": False,
        "on": True,
        "layers": [3, 4],
        "name": "x y",
        "nested": {"a": 1, "b": "q"},
        "nothing": None,
    },
    "lst": [1, 2],
}


def ctx_of(data: dict[str, Any]) -> Context:
    ctx = Context()
    ctx.merge(data, "params.yaml")
    return ctx


def files(mapping: dict[str, str]) -> Any:
    """A FileLoader over in-memory files."""

    def load(path: str) -> dict[str, Any] | None:
        return load_params(mapping[path].encode(), path) if path in mapping else None

    return load


def stages_of(dvc_yaml: str, **extra: str) -> dict[str, Any]:
    repo = {"dvc.yaml": dvc_yaml.encode(), **{k: v.encode() for k, v in extra.items()}}
    return load_pipeline(repo.get).stages


# --- interpolation --------------------------------------------------------------------


def test_embedded_values_render_like_dvc() -> None:
    ctx = ctx_of(PARAMS)
    text = "echo ${flag} ${off} ${lr} ${n} ${name} ${opts.layers[0]} ${opts.layers.1} ${nothing}"
    assert interpolate(text, ctx) == "echo true false 0.001 1 a b 3 4 None"


def test_whole_expression_keeps_type() -> None:
    ctx = ctx_of(PARAMS)
    assert interpolate("${flag}", ctx) is True
    assert interpolate("${lr}", ctx) == 0.001
    assert interpolate("${ n }", ctx) == 1
    assert interpolate("${nothing}", ctx) is None
    assert interpolate("${lst}", ctx, "generator") == [1, 2]


def test_escape_keeps_text_literally() -> None:
    ctx = ctx_of(PARAMS)
    assert interpolate(r"echo \${flag} ${flag}", ctx) == "echo ${flag} true"
    assert interpolate(r"\${flag}", ctx) == "${flag}"


def test_collections_are_rejected_outside_cmd_and_generators() -> None:
    ctx = ctx_of(PARAMS)
    with pytest.raises(TemplateError, match="cannot interpolate data of type 'list'"):
        interpolate("${lst}", ctx)
    with pytest.raises(TemplateError, match="cannot interpolate data of type 'list'"):
        interpolate("echo ${lst}", ctx, "cmd")
    with pytest.raises(TemplateError, match="cannot interpolate data of type 'dict'"):
        interpolate("out/${opts}", ctx)


def test_missing_key_and_bad_expression() -> None:
    ctx = ctx_of(PARAMS)
    with pytest.raises(TemplateError, match="could not find 'opts.nope'"):
        interpolate("x ${opts.nope}", ctx)
    with pytest.raises(TemplateError, match="could not find 'lst.7'"):
        interpolate("${lst.7}", ctx)
    with pytest.raises(TemplateError, match="invalid expression"):
        interpolate("${a..b}", ctx)


def test_dict_in_cmd_renders_as_flags() -> None:
    ctx = ctx_of(PARAMS)
    expected = (
        "python train.py --lr 0.1 --on --layers 3 4 --name 'x y' "
        "--nested.a 1 --nested.b q --nothing None"
    )
    assert interpolate("python train.py ${opts}", ctx, "cmd") == expected
    assert interpolate("${opts.nested}", ctx, "cmd") == "--a 1 --b q"


def test_flag_rendering_details() -> None:
    values = {"l": ["a b", 1.5, True, None], "s": "", "i": 3, "f": 1e-05, "e": {}, "el": []}
    assert render_flags(values) == "--l 'a b' 1.5 True None --s '' --i 3 --f 1e-05"
    with pytest.raises(TemplateError, match="nested iterable in 'l'"):
        render_flags({"l": [[1, 2]]})


def test_flag_rendering_options() -> None:
    opts = TemplateOptions(bool_optional=True, list_append=True)
    assert render_flags({"gpu": False, "on": True, "l": [1, 2]}, opts) == (
        "--no-gpu --on --l 1 --l 2"
    )


def test_resolve_recurses_into_keys_lists_and_cmd_lists() -> None:
    ctx = ctx_of(PARAMS)
    value = {"outs": [{"o-${n}.txt": {"cache": "${off}"}}], "deps": ["${name}"], "n": 5}
    assert resolve(value, ctx) == {
        "outs": [{"o-1.txt": {"cache": False}}],
        "deps": ["a b"],
        "n": 5,
    }
    assert resolve(["echo ${opts.nested}", "echo ${n}"], ctx, "cmd") == [
        "echo --a 1 --b q",
        "echo 1",
    ]
    assert resolve("${n}", ctx, "cmd") == "1"


def test_resolve_error_carries_key_path() -> None:
    ctx = ctx_of(PARAMS)
    with pytest.raises(TemplateError) as info:
        resolve({"outs": ["ok", {"x": {"cache": "${nope}"}}]}, ctx)
    assert info.value.path == ("outs", 1, "x", "cache")


# --- context ----------------------------------------------------------------------------


def test_context_params_yaml_then_vars() -> None:
    load = files(
        {
            "params.yaml": "lr: 0.1\nopts: {a: 1}\n",
            "cfg.yaml": "k1: 1\nk2: {z: 2}\nk3: 3\n",
            "other.json": '{"j": true}',
        }
    )
    items = ["params.yaml", "cfg.yaml:k1,k2", {"opts": {"extra": 2}}, "other.json"]
    ctx = build_context("", items, load)
    assert ctx.data == {
        "lr": 0.1,
        "opts": {"a": 1, "extra": 2},
        "k1": 1,
        "k2": {"z": 2},
        "j": True,
    }


def test_context_in_subdirectory_is_relative_to_the_dvc_yaml() -> None:
    load = files({"sub/params.yaml": "x: 1\n", "sub/v.yaml": "y: 2\n", "params.yaml": "z: 3"})
    assert build_context("sub", ["v.yaml"], load).data == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"lr": 1}], "cannot redefine 'lr' from 'vars[0]' as it already exists in 'params.yaml'"),
        (
            [{"opts": {"a": 5}}],
            "cannot redefine 'opts.a' from 'vars[0]' as it already exists in 'params.yaml'",
        ),
        (["cfg.yaml", "cfg.yaml:k1"], "cannot partially load 'cfg.yaml:k1' as it's already loaded"),
        (["cfg.yaml:k1", "cfg.yaml"], "cannot load 'cfg.yaml' as it's partially loaded already"),
        (
            ["cfg.yaml:k1,k2", "cfg.yaml:k2"],
            "cannot load 'cfg.yaml:k2' as it's partially loaded already",
        ),
        (["cfg.yaml:nope"], "could not find 'nope' in 'cfg.yaml'"),
        (["missing.yaml"], "vars file 'missing.yaml' does not exist"),
        (["${x}"], "interpolation is not allowed in 'vars'"),
        ([3], "vars entries must be file names or mappings, not int"),
        ("cfg.yaml", "'vars' must be a list of file names or mappings"),
    ],
)
def test_context_errors(items: Any, message: str) -> None:
    load = files({"params.yaml": "lr: 0.1\nopts: {a: 1}\n", "cfg.yaml": "k1: 1\nk2: 2\n"})
    with pytest.raises(TemplateError) as info:
        build_context("", items, load)
    assert str(info.value) == message


def test_context_allows_repeated_whole_file_and_disjoint_partials() -> None:
    load = files({"params.yaml": "lr: 0.1\n", "cfg.yaml": "k1: 1\nk2: 2\n"})
    ctx = build_context("", ["params.yaml", "cfg.yaml:k1", "cfg.yaml:k2"], load)
    assert ctx.data == {"lr": 0.1, "k1": 1, "k2": 2}
    ctx = build_context("", ["cfg.yaml", "cfg.yaml"], load)
    assert ctx.data == {"lr": 0.1, "k1": 1, "k2": 2}


def test_context_copy_is_independent() -> None:
    ctx = ctx_of({"a": {"b": 1}})
    child = ctx.copy()
    child.merge({"a": {"c": 2}}, "stage")
    assert ctx.data == {"a": {"b": 1}}
    assert child.data == {"a": {"b": 1, "c": 2}}
    shadow = ctx.with_values({"a": 5})
    assert shadow.data == {"a": 5}
    assert ctx.data == {"a": {"b": 1}}


# --- foreach / matrix names -------------------------------------------------------------


def test_foreach_item_names() -> None:
    names = [s for s, _ in foreach_items([True, 1.5, "a", 3, None])]
    assert names == ["true", "1.5", "a", "3", "None"]
    assert [s for s, _ in foreach_items([{"a": 1}, [1, 2], "x"])] == ["0", "1", "2"]
    assert foreach_items({"k1": {"v": 1}}) == [("k1", {"item": {"v": 1}, "key": "k1"})]
    with pytest.raises(TemplateError, match="must be a list or a mapping"):
        foreach_items("text")


def test_matrix_names_fragments_and_context() -> None:
    items = matrix_items({"model": ["small", "big"], "cfg": [{"a": 1}, [1, 2]], "b": [True]})
    assert [s for s, _ in items] == [
        "small-cfg0-true",
        "small-cfg1-true",
        "big-cfg0-true",
        "big-cfg1-true",
    ]
    assert items[1][1] == {
        "item": {"model": "small", "cfg": [1, 2], "b": True},
        "key": "small-cfg1-true",
    }
    with pytest.raises(TemplateError, match="must be a list"):
        matrix_items({"model": "small"})


def test_foreach_list_map_and_interpolated_in_a_pipeline() -> None:
    stages = stages_of(
        """
stages:
  fe:
    foreach: [true, 1.5, a]
    do:
      cmd: echo ${item}
  fm:
    foreach:
      k1: {v: 1}
      k2: {v: 2}
    do:
      cmd: echo ${key} ${item.v}
      outs:
        - out-${key}.txt
  fp:
    foreach: ${models}
    do:
      cmd: train ${item.name}
  plain:
    cmd: echo plain
""",
        **{"params.yaml": "models:\n- name: small\n- name: big\n"},
    )
    assert list(stages) == ["fe@true", "fe@1.5", "fe@a", "fm@k1", "fm@k2", "fp@0", "fp@1", "plain"]
    assert stages["fe@true"].cmd == "echo true"
    assert stages["fm@k2"].cmd == "echo k2 2"
    assert stages["fm@k2"].outs[0].path == "out-k2.txt"
    assert stages["fp@1"].cmd == "train big"


def test_matrix_in_a_pipeline_matches_dvc() -> None:
    stages = stages_of(
        """
stages:
  mat:
    matrix:
      model: ${models}
      seed: [1, 2]
    cmd: echo ${item.model} ${item.seed} ${key}
    outs:
      - m-${key}.bin
""",
        **{"params.yaml": "models: [small, big]\n"},
    )
    assert list(stages) == ["mat@small-1", "mat@small-2", "mat@big-1", "mat@big-2"]
    assert stages["mat@big-1"].cmd == "echo big 1 big-1"
    assert stages["mat@big-1"].outs[0].path == "m-big-1.bin"


def test_stage_vars_are_local_and_relative_to_wdir() -> None:
    stages = stages_of(
        """
vars:
  - shared: 1
stages:
  a:
    wdir: sub
    vars:
      - local.yaml
      - inline: x
    cmd: echo ${shared} ${from_file} ${inline}
  b:
    cmd: echo ${shared}
""",
        **{"sub/local.yaml": "from_file: 7\n"},
    )
    assert stages["a"].cmd == "echo 1 7 x"
    assert stages["b"].cmd == "echo 1"
    with pytest.raises(PipelineError, match="could not find 'inline'"):
        stages_of("stages:\n  a:\n    vars: [{inline: 1}]\n    cmd: x\n  b:\n    cmd: ${inline}\n")


def test_stage_vars_conflict_with_file_vars() -> None:
    with pytest.raises(PipelineError) as info:
        stages_of("vars:\n  - k: 1\nstages:\n  a:\n    vars: [{k: 2}]\n    cmd: echo ${k}\n")
    assert str(info.value) == (
        "dvc.yaml:5:12: stages.a.vars[0]: cannot redefine 'k' from 'a.vars[0]' "
        "as it already exists in 'vars[0]'"
    )


def test_generated_name_collision_is_an_error() -> None:
    with pytest.raises(PipelineError, match="duplicate stage name 'g@1'"):
        stages_of("stages:\n  g:\n    foreach: [1, '1']\n    do:\n      cmd: echo\n")


def test_pipeline_passes_parsing_options() -> None:
    repo = {
        "dvc.yaml": b"stages:\n  a:\n    cmd: run ${opts}\n",
        "params.yaml": b"opts: {gpu: false, l: [1, 2]}\n",
    }
    default = load_pipeline(repo.get).stages["a"].cmd
    assert default == "run --l 1 2"
    opts = TemplateOptions(bool_optional=True, list_append=True)
    assert load_pipeline(repo.get, options=opts).stages["a"].cmd == "run --no-gpu --l 1 --l 2"
