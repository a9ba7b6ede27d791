"""CLI: `xpt ui`: serve the experiments page (xpt/web) on a local port until Ctrl-C.

Starlette and uvicorn load here only (the `ui` extra), so other commands never pay for
them. The socket is bound before the server starts, so a busy port is one clear error.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

from xpt.cli.ui import note, out, warn
from xpt.errors import XptError
from xpt.project import Project


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one); XptError if impossible."""
    if not 0 <= port <= 65535:
        raise XptError(f"invalid port {port}", hint="pass --port between 1 and 65535 (0: any)")
    try:
        family, kind, proto, _name, addr = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise XptError(f"cannot use host '{host}': {exc}", hint="pass --host 127.0.0.1") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise XptError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="another program may use that port; pick one with --port (0: any free port)",
        ) from None
    sock.set_inheritable(False)
    return sock


def _open_browser(url: str) -> None:
    """Open `url` in a graphical browser; without a display only print it."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        note("no display found: open the address above in your browser")
        return
    import webbrowser

    webbrowser.open(url)


def ui(args: argparse.Namespace) -> int:
    try:  # the extra `ui`; xpt's own modules are imported outside the guard
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise XptError(
            f"`xpt ui` needs Starlette and uvicorn ({exc.name} is missing)",
            hint="pip install 'xpt[ui]'",
        ) from None
    from xpt.web.server import create_app

    project = Project.find()
    host: str = args.host
    loopback = _is_loopback(host)
    sock = bind(host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    allowed = None
    if loopback:
        names = {shown, "localhost", "127.0.0.1", "[::1]"}
        allowed = {f"{n}:{port}" for n in names}
    else:
        warn(
            f"serving on {host}, reachable from other machines: the page has no "
            "authentication; anyone who can connect can read your experiments"
            + (" and run actions" if args.allow_actions else "")
        )
    url = f"http://{shown}:{port}/"
    mode = "actions allowed" if args.allow_actions else "read-only"

    class Server(uvicorn.Server):  # type: ignore[misc]
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            # serving, with uvicorn's Ctrl-C handling in place: now say where
            out(f"xpt ui: serving {project.root} at {url} ({mode}; Ctrl-C to stop)")
            if not args.no_open:
                _open_browser(url)

    try:  # Ctrl-C may come at any moment from here on
        app = create_app(project, allow_actions=args.allow_actions, allowed_hosts=allowed)
        app.state.ui.warm()
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    out("xpt ui: stopped")
    return 0
