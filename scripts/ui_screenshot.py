"""Take the README's screenshots of `xpt ui` (docs/ui-table.png, docs/ui-compare.png).

    .venv/bin/python scripts/ui_screenshot.py

Builds the dvclive-style test project in a temporary folder (a sweep of experiments, one
failed, one running, one queued), serves it with `xpt ui` and photographs the page in
Debian's headless Chromium through Playwright.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import ui_project  # noqa: E402
from tests.ui_project import UiServer  # noqa: E402

XPT = [sys.executable, "-P", "-m", "xpt"]


def sh(repo: Path, *args: str, ok: bool = True) -> None:
    res = subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False)
    if ok and res.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: {res.stderr}")


def build(repo: Path) -> None:
    repo.mkdir()
    for name, text in ui_project.files().items():
        (repo / name).write_text(text)
    (repo / "params.yaml").write_text(ui_project.params(lr=0.05, epochs=8))
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, *XPT, "init", "-q")
    sh(repo, *XPT, "repro", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "training pipeline")
    for lr in ("0.1", "0.2", "0.3", "0.5"):
        sh(repo, *XPT, "exp", "run", "-q", "-S", f"train.lr={lr}", "-n", f"lr-{lr}")
    sh(repo, *XPT, "exp", "run", "-q", "-S", "train.epochs=12", "-n", "long")
    sh(repo, *XPT, "exp", "run", "--queue", "-q", "-S", "train.lr=abc", "-n", "typo")
    sh(repo, *XPT, "exp", "run", "--run-all", "-q", ok=False)
    slow = ("-S", "train.delay=1", "-S", "train.epochs=40", "-S", "train.lr=0.15")
    sh(repo, *XPT, "exp", "run", "--queue", "-q", *slow, "-n", "slow-lr")
    sh(repo, *XPT, "exp", "run", "--queue", "-q", "-S", "train.lr=0.4", "-n", "lr-0.4")


def main() -> int:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("GIT_AUTHOR_NAME", "xpt")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "xpt@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "xpt")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "xpt@example.com")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "image-classifier"
        build(repo)
        sh(repo, *XPT, "queue", "start")
        time.sleep(4)
        with UiServer(repo) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1280, "height": 560})
            page.goto(server.url)
            page.wait_for_selector(".state-running")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ROOT / "docs" / "ui-table.png"))
            for name in ("lr-0.1", "lr-0.3", "lr-0.5"):
                row = page.locator("#exp-table tbody tr", has=page.locator("td.name", has_text=name))
                row.locator("input.sel").check()
            page.set_viewport_size({"width": 1280, "height": 620})
            page.click('button[data-tab="compare"]')
            page.wait_for_selector("#plots svg.marks")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ROOT / "docs" / "ui-compare.png"))
            browser.close()
            server.stop()
        sh(repo, *XPT, "queue", "stop", "--kill")
    return 0


if __name__ == "__main__":
    sys.exit(main())
