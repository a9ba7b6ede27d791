"""Reading DVC's celery queue: stash reflog messages, kombu broker messages, Git.reflog."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.helpers import TmpRepo
from xpt.experiments.dvc_queue import (
    CELERY_STASH,
    RUN_EXP_TASK,
    DvcQueued,
    broker_inbox,
    dvc_queued,
    message_stash_rev,
    parse_reflog_message,
    pending_stash_revs,
)
from xpt.scm.git import Git

HEAD = "4940fac390b6570bf5b8479e2fb0b487e34bb4ac"
BASE = "8ba078bc037dff28869acb8e9ce5349701c256d2"


def kombu_message(stash_rev: str, task: str = RUN_EXP_TASK, name: str = "dq") -> str:
    """A broker/in file as DVC 3.67.1 writes it (fields trimmed to what is read)."""
    entry = {"stash_rev": stash_rev, "baseline_rev": BASE, "name": name, "head_rev": HEAD}
    body = json.dumps([[entry], {"copy_paths": [], "message": None}, {"chain": None}])
    return json.dumps(
        {
            "body": base64.b64encode(body.encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {"lang": "py", "task": task, "id": "b9ed07e7"},
            "properties": {"body_encoding": "base64", "delivery_tag": "476cccd3"},
        }
    )


def test_parse_reflog_message() -> None:
    entry = parse_reflog_message("f" * 40, f"commit: dvc-exp:{HEAD}:{BASE}:naked-tach\n")
    assert entry == DvcQueued("f" * 40, HEAD, BASE, "naked-tach", None)
    resumed = parse_reflog_message("f" * 40, f"commit: dvc-exp:{HEAD}:{BASE}:n:refs/exps/x/y/n")
    assert resumed is not None and resumed.branch == "refs/exps/x/y/n"
    assert parse_reflog_message("f" * 40, f"commit: dvc-exp:{HEAD}:{BASE}:") == DvcQueued(
        "f" * 40, HEAD, BASE, None, None
    )
    for foreign in (
        f"commit: dvc-exp-apply:{HEAD}:{BASE}:n",
        f"dvc-exp:{HEAD}:{BASE}:n",  # the commit message, not the reflog's
        "commit: WIP on main",
        f"commit: dvc-exp:{HEAD}:{BASE}:bad*name",
    ):
        assert parse_reflog_message("f" * 40, foreign) is None, foreign


def test_message_stash_rev(tmp_path: Path) -> None:
    good, other, broken = tmp_path / "a.msg", tmp_path / "b.msg", tmp_path / "c.msg"
    good.write_text(kombu_message("a" * 40))
    other.write_text(kombu_message("b" * 40, task="celery.ping"))
    broken.write_text(
        json.dumps(
            {
                "body": "!!!",
                "headers": {"task": RUN_EXP_TASK},
                "properties": {"body_encoding": "base64"},
            }
        )
    )
    assert message_stash_rev(good) == "a" * 40
    assert message_stash_rev(other) is None
    assert message_stash_rev(broken) is None
    assert message_stash_rev(tmp_path / "missing.msg") is None
    plain = tmp_path / "d.msg"
    body = json.dumps([[], {"entry_dict": {"stash_rev": "d" * 40}}, {}])
    plain.write_text(json.dumps({"body": body, "headers": {"task": RUN_EXP_TASK}}))
    assert message_stash_rev(plain) == "d" * 40


def test_pending_stash_revs(tmp_path: Path) -> None:
    inbox = broker_inbox(tmp_path / ".dvc" / "tmp")
    assert pending_stash_revs(inbox) == set()  # no broker at all
    inbox.mkdir(parents=True)
    (inbox / "1_x.celery.msg").write_text(kombu_message("a" * 40))
    (inbox / "2_y.celery.msg").write_text(kombu_message("b" * 40))
    (inbox / "3_z.celery.msg.tmp").write_text(kombu_message("c" * 40))
    assert pending_stash_revs(inbox) == {"a" * 40, "b" * 40}


def test_git_reflog_newest_first(tmp_repo: TmpRepo) -> None:
    git = Git(tmp_repo)
    assert git.reflog(CELERY_STASH) == []
    tmp_repo.git("commit", "-q", "--allow-empty", "-m", "one")
    first = tmp_repo.git("rev-parse", "HEAD")
    tmp_repo.git("commit", "-q", "--allow-empty", "-m", "two")
    second = tmp_repo.git("rev-parse", "HEAD")
    tmp_repo.git("update-ref", "--create-reflog", "-m", "commit: a", CELERY_STASH, first)
    tmp_repo.git("update-ref", "--create-reflog", "-m", "commit: b", CELERY_STASH, second)
    assert git.reflog(CELERY_STASH) == [(second, "commit: b"), (first, "commit: a")]


def test_dvc_queued_needs_reflog_entry_and_pending_message(tmp_repo: TmpRepo) -> None:
    tmp_repo.git("commit", "-q", "--allow-empty", "-m", "base")
    base = tmp_repo.git("rev-parse", "HEAD")
    revs = []
    for name in ("taken", "waiting", "orphan"):
        tmp_repo.git("commit", "-q", "--allow-empty", "-m", name)
        rev = tmp_repo.git("rev-parse", "HEAD")
        message = f"commit: dvc-exp:{base}:{base}:{name}"
        tmp_repo.git("update-ref", "--create-reflog", "-m", message, CELERY_STASH, rev)
        revs.append(rev)
    tmp_repo.git("update-ref", "--create-reflog", "-m", "commit: foreign", CELERY_STASH, base)
    tmp_dir = tmp_repo / ".dvc" / "tmp"
    inbox = broker_inbox(tmp_dir)
    inbox.mkdir(parents=True)
    (inbox / "1.celery.msg").write_text(kombu_message(revs[1], name="waiting"))
    (inbox / "2.celery.msg").write_text(kombu_message("e" * 40, name="gone"))
    # "taken": its message went to broker/processed; "orphan": no message at all
    assert dvc_queued(Git(tmp_repo), tmp_dir) == [DvcQueued(revs[1], base, base, "waiting")]
    (inbox / "3.celery.msg").write_text(kombu_message(revs[2], name="orphan"))
    found = dvc_queued(Git(tmp_repo), tmp_dir)
    assert [e.name for e in found] == ["orphan", "waiting"]  # reflog order, newest first
