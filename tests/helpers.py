"""Helpers shared by tests: a temp git repo object with gen/git/commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


class TmpRepo(type(Path())):  # type: ignore[misc]
    """A Path to a temporary git repository with small conveniences."""

    def gen(self, files: dict[str, Any]) -> None:
        """Create files: str/bytes content, or a nested dict for a directory."""
        for name, content in files.items():
            path = self / name
            if isinstance(content, dict):
                path.mkdir(parents=True, exist_ok=True)
                TmpRepo(path).gen(content)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    def git(self, *args: str, check: bool = True) -> str:
        """Run git in the repo, return stdout (stripped)."""
        res = subprocess.run(["git", *args], cwd=self, capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {res.stderr}")
        return res.stdout.strip()

    def commit(self, msg: str = "commit", paths: tuple[str, ...] = (".",)) -> str:
        """git add + commit; returns the new HEAD sha."""
        self.git("add", "-A", *paths)
        self.git("commit", "-q", "--no-verify", "-m", msg)
        return self.git("rev-parse", "HEAD")

    def read_json(self, name: str) -> Any:
        return json.loads((self / name).read_text())
