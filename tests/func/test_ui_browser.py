"""`xpt ui` in a real headless Chromium (Debian's, through Playwright) against `xpt ui`
running as a subprocess on a real repository."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import ui_project
from tests.helpers import TmpRepo
from tests.ui_project import UiServer

pytest.importorskip("playwright")
pytest_plugins = ["tests.browser"]

ACC = "metrics:dvclive/metrics.json:acc"
STEP = "metrics:dvclive/metrics.json:step"


@pytest.fixture
def page(browser_page):  # type: ignore[no-untyped-def]
    """A page that may reach `xpt ui` servers on loopback only; errors on it fail the test."""
    tab = browser_page(allow=("http://127.0.0.1:",))
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    assert not errors, f"errors on the page: {errors}"
    assert not tab.blocked, f"the page tried to reach {tab.blocked}"


@pytest.fixture
def trained(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    project.gen(ui_project.files())
    xpt("repro")
    project.commit("train pipeline")
    for lr in ("0.2", "0.5", "0.05"):
        xpt("exp", "run", "-S", f"train.lr={lr}", "-n", f"lr-{lr}")
    return project


@pytest.fixture
def server(trained: TmpRepo) -> Iterator[UiServer]:
    with UiServer(trained) as srv:
        yield srv
        assert srv.stop()[0] == 0


def row(page: Any, name: str) -> Any:
    return page.locator("#exp-table tbody tr", has=page.locator("td.name", has_text=name))


def cell(page: Any, name: str, key: str) -> str:
    return str(row(page, name).locator(f'td[data-col="{key}"]').inner_text())


def fmt(value: float) -> str:
    """The page's number format: 5 significant digits."""
    return f"{float(f'{value:.5g}'):g}" if value != int(value) else str(int(value))


def test_table_shows_every_experiment_with_metrics(
    page: Any,
    server: UiServer,
    xpt,  # type: ignore[no-untyped-def]
) -> None:
    page.goto(server.url)
    page.wait_for_selector("#exp-table tbody tr")
    rows = json.loads(xpt("exp", "show", "--json").out)
    exps = rows[1]["experiments"]
    assert page.locator("#exp-table tbody tr").count() == 2 + len(exps)
    for exp in exps:
        data = exp["revs"][0]["data"]["metrics"]["dvclive/metrics.json"]["data"]
        assert cell(page, exp["name"], ACC) == fmt(data["acc"])
        assert row(page, exp["name"]).locator(".state").inner_text() == "success"
    assert page.locator("#mode").inner_text() == "read-only"

    # sort by acc, descending: lr-0.5 first
    page.click(f'th[data-sort="{ACC}"]')
    page.click(f'th[data-sort="{ACC}"]')
    first = page.locator("#exp-table tbody tr td.name").first.inner_text()
    assert first.startswith("lr-0.5")
    # threshold filter: acc > 0.85 keeps lr-0.5 (0.94) and lr-0.2 (0.875)
    page.select_option("#thr-col", ACC)
    page.select_option("#thr-op", ">")
    page.fill("#thr-val", "0.85")
    page.click("#thr-add")
    shown = page.locator("#exp-table tbody td.name").all_inner_texts()
    assert sorted(s.split()[0] for s in shown) == ["lr-0.2", "lr-0.5"]
    page.click("#thr-list .chip")
    page.fill("#filter-text", "lr-0.05")
    assert [s.split()[0] for s in page.locator("#exp-table tbody td.name").all_inner_texts()] == [
        "lr-0.05"
    ]
    page.fill("#filter-text", "")
    # the column chooser hides a column
    page.click("#columns-btn")
    page.uncheck(f'#columns input[data-key="{ACC}"]')
    assert page.locator(f'th[data-sort="{ACC}"]').count() == 0
    page.check(f'#columns input[data-key="{ACC}"]')
    assert page.locator(f'th[data-sort="{ACC}"]').count() == 1


