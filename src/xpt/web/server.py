"""The `xpt ui` ASGI app (Starlette): the page's assets and its JSON API (docs/ui.md).

Handlers are coroutines that do their (short) work on the event loop thread: requests
are served one at a time, no thread touches git or the memo concurrently, and
`fork_map` may still fork for a thousand experiments. Assets are read from the package
once, at start-up, into a name -> bytes table: a request path is a key in that table
or a 404, so no path a client sends is ever opened.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xpt.errors import LockBusy, UnknownExperiment, XptError
from xpt.experiments.show_rows import rows_to_json
from xpt.project import Project
from xpt.web import actions
from xpt.web.data import ExperimentsView, check_rev, queue_panel

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    # nothing but this server: no CDN, no other site; Vega compiles expressions (eval)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-eval'; frame-ancestors 'none'",
}
READ_ONLY = (
    "the page is read-only: restart it with `xpt ui --allow-actions` to queue, "
    "start/stop, apply, branch or remove experiments"
)


def load_assets(folder: Path | None = None, prefix: str = "") -> dict[str, tuple[bytes, str]]:
    """Every regular file in `folder` (default: the page's and the bundled Vega scripts)
    by name; symbolic links are left out."""
    if folder is None:
        from xpt.report.plots import VEGA_FILES

        table = load_assets(Path(str(resources.files("xpt.web") / "static")))
        vega = load_assets(Path(str(resources.files("xpt.report") / "vega")), "vega/")
        table.update({k: v for k, v in vega.items() if k[len("vega/") :] in VEGA_FILES})
        return table
    table = {}
    for entry in os.scandir(folder):
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file(follow_symlinks=False) and suffix in _TYPES:
            with open(entry.path, "rb") as f:
                table[prefix + entry.name] = (f.read(), _TYPES[suffix])
    return table


def error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    return JSONResponse(body, status_code=status, headers=_HEADERS)


def _status_of(exc: XptError) -> int:
    if isinstance(exc, UnknownExperiment):
        return 404
    if isinstance(exc, LockBusy):
        return 409
    return 400


class UiApp:
    """State of one served project: its experiments view and options."""

    def __init__(
        self, project: Project, *, allow_actions: bool, allowed_hosts: set[str] | None
    ) -> None:
        self.project = project
        self.allow_actions = allow_actions
        self.allowed_hosts = allowed_hosts
        self.view = ExperimentsView(project)
        self.assets = load_assets()
        self._encoded: tuple[str, bytes] | None = None

    def warm(self) -> None:
        """Compute the rows once before the first page asks (start-up, not first paint)."""
        self.view.snapshot()

    # -- helpers -------------------------------------------------------------------------
    def _answer(self) -> tuple[str, bytes, Any]:
        snap = self.view.snapshot()
        if self._encoded is None or self._encoded[0] != snap.version:
            body = {"version": snap.version, "rows": rows_to_json(snap.rows)}
            self._encoded = (snap.version, json.dumps(body, default=str).encode())
        return self._encoded[0], self._encoded[1], snap

    def _refused(self, request: Request) -> JSONResponse | None:
        """Reject requests for another host name (DNS rebinding) or cross-site posts."""
        host = request.headers.get("host", "")
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return error(403, f"unexpected Host header '{host}'")
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != host:
                return error(403, "cross-origin request refused")
            if not request.headers.get("content-type", "").startswith("application/json"):
                return error(415, "actions take a JSON body (Content-Type: application/json)")
        return None

    # -- endpoints -----------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        return await self.asset(request, "index.html")

    async def static(self, request: Request) -> Response:
        return await self.asset(request, request.path_params["name"])

    async def asset(self, request: Request, name: str) -> Response:
        found = self.assets.get(name)
        if found is None:
            return error(404, "not found")
        body, media = found
        return Response(body, media_type=media, headers=_HEADERS)

    async def info(self, request: Request) -> Response:
        from xpt import __version__

        return JSONResponse(
            {
                "version": __version__,
                "project": self.project.root.name,
                "allow_actions": self.allow_actions,
                "poll_ms": 1000,
            },
            headers=_HEADERS,
        )

    async def experiments(self, request: Request) -> Response:
        since = request.query_params.get("since")
        if since is not None and (len(since) > 64 or not since.isalnum()):
            return error(400, "'since' must be a version string from an earlier answer")
        version, body, snap = self._answer()
        if since == version:
            return JSONResponse({"version": version, "unchanged": True}, headers=_HEADERS)
        if since is not None and since[: len(snap.base)] == snap.base and snap.live:
            # only running experiments moved: their data, not the whole table
            return JSONResponse({"version": version, "live": snap.live}, headers=_HEADERS)
        return Response(body, media_type="application/json", headers=_HEADERS)

    async def diff(self, request: Request) -> Response:
        a = request.query_params.get("a")
        b = request.query_params.get("b")
        if not a or not b:
            return error(400, "diff needs two revisions: /api/diff?a=REV&b=REV")
        from xpt.experiments.compare import exp_diff

        rows = self.view.snapshot().rows
        check_rev(rows, a)
        check_rev(rows, b)
        return JSONResponse(exp_diff(self.project, a, b, all=True), headers=_HEADERS)

    async def plots(self, request: Request) -> Response:
        revs = request.query_params.getlist("rev")
        if not revs or len(revs) > 20:
            return error(400, "plots need 1 to 20 revisions: /api/plots?rev=A&rev=B")
        from xpt.web.plots import plots_json

        rows = self.view.snapshot().rows
        for rev in revs:
            check_rev(rows, rev)
        return JSONResponse(plots_json(self.project, rows, revs), headers=_HEADERS)

    async def queue(self, request: Request) -> Response:
        return JSONResponse(queue_panel(self.project), headers=_HEADERS)

    async def action(self, request: Request) -> Response:
        name = request.path_params["action"]
        fn = actions.ACTIONS.get(name)
        if fn is None:
            return error(404, f"unknown action '{name}'", hint=", ".join(actions.ACTIONS))
        if not self.allow_actions:
            return error(403, READ_ONLY)
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return error(400, "the request body is not valid JSON")
        if not isinstance(body, dict):
            return error(400, "the request body must be a JSON object")
        return JSONResponse({"ok": True, **fn(self.project, body)}, headers=_HEADERS)

    async def not_found(self, request: Request) -> Response:
        return error(404, "not found")


def create_app(
    project: Project,
    *,
    allow_actions: bool = False,
    allowed_hosts: set[str] | None = None,
) -> Starlette:
    """The ASGI app serving `project` (`allowed_hosts`: Host headers accepted, None = any)."""
    ui = UiApp(project, allow_actions=allow_actions, allowed_hosts=allowed_hosts)

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = ui._refused(request)
            if refused is not None:
                return refused
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except XptError as exc:
                return error(_status_of(exc), exc.message, exc.hint)
            except Exception as exc:  # noqa: BLE001 - the repository moved under us; keep serving
                return error(503, f"could not read the repository: {type(exc).__name__}: {exc}")

        return endpoint

    routes = [
        Route("/", guarded(ui.index)),
        Route("/static/{name:path}", guarded(ui.static)),
        Route("/api/info", guarded(ui.info)),
        Route("/api/experiments", guarded(ui.experiments)),
        Route("/api/diff", guarded(ui.diff)),
        Route("/api/plots", guarded(ui.plots)),
        Route("/api/queue", guarded(ui.queue)),
        Route("/api/actions/{action}", guarded(ui.action), methods=["POST"]),
        Route("/{rest:path}", guarded(ui.not_found), methods=["GET", "POST", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.state.ui = ui
    return app
