"""scm.git on real temporary repositories: commits, trees, in-memory snapshots, refs, network."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from xpt.errors import ScmError
from xpt.scm.git import Git


def _index_bytes(repo: Path) -> bytes:
    return (repo / ".git" / "index").read_bytes()


def _porcelain(repo: TmpRepo) -> str:
    res = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout


@pytest.fixture
def repo(tmp_repo: TmpRepo) -> TmpRepo:
    """Two commits: base files, an executable, a symlink, a subdirectory."""
    tmp_repo.gen({"a.txt": "a1\n", "d": {"b.txt": "b1\n"}, "run.sh": "#!/bin/sh\n"})
    os.chmod(tmp_repo / "run.sh", 0o755)
    os.symlink("a.txt", tmp_repo / "link")
    tmp_repo.commit("first")
    tmp_repo.gen({"a.txt": "a2\n"})
    tmp_repo.commit("second")
    return tmp_repo


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(ScmError, match="is not a git repository") as info:
        Git(tmp_path)
    assert info.value.hint is not None and "git init" in info.value.hint


def test_empty_repository(tmp_repo: TmpRepo) -> None:
    git = Git(tmp_repo / "")
    assert git.root == tmp_repo
    assert git.head_sha() is None
    assert git.head_branch() == "main"
    assert git.resolve("HEAD") is None
    assert git.all_commits() == []
    assert git.branches() == {}


def test_discovers_root_from_subdirectory(repo: TmpRepo) -> None:
    assert Git(repo / "d").root == repo


def test_resolve_revisions(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    first = repo.git("rev-parse", "HEAD~1")
    repo.git("tag", "-a", "v1", "-m", "annotated", first)
    repo.git("tag", "light")
    assert git.resolve("HEAD") == head
    assert git.resolve("main") == head
    assert git.resolve("refs/heads/main") == head
    assert git.resolve("HEAD~1") == first
    assert git.resolve(first[:7]) == first
    assert git.resolve(first[:4]) == first
    assert git.resolve("v1") == first
    assert git.resolve("nope") is None
    assert git.resolve("a..b") is None
    assert git.resolve("") is None
    assert git.tags() == {"v1": first, "light": head}
    assert git.branches() == {"main": head}


def test_commit_info_and_history(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    first = repo.git("rev-parse", "HEAD~1")
    info = git.commit_info(head)
    assert info.sha == head
    assert info.parents == (first,)
    assert info.message == "second\n"
    assert info.author == "Xpt Tester" and info.author_email == "tester@example.com"
    assert info.time == int(repo.git("log", "-1", "--format=%ct"))
    assert info.tree == repo.git("rev-parse", "HEAD^{tree}")
    assert git.commit_info("HEAD").sha == head
    assert git.first_parents(head, 5) == [head, first]
    assert git.first_parents(head, 1) == [head]
    assert git.is_ancestor(first, head)
    assert not git.is_ancestor(head, first)
    assert git.merge_base(head, first) == first
    assert git.all_commits() == [head, first]
    with pytest.raises(ScmError, match="is not a commit"):
        git.commit_info("f" * 40)


def test_detached_head_has_no_branch(repo: TmpRepo) -> None:
    repo.git("checkout", "-q", "--detach", "HEAD~1")
    git = Git(repo)
    assert git.head_branch() is None
    assert git.head_sha() == repo.git("rev-parse", "HEAD")


def test_reader_reads_files_at_a_commit(repo: TmpRepo) -> None:
    git = Git(repo)
    old = git.reader("HEAD~1")
    new = git.reader("HEAD")
    assert old("a.txt") == b"a1\n"
    assert new("a.txt") == b"a2\n"
    assert new("./d/b.txt") == b"b1\n"
    assert new("d") is None
    assert new("missing") is None
    assert new("../outside") is None
    assert new("link") == b"a.txt"


def test_list_tree(repo: TmpRepo) -> None:
    git = Git(repo)
    tree = git.list_tree("HEAD")
    assert set(tree) == {"a.txt", "d/b.txt", "run.sh", "link"}
    assert tree["run.sh"][1] == 0o100755
    assert tree["link"][1] == 0o120000
    assert tree["a.txt"] == (repo.git("rev-parse", "HEAD:a.txt"), 0o100644)
    assert set(git.list_tree("HEAD", "d")) == {"d/b.txt"}
    assert git.list_tree("HEAD", "nope") == {}


def test_status(repo: TmpRepo) -> None:
    repo.gen({"a.txt": "changed\n", "new.txt": "n\n", "staged.txt": "s\n", "u": {"x": "x"}})
    repo.gen({".gitignore": "*.log\n", "junk.log": "j"})
    repo.git("add", "staged.txt")
    (repo / "d" / "b.txt").unlink()
    st = Git(repo).status()
    assert st.modified == ["a.txt"]
    assert st.deleted == ["d/b.txt"]
    assert st.added == ["staged.txt"]
    assert st.untracked == [".gitignore", "new.txt", "u/x"]
    assert not st.clean


def test_tracked_and_ignored(repo: TmpRepo) -> None:
    repo.gen({".gitignore": "/data\n*.log\n", "data": {"f": "1"}, "x.log": "", "free": ""})
    git = Git(repo)
    assert git.is_tracked("a.txt")
    assert git.is_tracked("d")
    assert git.is_tracked("d/")
    assert not git.is_tracked("free")
    assert not git.is_tracked("da")
    assert git.is_ignored("data")
    assert git.is_ignored("data/f")
    assert git.is_ignored("x.log")
    assert not git.is_ignored("free")


def test_snapshot_commit_contents_and_nothing_else_moves(repo: TmpRepo) -> None:
    repo.gen({"a.txt": "workspace\n", "staged.txt": "s\n", "new.txt": "n\n", "left.txt": "l\n"})
    repo.gen({"dir": {"keep.txt": "k", "skip.log": "s", "sub": {"deep.txt": "d"}}})
    repo.gen({".gitignore": "*.log\n", "forced.log": "f"})
    repo.git("add", "staged.txt")
    (repo / "d" / "b.txt").unlink()
    os.chmod(repo / "a.txt", 0o755)
    os.unlink(repo / "link")
    os.symlink("run.sh", repo / "link")
    head = repo.git("rev-parse", "HEAD")
    index_before = _index_bytes(repo)
    status_before = _porcelain(repo)

    git = Git(repo)
    sha = git.snapshot_commit(
        head,
        include_untracked=["new.txt", "dir", "forced.log", ".gitignore"],
        message="dvc: commit experiment 123",
        extra_files={"params.yaml": b"foo: 2\n"},
        exclude=["run.sh"],
    )

    assert repo.git("rev-parse", "HEAD") == head
    assert repo.git("rev-parse", "refs/heads/main") == head
    assert repo.git("symbolic-ref", "HEAD") == "refs/heads/main"
    assert _index_bytes(repo) == index_before
    assert _porcelain(repo) == status_before
    assert repo.git("rev-parse", f"{sha}^@") == head
    assert repo.git("log", "-1", "--format=%B", sha) == "dvc: commit experiment 123"
    files = repo.git("ls-tree", "-r", "--name-only", sha).splitlines()
    assert sorted(files) == [
        ".gitignore",
        "a.txt",
        "dir/keep.txt",
        "dir/sub/deep.txt",
        "forced.log",
        "link",
        "new.txt",
        "params.yaml",
        "staged.txt",
    ]
    assert repo.git("show", f"{sha}:a.txt") == "workspace"
    assert repo.git("show", f"{sha}:params.yaml") == "foo: 2"
    assert repo.git("show", f"{sha}:link") == "run.sh"
    modes = {
        line.split("\t")[1]: line.split()[0] for line in repo.git("ls-tree", "-r", sha).splitlines()
    }
    assert modes["a.txt"] == "100755"
    assert modes["link"] == "120000"
    assert modes["new.txt"] == "100644"


def test_snapshot_of_clean_workspace_has_head_tree(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    sha = git.snapshot_commit(head, message="same")
    assert git.commit_info(sha).tree == git.commit_info(head).tree


def test_snapshot_with_other_parent_keeps_workspace_tree(repo: TmpRepo) -> None:
    """Checkpoint chains: the parent is the previous checkpoint, the tree the workspace."""
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    repo.gen({"a.txt": "ck1\n"})
    ck1 = git.snapshot_commit(head, message="ck1")
    repo.gen({"a.txt": "a2\n"})
    ck2 = git.snapshot_commit(ck1, message="ck2")
    assert git.commit_info(ck2).parents == (ck1,)
    assert git.reader(ck2)("a.txt") == b"a2\n"


def test_snapshot_identity_from_env(repo: TmpRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "env@example.com")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "@1700000000 +0130")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2023-11-14T22:13:20+00:00")
    sha = Git(repo).snapshot_commit("HEAD", message="m")
    assert repo.git("log", "-1", "--format=%an <%ae> %at %ai", sha) == (
        "Env Author <env@example.com> 1700000000 2023-11-14 23:43:20 +0130"
    )
    assert repo.git("log", "-1", "--format=%cn %ct", sha) == "Xpt Tester 1700000000"


def test_snapshot_without_identity_fails(
    repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "nohome"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("EMAIL", raising=False)
    with pytest.raises(ScmError, match="identity") as info:
        Git(repo).snapshot_commit("HEAD", message="m")
    assert info.value.hint is not None and "git config" in info.value.hint


def test_create_commit_copies_a_tree(repo: TmpRepo) -> None:
    git = Git(repo)
    head, first = repo.git("rev-parse", "HEAD"), repo.git("rev-parse", "HEAD~1")
    sha = git.create_commit([head], first, "again")
    info = git.commit_info(sha)
    assert info.parents == (head,)
    assert info.tree == git.commit_info(first).tree


def test_refs_compare_and_swap(repo: TmpRepo) -> None:
    git = Git(repo)
    head, first = repo.git("rev-parse", "HEAD"), repo.git("rev-parse", "HEAD~1")
    name = "refs/exps/aa/bbbb/exp-1"
    assert git.get_ref(name) is None
    git.set_ref(name, head, expected_old=None, message="create")
    assert git.get_ref(name) == head
    with pytest.raises(ScmError, match="changed concurrently"):
        git.set_ref(name, first, expected_old=None)
    with pytest.raises(ScmError, match="expected .*, found"):
        git.set_ref(name, first, expected_old=first)
    assert git.get_ref(name) == head
    git.set_ref(name, first, expected_old=head)
    assert git.get_ref(name) == first
    git.set_ref(name, head)
    assert repo.git("rev-parse", name) == head
    with pytest.raises(ScmError, match="changed concurrently"):
        git.delete_ref(name, expected_old=first)
    with pytest.raises(ScmError, match="changed concurrently"):
        git.delete_ref(name, expected_old=None)
    git.delete_ref(name, expected_old=head)
    assert git.get_ref(name) is None
    git.delete_ref(name)
    with pytest.raises(ScmError, match="changed concurrently"):
        git.delete_ref(name, expected_old=head)
    with pytest.raises(ScmError, match="not a valid git ref"):
        git.set_ref("refs/exps/bad..name", head)
    with pytest.raises(ScmError, match="not a commit"):
        git.set_ref("refs/exps/x", "0" * 40)


def test_list_refs_includes_packed_refs(repo: TmpRepo) -> None:
    git = Git(repo)
    head, first = repo.git("rev-parse", "HEAD"), repo.git("rev-parse", "HEAD~1")
    git.set_ref("refs/exps/aa/bb/one", head)
    repo.git("pack-refs", "--all")
    git.set_ref("refs/exps/aa/bb/two", first)
    git.set_ref("refs/xpt/queue/1", first)
    assert not (repo / ".git" / "refs" / "exps" / "aa" / "bb" / "one").exists()
    assert git.list_refs("refs/exps/") == {
        "refs/exps/aa/bb/one": head,
        "refs/exps/aa/bb/two": first,
    }
    assert git.get_ref("refs/exps/aa/bb/one") == head
    git.set_ref("refs/exps/aa/bb/one", first, expected_old=head)
    assert git.get_ref("refs/exps/aa/bb/one") == first
    git.delete_ref("refs/exps/aa/bb/one", expected_old=first)
    assert "refs/exps/aa/bb/one" not in git.list_refs("refs/exps/")
    assert repo.git("show-ref", "refs/exps/aa/bb/one", check=False) == ""


def test_checkout_commit_files(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    repo.gen({"a.txt": "exp\n", "only_exp.txt": "e\n", "tool.sh": "#!/bin/sh\n"})
    os.chmod(repo / "tool.sh", 0o755)
    (repo / "d" / "b.txt").unlink()
    exp = git.snapshot_commit(head, include_untracked=["only_exp.txt", "tool.sh"], message="exp")
    # back to HEAD's state, plus an unrelated untracked file and a change to overwrite
    repo.git("checkout", "--", ".")
    for name in ("only_exp.txt", "tool.sh"):
        (repo / name).unlink()
    repo.gen({"unrelated.txt": "u\n", "a.txt": "dirty\n"})
    index_before = _index_bytes(repo)

    git.checkout_commit_files(exp, base=head)

    assert (repo / "a.txt").read_text() == "exp\n"
    assert (repo / "only_exp.txt").read_text() == "e\n"
    assert os.stat(repo / "tool.sh").st_mode & stat.S_IXUSR
    assert not (repo / "d" / "b.txt").exists()
    assert not (repo / "d").exists()
    assert (repo / "unrelated.txt").read_text() == "u\n"
    assert os.readlink(repo / "link") == "a.txt"
    assert repo.git("rev-parse", "HEAD") == head
    assert repo.git("symbolic-ref", "HEAD") == "refs/heads/main"
    assert _index_bytes(repo) == index_before
    assert _porcelain(repo).splitlines() == [
        " M a.txt",
        " D d/b.txt",
        "?? only_exp.txt",
        "?? tool.sh",
        "?? unrelated.txt",
    ]


def test_checkout_commit_files_restores_exec_bit_and_types(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    os.chmod(repo / "run.sh", 0o644)
    os.unlink(repo / "link")
    (repo / "link").mkdir()
    (repo / "link" / "inside").write_text("x")
    git.checkout_commit_files(head, base=head)
    assert os.stat(repo / "run.sh").st_mode & stat.S_IXUSR
    assert os.readlink(repo / "link") == "a.txt"
    assert _porcelain(repo) == ""


def test_backup_workspace(repo: TmpRepo) -> None:
    git = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    assert git.backup_workspace("backup") is None
    repo.gen({"a.txt": "work\n", "untracked.txt": "u\n", ".gitignore": "*.tmp\n", "x.tmp": ""})
    index_before = _index_bytes(repo)
    sha = git.backup_workspace("backup", extra_files={"manifest.json": b"{}\n"})
    assert sha is not None
    assert git.commit_info(sha).parents == (head,)
    assert git.reader(sha)("a.txt") == b"work\n"
    assert git.reader(sha)("untracked.txt") == b"u\n"
    assert git.reader(sha)("manifest.json") == b"{}\n"
    assert git.reader(sha)("x.tmp") is None
    assert _index_bytes(repo) == index_before
    assert repo.git("rev-parse", "HEAD") == head


def test_create_branch(repo: TmpRepo) -> None:
    git = Git(repo)
    first = repo.git("rev-parse", "HEAD~1")
    git.create_branch("exp-branch", first)
    assert repo.git("rev-parse", "exp-branch") == first
    assert repo.git("symbolic-ref", "HEAD") == "refs/heads/main"
    with pytest.raises(ScmError, match="already exists"):
        git.create_branch("exp-branch", first)
    with pytest.raises(ScmError, match="not a valid branch name"):
        git.create_branch("bad name", first)


def test_check_ref_format() -> None:
    assert Git.check_ref_format("refs/exps/aa/bb/exp-1")
    for bad in ("refs/exps/a..b", "refs/exps/a b", "refs/exps/a~b", "refs/exps/x.lock", "refs/x/"):
        assert not Git.check_ref_format(bad), bad


def test_add_stages_into_the_user_index(repo: TmpRepo) -> None:
    repo.gen({"new.txt": "n"})
    Git(repo).add(["new.txt"])
    assert _porcelain(repo) == "A  new.txt\n"


def test_executor_repo_shares_objects(repo: TmpRepo, tmp_path: Path) -> None:
    main = Git(repo)
    head = repo.git("rev-parse", "HEAD")
    repo.gen({"a.txt": "queued\n"})
    snapshot = main.snapshot_commit(head, message="queued")
    repo.git("checkout", "--", "a.txt")
    ws = main.make_executor_repo(tmp_path / "ws", snapshot)
    assert ws.root == tmp_path / "ws"
    assert (ws.root / "a.txt").read_text() == "queued\n"
    assert os.access(ws.root / "run.sh", os.X_OK)
    assert ws.head_sha() == snapshot and ws.head_branch() is None
    assert ws.status().clean
    (ws.root / "a.txt").write_text("result\n")
    result = ws.snapshot_commit(head, message="exp")
    main.set_ref("refs/exps/aa/bb/done", result, expected_old=None)
    assert repo.git("show", "refs/exps/aa/bb/done:a.txt") == "result"
    # a Git opened later on the workspace also writes into the main store
    again = Git(ws.root).snapshot_commit(head, message="exp2")
    assert Git(repo).commit_info(again).parents == (head,)


def test_executor_repo_keeps_identity_and_git_reads_it(repo: TmpRepo, tmp_path: Path) -> None:
    """The workspace's config is written by hand: odd values survive, git itself reads it."""
    name = 'Ada "the first" \\ L;ovelace # x'
    repo.git("config", "user.name", name)
    repo.git("config", "core.autocrlf", "input")
    head = repo.git("rev-parse", "HEAD")
    ws = Git(repo).make_executor_repo(tmp_path / "ws", head)
    git = ["git", "-C", str(ws.root)]
    run = lambda *a: subprocess.run([*git, *a], check=True, capture_output=True, text=True)  # noqa: E731
    assert run("config", "user.name").stdout.rstrip("\n") == name
    assert run("config", "core.autocrlf").stdout.strip() == "input"
    assert run("config", "gc.auto").stdout.strip() == "0"
    assert run("rev-parse", "HEAD").stdout.strip() == head
    assert run("status", "--porcelain").stdout == ""
    assert not (ws.root / ".git" / "hooks").exists()  # no template files per experiment


