"""`xpt ui`'s JSON API on real repositories: data as `exp show --json`, live updates,
actions through the CLI's core functions, and bad input (4xx JSON, nothing read)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import ui_project
from tests.helpers import TmpRepo
from tests.ui_project import UiServer

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from xpt.project import Project  # noqa: E402
from xpt.web.server import create_app, load_assets  # noqa: E402


@pytest.fixture
def trained(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """The dvclive-style project, reproduced and committed, with experiments lr2 and lr5."""
    project.gen(ui_project.files())
    xpt("repro")
    project.commit("train pipeline")
    xpt("exp", "run", "-S", "train.lr=0.2", "-n", "lr2")
    xpt("exp", "run", "-S", "train.lr=0.5", "-n", "lr5")
    return project


def client(repo: Path, **kw: Any) -> TestClient:
    return TestClient(create_app(Project(repo), **kw))


@pytest.fixture
def api(trained: TmpRepo) -> Iterator[TestClient]:
    with client(trained) as c:
        yield c


@pytest.fixture
def rw(trained: TmpRepo) -> Iterator[TestClient]:
    with client(trained, allow_actions=True) as c:
        yield c


def names(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Experiment name -> its range, over every baseline."""
    return {e["name"]: e for row in rows for e in row.get("experiments") or []}


def metric(rev: dict[str, Any], key: str) -> Any:
    return rev["data"]["metrics"]["dvclive/metrics.json"]["data"][key]


def test_experiments_are_exp_show_json(api: TestClient, xpt) -> None:  # type: ignore[no-untyped-def]
    res = api.get("/api/experiments")
    assert res.status_code == 200
    body = res.json()
    assert body["rows"] == json.loads(xpt("exp", "show", "--json").out)
    exps = names(body["rows"])
    assert metric(exps["lr5"]["revs"][0], "acc") == 0.941176
    again = api.get(f"/api/experiments?since={body['version']}").json()
    assert again == {"version": body["version"], "unchanged": True}


def test_every_baseline_and_queue_state(trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    old_head = trained.git("rev-parse", "HEAD")
    (trained / "params.yaml").write_text(ui_project.params(lr=0.3))
    trained.commit("new baseline")
    xpt("exp", "run", "-S", "train.lr=0.4", "-n", "on-new")
    xpt("exp", "run", "--queue", "-S", "train.lr=0.6", "-n", "waiting")
    (trained / "train.py").write_text("raise SystemExit(3)\n")
    xpt("exp", "run", "--queue", "-n", "broken")
    xpt("exp", "run", "--run-all", ok=False)  # "waiting" succeeds, "broken" fails
    xpt("exp", "run", "--queue", "-S", "train.lr=0.7", "-n", "later")
    with client(trained) as c:
        rows = c.get("/api/experiments").json()["rows"]
    assert [r["rev"] for r in rows][:2] == ["workspace", trained.git("rev-parse", "HEAD")]
    assert old_head in [r["rev"] for r in rows]  # the old baseline still has lr2 and lr5
    exps = names(rows)
    assert {"lr2", "lr5", "on-new", "broken", "later"} <= set(exps)
    assert exps["later"]["executor"]["state"] == "queued"
    assert exps["broken"]["executor"]["state"] == "failed"
    assert exps["lr2"]["executor"] is None


def test_new_experiment_changes_version(api: TestClient, xpt) -> None:  # type: ignore[no-untyped-def]
    first = api.get("/api/experiments").json()
    xpt("exp", "run", "-S", "train.lr=0.9", "-n", "lr9")
    second = api.get(f"/api/experiments?since={first['version']}").json()
    assert second["version"] != first["version"]
    assert metric(names(second["rows"])["lr9"]["revs"][0], "acc") > 0.96


def test_workspace_edit_is_seen(api: TestClient, trained: TmpRepo) -> None:
    first = api.get("/api/experiments").json()
    (trained / "dvclive" / "metrics.json").write_text('{"step": 7, "acc": 0.5, "loss": 0.5}')
    rows = api.get(f"/api/experiments?since={first['version']}").json()["rows"]
    assert metric(rows[0], "step") == 7


def test_diff_is_exp_diff(api: TestClient, xpt) -> None:  # type: ignore[no-untyped-def]
    res = api.get("/api/diff?a=lr2&b=lr5")
    assert res.status_code == 200
    assert res.json() == json.loads(xpt("exp", "diff", "lr2", "lr5", "--json", "--all").out)
    assert res.json()["params"]["params.yaml"]["train.lr"] == {"old": 0.2, "new": 0.5, "diff": 0.3}


def test_queue_panel_with_log_tail(trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "train.epochs=2", "-n", "short")
    xpt("exp", "run", "--run-all")
    with client(trained) as c:
        panel = c.get("/api/queue").json()
    (entry,) = panel["entries"]
    assert entry["name"] == "short" and entry["state"] == "success"
    assert "step 1: acc" in entry["log_tail"]
    assert panel["workers"] == 0


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/diff", 400),
        ("/api/diff?a=lr2", 400),
        ("/api/diff?a=lr2&b=nope", 404),
        ("/api/diff?a=%00&b=lr2", 404),
        ("/api/experiments?since=../../x", 400),
        ("/api/experiments?since=" + "a" * 100, 400),
        ("/api/nothing", 404),
        ("/static/app.js.map", 404),
    ],
)
def test_malformed_queries_get_json_errors(api: TestClient, path: str, status: int) -> None:
    res = api.get(path)
    assert res.status_code == status
    assert res.headers["content-type"] == "application/json"
    assert res.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/%252e%252e%252fetc%252fpasswd",
        "/..%2f..%2f..%2fetc/passwd",
        "/static//etc/passwd",
        "/static/../server.py",
        "/static/%2e%2e%2fserver.py",
    ],
)
def test_asset_paths_cannot_leave_the_package(api: TestClient, path: str) -> None:
    res = api.get(path)
    assert res.status_code == 404
    assert b"root:" not in res.content and b"starlette" not in res.content


