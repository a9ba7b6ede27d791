"""`xpt plots show/diff/templates/modify` end to end on a dvclive-style project."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TmpRepo
from tests.plots_project import PLOT_IDS, build


@pytest.fixture
def plots_repo(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    build(project, xpt, {"low": 0.2, "high": 0.3})
    return project


def _json(xpt, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads(xpt("plots", *args, "--json").out)  # type: ignore[no-any-return]


def _values(entry: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return entry[0]["content"]["data"]["values"]  # type: ignore[no-any-return]


def test_show_json_has_every_kind_of_plot(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    doc = _json(xpt, "show")
    assert "errors" not in doc
    data = doc["data"]
    assert list(data) == PLOT_IDS
    # x and y across two files: one series per file, DVC's inferred y field
    both = _values(data["loss_and_acc"])
    assert {p["filename::field"] for p in both} == {"loss.tsv::loss", "acc.tsv::acc"}
    assert all(p["rev"] == "workspace" and "dvc_inferred_y_value" in p for p in both)
    assert data["loss_and_acc"][0]["content"]["title"]["text"] == "Loss and accuracy"
    # a stage plot keeps its own x/y; TSV/CSV values stay strings as in DVC
    roc = data["roc.csv"][0]["content"]
    assert roc["encoding"]["x"]["field"] == "fpr"
    # (the workspace holds the last experiment run, lr=0.3)
    assert _values(data["roc.csv"])[1] == {"fpr": "0.25", "tpr": "0.800", "rev": "workspace"}
    # the confusion template, the nested dvclive/dvc.yaml (paths relative to it)
    conf = data["eval/plots/confusion.json"][0]["content"]
    assert (
        '"field": "actual"' in json.dumps(conf)
        and len(_values(data["eval/plots/confusion.json"])) == 9
    )
    nested = _values(data["dvclive/plots/metrics/val_loss.json"])
    assert [p["step"] for p in nested] == list(range(6))
    # images: written next to the page, their url is that file
    (image,) = data["eval/plots/images/misclassified.png"]
    assert image["revisions"] == ["workspace"]
    url = Path(image["url"])
    assert url == plots_repo / "dvc_plots" / "workspace_eval_plots_images_misclassified.png"
    assert url.read_bytes() == (plots_repo / "eval/plots/images/misclassified.png").read_bytes()


def test_diff_experiments_reads_plots_from_the_cache(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    # the experiments' eval/ exists only in the cache (through their dvc.lock)
    shutil.rmtree(plots_repo / "eval")
    shutil.rmtree(plots_repo / "dvclive" / "plots")
    data = _json(xpt, "diff", "low", "high")["data"]
    assert list(data) == PLOT_IDS
    for plot_id in PLOT_IDS:
        if plot_id.endswith(".png"):
            assert [e["revisions"] for e in data[plot_id]] == [["low"], ["high"]]
            assert all(Path(e["url"]).stat().st_size > 0 for e in data[plot_id])
        else:
            assert data[plot_id][0]["revisions"] == ["low", "high"], plot_id
    loss = _values(data["eval/plots/metrics/train/loss.tsv"])
    first = {p["rev"]: p["loss"] for p in loss if p["step"] == "0"}
    assert first == {"low": "1.2000", "high": "1.3000"}
    domain = data["roc.csv"][0]["content"]["encoding"]["color"]["scale"]["domain"]
    assert domain == ["low", "high"]


def test_diff_defaults_and_baseline(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    # the last exp run left the workspace changed: HEAD and the workspace are compared
    data = _json(xpt, "diff")["data"]
    assert data["roc.csv"][0]["revisions"] == ["workspace", "HEAD"]
    data = _json(xpt, "diff", "low", "-e")["data"]
    head = plots_repo.git("rev-parse", "--short=7", "HEAD")
    assert data["roc.csv"][0]["revisions"] == ["low", head]


def test_targets_and_command_line_properties(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    data = _json(xpt, "show", "roc.csv", "--title", "ROC", "--template", "scatter")["data"]
    assert list(data) == ["roc.csv"]
    content = data["roc.csv"][0]["content"]
    assert content["title"]["text"] == "ROC"
    assert content["mark"]["type"] == "point"
    data = _json(xpt, "diff", "low", "--targets", "loss_and_acc", "-y", "loss")["data"]
    assert list(data) == ["loss_and_acc"]
    split = _json(xpt, "show", "eval/plots/confusion.json", "--split")["data"]
    entry = split["eval/plots/confusion.json"][0]
    assert entry["content"]["data"]["values"] == "<DVC_METRIC_DATA>"
    assert entry["anchor_definitions"]["<DVC_METRIC_DATA>"]


def test_errors_are_reported_per_revision(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    with (plots_repo / "dvc.yaml").open("a") as f:
        f.write("- missing.json\n- notes.txt\n")
    (plots_repo / "notes.txt").write_text("hello\n")
    doc = _json(xpt, "show")
    errors = {(e["name"], e["type"]) for e in doc["errors"]}
    assert errors == {("missing.json", "FileNotFoundError"), ("notes.txt", "PlotMetricTypeError")}
    assert "roc.csv" in doc["data"]
    # a hostile dvc.yaml cannot make xpt list or read files out of the repository
    with (plots_repo / "dvc.yaml").open("a") as f:
        f.write("- ../..\n- /etc/hostname\n")
    doc = _json(xpt, "show")
    outside = [e for e in doc["errors"] if e["name"] not in ("missing.json", "notes.txt")]
    assert len(outside) == 2 and all(e["type"] == "FileNotFoundError" for e in outside)
    assert set(doc["data"]) == {*PLOT_IDS, "missing.json", "notes.txt"} | {
        e["name"] for e in outside
    }
    res = xpt("plots", "diff", "no-such-rev", "--json", ok=False)
    assert "no-such-rev" in res.err and "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) <= 2


def test_html_page_is_offline(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("plots", "diff", "low", "high", "-o", "out")
    index = plots_repo / "out" / "index.html"
    assert res.out.strip() == index.as_uri()
    page = index.read_text()
    assert "cdn." not in page and "<script src=" not in page
    assert "vegaEmbed" in page and page.count("vegaEmbed('#") == 6
    assert '<img src="static/low_eval_plots_images_misclassified.png">' in page
    assert (plots_repo / "out" / "static" / "high_eval_plots_images_misclassified.png").exists()


def test_html_template(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (plots_repo / "page.html").write_text(
        "<html><head>{scripts}</head><h1>mine</h1>{plot_divs}</html>"
    )
    xpt("plots", "show", "roc.csv", "--html-template", "page.html")
    page = (plots_repo / "dvc_plots" / "index.html").read_text()
    assert "<h1>mine</h1>" in page and "vegaEmbed('#roc_csv'" in page
    (plots_repo / "bad.html").write_text("<html>{scripts}</html>")
    res = xpt("plots", "show", "--html-template", "bad.html", ok=False)
    assert res.err.startswith("ERROR: HTML template has to contain '{plot_divs}'.")


def test_no_plots(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("plots", "show")
    assert "No plots were loaded" in res.err
    assert not (project / "dvc_plots").exists()
    assert json.loads(xpt("plots", "show", "--json").out) == {}


def test_templates(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    names = xpt("plots", "templates").out.split()
    for name in (
        "simple",
        "linear",
        "scatter",
        "smooth",
        "confusion",
        "confusion_normalized",
        "bar_horizontal",
        "bar_horizontal_sorted",
    ):
        assert name in names
    linear = json.loads(xpt("plots", "templates", "linear").out)
    assert linear["$schema"].startswith("https://vega.github.io/schema/vega-lite")
    res = xpt("plots", "templates", "nope", ok=False)
    assert "Unexpected template: nope." in res.err


def test_modify_keeps_comments_and_moves_outs(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    dvc_yaml = plots_repo / "dvc.yaml"
    dvc_yaml.write_text("# my pipeline\n" + dvc_yaml.read_text())
    res = xpt("plots", "modify", "roc.csv", "--title", "ROC", "-x", "tpr")
    assert res.out.strip() == "Modifying stage 'train' in 'dvc.yaml'"
    text = dvc_yaml.read_text()
    assert text.startswith("# my pipeline\n")
    assert "    - roc.csv:\n        x: tpr\n        y: tpr\n        cache: false\n" in text
    assert "        title: ROC\n" in text
    xpt("plots", "modify", "roc.csv", "--unset", "x", "y", "title")
    assert "    - roc.csv:\n        cache: false\n" in dvc_yaml.read_text()
    res = xpt("plots", "modify", "roc.csv", "--unset", "x", ok=False)
    assert "display properties ['x'] not found in plot 'roc.csv'" in res.err
    xpt("plots", "modify", "dvclive/plots", "--template", "smooth")
    text = dvc_yaml.read_text()
    assert "    - dvclive/plots:\n        template: smooth\n" in text
    assert "    outs:\n    - eval\n    plots:\n" in text
    res = xpt("plots", "modify", "nothere", "--title", "x", ok=False)
    assert "Unable to find DVC file with output 'nothere'" in res.err
    res = xpt("plots", "modify", "roc.csv", "--template", "nope", ok=False)
    assert "Template 'nope' not found." in res.err


def test_diff_json_of_commits_is_replayed_until_something_moves(
    plots_repo: TmpRepo, xpt, capsys
) -> None:  # type: ignore[no-untyped-def]
    from xpt import fastpath

    argv = ["plots", "diff", "--json", "low", "high"]
    time.sleep(0.2)  # refs older than the racy window
    first = xpt(*argv).out
    assert fastpath.replay(argv) == 0
    assert capsys.readouterr().out == first
    # an image the command wrote is gone: the full command runs and writes it again
    image = Path(json.loads(first)["data"]["eval/plots/images/misclassified.png"][0]["url"])
    image.unlink()
    assert fastpath.replay(argv) is None
    assert xpt(*argv).out == first and image.exists()
    # the experiments' refs move: no replay
    xpt("exp", "remove", "high")
    assert fastpath.replay(argv) is None
    assert "high" in xpt(*argv, ok=False).err
    # VS Code's extension asks with -o and --split
    vscode = ["plots", "diff", "low", "-e", "-o", ".dvc/tmp/plots", "--split", "--json"]
    assert fastpath.memo_key(vscode, os.getcwd()) is None  # -e is not a memo flag
    vscode = [
        "plots",
        "diff",
        "low",
        plots_repo.git("rev-parse", "HEAD"),
        "-o",
        "out",
        "--split",
        "--json",
    ]
    time.sleep(0.2)
    first = xpt(*vscode).out
    assert "out/" in first and fastpath.replay(vscode) == 0
    assert capsys.readouterr().out == first
    # anything reading the workspace is never recorded
    time.sleep(0.2)
    xpt("plots", "diff", "--json", "low")
    assert fastpath.replay(["plots", "diff", "--json", "low"]) is None


def test_show_vega(plots_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    spec = json.loads(xpt("plots", "show", "roc.csv", "--show-vega").out)
    assert spec["encoding"]["x"]["field"] == "fpr" and spec["data"]["values"]
    res = xpt("plots", "show", "--show-vega", ok=False)
    assert "please specify a target for `--show-vega`" in res.err
    assert not (plots_repo / "dvc_plots" / "index.html").exists()
