"""`queue logs -e ENC`: the log read as text in ENC (DVC's `--encoding`), not passed raw."""

from __future__ import annotations

from tests.conftest import COPY_PY, TmpRepo

LATIN1_COPY = COPY_PY + "sys.stdout.buffer.write(b'caf\\xe9 done\\n')\n"


def test_queue_logs_decodes_with_the_given_encoding(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(LATIN1_COPY)
    f1.commit("a latin-1 line in the output")
    xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "q2")
    xpt("exp", "run", "--run-all")
    assert "café done" in xpt("queue", "logs", "-e", "latin-1", "q2").out
    res = xpt("queue", "logs", "--encoding", "no-such-codec", "q2", ok=False)
    assert res.rc == 1 and "unknown encoding 'no-such-codec'" in res.err
