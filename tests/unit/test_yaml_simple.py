"""The plain-mapping fast path of `pipeline/yaml12.load`: whatever it reads, it reads exactly
as the libyaml loader (YAML 1.2 typing) does; anything else it leaves to that loader."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xpt.pipeline import yaml12

SETTINGS = settings(max_examples=300, deadline=None)


def _full(text: str) -> Any:
    return yaml.load(text, Loader=yaml12._LOADER)  # noqa: S506 - the safe YAML 1.2 loader


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check(text: str) -> None:
    fast = yaml12._load_simple(text)
    if fast is yaml12._UNSURE:
        return
    assert _same(fast, _full(text)), text
    assert _same(yaml12.load(text), fast)


plain_words = st.sampled_from(
    [
        "0.01", "1e-3", "1e5", "1_000", "0x1F", "0o17", "017", "09", "0b101", "-.5", "+1",
        ".inf", "-.INF", ".nan", "1.", "true", "False", "TRUE", "yes", "no", "null", "Null",
        "NaN", "adam", "data/x.csv", "v1.2.3", "_", "a-b", "1a", "+.", "-x", ".5",
    ]
)  # fmt: skip
tricky_words = st.one_of(
    st.sampled_from(["2020-01-01", "2020-1-1", "1:2", "a#b", "~", "-", "'q'", "[1]", "a b"]),
    st.text(st.sampled_from("aZ09._-+/:#e~"), min_size=1, max_size=6),
)
good_keys = st.sampled_from(["lr", "epochs", "train", "opt", "a-b", "_x", "E1", "No"])
tricky_keys = st.sampled_from(["true", "null", "1", "a.b", "a:b", "-a"])


@st.composite
def documents(draw: st.DrawFn, keys: st.SearchStrategy[str], words: st.SearchStrategy[str]) -> str:
    lines: list[str] = []

    def block(indent: int, depth: int) -> None:
        for key in draw(st.lists(keys, min_size=1, max_size=3, unique=True)):
            pad = " " * draw(st.integers(1, 2))
            if depth < 2 and draw(st.booleans()):
                lines.append(" " * indent + key + ":" + draw(st.sampled_from(["", " "])))
                if draw(st.integers(0, 4)):
                    block(indent + draw(st.integers(1, 3)), depth + 1)
            else:
                lines.append(" " * indent + key + ":" + pad + draw(words))
            if draw(st.integers(0, 5)) == 0:
                lines.append(draw(st.sampled_from(["", "# note", "  # indented note", "   "])))

    block(0, 0)
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@SETTINGS
@given(documents(good_keys, plain_words))
def test_plain_mappings_read_like_libyaml(text: str) -> None:
    assert yaml12._load_simple(text) is not yaml12._UNSURE
    _check(text)


@SETTINGS
@given(documents(st.one_of(good_keys, tricky_keys), st.one_of(plain_words, tricky_words)))
def test_other_mappings_read_like_libyaml_or_are_left_to_it(text: str) -> None:
    _check(text)


@SETTINGS
@given(st.text(st.sampled_from("ab1 :\n#-.'[]{}\t~"), max_size=40))
def test_any_text_reads_like_libyaml_or_is_left_to_it(text: str) -> None:
    _check(text)


def test_common_params_files_take_the_fast_path() -> None:
    text = "lr: 0.011\nepochs: 12\ntrain:\n  opt: adam\n  batch: 32\n# tuned\nflag: true\n"
    fast = yaml12._load_simple(text)
    assert fast == {
        "lr": 0.011,
        "epochs": 12,
        "train": {"opt": "adam", "batch": 32},
        "flag": True,
    }
    for other in ("a: [1, 2]\n", "a: 'x'\n", "a: 1 # c\n", "a:\n- 1\n", "---\na: 1\n", ""):
        assert yaml12._load_simple(other) is yaml12._UNSURE