def test_compare_two_experiments(page: Any, server: UiServer) -> None:
    page.goto(server.url)
    page.wait_for_selector("#exp-table tbody tr")
    row(page, "lr-0.2").locator("input.sel").check()
    row(page, "lr-0.5").locator("input.sel").check()
    assert page.locator("#selcount").inner_text() == "(2)"
    page.click('button[data-tab="compare"]')
    diff = page.locator("#diff-table")
    diff.wait_for()
    lr_row = diff.locator("tbody tr", has=page.locator("td", has_text="train.lr"))
    assert lr_row.locator("td").all_inner_texts()[3:] == ["0.2", "0.5"]
    acc_row = diff.locator(f'tbody tr[data-key="{ACC}"]')
    assert acc_row.locator("td").nth(4).inner_text() == "0.94118 (+0.066176)"  # from /api/diff
    assert page.locator("#parcoords-svg path.pc").count() == 2
    axes = page.locator("#parcoords-svg g.axis text[font-weight]").all_text_contents()
    assert axes == ["train.lr", "acc", "loss"]  # the columns that differ
    # the acc.tsv plot (plots diff's rendering), one line per experiment, drawn by Vega
    plot = page.locator('#plots .plot[data-plot="dvclive/plots/metrics/acc.tsv"]')
    plot.locator("svg.marks").wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('#plots svg.marks .mark-line path').length >= 2"
    )
    legend = plot.locator("svg.marks .role-legend-label text").all_text_contents()
    assert sorted(legend) == ["lr-0.2", "lr-0.5"]


def test_running_experiment_updates_without_reload(
    page: Any,
    trained: TmpRepo,
    xpt,  # type: ignore[no-untyped-def]
) -> None:
    xpt("exp", "run", "--queue", "-S", "train.delay=0.5", "-S", "train.epochs=40", "-n", "live")
    with UiServer(trained) as server:
        page.goto(server.url)
        page.wait_for_selector("#exp-table tbody tr")
        page.evaluate("window.__marker = 'same page'")
        assert row(page, "live").locator(".state").inner_text() == "queued"
        xpt("queue", "start")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#exp-table td.name')].some(td =>"
            " td.textContent.startsWith('live') && td.closest('tr').querySelector('.state-running'))",
            timeout=30000,
        )
        seen = set()
        deadline = time.time() + 30
        while time.time() < deadline and len(seen) < 3:
            text = cell(page, "live", STEP)
            if text != "-":
                seen.add(int(text))
            time.sleep(0.2)
        assert len(seen) >= 3, seen
        assert page.evaluate("window.__marker") == "same page"
        page.click('button[data-tab="queue"]')
        entry = page.locator('.q-entry[data-state="running"]')
        entry.wait_for()
        page.wait_for_function(
            "() => document.querySelector('.q-entry pre').textContent.includes('step 3:')"
        )
        xpt("queue", "stop", "--kill")
        assert server.stop()[0] == 0


def test_read_only_page_refuses_actions(page: Any, server: UiServer, trained: TmpRepo) -> None:
    before = trained.git("for-each-ref")
    params = (trained / "params.yaml").read_text()
    page.goto(server.url)
    page.wait_for_selector("#exp-table tbody tr")
    row(page, "lr-0.2").locator("input.sel").check()
    page.click("#act-apply")
    toast = page.locator("#toast")
    toast.wait_for()
    assert "read-only" in toast.inner_text() and "--allow-actions" in toast.inner_text()
    page.on("dialog", lambda d: d.accept())
    page.click("#act-remove")
    page.wait_for_function("() => document.querySelector('#toast').textContent.includes('read')")
    page.click('button[data-tab="queue"]')
    page.click("#q-start")
    page.wait_for_function("() => document.querySelector('#toast').textContent.includes('read')")
    assert trained.git("for-each-ref") == before
    assert (trained / "params.yaml").read_text() == params
    assert not (trained / ".dvc" / "tmp" / "xpt" / "queue.db").exists()


def test_actions_page_queues_edited_params(
    page: Any,
    trained: TmpRepo,
    xpt,  # type: ignore[no-untyped-def]
) -> None:
    with UiServer(trained, "--allow-actions") as server:
        page.goto(server.url)
        page.wait_for_selector("#exp-table tbody tr")
        assert page.locator("#mode").inner_text() == "actions allowed"
        row(page, "lr-0.5").locator("input.sel").check()
        page.click('button[data-tab="queue"]')
        page.click("#q-new summary")
        field = page.locator('#q-params input[data-key="params:params.yaml:train.epochs"]')
        field.fill("5")
        page.fill("#q-name", "edited")
        page.click("#q-submit")
        page.wait_for_function(
            "() => document.querySelector('#toast').textContent.includes('queued edited')"
        )
        page.wait_for_selector('.q-entry[data-state="queued"]')
        assert server.stop()[0] == 0
    status = json.loads(xpt("queue", "status", "--json").out)
    assert [r["name"] for r in status] == ["edited"]
    rows = json.loads(xpt("exp", "show", "--json").out)
    queued = next(e for e in rows[1]["experiments"] if e["name"] == "edited")
    assert queued["revs"][0]["data"]["params"]["params.yaml"]["data"]["train"] == {
        "lr": 0.5,  # from the selected experiment
        "epochs": 5,  # edited
        "delay": 0,
    }