def test_raw_dot_segments_on_a_real_server(trained: TmpRepo) -> None:
    """Paths a browser would normalise, sent verbatim to `xpt ui`."""
    with UiServer(trained) as server:
        host, port = server.url.split("//")[1].rstrip("/").split(":")
        for raw in ("/../../etc/passwd", "/static/../../etc/passwd", "/static/./../x.py"):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(f"GET {raw} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 404"), (raw, answer[:80])
            assert b"root:" not in answer
        assert server.stop()[0] == 0


def test_symlinked_asset_is_not_served(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("root:x:0:0")
    static = tmp_path / "static"
    static.mkdir()
    (static / "ok.js").write_text("1")
    os.symlink(tmp_path / "secret.txt", static / "leak.js")
    os.symlink("/etc/passwd", static / "passwd.css")
    assert set(load_assets(static)) == {"ok.js"}


def test_read_only_refuses_every_action(api: TestClient, trained: TmpRepo) -> None:
    before = trained.git("for-each-ref")
    for action in ("queue", "queue-start", "queue-stop", "apply", "branch", "remove"):
        res = api.post(f"/api/actions/{action}", json={"experiment": "lr2"})
        assert res.status_code == 403
        assert "read-only" in res.json()["error"] and "--allow-actions" in res.json()["error"]
    assert trained.git("for-each-ref") == before
    assert not (trained / ".dvc" / "tmp" / "xpt" / "queue.db").exists()


def test_actions_go_through_core_functions(rw: TestClient, trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = rw.post("/api/actions/queue", json={"params": ["train.lr=0.8"], "name": "from-ui"})
    assert res.status_code == 200 and res.json()["queued"] == ["from-ui"]
    rows = rw.get("/api/experiments").json()["rows"]
    queued = names(rows)["from-ui"]
    assert queued["executor"]["state"] == "queued"
    assert queued["revs"][0]["data"]["params"]["params.yaml"]["data"]["train"]["lr"] == 0.8
    assert "# training settings" in trained.git("show", f"{queued['revs'][0]['rev']}:params.yaml")

    res = rw.post("/api/actions/branch", json={"experiment": "lr5", "branch": "best"})
    assert res.json()["branch"] == "best"
    assert trained.git("rev-parse", "best") == res.json()["sha"]

    res = rw.post("/api/actions/apply", json={"experiment": "lr2"})
    assert res.status_code == 200 and res.json()["applied"] == "lr2"
    assert "lr: 0.2" in (trained / "params.yaml").read_text()

    res = rw.post("/api/actions/remove", json={"experiments": ["lr5", "from-ui"]})
    assert sorted(res.json()["removed"]) == ["from-ui", "lr5"]
    assert set(names(rw.get("/api/experiments").json()["rows"])) == {"lr2"}

    rw.post("/api/actions/queue", json={"params": ["train.epochs=1"], "name": "q1"})
    assert rw.post("/api/actions/queue-start", json={"jobs": 1}).json()["pid"] > 0
    deadline = time.time() + 60
    while time.time() < deadline:
        exps = names(rw.get("/api/experiments").json()["rows"])
        if "q1" in exps and exps["q1"]["executor"] is None:
            break
        time.sleep(0.2)
    assert exps["q1"]["executor"] is None and metric(exps["q1"]["revs"][0], "step") == 0
    assert rw.post("/api/actions/queue-stop", json={}).json()["ok"] is True


@pytest.mark.parametrize(
    "action,body,status,word",
    [
        ("apply", {"experiment": "nope"}, 404, "nope"),
        ("apply", {}, 400, "experiment"),
        ("branch", {"experiment": "lr2", "branch": "bad..name"}, 400, ""),
        ("remove", {"experiments": []}, 400, "experiments"),
        ("remove", {"experiments": "lr2"}, 400, "experiments"),
        ("remove", {"experiments": ["ghost"]}, 404, "ghost"),
        ("queue", {"params": ["train.nope=1"]}, 400, "nope"),
        ("queue", {"params": "train.lr=1"}, 400, "params"),
        ("queue-start", {"jobs": 0}, 400, "jobs"),
        ("queue-start", {"jobs": "2"}, 400, "jobs"),
        ("queue-stop", {"kill": "yes"}, 400, "kill"),
        ("launch", {}, 404, "launch"),
    ],
)
def test_bad_action_bodies(rw: TestClient, action: str, body: Any, status: int, word: str) -> None:
    res = rw.post(f"/api/actions/{action}", json=body)
    assert res.status_code == status, res.text
    assert word in res.json()["error"]


def test_action_requests_must_be_same_origin_json(rw: TestClient, trained: TmpRepo) -> None:
    before = trained.git("for-each-ref")
    res = rw.post("/api/actions/remove", content=b'{"experiments": ["lr2"]}')
    assert res.status_code == 415
    res = rw.post(
        "/api/actions/remove",
        content=b'{"experiments": ["lr2"]}',
        headers={"content-type": "text/plain"},
    )
    assert res.status_code == 415
    res = rw.post(
        "/api/actions/remove",
        json={"experiments": ["lr2"]},
        headers={"origin": "http://evil.example"},
    )
    assert res.status_code == 403
    res = rw.post(
        "/api/actions/remove", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert res.status_code == 400
    assert trained.git("for-each-ref") == before


def test_other_host_names_are_refused(trained: TmpRepo) -> None:
    """A page on another site resolving its name to 127.0.0.1 (DNS rebinding) reads nothing."""
    with client(trained, allowed_hosts={"127.0.0.1:8765"}) as c:
        assert c.get("/api/experiments", headers={"host": "127.0.0.1:8765"}).status_code == 200
        res = c.get("/api/experiments", headers={"host": "evil.example:8765"})
        assert res.status_code == 403 and "rows" not in res.json()


def test_repository_changing_underneath(api: TestClient, trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    assert set(names(api.get("/api/experiments").json()["rows"])) == {"lr2", "lr5"}
    (trained / "params.yaml").write_text(ui_project.params(lr=0.3))
    trained.commit("new baseline")
    xpt("exp", "gc", "--workspace", "--force")  # lr2 and lr5 were on the old baseline
    trained.git("gc", "--prune=now", "--quiet")
    res = api.get("/api/experiments")
    assert res.status_code == 200
    assert names(res.json()["rows"]) == {}
    assert api.get("/api/diff?a=lr2&b=lr5").status_code == 404
    xpt("exp", "run", "-S", "train.lr=0.3", "-n", "after-gc")
    assert set(names(api.get("/api/experiments").json()["rows"])) == {"after-gc"}
    (trained / "dvc.yaml").write_text("stages: [this is: not valid")
    res = api.get("/api/experiments")
    assert res.status_code == 200 and res.json()["rows"][0]["error"]
    os.rename(trained / ".git" / "HEAD", trained / "HEAD.bak")  # not a git repo for a moment
    res = api.get("/api/experiments")
    assert res.status_code in (200, 400, 503) and res.json()
    os.rename(trained / "HEAD.bak", trained / ".git" / "HEAD")
    assert api.get("/api/experiments").status_code == 200


def test_running_experiment_metrics_move(trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "train.delay=0.4", "-S", "train.epochs=12", "-n", "slow")
    xpt("queue", "start")
    steps: list[int] = []
    patches = 0
    slow: dict[str, Any] | None = None
    with client(trained) as c:
        deadline = time.time() + 60
        version = None
        while (
            time.time() < deadline and len(set(steps[steps.index(0) :] if 0 in steps else ())) < 3
        ):
            body = c.get("/api/experiments" + (f"?since={version}" if version else "")).json()
            version = body["version"]
            if "live" in body:  # only the running entries' data: patch the last full answer
                patches += 1
                assert slow is not None
                rev = slow["revs"][0]
                assert set(body["live"]) == {rev["rev"]}
                rev["data"] = body["live"][rev["rev"]]
            elif "rows" in body:
                slow = names(body["rows"]).get("slow")
            if slow and (slow["executor"] or {}).get("state") == "running":
                data = slow["revs"][0]["data"]
                if data["meta"].get("live") and data["metrics"]:
                    steps.append(metric(slow["revs"][0], "step"))
            time.sleep(0.2)
    xpt("queue", "stop", "--kill")
    live = steps[steps.index(0) :]  # before its first step the workspace holds the snapshot's file
    assert len(set(live)) >= 3 and live == sorted(live)
    assert patches >= 2


def test_ui_command_starts_and_stops(trained: TmpRepo) -> None:
    with UiServer(trained) as server:
        assert server.url.startswith("http://127.0.0.1:")
        code, out, err = server.stop()
    assert code == 0 and "stopped" in out and "Traceback" not in err


def test_ui_command_port_in_use(trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = xpt("ui", "--no-open", "--port", str(port), ok=False)
    assert res.err.startswith(f"ERROR: cannot listen on 127.0.0.1:{port}")
    assert "--port" in res.err and "Traceback" not in res.err
    assert "invalid port" in xpt("ui", "--port", "70000", ok=False).err


def test_ui_command_warns_off_loopback(trained: TmpRepo) -> None:
    with UiServer(trained, "--host", "0.0.0.0") as server:
        code, _out, err = server.stop()
    assert code == 0
    assert "WARNING" in err and "no authentication" in err


def test_plots_are_plots_diff_json(api: TestClient, trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    rows = api.get("/api/experiments").json()["rows"]
    lr2 = names(rows)["lr2"]["revs"][0]["rev"]
    res = api.get(f"/api/plots?rev={lr2}&rev=lr5")
    assert res.status_code == 200
    doc = res.json()
    assert doc["revisions"] == ["lr2", "lr5"]  # names, as `plots diff lr2 lr5` labels them
    expected = json.loads(xpt("plots", "diff", "lr2", "lr5", "--json").out)
    assert doc["data"] == expected["data"]
    (plot,) = doc["data"]["dvclive/plots/metrics/acc.tsv"]
    assert {p["rev"] for p in plot["content"]["data"]["values"]} == {"lr2", "lr5"}


@pytest.mark.parametrize(
    "query,status",
    [
        ("", 400),
        ("?rev=nope", 404),
        ("?rev=lr2&rev=..%2F..%2Fetc", 404),
        ("?" + "&".join(["rev=lr2"] * 21), 400),
    ],
)
def test_plots_bad_queries(api: TestClient, query: str, status: int) -> None:
    res = api.get(f"/api/plots{query}")
    assert res.status_code == status and res.json()["error"]


def test_plot_paths_leaving_the_repo_read_nothing(trained: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    secret = trained.parent / "secret.csv"
    secret.write_text("x,y\nroot:0,1\n")
    (trained / "leak.csv").symlink_to(secret)
    with open(trained / "dvc.yaml", "a") as f:
        f.write("plots:\n- ../secret.csv\n- leak.csv\n- /etc/passwd\n")
    trained.commit("plots pointing outside")
    xpt("exp", "run", "-n", "outside")
    with client(trained) as c:
        for rev in ("workspace", "outside"):
            res = c.get(f"/api/plots?rev={rev}")
            assert res.status_code == 200
            assert b"root:" not in res.content
            assert res.json()["data"]["dvclive/plots/metrics/acc.tsv"]