# -- network ----------------------------------------------------------------------------


@pytest.fixture
def remote(repo: TmpRepo, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    repo.git("remote", "add", "origin", str(bare))
    return bare


def test_push_ls_remote_fetch(repo: TmpRepo, remote: Path, tmp_path: Path) -> None:
    git = Git(repo)
    head, first = repo.git("rev-parse", "HEAD"), repo.git("rev-parse", "HEAD~1")
    ref = "refs/exps/aa/bbbb/exp-1"
    git.set_ref(ref, head)
    assert git.remote_url("origin") == str(remote)
    assert git.remote_url("nosuch") is None
    assert git.push("origin", [f"{ref}:{ref}"]) == {ref: "new"}
    assert git.push("origin", [f"{ref}:{ref}"]) == {ref: "up-to-date"}
    assert git.ls_remote("origin", "refs/exps/") == {ref: head}
    assert git.ls_remote("origin", "refs/heads/") == {}

    # diverge: non-fast-forward needs force
    git.set_ref(ref, first)
    assert git.push("origin", [f"{ref}:{ref}"]) == {ref: "rejected"}
    assert git.push("origin", [f"{ref}:{ref}"], force=True) == {ref: "forced"}
    assert git.ls_remote("origin", "refs/exps/") == {ref: first}

    # a clone fetches the experiment ref
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", str(repo), "main"], check=True)
    other = Git(clone)
    assert other.fetch("origin", [f"{ref}:{ref}"]) == {ref: "new"}
    assert other.get_ref(ref) == first
    assert other.fetch("origin", [f"{ref}:{ref}"]) == {ref: "up-to-date"}
    other.set_ref(ref, head)
    assert other.fetch("origin", [f"{ref}:{ref}"]) == {ref: "rejected"}
    assert other.get_ref(ref) == head
    assert other.fetch("origin", [f"{ref}:{ref}"], force=True) == {ref: "updated"}
    assert other.get_ref(ref) == first


def test_network_errors_name_the_remote(repo: TmpRepo) -> None:
    git = Git(repo)
    ref = "refs/heads/main"
    for call in (
        lambda: git.push("nosuch", [f"{ref}:{ref}"]),
        lambda: git.fetch("nosuch", [f"{ref}:{ref}"]),
        lambda: git.ls_remote("nosuch", "refs/"),
    ):
        with pytest.raises(ScmError, match="remote 'nosuch'") as info:
            call()
        assert info.value.hint is not None and "git remote -v" in info.value.hint


def test_fetch_missing_remote_ref_fails(repo: TmpRepo, remote: Path) -> None:
    with pytest.raises(ScmError, match="origin"):
        Git(repo).fetch("origin", ["refs/exps/aa/bb/none:refs/exps/aa/bb/none"])
