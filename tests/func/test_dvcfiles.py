"""Data tracked by `.dvc` files inside every command that reads a pipeline: status,
checkout, commit, repro, dag, push/pull/fetch, gc, exp run/show/apply, the queue."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.func.test_exp_run import exp_refs, show_at
from tests.helpers import TmpRepo
from xpt import fastpath

UP_TO_DATE = "Data and pipelines are up to date.\n"
PREPARE = "import sys\ndata = open('data/data.xml').read()\nopen('prepared.txt', 'w').write(data.upper() * int(sys.argv[1]))\n"
DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py ${reps}
    deps: [prepare.py, data/data.xml]
    outs: [prepared.txt]
"""


@pytest.fixture
def dp(project: TmpRepo, xpt, tmp_path: Path) -> TmpRepo:  # type: ignore[no-untyped-def]
    """`data/data.xml` added with `xpt add`, one stage reading it, a local remote, committed."""
    project.gen(
        {
            "data/data.xml": "<xml>one</xml>\n",
            "prepare.py": PREPARE,
            "params.yaml": "reps: 1\n",
            "dvc.yaml": DVC_YAML.replace("${reps}", "${reps}"),
        }
    )
    xpt("add", "data/data.xml")
    xpt("repro")
    xpt("remote", "add", "-d", "store", str(tmp_path / "remote"))
    project.commit("pipeline with data")
    return project


def _objects(repo: TmpRepo) -> list[str]:
    return sorted(p.name for p in (repo / ".dvc/cache/files/md5").rglob("*") if p.is_file())


def _status(xpt) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(xpt("status", "--json").out)


def test_status_text_and_json_like_dvc(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    assert xpt("status").out.strip() == "Data and pipelines are up to date."
    (dp / "data/data.xml").write_text("<xml>two</xml>\n")
    assert _status(xpt) == {
        "data/data.xml.dvc": [{"changed outs": {"data/data.xml": "modified"}}],
        "prepare": [{"changed deps": {"data/data.xml": "modified"}}],
    }
    text = xpt("status").out
    assert "data/data.xml.dvc:\n\tchanged outs:\n\t\tmodified:           data/data.xml" in text
    (dp / "data/data.xml").unlink()
    assert _status(xpt)["data/data.xml.dvc"] == [{"changed outs": {"data/data.xml": "deleted"}}]
    shutil.rmtree(dp / ".dvc/cache")
    xpt("checkout", ok=False)
    assert _status(xpt)["data/data.xml.dvc"] == [{"changed outs": {"data/data.xml": "deleted"}}]


def _replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | None, str]:
    capsys.readouterr()
    code = fastpath.replay(list(argv))
    return code, capsys.readouterr().out


def _record(xpt) -> None:  # type: ignore[no-untyped-def]
    time.sleep(0.15)  # past the racy window: the verdict may be stored
    assert xpt("status").out == UP_TO_DATE


