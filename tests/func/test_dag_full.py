"""`dag --full`: the target's whole pipeline, not only its ancestors (as DVC 3.67.1 prints)."""

from __future__ import annotations

from tests.conftest import TmpRepo

CHAIN = """\
stages:
  a:
    cmd: python -c "open('y', 'w').write('1')"
    outs: [y]
  b:
    cmd: python -c "open('z', 'w').write(open('y').read())"
    deps: [y]
    outs: [z]
  c:
    cmd: python -c "open('w', 'w').write(open('z').read())"
    deps: [z]
    outs: [w]
  other:
    cmd: python -c "open('q', 'w').write('q')"
    outs: [q]
"""


def test_dag_full_shows_the_targets_whole_pipeline(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"dvc.yaml": CHAIN})
    ancestors = ['"a";', '"b";', '"a" -> "b";']
    full = ['"a";', '"b";', '"c";', '"a" -> "b";', '"b" -> "c";']
    assert xpt("dag", "--dot", "b").out.splitlines()[1:-2] == ancestors
    assert xpt("dag", "--dot", "--full", "b").out.splitlines()[1:-2] == full
    assert "other" in xpt("dag", "--full").out
    assert "c" not in xpt("dag", "b").out.split()