def test_status_memo_sees_dvc_tracked_data(dp: TmpRepo, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    _record(xpt)
    assert _replay(capsys, "status") == (0, UP_TO_DATE)
    (dp / "data/data.xml").write_text("<xml>TWO</xml>\n")  # same size
    assert _replay(capsys, "status") == (None, "")
    assert "data/data.xml.dvc" in _status(xpt)
    xpt("checkout", "-f")
    _record(xpt)
    (dp / "data/data.xml").unlink()
    assert _replay(capsys, "status") == (None, "")
    assert "deleted:            data/data.xml" in xpt("status").out
    xpt("checkout")
    _record(xpt)
    dvcfile = dp / "data/data.xml.dvc"
    dvcfile.write_text(dvcfile.read_text().replace("size: 15", "size: 16"))
    assert _replay(capsys, "status") == (None, "")  # the .dvc file itself is watched
    _record(xpt)
    dvcfile.unlink()
    assert _replay(capsys, "status") == (None, "")
    assert xpt("status").out == UP_TO_DATE or "prepare" in xpt("status").out


def test_checkout_restores_and_commit_records(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (dp / "data/data.xml").unlink()
    xpt("checkout", "data/data.xml.dvc")
    assert (dp / "data/data.xml").read_text() == "<xml>one</xml>\n"
    (dp / "data/data.xml").write_text("<xml>committed</xml>\n")
    xpt("commit", "data/data.xml.dvc")
    text = (dp / "data/data.xml.dvc").read_text()
    assert "size: 21" in text and "path: data.xml" in text
    assert list(_status(xpt)) == ["prepare"]


def test_repro_verifies_data_source_never_runs_it(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("repro")
    assert "'data/data.xml.dvc' didn't change, skipping" in res.out
    (dp / "data/data.xml").write_text("<xml>new</xml>\n")
    res = xpt("repro")
    assert "Verifying data sources in stage: 'data/data.xml.dvc'" in res.out
    assert "Running stage 'prepare'" in res.out
    assert (dp / "prepared.txt").read_text() == "<XML>NEW</XML>\n"
    assert "size: 15" in (dp / "data/data.xml.dvc").read_text()
    assert _status(xpt) == {}
    (dp / "data/data.xml").unlink()
    res = xpt("repro", ok=False)
    assert (
        "failed to reproduce 'data/data.xml.dvc': missing data 'source': data/data.xml" in res.err
    )


def test_dag_lists_the_data_source(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    out = xpt("dag", "--dot").out
    assert '"data/data.xml.dvc" -> "prepare"' in out


def test_push_pull_fetch_with_dvc_targets(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("push", "data/data.xml.dvc")
    remote = Path(dp).parent / "remote"
    assert len(list((remote / "files/md5").rglob("*"))) == 2  # one folder, one object
    xpt("push")
    shutil.rmtree(dp / ".dvc/cache")
    (dp / "data/data.xml").unlink()
    (dp / "prepared.txt").unlink()
    xpt("fetch", "data/data.xml")
    xpt("checkout", "data/data.xml")
    assert (dp / "data/data.xml").read_text() == "<xml>one</xml>\n"
    (dp / "data/data.xml").unlink()
    res = xpt("pull")
    assert "data/data.xml" in res.out
    assert (dp / "data/data.xml").read_text() == "<xml>one</xml>\n"
    assert _status(xpt) == {}


def test_gc_keeps_dvc_tracked_objects(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    old = (dp / "data/data.xml.dvc").read_text()
    (dp / "data/data.xml").write_text("<xml>v2</xml>\n")
    xpt("add", "data/data.xml")
    dp.commit("v2")
    before = _objects(dp)
    xpt("gc", "-w", "-f")
    after = _objects(dp)
    assert len(after) == len(before) - 1  # v1 of data.xml went; v2 and prepared.txt stay
    assert (dp / "data/data.xml.dvc").read_text() != old


def test_gc_all_commits_keeps_old_data(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (dp / "data/data.xml").write_text("<xml>v2</xml>\n")
    xpt("add", "data/data.xml")
    dp.commit("v2")
    before = _objects(dp)
    xpt("gc", "-A", "-f")
    assert _objects(dp) == before
    dp.git("checkout", "-q", "HEAD~1", "--", "data/data.xml.dvc")
    xpt("checkout", "data/data.xml.dvc")
    assert (dp / "data/data.xml").read_text() == "<xml>one</xml>\n"


def test_gc_reads_dvc_files_of_each_revision(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    content = b"only in some commits\n"
    md5 = hashlib.md5(content).hexdigest()
    obj = dp / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    dp.gen({"extra/more.bin": content})
    xpt("add", "extra/more.bin")
    dp.commit("more data")
    dp.git("rm", "-q", "extra/more.bin.dvc")
    dp.commit("stop tracking more.bin")
    xpt("gc", "-A", "-f")  # an older commit still has the .dvc file: kept
    assert obj.exists()
    xpt("gc", "-a", "-f")  # the branch tip no longer has it: gone
    assert not obj.exists()
    assert len(_objects(dp)) == 2  # data.xml and prepared.txt stay


def test_exp_show_marks_data_sources(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    shown = json.loads(xpt("exp", "show", "--json").out)
    data = shown[0]["data"]
    recorded = (dp / "data/data.xml.dvc").read_text().split("md5: ")[1].split("\n")[0]
    assert data["outs"]["data/data.xml"] == {
        "hash": recorded,
        "size": 15,
        "nfiles": None,
        "use_cache": True,
        "is_data_source": True,
    }
    assert data["outs"]["prepared.txt"]["is_data_source"] is False
    assert data["deps"]["data/data.xml"]["size"] == 15


def test_queue_and_temp_runs_see_the_data(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "reps=2", "-n", "q2")
    xpt("exp", "run", "--queue", "-S", "reps=3", "-n", "q3")
    xpt("exp", "run", "--run-all", "-j", "2")
    refs = {r.rsplit("/", 1)[1]: sha for r, sha in exp_refs(dp).items()}
    assert set(refs) == {"q2", "q3"}
    lock = show_at(dp, refs["q3"], "dvc.lock")
    assert "path: data/data.xml" in lock
    xpt("exp", "run", "--temp", "-S", "reps=4", "-n", "t4")
    xpt("exp", "apply", "q3")
    assert (dp / "prepared.txt").read_text() == "<XML>ONE</XML>\n" * 3
    assert (dp / "data/data.xml").read_text() == "<xml>one</xml>\n"
    assert _status(xpt) == {}


def test_queue_refuses_when_data_is_not_cached(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    shutil.rmtree(dp / ".dvc/cache")
    res = xpt("exp", "run", "--queue", "-S", "reps=2", ok=False)
    assert "'data/data.xml' (tracked by 'data/data.xml.dvc') is not in the cache" in res.err
    assert "xpt pull data/data.xml.dvc" in res.err
    assert json.loads(xpt("queue", "status", "--json").out) == []


def test_worker_fails_the_run_that_meets_missing_data(dp: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "reps=2", "-n", "lost")
    shutil.rmtree(dp / ".dvc/cache/files")
    res = xpt("exp", "run", "--run-all", ok=False)
    assert "lost" in res.err
    log = xpt("queue", "logs", "lost").out
    assert "'data/data.xml' (tracked by 'data/data.xml.dvc') is not in the cache" in log
    assert "xpt pull data/data.xml.dvc" in log


IMPORT_URL_DVC = """md5: {md5}
frozen: true
deps:
- md5: 0bee89b07a248e27c83fc3d5951213c1
  size: 4
  hash: md5
  path: {src}
outs:
- md5: 0bee89b07a248e27c83fc3d5951213c1
  size: 4
  hash: md5
  path: ext.txt
"""


def test_frozen_import_has_only_its_data_checked(dp: TmpRepo, xpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An `import-url` file as DVC writes it: its source is never read, its data is."""
    src = tmp_path / "gone.txt"  # the source no longer exists: not an error, it is frozen
    (dp / "ext.txt").write_text("abc\n")
    (dp / "ext.txt.dvc").write_text(IMPORT_URL_DVC.format(md5="a" * 32, src=src))
    xpt("commit", "ext.txt.dvc")  # caches the data; the file keeps its deps
    recorded = yaml.safe_load((dp / "ext.txt.dvc").read_text())
    assert recorded["deps"][0]["path"] == str(src) and recorded["frozen"] is True
    assert _status(xpt) == {}
    (dp / "ext.txt").write_text("changed\n")
    assert _status(xpt) == {"ext.txt.dvc": [{"changed outs": {"ext.txt": "modified"}}]}
    xpt("checkout", "-f", "ext.txt.dvc")
    assert (dp / "ext.txt").read_text() == "abc\n"
    res = xpt("repro")
    assert "Running stage" not in res.out.replace("Running stage 'prepare'", "")
    dvcfile = dp / "ext.txt.dvc"
    dvcfile.write_text(dvcfile.read_text().replace("frozen: true", "frozen: false"))
    dvcfile.write_text(dvcfile.read_text().replace("frozen: false", "frozen: true"))
    assert _status(xpt) == {}  # DVC's stage md5 leaves `frozen` out
    recorded = yaml.safe_load(dvcfile.read_text())
    dvcfile.write_text(dvcfile.read_text().replace(recorded["md5"], "ab" * 16))
    assert _status(xpt) == {"ext.txt.dvc": ["changed checksum"]}
